#include "stitch/model/staged_model.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/model/graph_cut.h"
#include "stitch/model/model_facts.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

namespace {
constexpr int kFromInput = -1;
constexpr int kToOutput = -2;

ModelMeta meta_read(torch::jit::Module& m) {
  ModelMeta meta;
  if (!m.hasattr("stitch_meta_version")) return meta;
  meta.present = true;
  auto str = [&](const char* k) { return m.hasattr(k) ? m.attr(k).toStringRef() : std::string(); };
  auto num = [&](const char* k, double d) { return m.hasattr(k) ? m.attr(k).toDouble() : d; };
  auto integer = [&](const char* k, int64_t d) { return m.hasattr(k) ? m.attr(k).toInt() : d; };
  meta.arch = str("arch");
  meta.recipe = str("recipe");
  meta.train_info = str("train_info");
  if (m.hasattr("input_shape")) meta.input_shape = m.attr("input_shape").toIntVector();
  meta.num_classes = integer("num_classes", 0);
  meta.seed = integer("seed", -1);
  meta.epochs = integer("epochs", 0);
  meta.norm_mean = num("norm_mean", 0.0);
  meta.norm_std = num("norm_std", 1.0);
  meta.clean_accuracy = num("clean_accuracy", -1);
  meta.robust_accuracy = num("robust_accuracy", -1);
  meta.marker_accuracy = num("marker_accuracy", -1);
  meta.rolled_marker_accuracy = num("rolled_marker_accuracy", -1);
  if (m.hasattr("stitch_points"))
    for (const auto& v : m.attr("stitch_points").toListRef())
      meta.stitch_points.push_back(v.toStringRef());
  return meta;
}
}  // namespace

// Runs segments and forward passes without the graph executor's optimisation passes. Measured
// (bench/fula_throughput.sh): the profiling executor's specialisation and autodiff graphs cost
// up to 2x on these small, frequently re-entered cut graphs. Discovery must keep optimisation
// on: with it off, Inline does not expand nested module calls and nested points vanish.
// STITCH_OPTIMIZE=0 runs every segment as cut from the model (no folding, no oneDNN), to
// compare or to rule the optimisation out.
bool segments_optimize() {
  static const bool on = [] {
    const char* v = std::getenv("STITCH_OPTIMIZE");
    return !v || std::string(v) != "0";
  }();
  return on;
}

// The line of a torch or TorchScript error that says what went wrong (the interpreter wraps
// it after "RuntimeError: ").
std::string error_line(const std::exception& e) {
  const auto* ce = dynamic_cast<const c10::Error*>(&e);
  std::string msg = ce ? ce->what_without_backtrace() : e.what();
  const size_t last = msg.rfind("RuntimeError: ");
  if (last != std::string::npos) msg = msg.substr(last + 14);
  return msg.substr(0, msg.find('\n'));
}

// "" when an optimised segment's output matches the plain one's up to float rounding (same
// shape, same non-finite entries, finite entries within 1e-4 of the largest magnitude).
std::string outputs_differ(const at::Tensor& y, const at::Tensor& ref) {
  if (y.sizes() != ref.sizes()) return "output shape differs";
  const at::Tensor fy = at::isfinite(y), fr = at::isfinite(ref);
  if (!at::equal(fy, fr)) return "non-finite entries differ";
  const at::Tensor a = y.to(at::kDouble).masked_fill(fr.logical_not(), 0),
                   b = ref.to(at::kDouble).masked_fill(fr.logical_not(), 0);
  if (a.numel() == 0) return "";
  const double err = (a - b).abs().max().item<double>(), scale = b.abs().max().item<double>();
  if (err <= 1e-4 * std::max(scale, 1e-3)) return "";
  return fmt::format("differs by {:.3g} (largest magnitude {:.3g})", err, scale);
}

