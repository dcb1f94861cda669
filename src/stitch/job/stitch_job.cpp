#include "stitch/job/stitch_job.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/data/markers.h"
#include "stitch/metrics/evaluate.h"
#include "stitch/model/staged_model.h"
#include "stitch/objectives/losses.h"
#include "stitch/objectives/schedule.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"

namespace stitch {
using Json = nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Stitched pass from stitch outputs Z at j (one stitch's rows, or several stitches' stacked):
// collects the end activations at each downstream point into `acts` (when given) and returns
// the logits of the first `logit_rows` rows (undefined when 0: the pass then stops at the last
// downstream point).
at::Tensor tail_pass(StagedModel& end, const at::Tensor& Z, const std::string& j,
                     const std::vector<std::string>& down, std::vector<at::Tensor>* acts,
                     int64_t logit_rows) {
  if (!acts)
    return logit_rows > 0 ? end.forward_range(Z.narrow(0, 0, logit_rows), j, kOutput)
                          : at::Tensor();
  at::Tensor cur = Z;
  std::string prev = j;
  for (const auto& l : down) {
    cur = end.forward_range(cur, prev, l);
    acts->push_back(cur);
    prev = l;
  }
  return logit_rows > 0 ? end.forward_range(cur.narrow(0, 0, logit_rows), prev, kOutput)
                        : at::Tensor();
}

// Fits or initialises T; `rows` are the first c.init_samples fit rows (fetched once per group).
void init_stitch(StitchLayer& T, const Method& m, int64_t seed, const RowBatch& rows,
                 const Settings& c) {
  const Method* fit = m.closed_form ? &m : init_method(c);
  if (fit) {
    T->set_affine(fit->fit(T->rows_in(rows.front), T->rows_out(rows.end), c));
  } else if (c.init == StitchInit::kEye) {
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
    prev_ = enabled();
    set(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(prev_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  // PyTorch 2.4 replaced the per-backend calls (set_enabled, set_cpu_enabled,
  // set_autocast_gpu_dtype, ...) by ones that take the device type; 1.13 has only the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  bool enabled() const {
    return at::autocast::is_autocast_enabled(type());
  }
  void set(bool on) const {
    at::autocast::set_autocast_dtype(type(), at::kBFloat16);
    at::autocast::set_autocast_enabled(type(), on);
  }
  at::DeviceType type() const {
    return cuda_ ? at::kCUDA : at::kCPU;
  }
#else
  bool enabled() const {
    return cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
  }
  void set(bool on) const {
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(on);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(on);
    }
  }
#endif
  bool on_, cuda_, prev_ = false;
};

// Steps between read-backs of the loss (NaN check, progress): each read-back syncs the device.
constexpr int64_t kLossSyncSteps = 16;

// Which tasks run the end model on their stitch outputs, and where their rows sit in the one
// stacked pass: the logit users first, so that their logits are one prefix.
struct TailLayout {
  std::vector<size_t> tail;  // tasks whose loss runs the end model, logit users first
  std::vector<int64_t> pos;  // each tail task's block of B rows in the stacked pass (-1: none)
  size_t logit_tasks = 0;    // the first logit_tasks of `tail` need logits
  bool any_logits = false, any_down = false;
};

TailLayout tail_layout(const std::vector<StitchTask>& tasks, const Settings& c) {
  TailLayout l;
  l.pos.assign(tasks.size(), -1);
  for (size_t k = 0; k < tasks.size(); ++k) {
    l.any_logits = l.any_logits || tasks[k].m->needs_logits(c);
    l.any_down = l.any_down || tasks[k].m->needs_downstream;
    if (tasks[k].m->needs_logits(c)) l.tail.push_back(k);
  }
  l.logit_tasks = l.tail.size();
  for (size_t k = 0; k < tasks.size(); ++k)
    if (tasks[k].m->needs_downstream && !tasks[k].m->needs_logits(c)) l.tail.push_back(k);
  for (size_t p = 0; p < l.tail.size(); ++p) l.pos[l.tail[p]] = static_cast<int64_t>(p);
  return l;
}

// Each task's loss on one batch of frozen rows: the stitch outputs, one stacked pass of the
// tail tasks' outputs through the end model, the clean downstream activations (stored, or run
// live with batch statistics), then each method's loss.
std::vector<at::Tensor> step_losses(const std::vector<StitchTask>& tasks, StagedModel& end,
                                    const JobInputs& in, const Settings& c, const TailLayout& l,
                                    RowBatch& rb, const at::Tensor& idx) {
  const int64_t B = idx.size(0);
  const c10::Device dev = rb.front.device();
  std::vector<at::Tensor> zs;
  for (const auto& t : tasks) zs.push_back((*t.T)->forward(rb.front));
  std::vector<at::Tensor> down_acts, clean;
  at::Tensor logits;
  if (!l.tail.empty()) {
    std::vector<at::Tensor> stacked;
    for (size_t k : l.tail) stacked.push_back(zs[k]);
    const at::Tensor Z = stacked.size() == 1 ? stacked[0] : at::cat(stacked);
    logits = tail_pass(end, Z, tasks[0].job->end_point, in.downstream,
                       l.any_down ? &down_acts : nullptr, static_cast<int64_t>(l.logit_tasks) * B);
  }
  if (l.any_down && c.bn_mode == BnMode::kTrain) {
    torch::NoGradGuard ng;
    tail_pass(end, rb.end, tasks[0].job->end_point, in.downstream, &clean, 0);
  } else if (l.any_down) {
    clean = std::move(rb.down);
  }
  const at::Tensor labels = in.train->labels().index_select(0, idx).to(dev);
  std::vector<at::Tensor> losses;
  for (size_t k = 0; k < tasks.size(); ++k) {
    const Method& m = *tasks[k].m;
    StepTensors s;
    s.z = zs[k];
    s.aj = rb.end;
    s.labels = labels;
    s.end_logits = rb.end_logits;
    if (m.needs_logits(c)) s.logits = logits.narrow(0, l.pos[k] * B, B);
    if (m.needs_downstream) {
      for (const auto& a : down_acts) s.stitched_down.push_back(a.narrow(0, l.pos[k] * B, B));
      s.clean_down = clean;
    }
    losses.push_back(m.loss(s, c).to(at::kFloat));
  }
  return losses;
}

// Each task's losses summed on the device and read back once per window of steps (a device
// sync on GPUs): the NaN check, the smoothed loss of the progress line and the epoch means.
struct LossTrack {
  std::vector<double> ema, sum;
  std::vector<at::Tensor> window;
  explicit LossTrack(size_t k) : ema(k, 0), sum(k, 0), window(k) {}
  void add(size_t k, const at::Tensor& loss) {
    window[k] = window[k].defined() ? window[k] + loss.detach() : loss.detach();
  }
  // Reads the window of n steps ending at batch b (global step `step`) back.
  void read(const std::vector<StitchTask>& tasks, const Settings& c, int64_t epoch, int64_t b,
            int64_t n, int64_t step) {
    for (size_t k = 0; k < window.size(); ++k) {
      const double lv = window[k].item<double>() / static_cast<double>(n);
      window[k] = at::Tensor();
      if (!std::isfinite(lv))
        throw StitchError(fmt::format(
            "{} seed {}: loss is {} at epoch {} steps {}..{}; lower train.lr (now {}) or "
            "check the models",
            tasks[k].m->name, tasks[k].job->seed, lv, epoch + 1, b + 2 - n, b + 1, c.lr));
      sum[k] += lv * static_cast<double>(n);
      const double keep = std::pow(0.98, static_cast<double>(n));
      ema[k] = step + 1 == n ? lv : keep * ema[k] + (1 - keep) * lv;
    }
  }
  std::string text() const {
    std::string t = "loss";
    for (size_t k = 0; k < ema.size(); ++k) t += fmt::format("{}{:.4f}", k ? "/" : " ", ema[k]);
    return t;
  }
};

// One optimiser step per stitch at learning rate lr, then the decoupled isometry step
// (AdamO-style: Adam's moments never see it).
void stitches_step(const std::vector<StitchTask>& tasks,
                   std::vector<std::unique_ptr<torch::optim::Adam>>& opts, double lr,
                   const Settings& c) {
  for (size_t k = 0; k < tasks.size(); ++k) {
    opts[k]->step();
    if (c.iso_lambda <= 0 || c.rank != 0) continue;
    torch::NoGradGuard ng;
    at::Tensor w = (*tasks[k].T)->named_parameters()["weight"];
    w.sub_(lr * c.iso_lambda * isometry_grad(w));
  }
}

// The training rows as a data set for a Batcher (only index and labels are used).
Dataset train_rows(const JobInputs& in) {
  Dataset rows;
  rows.labels = in.train->labels();
  rows.index = at::arange(in.train->rows(), at::kLong);
  return rows;
}

// Throws when the training rows do not fill one batch.
void batches_check(const Batcher& batcher, const StitchTask& first, const JobInputs& in,
                   const Settings& c) {
  if (batcher.batches_per_epoch() == 0)
    throw StitchError(
        fmt::format("{}: {} training samples are less than one batch of {}; lower "
                    "train.batch_size or raise data.train_samples",
                    first.label, in.train->rows(), c.batch_size));
}

// Trains the stitches of `tasks` in lockstep: one fetch of the frozen rows per step (they
// share seed, hence batch order) and one pass of their stacked outputs through the frozen end
// model (the logit users' rows first, so their logits are one prefix), then one backward of the
// summed losses (each stitch's gradient comes from its own rows only: BatchNorm is frozen when
// there is more than one task) and one optimiser step per stitch. Returns each loss curve.
std::vector<Json> train_stitches(const std::vector<StitchTask>& tasks, StagedModel& end,
                                 const JobInputs& in, const Settings& c) {
  const size_t K = tasks.size();
  const c10::Device dev = (*tasks[0].T)->weight().device();
  const bool live_clean = c.bn_mode == BnMode::kTrain;  // batch statistics: clean pass run per step
  if (K > 1 && live_clean)
    throw StitchError("lockstep training needs bn_mode: eval (batch statistics would mix)");
  std::vector<std::unique_ptr<torch::optim::Adam>> opts;
  for (const auto& t : tasks)
    opts.push_back(std::make_unique<torch::optim::Adam>(
        (*t.T)->parameters(), torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay)));
  const TailLayout layout = tail_layout(tasks, c);
  const Dataset rows = train_rows(in);  // batch order follows the first task's seed
  Batcher batcher(rows, c.batch_size, static_cast<uint64_t>(tasks[0].job->seed), true, true);
  batches_check(batcher, tasks[0], in, c);
  const int64_t nb = batcher.batches_per_epoch(), total = nb * c.epochs;
  Progress progress(
      K == 1 ? tasks[0].label : fmt::format("{} (+{} in lockstep)", tasks[0].label, K - 1), total);
  std::vector<Json> curves(K, Json::array());
  for (const auto& t : tasks) (*t.T)->train();
  end.train(live_clean);
  LossTrack track(K);
  int64_t step = 0;
  for (int64_t e = 0; e < c.epochs; ++e) {
    batcher.epoch_begin(e);
    std::fill(track.sum.begin(), track.sum.end(), 0.0);
    for (int64_t b = 0; b < nb; ++b, ++step) {
      interrupt_throw_if_requested();
      const at::Tensor idx = batcher.batch_rows(b);
      RowBatch rb =
          in.train->fetch(idx, RowsWanted{layout.any_logits, layout.any_down && !live_clean}, dev);
      const double lr = schedule_lr(c.schedule, c.lr, step, total);
      for (auto& o : opts) {
        for (auto& grp : o->param_groups())
          static_cast<torch::optim::AdamOptions&>(grp.options()).lr(lr);
        o->zero_grad();
      }
      std::optional<AutocastScope> amp;
      amp.emplace(c.amp, dev);
      const std::vector<at::Tensor> losses = step_losses(tasks, end, in, c, layout, rb, idx);
      at::Tensor total_loss = losses[0];
      for (size_t k = 1; k < K; ++k) total_loss = total_loss + losses[k];
      amp.reset();  // backward runs outside autocast, as torch.autocast recommends
      total_loss.backward();
      stitches_step(tasks, opts, lr, c);
      for (size_t k = 0; k < K; ++k) track.add(k, losses[k]);
      if ((b + 1) % kLossSyncSteps != 0 && b + 1 != nb) continue;
      track.read(tasks, c, e, b, (b % kLossSyncSteps) + 1, step);
      progress.update(step + 1, track.text());
    }
    for (size_t k = 0; k < K; ++k)
      curves[k].push_back({{"epoch", e + 1}, {"loss", track.sum[k] / static_cast<double>(nb)}});
  }
  progress.finish(track.text());
  for (const auto& t : tasks) (*t.T)->eval();
  end.train(false);
  return curves;
}

// Per-layer sums over the test set for the relative distances and R^2 of each stitched model's
// activations against the clean end activations (layer 0: the stitch point, then downstream).
// Float tensors, sums accumulated in double (ATen's CPU norm accumulates float in double, its
// float sum is a cascade sum): no double copies of the activations.
struct LayerSums {
  std::vector<double> ref2, sum, count;    // per layer: |a|^2, sum of a, entries of a
  std::vector<std::vector<double>> diff2;  // per task and layer: |h - a|^2
  LayerSums(size_t tasks, size_t layers)
      : ref2(layers, 0),
        sum(layers, 0),
        count(layers, 0),
        diff2(tasks, std::vector<double>(layers, 0)) {}
  static double sq_norm(const at::Tensor& x) {
    const double v = at::linalg_vector_norm(x, 2).item<double>();
    return v * v;
  }
  // clean[l]: [n, ...]; stitched[l]: the K tasks' rows stacked, [K * n, ...].
  void add(const std::vector<at::Tensor>& clean, const std::vector<at::Tensor>& stitched,
           int64_t n) {
    for (size_t l = 0; l < ref2.size(); ++l) {
      const at::Tensor a = clean[l].cpu(), h = stitched[l].cpu();
      ref2[l] += sq_norm(a);
      sum[l] += a.sum().item<double>();
      count[l] += static_cast<double>(a.numel());
      for (size_t k = 0; k < diff2.size(); ++k)
        diff2[k][l] += sq_norm(h.narrow(0, static_cast<int64_t>(k) * n, n) - a);
    }
  }
  // Task k's relative distance, R^2 and FuLA test term per layer into ev.
  void finish(size_t k, Evaluation& ev) const {
    const size_t L = ref2.size();
    for (size_t l = 0; l < L; ++l) {
      const double d = std::sqrt(diff2[k][l]) / std::max(std::sqrt(ref2[l]), 1e-30);
      // var = E[a^2] - E[a]^2 over all entries (one scalar mean, as the reference code logs it)
      const double var = ref2[l] / count[l] - (sum[l] / count[l]) * (sum[l] / count[l]);
      ev.layer_terms.push_back(d);
      ev.layer_r2.push_back(1.0 - (diff2[k][l] / count[l]) / std::max(var, 1e-30));
      ev.fula_test += d / static_cast<double>(L);
    }
    ev.stitch_residual = ev.layer_terms[0];
  }
};

// The classification side of one evaluation: predictions, accuracies and agreements of the
// stitched logits lg [N, K] against the end's and the front's on labels y [N].
void classification_fill(const at::Tensor& lg, const at::Tensor& end_lg, const at::Tensor& front_lg,
                         const at::Tensor& y, Evaluation& ev) {
  ev.outcomes.label = y.to(at::kLong);
  ev.outcomes.end_pred = end_lg.argmax(1);
  ev.outcomes.front_pred = front_lg.argmax(1);
  ev.outcomes.stitched_pred = lg.argmax(1);
  ev.stitched_acc = topk_accuracy(lg, y, 1);
  ev.stitched_top5 = topk_accuracy(lg, y, 5);
  ev.end_acc = topk_accuracy(end_lg, y, 1);
  ev.front_acc = topk_accuracy(front_lg, y, 1);
  ev.stitching_penalty = ev.end_acc - ev.stitched_acc;
  ev.agreement = prediction_agreement(lg, end_lg);
  ev.hard_agreement = correctness_agreement(lg, end_lg, y);
  ev.soft_agreement = soft_agreement(lg, end_lg);
  ev.kappa = error_consistency(lg, end_lg, y);
}

// Test-set evaluation of the stitches of a group in one pass: each test batch's frozen rows are
// fetched once (from the store or live), the stitch outputs are stacked through the end model
// once, and each stitch gets its logits and per-layer relative distances and R^2 against the
// clean end activations.
std::vector<Evaluation> evaluate(const std::vector<StitchTask>& tasks, StagedModel& end,
                                 const JobInputs& in, const Settings& c) {
  torch::NoGradGuard g;
  const size_t K = tasks.size();
  for (const auto& t : tasks) (*t.T)->eval();
  const c10::Device dev = (*tasks[0].T)->weight().device();
  RowSource& t = *in.test;
  LayerSums sums(K, in.downstream.size() + 1);
  std::vector<std::vector<at::Tensor>> logits(K);
  std::vector<at::Tensor> end_lgs, front_lgs;
  const int64_t n_test = t.rows();
  for (int64_t s = 0; s < n_test; s += kEvalBatch) {
    interrupt_throw_if_requested();
    const int64_t n = std::min(kEvalBatch, n_test - s);
    const RowBatch rb = t.fetch(at::arange(s, s + n), RowsWanted{true, true, true}, dev);
    std::vector<at::Tensor> zs;
    for (const auto& task : tasks) zs.push_back((*task.T)->forward(rb.front));
    const at::Tensor Z = K == 1 ? zs[0] : at::cat(zs);
    std::vector<at::Tensor> st{Z}, cl{rb.end};
    const at::Tensor lg =
        tail_pass(end, Z, tasks[0].job->end_point, in.downstream, &st, Z.size(0)).cpu();
    cl.insert(cl.end(), rb.down.begin(), rb.down.end());
    sums.add(cl, st, n);
    for (size_t k = 0; k < K; ++k) logits[k].push_back(lg.narrow(0, k * n, n));
    end_lgs.push_back(rb.end_logits.cpu());
    front_lgs.push_back(rb.front_logits.cpu());
  }
  const at::Tensor y = t.labels().cpu(), end_lg = at::cat(end_lgs), front_lg = at::cat(front_lgs);
  std::vector<Evaluation> out(K);
  for (size_t k = 0; k < K; ++k) {
    classification_fill(at::cat(logits[k]), end_lg, front_lg, y, out[k]);
    sums.finish(k, out[k]);
    out[k].matrix = matrix_stats((*tasks[k].T)->weight());
  }
  return out;
}

std::mutex g_end_pgd_mu;
std::map<std::string, at::Tensor> g_end_pgd;  // key -> predictions, see end_pgd_predictions

// The end model's predictions under PGD depend on the end model, the test images and the
// attack, not on the stitch: computed once per process for every job that shares them (half of
// an adversarial study's PGD time was this repeat). Not cached when BatchNorm statistics were
// trained (bn_mode train: each job has its own copy of the end model) or the model is unnamed.
at::Tensor end_pgd_predictions(const ForwardFn& end_fn, const Dataset& sub, const PgdOptions& opt,
                               c10::Device dev, const std::string& end_key, const Settings& c) {
  if (end_key.empty() || c.bn_mode != BnMode::kEval)
    return robust_predictions(end_fn, sub, opt, dev);
  std::lock_guard<std::mutex> lock(g_end_pgd_mu);
  const std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", end_key, data_identity(c.data), c.data.dir, sub.size(),
                  opt.epsilon, opt.alpha, opt.steps, dev.str());
  auto it = g_end_pgd.find(key);
  if (it != g_end_pgd.end()) {
    spdlog::debug("end model's PGD predictions reused ({} images)", sub.size());
    return it->second;
  }
  return g_end_pgd[key] = robust_predictions(end_fn, sub, opt, dev);
}

