#include "stitch/runner/stitch_run.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/data/fashion_mnist.h"
#include "stitch/data/markers.h"
#include "stitch/metrics/classification.h"
#include "stitch/model/staged_model.h"
#include "stitch/objectives/losses.h"
#include "stitch/runner/results.h"
#include "stitch/stitchers/fit.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/train/trainer.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/hash.h"
#include "stitch/util/progress.h"
#include "stitch/util/schedule.h"
#include "stitch/util/version.h"

namespace stitch {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr int64_t kEvalBatch = 500;

// Activations shared by every job of an experiment (front frozen in eval mode).
struct Shared {
  at::Tensor front_train, end_train, end_logits_train, labels_train;  // at i, at j, logits, labels
  at::Tensor front_test, end_test, end_logits_test, front_logits_test, labels_test;
  std::vector<std::string> downstream;  // end-model layers after j used by FuLA / diagnostics
};

void collect(StagedModel& front, StagedModel& end, const StitchConfig& c, const Dataset& d,
             c10::Device dev, at::Tensor& fa, at::Tensor& ea, at::Tensor& el, at::Tensor* fl) {
  torch::NoGradGuard g;
  std::vector<at::Tensor> f, e, l, fo;
  for (int64_t s = 0; s < d.size(); s += kEvalBatch) {
    at::Tensor x = d.images.narrow(0, s, std::min(kEvalBatch, d.size() - s)).to(dev);
    at::Tensor logits, flog;
    f.push_back(front.forward_collect(x, {c.front_point}, fl ? &flog : nullptr)[0]);
    if (fl) fo.push_back(flog);
    e.push_back(end.forward_collect(x, {c.end_point}, &logits)[0]);
    l.push_back(logits);
  }
  fa = at::cat(f);
  ea = at::cat(e);
  el = at::cat(l);
  if (fl) *fl = at::cat(fo);
}

std::vector<std::string> downstream_points(const StagedModel& end, const StitchConfig& c) {
  std::vector<std::string> cand = c.fula_points;
  if (cand.empty()) cand = end.meta().stitch_points;
  if (cand.empty())
    for (const auto& p : end.points())
      if (p.depth == 1) cand.push_back(p.name);
  const size_t j = end.position(c.end_point);
  std::vector<std::pair<size_t, std::string>> after;
  for (const auto& p : cand) {
    const size_t pos = end.position(p);
    if (pos > j &&
        std::none_of(after.begin(), after.end(), [&](const auto& a) { return a.first == pos; }))
      after.push_back({pos, p});
  }
  std::sort(after.begin(), after.end());
  std::vector<std::string> out;
  for (const auto& a : after)
    if (c.fula_cutoff < 0 || static_cast<int64_t>(out.size()) < c.fula_cutoff)
      out.push_back(a.second);
  return out;
}

// Stitched pass from the stitch output z at j: fills `acts` with the end activations at each
// downstream point (when collecting) and returns the logits.
at::Tensor end_from(StagedModel& end, const at::Tensor& z, const std::string& j,
                    const std::vector<std::string>& down, std::vector<at::Tensor>* acts) {
  if (!acts) return end.forward_range(z, j, kOutput);
  at::Tensor cur = z;
  std::string prev = j;
  for (const auto& l : down) {
    cur = end.forward_range(cur, prev, l);
    acts->push_back(cur);
    prev = l;
  }
  return end.forward_range(cur, prev, kOutput);
}

Affine closed_form(const std::string& how, StitchLayer& T, const Shared& sh,
                   const StitchConfig& c) {
  const int64_t k = std::min<int64_t>(c.init_samples, sh.front_train.size(0));
  at::Tensor X = T->rows_in(sh.front_train.narrow(0, 0, k)),
             Y = T->rows_out(sh.end_train.narrow(0, 0, k));
  if (how == "lstsq" || how == "dm_closed") {
    if (X.size(0) < X.size(1) + 1)
      spdlog::warn("lstsq: {} rows for {} inputs (+bias) is underdetermined: {}", X.size(0),
                   X.size(1),
                   c.ridge > 0 ? fmt::format("using the ridge solution (ridge {})", c.ridge)
                               : "using the minimum-norm pinv solution; set train.ridge > 0 or "
                                 "data.init_samples higher");
    return fit_lstsq(X, Y, c.ridge);
  }
  if (how == "procrustes")
    return procrustes_affine(
        fit_procrustes(X, Y, c.procrustes_center, c.procrustes_scale, c.procrustes_kabsch));
  return fit_maiorca(X, Y);
}

void init_stitch(StitchLayer& T, const std::string& method, int64_t seed, const Shared& sh,
                 const StitchConfig& c) {
  const std::string how = method_is_closed_form(method) ? method : c.init;
  if (how == "rand")
    T->init_rand(static_cast<uint64_t>(seed));
  else if (how == "eye")
    T->init_eye();
  else
    T->set_affine(closed_form(how, T, sh, c));
}

Json train_stitch(StitchLayer& T, StagedModel& end, const std::string& method, int64_t seed,
                  const Shared& sh, const StitchConfig& c, c10::Device dev) {
  std::vector<at::Tensor> params = T->parameters();
  torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  Dataset rows;  // only the index is used: rows of the shared activations
  rows.labels = sh.labels_train;
  rows.index = at::arange(sh.labels_train.size(0), at::kLong);
  Batcher batcher(rows, c.batch_size, static_cast<uint64_t>(seed), true, /*drop_last=*/true);
  const int64_t nb = batcher.batches_per_epoch(), total = nb * c.epochs;
  Progress progress(fmt::format("{}-s{}", method, seed), total);
  Json curve = Json::array();
  T->train();
  end.train(c.bn_mode == "train");
  int64_t step = 0;
  double ema = 0;
  for (int64_t e = 0; e < c.epochs; ++e) {
    batcher.epoch_begin(e);
    double sum = 0;
    for (int64_t b = 0; b < nb; ++b, ++step) {
      interrupt_throw_if_requested();
      at::Tensor idx = batcher.batch_rows(b).to(dev);
      at::Tensor xi = sh.front_train.index_select(0, idx), aj = sh.end_train.index_select(0, idx);
      at::Tensor y = sh.labels_train.index_select(0, idx),
                 g = sh.end_logits_train.index_select(0, idx);
      for (auto& grp : opt.param_groups())
        static_cast<torch::optim::AdamOptions&>(grp.options())
            .lr(schedule_lr(c.schedule, c.lr, step, total));
      opt.zero_grad();
      at::Tensor z = T->forward(xi), loss;
      if (method == "dm_hint") {
        loss = relative_distance(z, aj);
      } else if (method == "fula") {
        std::vector<at::Tensor> st{z}, cl{aj};
        at::Tensor logits = end_from(end, z, c.end_point, sh.downstream, &st);
        {
          torch::NoGradGuard ng;
          end_from(end, aj, c.end_point, sh.downstream, &cl);
        }
        loss = fula_loss(st, cl, c.fula_weights);
        if (c.fula_soft) {
          const double n = static_cast<double>(st.size());
          loss = (loss * n + soft_label_kl(g, logits)) / (n + 1);
        }
      } else {
        at::Tensor logits = end_from(end, z, c.end_point, sh.downstream, nullptr);
        loss = method == "tlm" ? torch::nn::functional::cross_entropy(logits, y)
                               : soft_label_kl(g, logits);
      }
      const double lv = loss.item<double>();
      if (!std::isfinite(lv))
        throw StitchError(
            fmt::format("{} seed {}: loss is {} at epoch {} step {}; lower train.lr (now {}) or "
                        "check the models",
                        method, seed, lv, e + 1, b + 1, c.lr));
      loss.backward();
      opt.step();
      if (c.iso_lambda > 0 && c.rank == 0) {  // decoupled AdamO-style step: moments never see it
        torch::NoGradGuard ng;
        at::Tensor w = T->named_parameters()["weight"];
        w.sub_(schedule_lr(c.schedule, c.lr, step, total) * c.iso_lambda * isometry_grad(w));
      }
      sum += lv;
      ema = step == 0 ? lv : 0.98 * ema + 0.02 * lv;
      progress.update(step + 1, fmt::format("loss {:.4f}", ema));
    }
    curve.push_back({{"epoch", e + 1}, {"loss", sum / static_cast<double>(nb)}});
  }
  progress.finish(fmt::format("loss {:.4f}", ema));
  T->eval();
  end.train(false);
  return curve;
}

// Test-set evaluation: stitched logits, per-layer relative distances and R^2.
Json evaluate(StitchLayer& T, StagedModel& end, const Shared& sh, const StitchConfig& c) {
  torch::NoGradGuard g;
  T->eval();
  const size_t L = sh.downstream.size() + 1;
  std::vector<double> diff2(L, 0), ref2(L, 0), sum(L, 0), count(L, 0);
  std::vector<at::Tensor> logits;
  for (int64_t s = 0; s < sh.front_test.size(0); s += kEvalBatch) {
    const int64_t n = std::min(kEvalBatch, sh.front_test.size(0) - s);
    at::Tensor z = T->forward(sh.front_test.narrow(0, s, n)), aj = sh.end_test.narrow(0, s, n);
    std::vector<at::Tensor> st{z}, cl{aj};
    logits.push_back(end_from(end, z, c.end_point, sh.downstream, &st));
    end_from(end, aj, c.end_point, sh.downstream, &cl);
    for (size_t l = 0; l < L; ++l) {
      at::Tensor a = cl[l].to(at::kDouble), h = st[l].to(at::kDouble);
      diff2[l] += (h - a).pow(2).sum().item<double>();
      ref2[l] += a.pow(2).sum().item<double>();
      sum[l] += a.sum().item<double>();
      count[l] += static_cast<double>(a.numel());
    }
  }
  at::Tensor lg = at::cat(logits);
  const at::Tensor& y = sh.labels_test;
  Json r;
  r["stitched_acc"] = topk_accuracy(lg, y, 1);
  r["stitched_top5"] = topk_accuracy(lg, y, 5);
  r["end_acc"] = topk_accuracy(sh.end_logits_test, y, 1);
  r["front_acc"] = topk_accuracy(sh.front_logits_test, y, 1);
  r["stitching_penalty"] = r["end_acc"].get<double>() - r["stitched_acc"].get<double>();
  r["agreement"] = prediction_agreement(lg, sh.end_logits_test);
  r["hard_agreement"] = correctness_agreement(lg, sh.end_logits_test, y);
  r["soft_agreement"] = soft_agreement(lg, sh.end_logits_test);
  r["kappa"] = error_consistency(lg, sh.end_logits_test, y);
  Json terms = Json::array(), r2 = Json::array();
  double mean_term = 0;
  for (size_t l = 0; l < L; ++l) {
    const double d = std::sqrt(diff2[l]) / std::max(std::sqrt(ref2[l]), 1e-30);
    // var = E[a^2] - E[a]^2 over all entries (one scalar mean, as the reference code logs it)
    const double var = ref2[l] / count[l] - (sum[l] / count[l]) * (sum[l] / count[l]);
    terms.push_back(d);
    r2.push_back(1.0 - (diff2[l] / count[l]) / std::max(var, 1e-30));
    mean_term += d / static_cast<double>(L);
  }
  r["stitch_residual"] = terms[0];
  r["fula_test"] = mean_term;
  r["layer_terms"] = terms;
  r["layer_r2"] = r2;
  const MatrixStats ms = matrix_stats(T->weight());
  r["rank"] = ms.rank;
  r["condition"] = ms.condition;
  r["orth_error"] = ms.orth_error;
  r["sv_ratio"] = ms.sv_ratio;
  return r;
}

// Evaluations that need the stitched model on new images (front recomputed): robust accuracy
// under PGD and excess agreement with shortcut markers (METHODS.md §1.6b).
void evaluate_inputs(StitchLayer& T, StagedModel& front, StagedModel& end, const Dataset& test,
                     const StitchConfig& c, c10::Device dev, Json& row) {
  ForwardFn stitched = [&](const at::Tensor& x) {
    return end.forward_range(T->forward(front.forward_range(x, kInput, c.front_point)), c.end_point,
                             kOutput);
  };
  ForwardFn end_fn = [&](const at::Tensor& x) { return end.forward(x); };
  if (c.robust_samples > 0) {
    const PgdOptions o{c.robust_epsilon, c.robust_alpha, c.robust_steps, true, 777};
    const Dataset sub = dataset_first(test, c.robust_samples);
    row["robust_acc"] = robust_accuracy_eval(stitched, sub, o, dev);
    row["end_robust_acc"] = robust_accuracy_eval(end_fn, sub, o, dev);
  }
  if (c.markers != "none") {
    torch::NoGradGuard g;
    const MarkerMode mode = marker_mode_parse(c.markers);
    auto agreement_with = [&](const at::Tensor& marker_class) {
      std::vector<at::Tensor> hs, gs;
      at::Tensor imgs = markers_apply(test.images, marker_class, mode, 4242);
      for (int64_t s = 0; s < test.size(); s += kEvalBatch) {
        at::Tensor x = imgs.narrow(0, s, std::min(kEvalBatch, test.size() - s)).to(dev);
        hs.push_back(stitched(x));
        gs.push_back(end_fn(x));
      }
      return prediction_agreement(at::cat(hs), at::cat(gs));
    };
    const double correct = agreement_with(test.labels),
                 rolled = agreement_with(labels_roll(test.labels));
    row["marker_agreement"] = correct;
    row["rolled_marker_agreement"] = rolled;
    row["excess_agreement"] = correct - rolled;
  }
}

}  // namespace