class ExecutorPlain {
 public:
  ExecutorPlain() : was_(torch::jit::getGraphExecutorOptimize()) {
    torch::jit::setGraphExecutorOptimize(false);
  }
  ~ExecutorPlain() { torch::jit::setGraphExecutorOptimize(was_); }

 private:
  bool was_;
};

struct StagedModel::Impl {
  std::string path;
  torch::jit::Module module;
  std::shared_ptr<torch::jit::Graph> graph;  // inlined forward
  std::vector<Boundary> cuts;
  std::vector<StitchPoint> points;
  ModelMeta meta;
  bool probed = false;
  int64_t num_classes = 0;
  at::Tensor in_mean_t, in_std_t;  // input normalisation [1, C or 1, 1, 1] on `device`
                                   // (metadata-free models; undefined = none)
  c10::Device device{"cpu"};

  at::Tensor normalize(const at::Tensor& x) const {
    if (!in_mean_t.defined()) return x;
    return (x - in_mean_t) / in_std_t;
  }
  std::map<std::pair<int, int>, std::unique_ptr<torch::jit::GraphFunction>> segments;

  int resolve(const std::string& name, bool is_from) const {
    if (is_from && name == kInput) return kFromInput;
    if (!is_from && name == kOutput) return kToOutput;
    return static_cast<int>(boundary_index(points, path, name));
  }

  size_t end_of(int i) const {
    return i == kFromInput ? 0 : i == kToOutput ? SIZE_MAX : cuts[i].end_node;
  }

  // A segment frozen for eval-mode use (weights as constants, BatchNorm folded into the
  // convolutions; for no-grad CPU calls also on oneDNN). Built on first use, checked once against
  // the plain segment, dropped when the weights change (tensor version counters).
  struct Optimized {
    std::unique_ptr<torch::jit::GraphFunction> fn;  // null: this segment runs plain
    bool checked = false;
    int64_t weights_version = 0;
  };
  std::map<std::tuple<int, int, bool>, Optimized> optimized;  // (from, to, no-grad inference)
  std::vector<at::Tensor> weights;                            // parameters and buffers
  bool optimize = segments_optimize();

  int64_t weights_version() const {
    int64_t v = 0;
    for (const auto& t : weights) v += static_cast<int64_t>(t._version());
    return v;
  }

  void weights_collect() {
    optimized.clear();
    weights.clear();
    for (const auto& p : module.parameters()) weights.push_back(p);
    for (const auto& b : module.buffers()) weights.push_back(b);
  }

  torch::jit::GraphFunction& plain(int from, int to) {
    auto key = std::make_pair(from, to);
    auto it = segments.find(key);
    if (it == segments.end()) {
      auto g =
          segment_build(*graph, from >= 0 ? &cuts[from] : nullptr, to >= 0 ? &cuts[to] : nullptr);
      auto fn = std::make_unique<torch::jit::GraphFunction>(fmt::format("segment_{}_{}", from, to),
                                                            g, nullptr);
      it = segments.emplace(key, std::move(fn)).first;
    }
    return *it->second;
  }

  at::Tensor call(torch::jit::GraphFunction& fn, const at::Tensor& in) {
    std::vector<c10::IValue> stack{module._ivalue(), in};
    ExecutorPlain plain_executor;
    return fn(stack).toTensor();
  }

