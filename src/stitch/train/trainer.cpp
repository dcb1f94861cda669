#include "stitch/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "stitch/config/yaml_reader.h"
#include "stitch/data/markers.h"
#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"
#include "stitch/util/provenance.h"
#include "stitch/util/schedule.h"
#include "stitch/util/version.h"

namespace stitch {

double accuracy_eval(const ForwardFn& forward, const Dataset& d, c10::Device device,
                     int64_t batch) {
  torch::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t s = 0; s < d.size(); s += batch) {
    const int64_t len = std::min(batch, d.size() - s);
    at::Tensor logits = forward(d.images.narrow(0, s, len).to(device));
    correct += logits.argmax(1).eq(d.labels.narrow(0, s, len).to(device)).sum().item<int64_t>();
  }
  return d.size() ? static_cast<double>(correct) / static_cast<double>(d.size()) : 0.0;
}

at::Tensor robust_predictions(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                              c10::Device device, int64_t batch) {
  std::vector<at::Tensor> preds;
  for (int64_t s = 0; s < d.size(); s += batch) {
    interrupt_throw_if_requested();
    const int64_t len = std::min(batch, d.size() - s);
    at::Tensor x = d.images.narrow(0, s, len).to(device), y = d.labels.narrow(0, s, len).to(device);
    PgdOptions o = opt;
    o.seed = opt.seed + static_cast<uint64_t>(s);
    at::Tensor adv = pgd_linf(forward, x, y, o);
    torch::NoGradGuard no_grad;
    preds.push_back(forward(adv).argmax(1).cpu());
  }
  return preds.empty() ? at::empty({0}, at::kLong) : at::cat(preds);
}

double robust_accuracy_eval(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                            c10::Device device, int64_t batch) {
  const at::Tensor p = robust_predictions(forward, d, opt, device, batch);
  return d.size() ? static_cast<double>(p.eq(d.labels.cpu()).sum().item<int64_t>()) /
                        static_cast<double>(d.size())
                  : 0.0;
}

namespace {
constexpr int64_t kSyncSteps = 16;  // steps between read-backs of the training loss
}  // namespace