// Evaluations that need the stitched model on new images (front recomputed): robust accuracy
// under PGD and excess agreement with shortcut markers (docs/methods.md §1.6b).
void evaluate_inputs(const JobSpec& job, StitchLayer& T, StagedModel& front, StagedModel& end,
                     const Dataset& test, const std::string& end_key, const Settings& c,
                     Evaluation& ev) {
  const c10::Device dev = T->weight().device();
  ForwardFn stitched = [&](const at::Tensor& x) {
    return end.forward_range(T->forward(front.forward_range(x, kInput, job.front_point)),
                             job.end_point, kOutput);
  };
  ForwardFn end_fn = [&](const at::Tensor& x) { return end.forward(x); };
  Outcomes& o = ev.outcomes;
  if (c.robust_samples > 0) {
    const PgdOptions opt{c.robust_epsilon, c.robust_alpha, c.robust_steps, true, 777};
    const Dataset sub = dataset_first(test, c.robust_samples);
    o.pgd_label = sub.labels.cpu().to(at::kLong);
    o.pgd_stitched_pred = robust_predictions(stitched, sub, opt, dev);
    o.pgd_end_pred = end_pgd_predictions(end_fn, sub, opt, dev, end_key, c);
  }
  if (c.markers != MarkerMode::kNone) {
    torch::NoGradGuard g;
    // Predictions of the stitched and the end model on the test images carrying markers of
    // `marker_class`.
    auto predictions_with = [&](const at::Tensor& marker_class, at::Tensor& h, at::Tensor& e) {
      std::vector<at::Tensor> hs, gs;
      at::Tensor imgs = markers_apply(test.images, marker_class, c.markers, 4242, end.num_classes(),
                                      c.marker_style == MarkerStyle::kLevel);
      for (int64_t s = 0; s < test.size(); s += kEvalBatch) {
        at::Tensor x = imgs.narrow(0, s, std::min(kEvalBatch, test.size() - s)).to(dev);
        hs.push_back(stitched(x).argmax(1).cpu());
        gs.push_back(end_fn(x).argmax(1).cpu());
      }
      h = at::cat(hs);
      e = at::cat(gs);
    };
    o.rolled_class = labels_roll(test.labels, 1, end.num_classes()).cpu().to(at::kLong);
    predictions_with(test.labels, o.marker_stitched_pred, o.marker_end_pred);
    predictions_with(o.rolled_class, o.rolled_stitched_pred, o.rolled_end_pred);
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
            {"condition_number", matrix.condition},
            {"orth_error", matrix.orth_error},
            {"sv_ratio", matrix.sv_ratio}};
  outcomes_add_to_row(outcomes, r);
  return r;
}