  // Runs the optimised segment, or returns an undefined tensor when this segment runs plain.
  at::Tensor run_optimized(int from, int to, const at::Tensor& in) {
    const bool infer = device.is_cpu() && (!at::GradMode::is_enabled() || !in.requires_grad());
    Optimized& o = optimized[std::make_tuple(from, to, infer)];
    const int64_t version = weights_version();
    if (o.fn && o.weights_version != version) o = Optimized{};
    if (!o.fn && o.checked) return at::Tensor();  // found unfit before
    std::string why;
    try {
      if (!o.fn) {
        auto g =
            segment_build(*graph, from >= 0 ? &cuts[from] : nullptr, to >= 0 ? &cuts[to] : nullptr);
        segment_freeze(g, module._ivalue());
        if (infer) segment_for_inference(g);
        o.fn = std::make_unique<torch::jit::GraphFunction>(fmt::format("optimized_{}_{}", from, to),
                                                           g, nullptr);
        o.weights_version = version;
      }
      // Channels-last activations let the autograd path's convolutions run on oneDNN too.
      const bool cl = !infer && device.is_cpu() && in.dim() == 4;
      at::Tensor y = call(*o.fn, cl ? in.contiguous(at::MemoryFormat::ChannelsLast) : in);
      if (o.checked) return y;
      at::Tensor ref;
      {
        at::NoGradGuard no_grad;
        ref = call(plain(from, to), in);
      }
      why = outputs_differ(y.detach(), ref);
      if (why.empty()) {
        o.checked = true;
        return y;
      }
    } catch (const std::exception& e) {  // c10::Error or torch::jit::JITException
      why = error_line(e);
    }
    spdlog::info("{}: the segment {} -> {} runs unoptimised (slower, same results): {}", path,
                 from >= 0 ? cuts[from].name : kInput, to >= 0 ? cuts[to].name : kOutput, why);
    o = Optimized{};
    o.checked = true;
    return at::Tensor();
  }

  // From `from` to `to` (kFromInput / kToOutput for the ends): the optimised segment when it
  // applies, else the plain one (the whole model plain: the module's own forward).
  at::Tensor run(int from, int to, const at::Tensor& x, bool exact = false) {
    if (from >= 0 && to >= 0 && cuts[from].end_node == cuts[to].end_node) return x;
    const at::Tensor in = from == kFromInput ? normalize(x) : x;
    if (!exact && optimize && !module.is_training()) {
      at::Tensor y = run_optimized(from, to, in);
      if (y.defined()) return y;
    }
    if (from == kFromInput && to == kToOutput) {
      std::vector<c10::IValue> stack{in};
      ExecutorPlain plain_executor;
      return module.forward(stack).toTensor();
    }
    return call(plain(from, to), in);
  }
};

StagedModel::StagedModel() : impl_(std::make_unique<Impl>()) {}
StagedModel::~StagedModel() = default;
StagedModel::StagedModel(StagedModel&&) noexcept = default;
StagedModel& StagedModel::operator=(StagedModel&&) noexcept = default;

StagedModel StagedModel::load(const std::string& path, c10::Device device) {
  file_check_readable(path, "model file");
  StagedModel sm;
  Impl& m = *sm.impl_;
  m.path = path;
  try {
    m.module = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    msg = msg.substr(0, msg.find('\n'));
    throw StitchError(
        fmt::format("cannot load model '{}': not a TorchScript file or truncated ({}); save models "
                    "with torch.jit.script(model).save(path)",
                    path, msg));
  }
  if (!m.module.find_method("forward"))
    throw StitchError(fmt::format("model '{}' has no forward method", path));
  m.device = device;
  m.module.eval();
  m.weights_collect();
  m.meta = meta_read(m.module);
  const bool optimize = torch::jit::getGraphExecutorOptimize();
  torch::jit::setGraphExecutorOptimize(true);  // Inline expands nested calls only with it on
  m.graph = m.module.get_method("forward").graph()->copy();
  torch::jit::Inline(*m.graph);
  torch::jit::setGraphExecutorOptimize(optimize);
  if (m.graph->inputs().size() != 2)
    throw StitchError(fmt::format("model '{}': forward must take exactly one tensor, it takes {}",
                                  path, m.graph->inputs().size() - 1));
  m.cuts = boundaries_find(*m.graph);
  std::map<std::string, int64_t> own_params;
  for (const auto& sub : m.module.named_modules())
    for (const auto& p : sub.value.named_parameters(/*recurse=*/false))
      own_params[sub.name] += p.value.numel();
  for (const auto& b : m.cuts) {
    StitchPoint p;
    p.name = b.name;
    p.depth = b.depth;
    p.cuttable = b.cuttable;
    p.reason = b.reason;
    p.position = b.end_node + 1;
    for (const auto& mod : modules_touched_before(*m.graph, b.end_node)) {
      auto it = own_params.find(mod);
      if (it != own_params.end()) p.params_before += it->second;
    }
    m.points.push_back(p);
  }
  return sm;
}

