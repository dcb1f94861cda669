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
#include "stitch/metrics/evaluate.h"
#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/objectives/schedule.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"
#include "stitch/util/provenance.h"
#include "stitch/util/version.h"

namespace stitch {

namespace {
constexpr int64_t kSyncSteps = 16;  // steps between read-backs of the training loss

// What one training job works on: the model on its device and the data.
struct TrainSetup {
  std::string src, out;
  c10::Device device{"cpu"};
  StagedModel model;
  Dataset train, test;
  int64_t classes = 0;
};

// Loads the untrained model and the data, checks labels against the model's classes and
// re-initialises the weights from c.seed.
TrainSetup train_setup(const TrainConfig& c) {
  const c10::Device device = device_parse(c.device);
  const std::string src = c.model.empty() ? arch_path(c.arch, c.arch_dir) : c.model;
  // Check the output location before spending minutes on training.
  file_check_writable(c.out_path());
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
  return TrainSetup{src, c.out_path(), device, std::move(m), train, test, classes};
}

std::unique_ptr<torch::optim::Optimizer> optimizer_make(const TrainConfig& c,
                                                        std::vector<at::Tensor> params) {
  for (auto& p : params) p.requires_grad_(true);
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(c.lr)
                                                           .momentum(c.momentum)
                                                           .nesterov(c.momentum > 0)
                                                           .weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
}

// One batch's inputs on the device under the recipe: augmented, with class markers (shortcut)
// or with PGD examples made against the model in eval mode in front of the clean rows
// (adversarial).
at::Tensor batch_inputs(const TrainConfig& c, TrainSetup& s, const Dataset& batch,
                        const at::Tensor& y, uint64_t bseed) {
  at::Tensor x = images_augment(batch.images, c.augment, bseed);
  if (c.recipe == Recipe::kShortcut)
    x = markers_apply(x, marker_classes(batch.labels, c.marker_prob, bseed ^ 0x5bd1e995ULL),
                      c.marker_mode, bseed, s.classes);
  x = x.to(s.device);
  if (c.recipe != Recipe::kAdversarial) return x;
  const int64_t n_adv =
      static_cast<int64_t>(std::llround(c.adv_fraction * static_cast<double>(x.size(0))));
  if (n_adv == 0) return x;
  s.model.train(false);
  PgdOptions po = c.pgd;
  po.seed = bseed;
  ForwardFn fwd = [&s](const at::Tensor& in) { return s.model.forward(in); };
  at::Tensor adv = pgd_linf(fwd, x.narrow(0, 0, n_adv), y.narrow(0, 0, n_adv), po);
  return at::cat({adv, x.narrow(0, n_adv, x.size(0) - n_adv)});
}

// Loss and hits summed on the device and read back once per window of steps: each read-back
// is a device sync (two per step before).
struct LossWindow {
  at::Tensor loss, hits;
  int64_t steps = 0;
  void add(const at::Tensor& l, const at::Tensor& logits, const at::Tensor& y) {
    const at::Tensor lv = l.detach().to(at::kDouble);
    const at::Tensor h = logits.detach().argmax(1).eq(y).sum();
    loss = loss.defined() ? loss + lv : lv;
    hits = hits.defined() ? hits + h : h;
    ++steps;
  }
};

// Running totals of one epoch and the smoothed loss the progress line shows.
struct EpochStats {
  double loss_sum = 0, loss_ema = 0;
  int64_t correct = 0, seen = 0;
};

// Reads the window back: throws on a non-finite loss, else adds it to the epoch's totals.
void window_read(LossWindow& w, EpochStats& st, const TrainConfig& c, int64_t epoch, int64_t b,
                 int64_t step) {
  const double lv = w.loss.item<double>(), n = static_cast<double>(w.steps);
  if (!std::isfinite(lv))
    throw StitchError(fmt::format(
        "training loss is {} at epoch {} steps {}..{}: lower lr (now {}) or check the data", lv / n,
        epoch + 1, b + 2 - w.steps, b + 1, c.lr));
  st.loss_sum += lv;
  st.correct += w.hits.item<int64_t>();
  const double keep = std::pow(0.98, n);
  st.loss_ema = step + 1 == w.steps ? lv / n : keep * st.loss_ema + (1 - keep) * lv / n;
  w = LossWindow{};
}

struct TrainLoop {
  nlohmann::json history = nlohmann::json::array();
  double loss_ema = 0, seconds = 0;
  int64_t images = 0;
};

// The optimisation: c.epochs passes over shuffled batches (last partial batch dropped), the
// learning rate set per step from the schedule.
TrainLoop train_loop(const TrainConfig& c, TrainSetup& s) {
  auto opt = optimizer_make(c, s.model.parameters());
  Batcher batcher(s.train, c.batch_size, static_cast<uint64_t>(c.seed), /*shuffle=*/true,
                  /*drop_last=*/true);
  const int64_t nb = batcher.batches_per_epoch(), total = nb * c.epochs;
  spdlog::info(
      "train-model: {} {} seed {} on {} ({} train / {} test images, {} epochs x {} batches of {}, "
      "{} threads)",
      s.model.meta().arch, enum_name(c.recipe), c.seed, s.device.str(), s.train.size(),
      s.test.size(), c.epochs, nb, c.batch_size, at::get_num_threads());
  Progress progress(fmt::format("{}-{}-s{}", s.model.meta().arch, enum_name(c.recipe), c.seed),
                    total);
  TrainLoop r;
  EpochStats st;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t e = 0; e < c.epochs; ++e) {
    batcher.epoch_begin(e);
    st = EpochStats{0, st.loss_ema, 0, 0};
    LossWindow w;
    for (int64_t b = 0; b < nb; ++b, ++step) {
      interrupt_throw_if_requested();
      const uint64_t bseed =
          static_cast<uint64_t>(c.seed) * 1'000'003ULL + static_cast<uint64_t>(step);
      Dataset batch = batcher.batch(b);
      at::Tensor y = batch.labels.to(s.device);
      at::Tensor x = batch_inputs(c, s, batch, y, bseed);
      s.model.train(true);
      for (auto& g : opt->param_groups())
        static_cast<torch::optim::OptimizerOptions&>(g.options())
            .set_lr(schedule_lr(c.schedule, c.lr, step, total));
      opt->zero_grad();
      at::Tensor logits = s.model.forward(x);
      at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      opt->step();
      w.add(loss, logits, y);
      st.seen += y.size(0);
      if ((b + 1) % kSyncSteps != 0 && b + 1 != nb) continue;
      window_read(w, st, c, e, b, step);
      progress.update(step + 1,
                      fmt::format("epoch {}/{} loss {:.3f}", e + 1, c.epochs, st.loss_ema));
    }
    r.history.push_back(
        {{"epoch", e + 1},
         {"loss", st.loss_sum / static_cast<double>(nb)},
         {"train_accuracy", static_cast<double>(st.correct) / static_cast<double>(st.seen)}});
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.loss_ema = st.loss_ema;
  r.images = total * c.batch_size;
  progress.finish(fmt::format("loss {:.3f}", st.loss_ema));
  return r;
}

// Clean accuracy on the test images; PGD robust accuracy on the first robust_eval_samples;
// for shortcut models, accuracy with the correct and with the next class's marker pasted in.
void trained_evaluate(const TrainConfig& c, TrainSetup& s, TrainResult& r) {
  s.model.train(false);
  ForwardFn fwd = [&s](const at::Tensor& x) { return s.model.forward(x); };
  r.clean_accuracy = accuracy_eval(fwd, s.test, s.device);
  if (c.robust_eval_samples > 0) {
    PgdOptions po = c.pgd;
    po.steps = c.robust_eval_steps;
    po.seed = 777;
    r.robust_accuracy =
        robust_accuracy_eval(fwd, dataset_first(s.test, c.robust_eval_samples), po, s.device);
  }
  if (c.recipe != Recipe::kShortcut) return;
  Dataset marked = s.test, rolled = s.test;
  marked.images = markers_apply(s.test.images, s.test.labels, c.marker_mode, 4242, s.classes);
  rolled.images = markers_apply(s.test.images, labels_roll(s.test.labels, 1, s.classes),
                                c.marker_mode, 4242, s.classes);
  r.marker_accuracy = accuracy_eval(fwd, marked, s.device);
  r.rolled_marker_accuracy = accuracy_eval(fwd, rolled, s.device);
}

// Writes the model with its metadata: recipe, seed, accuracies and the train_info JSON
// (resolved config, provenance, timings, per-epoch history).
void trained_save(const TrainConfig& c, TrainSetup& s, const TrainLoop& loop,
                  const TrainResult& r) {
  nlohmann::json info;
  info["config"] = YAML::Dump(train_config_dump(c));
  info["source_model"] = s.src;
  info.update(provenance(s.device.str()));
  info["threads"] = at::get_num_threads();
  info["train_seconds"] = loop.seconds;
  info["images_per_second"] = r.images_per_second;
  info["train_images"] = s.train.size();
  info["test_images"] = s.test.size();
  info["history"] = loop.history;
  if (c.recipe == Recipe::kShortcut) info["marker_mode"] = enum_name(c.marker_mode);
  ModelMeta meta = s.model.meta();
  meta.recipe = enum_name(c.recipe);
  meta.seed = c.seed;
  meta.epochs = c.epochs;
  meta.clean_accuracy = r.clean_accuracy;
  meta.robust_accuracy = r.robust_accuracy;
  meta.marker_accuracy = r.marker_accuracy;
  meta.rolled_marker_accuracy = r.rolled_marker_accuracy;
  meta.train_info = info.dump();
  model_meta_write(s.model, meta);
  model_save(s.model, s.out);
}
}  // namespace

TrainResult train_model(const TrainConfig& c) {
  interrupt_install();
  threads_set(static_cast<int>(c.threads));
  tf32_set(false);  // float32 on CUDA as on the CPU
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  TrainSetup s = train_setup(c);
  const TrainLoop loop = train_loop(c, s);
  TrainResult r;
  r.path = s.out;
  r.train_seconds = loop.seconds;
  r.images_per_second = static_cast<double>(loop.images) / loop.seconds;
  r.final_loss = loop.loss_ema;
  r.train_images = s.train.size();
  r.test_images = s.test.size();
  trained_evaluate(c, s, r);
  trained_save(c, s, loop, r);
  spdlog::info(
      "train-model: saved {}: clean {:.2f}%{}{} in {}", s.out, 100 * r.clean_accuracy,
      r.robust_accuracy >= 0
          ? fmt::format(", PGD-{} robust {:.2f}%", c.robust_eval_steps, 100 * r.robust_accuracy)
          : "",
      r.marker_accuracy >= 0 ? fmt::format(", markers {:.2f}% / rolled {:.2f}%",
                                           100 * r.marker_accuracy, 100 * r.rolled_marker_accuracy)
                             : "",
      duration_format(loop.seconds));
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
      if (c.out.empty())
        c.out = fmt::format("{}/{}_{}_s{}.pt", out_dir, c.arch, enum_name(c.recipe), c.seed);
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