std::vector<Json> stitch_experiment_run(const StitchConfig& c) {
  interrupt_install();
  const c10::Device dev = device_parse(c.device);
  threads_set(static_cast<int>(c.threads));
  StagedModel front = StagedModel::load(c.front, dev), end = StagedModel::load(c.end, dev);
  front.probe();
  end.probe();
  StitchSpec spec;
  spec.in_shape = front.point(c.front_point).shape;
  spec.out_shape = end.point(c.end_point).shape;
  spec.bn_before = c.bn_before;
  spec.bn_after = c.bn_after;
  spec.rank = c.rank;
  StitchLayer{spec};  // fails on unsupported shapes or ranks before any data is touched
  for (auto* m : {&front, &end})
    for (auto& p : m->parameters()) p.requires_grad_(false);
  Shared sh;
  sh.downstream = downstream_points(end, c);
  const auto needs_downstream = [&](const std::string& m) { return m == "fula"; };
  if (std::any_of(c.methods.begin(), c.methods.end(), needs_downstream) && sh.downstream.empty())
    throw StitchError(fmt::format(
        "fula needs end-model layers after end_point '{}' and {} has none (layers: {}); choose "
        "an earlier end_point or use dm_hint",
        c.end_point, c.end, fmt::join(end.meta().stitch_points, ", ")));
  if (!c.fula_weights.empty() && c.fula_weights.size() != sh.downstream.size() + 1)
    throw StitchError(fmt::format("fula.weights has {} entries but FuLA uses {} layers ({} and {})",
                                  c.fula_weights.size(), sh.downstream.size() + 1, c.end_point,
                                  fmt::join(sh.downstream, ", ")));
  const Dataset train = dataset_first(fashion_mnist_load("train", c.data_dir), c.train_samples);
  const Dataset test = dataset_first(fashion_mnist_load("test", c.data_dir), c.test_samples);
  const auto t0 = std::chrono::steady_clock::now();
  collect(front, end, c, train, dev, sh.front_train, sh.end_train, sh.end_logits_train, nullptr);
  collect(front, end, c, test, dev, sh.front_test, sh.end_test, sh.end_logits_test,
          &sh.front_logits_test);
  sh.labels_train = train.labels.to(dev);
  sh.labels_test = test.labels.to(dev);
  spdlog::info("run {}: shared activations for {} train / {} test images in {}", c.name,
               train.size(), test.size(),
               duration_format(
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  const std::string exp_dir = c.out_dir + "/" + c.name;
  std::error_code ec;
  fs::create_directories(exp_dir, ec);
  if (ec)
    throw StitchError(fmt::format("cannot create output folder '{}': {}", exp_dir, ec.message()));
  const std::string sha_front = file_sha256(c.front), sha_end = file_sha256(c.end);
  std::vector<Json> rows;
  for (const auto& method : c.methods)
    for (int64_t seed : c.seeds) {
      const std::string job = fmt::format("{}/{}_s{}", exp_dir, method, seed);
      if (fs::exists(job + "/result.json")) {
        std::ifstream in(job + "/result.json");
        rows.push_back(Json::parse(in)["summary"]);
        spdlog::info("run {}: {} seed {} already done, skipped", c.name, method, seed);
        continue;
      }
      fs::create_directories(job);
      torch::manual_seed(static_cast<uint64_t>(seed));
      StitchLayer T(spec);
      T->to(dev);
      const auto j0 = std::chrono::steady_clock::now();
      init_stitch(T, method, seed, sh, c);
      const double fit_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - j0).count();
      Json curve = Json::array();
      if (!method_is_closed_form(method)) curve = train_stitch(T, end, method, seed, sh, c, dev);
      const double train_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - j0).count() - fit_s;
      Json ev = evaluate(T, end, sh, c);
      Json row = {{"name", c.name},
                  {"method", method},
                  {"seed", seed},
                  {"front", c.front},
                  {"end", c.end},
                  {"front_point", c.front_point},
                  {"end_point", c.end_point},
                  {"stitch_kind", stitch_kind_name(T->kind())}};
      for (auto it = ev.begin(); it != ev.end(); ++it)
        if (!it.value().is_array()) row[it.key()] = it.value();
      evaluate_inputs(T, front, end, test, c, dev, row);
      for (const char* k : {"stitched_acc", "fula_test"})
        if (!std::isfinite(row[k].get<double>()))
          throw StitchError(
              fmt::format("{} seed {}: {} is not finite; nothing written", method, seed, k));
      row["fit_seconds"] = fit_s;
      row["train_seconds"] = train_s;
      row["git_commit"] = std::string(git_commit()) + (git_dirty() ? "+dirty" : "");
      row["torch_version"] = torch_version();
      row["device"] = dev.str();
      row["front_sha256"] = sha_front;
      row["end_sha256"] = sha_end;
      StitchConfig one = c;
      one.methods = {method};
      one.seeds = {seed};
      Json result = {{"summary", row},
                     {"layers", Json::array()},
                     {"loss_curve", curve},
                     {"config", YAML::Dump(stitch_config_dump(one))}};
      std::vector<std::string> names{c.end_point};
      names.insert(names.end(), sh.downstream.begin(), sh.downstream.end());
      for (size_t l = 0; l < names.size(); ++l)
        result["layers"].push_back(
            {{"point", names[l]}, {"fula_term", ev["layer_terms"][l]}, {"r2", ev["layer_r2"][l]}});
      file_write_text(job + "/config.resolved.yaml", YAML::Dump(stitch_config_dump(one)) + "\n");
      file_write_atomic(job + "/stitch.pt", [&](const std::string& tmp) { torch::save(T, tmp); });
      file_write_text(job + "/result.json", result.dump(1) + "\n");  // last: marks the job done
      results_append(exp_dir, row);
      rows.push_back(row);
    }
  return rows;
}

}  // namespace stitch