const std::string& StagedModel::path() const {
  return impl_->path;
}
const ModelMeta& StagedModel::meta() const {
  return impl_->meta;
}
bool StagedModel::probed() const {
  return impl_->probed;
}
const std::vector<StitchPoint>& StagedModel::boundaries() const {
  return impl_->points;
}

std::vector<StitchPoint> StagedModel::points() const {
  std::vector<StitchPoint> out;
  for (const auto& p : impl_->points)
    if (p.cuttable) out.push_back(p);
  return out;
}

const StitchPoint& StagedModel::point(const std::string& name) const {
  return impl_->points[static_cast<size_t>(impl_->resolve(name, true))];
}

size_t StagedModel::position(const std::string& name) const {
  if (name == kInput) return 0;
  if (name == kOutput) return SIZE_MAX;
  return impl_->cuts[static_cast<size_t>(impl_->resolve(name, true))].end_node + 1;
}

void StagedModel::probe(std::vector<int64_t> input_shape) {
  Impl& m = *impl_;
  if (input_shape.empty()) input_shape = m.meta.input_shape;
  if (input_shape.empty())
    throw StitchError(
        fmt::format("model '{}' records no input shape (not exported by "
                    "scripts/export_architectures.py): give the data (its images set the shape), "
                    "data.input_shape, or --input-shape C,H,W",
                    m.path));
  std::vector<int64_t> full{2};
  full.insert(full.end(), input_shape.begin(), input_shape.end());
  torch::NoGradGuard no_grad;
  const bool was_training = m.module.is_training();
  m.module.eval();
  auto gen = at::detail::createCPUGenerator(1234);
  at::Tensor x = at::rand(full, gen).to(m.device);
  at::Tensor y;
  try {
    y = m.run(kFromInput, kToOutput, x, /*exact=*/true);
  } catch (const std::exception& e) {  // c10::Error or torch::jit::JITException
    throw StitchError(fmt::format("model '{}' fails on a probe input of shape [{}]: {}", m.path,
                                  fmt::join(full, ","), error_line(e)));
  }
  for (size_t i = 0; i < m.points.size(); ++i) {
    StitchPoint& p = m.points[i];
    if (!p.cuttable) continue;
    at::Tensor head = m.run(kFromInput, static_cast<int>(i), x, /*exact=*/true);
    at::Tensor tail = m.run(static_cast<int>(i), kToOutput, head, /*exact=*/true);
    // Bit-exact, with NaN matching NaN: a model may produce NaN on the random probe input.
    const bool same = at::equal(tail, y) || (tail.sizes() == y.sizes() &&
                                             at::allclose(tail, y, 0.0, 0.0, /*equal_nan=*/true));
    if (!same) {
      p.cuttable = false;
      p.reason =
          fmt::format("cut verification failed: tail(head(x)) differs from forward(x) by {:.3g}",
                      (tail - y).abs().max().item<double>());
      continue;
    }
    p.shape.assign(head.sizes().begin() + 1, head.sizes().end());
  }
  m.module.train(was_training);
  m.num_classes = y.dim() == 2 ? y.size(1) : 0;
  m.probed = true;
}