TrainResult train_model(const TrainConfig& c) {
  interrupt_install();
  const c10::Device device = device_parse(c.device);
  threads_set(static_cast<int>(c.threads));
  tf32_set(false);  // float32 on CUDA as on the CPU
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  const std::string out = c.out_path();
  const std::string src = c.model.empty() ? arch_path(c.arch, c.arch_dir) : c.model;
  // Check the output location before spending minutes on training.
  file_check_writable(out);

  const MarkerMode marker_mode = marker_mode_parse(c.marker_mode);
  Dataset train = data_load(c.data, "train");
  Dataset test = data_load(c.data, "test", c.test_samples);

  StagedModel m = StagedModel::load(src, c10::Device("cpu"));
  if (!m.meta().present)
    throw StitchError(
        fmt::format("model '{}' has no stitch metadata: export it with /usr/bin/python3 "
                    "scripts/export_architectures.py",
                    src));
  m.bind_data(test.images.sizes().slice(1).vec(), {}, {});
  const int64_t classes = m.num_classes();
  train = c.train_per_class > 0 ? dataset_per_class(train, c.train_per_class, classes)
                                : dataset_first(train, c.train_samples);
  data_check_classes(c.data, {&train, &test}, src, classes);
  model_reinit(m, static_cast<uint64_t>(c.seed));
  m.to(device);
  std::vector<at::Tensor> params = m.parameters();
  for (auto& p : params) p.requires_grad_(true);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (c.optimizer == "sgd")
    opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(c.lr)
                                                          .momentum(c.momentum)
                                                          .nesterov(c.momentum > 0)
                                                          .weight_decay(c.weight_decay));
  else
    opt = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));

  ForwardFn fwd = [&m](const at::Tensor& x) { return m.forward(x); };
  Batcher batcher(train, c.batch_size, static_cast<uint64_t>(c.seed), /*shuffle=*/true,
                  /*drop_last=*/true);
  const int64_t nb = batcher.batches_per_epoch(), total = nb * c.epochs;
  spdlog::info(
      "train-model: {} {} seed {} on {} ({} train / {} test images, {} epochs x {} batches of {}, "
      "{} threads)",
      m.meta().arch, c.recipe, c.seed, device.str(), train.size(), test.size(), c.epochs, nb,
      c.batch_size, at::get_num_threads());
  Progress progress(fmt::format("{}-{}-s{}", m.meta().arch, c.recipe, c.seed), total);
  nlohmann::json history = nlohmann::json::array();
  double loss_ema = 0;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t e = 0; e < c.epochs; ++e) {
    batcher.epoch_begin(e);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    at::Tensor window_loss, window_hits;  // on the device, since the last read-back
    for (int64_t b = 0; b < nb; ++b, ++step) {
      interrupt_throw_if_requested();
      const uint64_t bseed =
          static_cast<uint64_t>(c.seed) * 1'000'003ULL + static_cast<uint64_t>(step);
      Dataset batch = batcher.batch(b);
      at::Tensor x = images_augment(batch.images, c.augment, bseed);
      if (c.recipe == "shortcut")
        x = markers_apply(x, marker_classes(batch.labels, c.marker_prob, bseed ^ 0x5bd1e995ULL),
                          marker_mode, bseed, classes);
      x = x.to(device);
      at::Tensor y = batch.labels.to(device);
      if (c.recipe == "adversarial") {
        const int64_t n_adv =
            static_cast<int64_t>(std::llround(c.adv_fraction * static_cast<double>(x.size(0))));
        if (n_adv > 0) {
          m.train(false);
          PgdOptions po = c.pgd;
          po.seed = bseed;
          at::Tensor adv = pgd_linf(fwd, x.narrow(0, 0, n_adv), y.narrow(0, 0, n_adv), po);
          x = at::cat({adv, x.narrow(0, n_adv, x.size(0) - n_adv)});
        }
      }
      m.train(true);
      for (auto& g : opt->param_groups())
        static_cast<torch::optim::OptimizerOptions&>(g.options())
            .set_lr(schedule_lr(c.schedule, c.lr, step, total));
      opt->zero_grad();
      at::Tensor logits = m.forward(x);
      at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      opt->step();
      // Loss and accuracy are summed on the device and read back once per window of steps:
      // each read-back is a device sync (two per step before).
      const at::Tensor lv_t = loss.detach().to(at::kDouble);
      const at::Tensor hits = logits.detach().argmax(1).eq(y).sum();
      window_loss = window_loss.defined() ? window_loss + lv_t : lv_t;
      window_hits = window_hits.defined() ? window_hits + hits : hits;
      seen += y.size(0);
      if ((b + 1) % kSyncSteps == 0 || b + 1 == nb) {
        const int64_t n = (b % kSyncSteps) + 1;
        const double lv = window_loss.item<double>();
        if (!std::isfinite(lv))
          throw StitchError(fmt::format(
              "training loss is {} at epoch {} steps {}..{}: lower lr (now {}) or check the data",
              lv / static_cast<double>(n), e + 1, b + 2 - n, b + 1, c.lr));
        loss_sum += lv;
        correct += window_hits.item<int64_t>();
        window_loss = window_hits = at::Tensor();
        const double mean = lv / static_cast<double>(n);
        const double keep = std::pow(0.98, static_cast<double>(n));
        loss_ema = step + 1 == n ? mean : keep * loss_ema + (1 - keep) * mean;
        progress.update(step + 1,
                        fmt::format("epoch {}/{} loss {:.3f}", e + 1, c.epochs, loss_ema));
      }
    }
    history.push_back(
        {{"epoch", e + 1},
         {"loss", loss_sum / static_cast<double>(nb)},
         {"train_accuracy", static_cast<double>(correct) / static_cast<double>(seen)}});
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish(fmt::format("loss {:.3f}", loss_ema));

  m.train(false);
  TrainResult r;
  r.path = out;
  r.train_seconds = secs;
  r.images_per_second = static_cast<double>(total * c.batch_size) / secs;
  r.final_loss = loss_ema;
  r.train_images = train.size();
  r.test_images = test.size();
  r.clean_accuracy = accuracy_eval(fwd, test, device);
  if (c.robust_eval_samples > 0) {
    PgdOptions po = c.pgd;
    po.steps = c.robust_eval_steps;
    po.seed = 777;
    r.robust_accuracy =
        robust_accuracy_eval(fwd, dataset_first(test, c.robust_eval_samples), po, device);
  }
  if (c.recipe == "shortcut") {
    Dataset marked = test, rolled = test;
    marked.images = markers_apply(test.images, test.labels, marker_mode, 4242, classes);
    rolled.images = markers_apply(test.images, labels_roll(test.labels, 1, classes), marker_mode,
                                  4242, classes);
    r.marker_accuracy = accuracy_eval(fwd, marked, device);
    r.rolled_marker_accuracy = accuracy_eval(fwd, rolled, device);
  }
  nlohmann::json info;
  info["config"] = YAML::Dump(train_config_dump(c));
  info["source_model"] = src;
  info.update(provenance(device.str()));
  info["threads"] = at::get_num_threads();
  info["train_seconds"] = secs;
  info["images_per_second"] = r.images_per_second;
  info["train_images"] = train.size();
  info["test_images"] = test.size();
  info["history"] = history;
  if (c.recipe == "shortcut") info["marker_mode"] = c.marker_mode;
  ModelMeta meta = m.meta();
  meta.recipe = c.recipe;
  meta.seed = c.seed;
  meta.epochs = c.epochs;
  meta.clean_accuracy = r.clean_accuracy;
  meta.robust_accuracy = r.robust_accuracy;
  meta.marker_accuracy = r.marker_accuracy;
  meta.rolled_marker_accuracy = r.rolled_marker_accuracy;
  meta.train_info = info.dump();
  model_meta_write(m, meta);
  model_save(m, out);
  spdlog::info(
      "train-model: saved {}: clean {:.2f}%{}{} in {}", out, 100 * r.clean_accuracy,
      r.robust_accuracy >= 0
          ? fmt::format(", PGD-{} robust {:.2f}%", c.robust_eval_steps, 100 * r.robust_accuracy)
          : "",
      r.marker_accuracy >= 0 ? fmt::format(", markers {:.2f}% / rolled {:.2f}%",
                                           100 * r.marker_accuracy, 100 * r.rolled_marker_accuracy)
                             : "",
      duration_format(secs));
  return r;
}