int64_t end_pgd_evaluations() {
  std::lock_guard<std::mutex> lock(g_end_pgd_mu);
  return static_cast<int64_t>(g_end_pgd.size());
}

std::vector<JobOutcome> stitch_jobs_run(const std::vector<StitchTask>& tasks, StagedModel& front,
                                        StagedModel& end, const JobInputs& in, const Settings& c) {
  std::vector<JobOutcome> out(tasks.size());
  torch::manual_seed(static_cast<uint64_t>(tasks.at(0).job->seed));
  const bool trained = !tasks[0].m->closed_form;
  for (const auto& t : tasks)
    if (t.m->closed_form == trained ||
        (tasks.size() > 1 && (!trained || t.job->seed != tasks[0].job->seed)))
      throw StitchError("stitch_jobs_run: more than one task must be trained jobs of one seed");
  // The fit rows (first init_samples), fetched once for every task that fits or inits from them.
  const auto t0 = std::chrono::steady_clock::now();
  RowBatch init_rows;
  if (!trained || init_method(c))
    init_rows = in.train->fetch(at::arange(std::min<int64_t>(c.init_samples, in.train->rows())),
                                RowsWanted{}, (*tasks[0].T)->weight().device());
  const double fetch_s = seconds_since(t0);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto t1 = std::chrono::steady_clock::now();
    init_stitch(*tasks[i].T, *tasks[i].m, tasks[i].job->seed, init_rows, c);
    out[i].fit_seconds = seconds_since(t1) + (i == 0 ? fetch_s : 0);
  }
  if (trained) {
    const auto t1 = std::chrono::steady_clock::now();
    const std::vector<Json> curves = train_stitches(tasks, end, in, c);
    const double each = seconds_since(t1) / static_cast<double>(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      out[i].loss_curve = curves[i];
      out[i].train_seconds = each;
    }
  }
  const std::vector<Evaluation> evals = evaluate(tasks, end, in, c);
  for (size_t i = 0; i < tasks.size(); ++i) {
    out[i].eval = evals[i];
    if (in.test_images)
      evaluate_inputs(*tasks[i].job, *tasks[i].T, front, end, *in.test_images, in.end_key, c,
                      out[i].eval);
    for (double v : {out[i].eval.stitched_acc, out[i].eval.fula_test})
      if (!std::isfinite(v))
        throw StitchError(
            fmt::format("{}: a result is not finite; nothing written", tasks[i].label));
  }
  return out;
}

}  // namespace stitch