void StagedModel::bind_data(const std::vector<int64_t>& data_shape, const std::vector<double>& mean,
                            const std::vector<double>& std) {
  Impl& m = *impl_;
  if (!m.meta.input_shape.empty() && m.meta.input_shape != data_shape)
    throw StitchError(fmt::format(
        "model '{}' was made for inputs [{}] but the data's images are [{}]: use data of that "
        "shape or a model made for it",
        m.path, fmt::join(m.meta.input_shape, ","), fmt::join(data_shape, ",")));
  if (!m.meta.present) {
    set_input_normalization(mean, std);
  } else if (!mean.empty()) {
    spdlog::warn("model '{}' normalises its inputs itself: data.mean/std are not applied to it",
                 m.path);
  }
  probe(data_shape);
}

void StagedModel::set_input_normalization(const std::vector<double>& mean,
                                          const std::vector<double>& std) {
  Impl& m = *impl_;
  if (mean.size() != std.size())
    throw StitchError("input normalisation needs as many mean as std values");
  if (mean.empty()) {
    m.in_mean_t = m.in_std_t = at::Tensor();
    return;
  }
  const auto c = static_cast<int64_t>(mean.size());
  m.in_mean_t = at::tensor(mean, at::kFloat).view({1, c, 1, 1}).to(m.device);
  m.in_std_t = at::tensor(std, at::kFloat).view({1, c, 1, 1}).to(m.device);
}

int64_t StagedModel::num_classes() const {
  return impl_->num_classes;
}

at::Tensor StagedModel::forward(const at::Tensor& x) {
  return impl_->run(kFromInput, kToOutput, x);
}

void StagedModel::set_optimized(bool on) {
  impl_->optimize = on;
}

int64_t StagedModel::optimized_segments() const {
  int64_t n = 0;
  for (const auto& [key, o] : impl_->optimized) n += o.fn && o.checked;
  return n;
}

at::Tensor StagedModel::forward_range(const at::Tensor& x, const std::string& from,
                                      const std::string& to) {
  Impl& m = *impl_;
  const int a = m.resolve(from, true), b = m.resolve(to, false);
  if (a == kFromInput && b == kToOutput) return forward(x);
  if (m.end_of(b) < m.end_of(a))
    throw StitchError(
        fmt::format("forward_range: point '{}' comes before '{}' in {}", to, from, m.path));
  return m.run(a, b, x);
}

std::vector<at::Tensor> StagedModel::forward_collect(const at::Tensor& x,
                                                     const std::vector<std::string>& names,
                                                     at::Tensor* logits) {
  Impl& m = *impl_;
  std::vector<int> idx;
  for (const auto& n : names) idx.push_back(m.resolve(n, true));
  std::vector<int> order = idx;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return m.cuts[a].end_node < m.cuts[b].end_node; });
  order.erase(std::unique(order.begin(), order.end()), order.end());
  std::map<int, at::Tensor> acts;
  at::Tensor cur = x;
  int at_point = kFromInput;
  for (int i : order) {
    cur = m.run(at_point, i, cur);
    acts[i] = cur;
    at_point = i;
  }
  if (logits) *logits = at_point == kFromInput ? forward(x) : m.run(at_point, kToOutput, cur);
  std::vector<at::Tensor> out;
  for (int i : idx) out.push_back(acts.at(i));
  return out;
}

void StagedModel::train(bool on) {
  impl_->module.train(on);
}

void StagedModel::to(c10::Device device) {
  impl_->module.to(device);
  impl_->weights_collect();
  impl_->device = device;
  if (impl_->in_mean_t.defined()) {
    impl_->in_mean_t = impl_->in_mean_t.to(device);
    impl_->in_std_t = impl_->in_std_t.to(device);
  }
}

c10::Device StagedModel::device() const {
  return impl_->device;
}

std::vector<at::Tensor> StagedModel::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& p : impl_->module.parameters()) out.push_back(p);
  return out;
}

int64_t StagedModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->module.parameters()) n += p.numel();
  return n;
}

torch::jit::Module& StagedModel::module() {
  return impl_->module;
}

}  // namespace stitch
