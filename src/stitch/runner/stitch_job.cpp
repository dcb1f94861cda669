#include "stitch/runner/stitch_job.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/data/markers.h"
#include "stitch/model/staged_model.h"
#include "stitch/objectives/losses.h"
#include "stitch/train/trainer.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"
#include "stitch/util/schedule.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
constexpr int64_t kEvalBatch = 500;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Stitched pass from the stitch output z at j: collects the end activations at each downstream
// point into `acts` (when given) and returns the logits, or an undefined tensor when the logits
// are not wanted (the pass then stops at the last downstream point).
at::Tensor end_from(StagedModel& end, const at::Tensor& z, const std::string& j,
                    const std::vector<std::string>& down, std::vector<at::Tensor>* acts,
                    bool logits = true) {
  if (!acts) return end.forward_range(z, j, kOutput);
  at::Tensor cur = z;
  std::string prev = j;
  for (const auto& l : down) {
    cur = end.forward_range(cur, prev, l);
    acts->push_back(cur);
    prev = l;
  }
  return logits ? end.forward_range(cur, prev, kOutput) : at::Tensor();
}

void init_stitch(StitchLayer& T, const Method& m, int64_t seed, const JobInputs& in,
                 const StitchConfig& c) {
  const Method* fit = m.closed_form            ? &m
                      : c.init == "lstsq"      ? &method_get("dm_closed")
                      : c.init == "procrustes" ? &method_get("procrustes")
                                               : nullptr;
  if (fit) {
    const int64_t k = std::min<int64_t>(c.init_samples, in.train.front->rows());
    const c10::Device dev = T->weight().device();
    at::Tensor X = T->rows_in(in.train.front->range(0, k).to(dev)),
               Y = T->rows_out(in.train.end->range(0, k).to(dev));
    T->set_affine(fit->fit(X, Y, c));
  } else if (c.init == "eye") {
    T->init_eye();
  } else {
    T->init_rand(static_cast<uint64_t>(seed));
  }
}

