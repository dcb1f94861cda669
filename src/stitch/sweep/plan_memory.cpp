#include "stitch/sweep/plan_memory.h"

#include <ATen/ATen.h>
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "stitch/job/methods.h"
#include "stitch/job/stitch_job.h"
#include "stitch/stitchers/stitch_layer.h"

namespace stitch {

namespace {
// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); -1 when unreadable.
double status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  return -1;
}

// Reports every CPU tensor allocation and release while installed (the hook LibTorch's memory
// profiler uses): the peak of the running sum is what f() held at once.
class PeakReporter : public c10::MemoryReportingInfoBase {
 public:
  void reportMemoryUsage(void*, int64_t size, int64_t, int64_t, c10::Device) override {
    const int64_t now = now_ += size;
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  bool memoryProfilingEnabled() const override { return true; }
  double peak() const { return static_cast<double>(peak_.load()); }

 private:
  std::atomic<int64_t> now_{0}, peak_{0};
};

// Bytes of tensors f() held at its peak (allocated and freed inside f).
double tensor_peak(const std::function<void()>& f) {
  auto reporter = std::make_shared<PeakReporter>();
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, reporter);
    f();
  }
  return reporter->peak();
}

// f(b)'s tensor peak measured at batches 2 and 6 (after a warm-up that builds the optimised
// segments), extrapolated linearly to `batch`: activations grow with the batch, weights do not.
double at_batch(const std::function<void(int64_t)>& f, int64_t batch) {
  f(2);
  const double p2 = tensor_peak([&] { f(2); }), p6 = tensor_peak([&] { f(6); });
  const double slope = std::max(0.0, (p6 - p2) / 4.0);
  return p2 + slope * static_cast<double>(batch - 2);
}

at::Tensor random_batch(const Plan& plan, int64_t b, c10::Device dev) {
  std::vector<int64_t> shape{b};
  shape.insert(shape.end(), plan.input_shape.begin(), plan.input_shape.end());
  return at::rand(shape).to(dev);
}

// The largest closed-form fit (or lstsq init) of the units: the init rows of both models and
// the float64 solve over them, measured at 2 and 6 images and extrapolated to init_samples.
// Its memory depends on the fitting method and the two points' shapes, not on the models'
// weights, so each (method, front shape, end shape) is measured once however many model pairs
// share it (dm_closed and procrustes on one cell are two measurements: an SVD is not a solve).
double fit_peak(Plan& plan, const std::vector<std::vector<size_t>>& units) {
  const Settings& c = plan.config.job;
  std::set<std::tuple<std::string, std::vector<int64_t>, std::vector<int64_t>>> seen;
  double peak = 0;
  for (const auto& unit : units)
    for (size_t ji : unit) {
      const Job& j = plan.jobs[ji];
      const Method& m = method_get(j.method);
      const Method* fit = m.closed_form ? &m : init_method(c);
      if (!fit) continue;
      const std::vector<int64_t> fs = plan.models[j.front].model.point(j.front_point).shape,
                                 es = plan.models[j.end].model.point(j.end_point).shape;
      if (!seen.insert({fit->name, fs, es}).second) continue;
      StitchLayer T(StitchSpec{fs, es, c.bn_before, c.bn_after, c.rank});
      auto solve = [&](int64_t b) {
        std::vector<int64_t> xs{b}, ys{b};
        xs.insert(xs.end(), fs.begin(), fs.end());
        ys.insert(ys.end(), es.begin(), es.end());
        fit->fit(T->rows_in(at::rand(xs)), T->rows_out(at::rand(ys)), c);
      };
      peak = std::max(peak, at_batch(solve, c.init_samples));
    }
  return peak;
}
}  // namespace

double MemoryEstimate::total() const {
  return base + store + data + std::max({step, eval, fit});
}

std::string MemoryEstimate::dominant() const {
  const double top = std::max({base, store, data, step, eval, fit});
  if (top == fit) return "the closed-form fit";
  if (top == step) return "the training step's autograd buffers";
  if (top == eval) return "the evaluation batch";
  if (top == store) return "stored activations in RAM";
  if (top == data) return "the images";
  return "libraries and models";
}

MemoryEstimate plan_memory(Plan& plan, const std::vector<std::vector<size_t>>& units,
                           double store_ram) {
  MemoryEstimate m;
  m.store = store_ram;
  const Settings& c = plan.config.job;
  double image = 4;  // bytes of one float image
  for (int64_t d : plan.input_shape) image *= static_cast<double>(d);
  m.data = image * static_cast<double>(c.train_samples + c.test_samples);
  // Per end model: the unit with the earliest end point (the longest tail with gradients) and
  // the largest lockstep group.
  std::map<size_t, size_t> longest;
  size_t group = 1;
  for (size_t u = 0; u < units.size(); ++u) {
    const Job& j = plan.jobs[units[u][0]];
    group = std::max(group, units[u].size());
    auto it = longest.find(j.end);
    const auto pos = [&](size_t uu) {
      const Job& k = plan.jobs[units[uu][0]];
      return plan.models[k.end].model.position(k.end_point);
    };
    if (it == longest.end() || pos(u) < pos(it->second)) longest[j.end] = u;
  }
  for (auto& pm : plan.models)
    for (auto& t : pm.model.parameters()) t.requires_grad_(false);
  for (const auto& [end, u] : longest) {
    const Job& j = plan.jobs[units[u][0]];
    StagedModel &F = plan.models[j.front].model, &E = plan.models[j.end].model;
    const c10::Device dev = E.device();
    StitchLayer T(StitchSpec{F.point(j.front_point).shape, E.point(j.end_point).shape, c.bn_before,
                             c.bn_after, c.rank});
    T->to(dev);
    auto step = [&](int64_t b) {
      const at::Tensor x = random_batch(plan, b, dev);
      at::Tensor a;
      {
        at::NoGradGuard g;
        a = F.forward_range(x, kInput, j.front_point);
      }
      E.forward_range(T->forward(a), j.end_point, kOutput).sum().backward();
    };
    auto eval = [&](int64_t b) {  // as the live test rows: one front pass gives i and logits
      at::NoGradGuard g;
      const at::Tensor x = random_batch(plan, b, dev);
      at::Tensor front_logits;
      const at::Tensor a = F.forward_collect(x, {j.front_point}, &front_logits)[0];
      E.forward_range(T->forward(a), j.end_point, kOutput);
      E.forward(x);
    };
    m.step_batch = c.batch_size * static_cast<int64_t>(group);
    m.step = std::max(m.step, at_batch(step, m.step_batch));
    m.eval = std::max(m.eval, at_batch(eval, kEvalBatch));
  }
  m.fit = fit_peak(plan, units);
  m.base = std::max(0.0, status_bytes("VmRSS"));
  return m;
}

}  // namespace stitch