std::vector<TrainResult> train_zoo(const std::string& zoo_yaml, const YAML::Node& overrides,
                                   bool force) {
  YAML::Node root = yaml_load_file(zoo_yaml);
  YamlReader top(root);
  top.child("defaults");
  if (!root["models"] || !root["models"].IsSequence())
    throw StitchError(fmt::format(
        "zoo file '{}' needs a 'models:' list of {{arch, recipe, seeds}} entries", zoo_yaml));
  top.allow("models");
  const std::string out_dir = top.str("out_dir", "models/zoo");
  top.finish();  // only defaults, models, out_dir allowed
  std::filesystem::create_directories(out_dir);
  // Expand and validate every job before training any, so a typo fails in the first second.
  std::vector<TrainConfig> jobs;
  for (const auto& entry : root["models"]) {
    if (!entry.IsMap())
      throw StitchError(fmt::format("zoo file '{}': each models entry must be a map", zoo_yaml));
    std::vector<int64_t> seeds{0};
    if (entry["seeds"]) seeds = entry["seeds"].as<std::vector<int64_t>>();
    for (int64_t s : seeds) {
      YAML::Node job =
          root["defaults"] ? YAML::Clone(root["defaults"]) : YAML::Node(YAML::NodeType::Map);
      for (const auto& kv : entry)
        if (kv.first.as<std::string>() != "seeds")
          job[kv.first.as<std::string>()] = YAML::Clone(kv.second);
      job["seed"] = s;
      yaml_merge(job, overrides);
      TrainConfig c = train_config_parse(job);
      if (c.out.empty()) c.out = fmt::format("{}/{}_{}_s{}.pt", out_dir, c.arch, c.recipe, c.seed);
      jobs.push_back(c);
    }
  }
  std::vector<TrainResult> results;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const TrainConfig& c = jobs[i];
    if (!force && std::filesystem::exists(c.out)) {
      spdlog::info("zoo: [{}/{}] {} exists, skipped (use --force to retrain)", i + 1, jobs.size(),
                   c.out);
      StagedModel m = StagedModel::load(c.out);
      TrainResult r;
      r.path = c.out;
      r.clean_accuracy = m.meta().clean_accuracy;
      r.robust_accuracy = m.meta().robust_accuracy;
      r.marker_accuracy = m.meta().marker_accuracy;
      r.rolled_marker_accuracy = m.meta().rolled_marker_accuracy;
      const auto info = nlohmann::json::parse(m.meta().train_info, nullptr, false);
      if (info.is_object()) r.train_seconds = info.value("train_seconds", 0.0);
      results.push_back(r);
      continue;
    }
    spdlog::info("zoo: [{}/{}] training {}", i + 1, jobs.size(), c.out);
    results.push_back(train_model(c));
  }
  return results;
}

}  // namespace stitch