// Mixed precision while alive: autocast to bfloat16 on the device's backend (CPU or CUDA).
// bfloat16 keeps float32's exponent range, so no loss scaling is needed.
class AutocastScope {
 public:
  AutocastScope(bool on, c10::Device dev) : on_(on), cuda_(dev.is_cuda()) {
    if (!on_) return;
    if (cuda_) {
      prev_ = at::autocast::is_enabled();
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      prev_ = at::autocast::is_cpu_enabled();
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_)
      at::autocast::set_enabled(prev_);
    else
      at::autocast::set_cpu_enabled(prev_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, cuda_, prev_ = false;
};

// Steps between read-backs of the loss (NaN check, progress): each read-back syncs the device.
constexpr int64_t kLossSyncSteps = 16;

Json train_stitch(StitchLayer& T, StagedModel& end, const Method& m, int64_t seed,
                  const JobInputs& in, const StitchConfig& c, const std::string& label) {
  const c10::Device dev = T->weight().device();
  std::vector<at::Tensor> params = T->parameters();
  torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  Dataset rows;  // only the index is used: rows of the stored activations
  rows.labels = in.train.labels;
  rows.index = at::arange(in.train.labels.size(0), at::kLong);
  Batcher batcher(rows, c.batch_size, static_cast<uint64_t>(seed), true, /*drop_last=*/true);
  const int64_t nb = batcher.batches_per_epoch(), total = nb * c.epochs;
  if (nb == 0)
    throw StitchError(
        fmt::format("{}: {} training samples are less than one batch of {}; lower "
                    "train.batch_size or raise data.train_samples",
                    label, in.train.labels.size(0), c.batch_size));
  const bool logits = m.needs_logits(c);
  const bool live_clean = m.needs_downstream && c.bn_mode == "train";  // batch statistics
  Progress progress(label, total);
  Json curve = Json::array();
  T->train();
  end.train(c.bn_mode == "train");
  int64_t step = 0;
  double ema = 0;
  at::Tensor window;  // sum of the losses since the last read-back
  for (int64_t e = 0; e < c.epochs; ++e) {
    batcher.epoch_begin(e);
    double sum = 0;
    for (int64_t b = 0; b < nb; ++b, ++step) {
      interrupt_throw_if_requested();
      const at::Tensor idx = batcher.batch_rows(b);
      StepTensors s;
      s.aj = in.train.end->gather(idx).to(dev);
      s.labels = in.train.labels.index_select(0, idx).to(dev);
      if (logits) s.end_logits = in.train.end_logits->gather(idx).to(dev);
      for (auto& grp : opt.param_groups())
        static_cast<torch::optim::AdamOptions&>(grp.options())
            .lr(schedule_lr(c.schedule, c.lr, step, total));
      opt.zero_grad();
      std::optional<AutocastScope> amp;
      amp.emplace(c.amp, dev);
      s.z = T->forward(in.train.front->gather(idx).to(dev));
      if (m.needs_downstream) {
        s.logits = end_from(end, s.z, c.end_point, in.downstream, &s.stitched_down, logits);
        if (live_clean) {
          torch::NoGradGuard ng;
          end_from(end, s.aj, c.end_point, in.downstream, &s.clean_down, false);
        } else {
          for (const auto& r : in.train.down) s.clean_down.push_back(r->gather(idx).to(dev));
        }
      } else if (logits) {
        s.logits = end_from(end, s.z, c.end_point, in.downstream, nullptr);
      }
      at::Tensor loss = m.loss(s, c).to(at::kFloat);
      amp.reset();  // backward runs outside autocast, as torch.autocast recommends
      loss.backward();
      opt.step();
      if (c.iso_lambda > 0 && c.rank == 0) {  // decoupled AdamO-style step: moments never see it
        torch::NoGradGuard ng;
        at::Tensor w = T->named_parameters()["weight"];
        w.sub_(schedule_lr(c.schedule, c.lr, step, total) * c.iso_lambda * isometry_grad(w));
      }
      // The loss is read back (a device sync on GPUs) once per window of steps, not every step.
      window = window.defined() ? window + loss.detach() : loss.detach();
      if ((b + 1) % kLossSyncSteps == 0 || b + 1 == nb) {
        const int64_t n = (b % kLossSyncSteps) + 1;
        const double lv = window.item<double>() / static_cast<double>(n);
        window = at::Tensor();
        if (!std::isfinite(lv))
          throw StitchError(fmt::format(
              "{} seed {}: loss is {} at epoch {} steps {}..{}; lower train.lr (now {}) or "
              "check the models",
              m.name, seed, lv, e + 1, b + 2 - n, b + 1, c.lr));
        sum += lv * static_cast<double>(n);
        ema = step + 1 == n ? lv
                            : std::pow(0.98, static_cast<double>(n)) * ema +
                                  (1 - std::pow(0.98, static_cast<double>(n))) * lv;
        progress.update(step + 1, fmt::format("loss {:.4f}", ema));
      }
    }
    curve.push_back({{"epoch", e + 1}, {"loss", sum / static_cast<double>(nb)}});
  }
  progress.finish(fmt::format("loss {:.4f}", ema));
  T->eval();
  end.train(false);
  return curve;
}

// Test-set evaluation from the stored activations: stitched logits, per-layer relative
// distances and R^2 against the stored clean end activations.
Evaluation evaluate(StitchLayer& T, StagedModel& end, const JobInputs& in, const StitchConfig& c) {
  torch::NoGradGuard g;
  T->eval();
  const c10::Device dev = T->weight().device();
  const SplitReaders& t = in.test;
  const size_t L = in.downstream.size() + 1;
  std::vector<double> diff2(L, 0), ref2(L, 0), sum(L, 0), count(L, 0);
  std::vector<at::Tensor> logits;
  const int64_t n_test = t.front->rows();
  for (int64_t s = 0; s < n_test; s += kEvalBatch) {
    interrupt_throw_if_requested();
    const int64_t n = std::min(kEvalBatch, n_test - s);
    at::Tensor z = T->forward(t.front->range(s, n).to(dev));
    std::vector<at::Tensor> st{z}, cl{t.end->range(s, n)};
    logits.push_back(end_from(end, z, c.end_point, in.downstream, &st).cpu());
    for (const auto& r : t.down) cl.push_back(r->range(s, n));
    for (size_t l = 0; l < L; ++l) {
      at::Tensor a = cl[l].to(at::kDouble), h = st[l].cpu().to(at::kDouble);
      diff2[l] += (h - a).pow(2).sum().item<double>();
      ref2[l] += a.pow(2).sum().item<double>();
      sum[l] += a.sum().item<double>();
      count[l] += static_cast<double>(a.numel());
    }
  }
  const at::Tensor lg = at::cat(logits), y = t.labels.cpu();
  const at::Tensor end_lg = t.end_logits->range(0, n_test),
                   front_lg = t.front_logits->range(0, n_test);
  Evaluation ev;
  ev.stitched_acc = topk_accuracy(lg, y, 1);
  ev.stitched_top5 = topk_accuracy(lg, y, 5);
  ev.end_acc = topk_accuracy(end_lg, y, 1);
  ev.front_acc = topk_accuracy(front_lg, y, 1);
  ev.stitching_penalty = ev.end_acc - ev.stitched_acc;
  ev.agreement = prediction_agreement(lg, end_lg);
  ev.hard_agreement = correctness_agreement(lg, end_lg, y);
  ev.soft_agreement = soft_agreement(lg, end_lg);
  ev.kappa = error_consistency(lg, end_lg, y);
  for (size_t l = 0; l < L; ++l) {
    const double d = std::sqrt(diff2[l]) / std::max(std::sqrt(ref2[l]), 1e-30);
    // var = E[a^2] - E[a]^2 over all entries (one scalar mean, as the reference code logs it)
    const double var = ref2[l] / count[l] - (sum[l] / count[l]) * (sum[l] / count[l]);
    ev.layer_terms.push_back(d);
    ev.layer_r2.push_back(1.0 - (diff2[l] / count[l]) / std::max(var, 1e-30));
    ev.fula_test += d / static_cast<double>(L);
  }
  ev.stitch_residual = ev.layer_terms[0];
  ev.matrix = matrix_stats(T->weight());
  return ev;
}

// Evaluations that need the stitched model on new images (front recomputed): robust accuracy
// under PGD and excess agreement with shortcut markers (docs/methods.md §1.6b).
void evaluate_inputs(StitchLayer& T, StagedModel& front, StagedModel& end, const Dataset& test,
                     const StitchConfig& c, Evaluation& ev) {
  const c10::Device dev = T->weight().device();
  ForwardFn stitched = [&](const at::Tensor& x) {
    return end.forward_range(T->forward(front.forward_range(x, kInput, c.front_point)), c.end_point,
                             kOutput);
  };
  ForwardFn end_fn = [&](const at::Tensor& x) { return end.forward(x); };
  if (c.robust_samples > 0) {
    const PgdOptions o{c.robust_epsilon, c.robust_alpha, c.robust_steps, true, 777};
    const Dataset sub = dataset_first(test, c.robust_samples);
    ev.robust_acc = robust_accuracy_eval(stitched, sub, o, dev);
    ev.end_robust_acc = robust_accuracy_eval(end_fn, sub, o, dev);
  }
  if (c.markers != "none") {
    torch::NoGradGuard g;
    const MarkerMode mode = marker_mode_parse(c.markers);
    auto agreement_with = [&](const at::Tensor& marker_class) {
      std::vector<at::Tensor> hs, gs;
      at::Tensor imgs = markers_apply(test.images, marker_class, mode, 4242, end.num_classes(),
                                      c.marker_style == "level");
      for (int64_t s = 0; s < test.size(); s += kEvalBatch) {
        at::Tensor x = imgs.narrow(0, s, std::min(kEvalBatch, test.size() - s)).to(dev);
        hs.push_back(stitched(x));
        gs.push_back(end_fn(x));
      }
      return prediction_agreement(at::cat(hs), at::cat(gs));
    };
    ev.marker_agreement = agreement_with(test.labels);
    ev.rolled_marker_agreement = agreement_with(labels_roll(test.labels, 1, end.num_classes()));
  }
}
}  // namespace

Json Evaluation::to_json() const {
  Json r = {{"stitched_acc", stitched_acc},
            {"stitched_top5", stitched_top5},
            {"end_acc", end_acc},
            {"front_acc", front_acc},
            {"stitching_penalty", stitching_penalty},
            {"agreement", agreement},
            {"hard_agreement", hard_agreement},
            {"soft_agreement", soft_agreement},
            {"kappa", kappa},
            {"stitch_residual", stitch_residual},
            {"fula_test", fula_test},
            {"rank", matrix.rank},
            {"condition", matrix.condition},
            {"orth_error", matrix.orth_error},
            {"sv_ratio", matrix.sv_ratio}};
  if (robust_acc) r["robust_acc"] = *robust_acc;
  if (end_robust_acc) r["end_robust_acc"] = *end_robust_acc;
  if (marker_agreement) {
    r["marker_agreement"] = *marker_agreement;
    r["rolled_marker_agreement"] = *rolled_marker_agreement;
    r["excess_agreement"] = *marker_agreement - *rolled_marker_agreement;
  }
  return r;
}

std::vector<std::string> downstream_points(const StagedModel& end, const std::string& end_point,
                                           const StitchConfig& c) {
  std::vector<std::string> cand = c.fula_points;
  if (cand.empty()) cand = end.meta().stitch_points;
  if (cand.empty())
    for (const auto& p : end.points())
      if (p.depth == 1) cand.push_back(p.name);
  const size_t j = end.position(end_point);
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

JobOutcome stitch_job_run(StitchLayer& T, const Method& m, int64_t seed, StagedModel& front,
                          StagedModel& end, const JobInputs& in, const StitchConfig& c,
                          const std::string& label) {
  JobOutcome out;
  torch::manual_seed(static_cast<uint64_t>(seed));
  const auto t0 = std::chrono::steady_clock::now();
  init_stitch(T, m, seed, in, c);
  out.fit_seconds = seconds_since(t0);
  if (!m.closed_form) {
    const auto t1 = std::chrono::steady_clock::now();
    out.loss_curve = train_stitch(T, end, m, seed, in, c, label);
    out.train_seconds = seconds_since(t1);
  }
  out.eval = evaluate(T, end, in, c);
  if (in.test_images) evaluate_inputs(T, front, end, *in.test_images, c, out.eval);
  for (double v : {out.eval.stitched_acc, out.eval.fula_test})
    if (!std::isfinite(v))
      throw StitchError(fmt::format("{}: a result is not finite; nothing written", label));
  return out;
}

}  // namespace stitch
