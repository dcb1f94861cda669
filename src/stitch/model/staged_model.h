#pragma once
// A TorchScript model run stage by stage: stitch-point discovery, activation shapes, and
// forward passes between any two points (docs/architecture.md §3). Torch-free header (pimpl).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace torch::jit {
struct Module;
}

namespace stitch {

// Names accepted by forward_range for the two ends of the network.
inline const std::string kInput = "input";
inline const std::string kOutput = "output";

struct StitchPoint {
  std::string name;            // module path, e.g. "layer2.1"
  int depth = 0;               // path components (1 = top-level block)
  bool cuttable = false;       // exactly one tensor crosses and tail(head(x)) == forward(x)
  std::string reason;          // why not cuttable
  std::vector<int64_t> shape;  // activation shape without the batch dim (after probe)
  int64_t params_before = 0;   // parameters of the modules called before this point
  size_t position = 0;         // forward order; equal for names of the same tensor (aliases)
};

// Metadata written by scripts/export_architectures.py and stitch train-model.
struct ModelMeta {
  bool present = false;  // false for models not exported by us (e.g. a user's torchvision net)
  std::string arch, recipe, train_info;
  std::vector<int64_t> input_shape;  // [C, H, W]
  int64_t num_classes = 0, seed = -1, epochs = 0;
  double norm_mean = 0, norm_std = 1;
  double clean_accuracy = -1, robust_accuracy = -1, marker_accuracy = -1,
         rolled_marker_accuracy = -1;
  std::vector<std::string> stitch_points;  // recommended points
};

class StagedModel {
 public:
  // Loads a TorchScript file onto `device` in eval() mode and discovers its boundaries. Throws
  // StitchError for a missing, truncated or non-TorchScript file.
  static StagedModel load(const std::string& path, c10::Device device = c10::Device("cpu"));
  ~StagedModel();
  StagedModel(StagedModel&&) noexcept;
  StagedModel& operator=(StagedModel&&) noexcept;

  const std::string& path() const;
  const ModelMeta& meta() const;
  // Probes activation shapes with a random input [2, input_shape...] and verifies every cut
  // (tail(head(x)) == forward(x)); a failing cut is marked not cuttable. Without an explicit
  // shape, uses meta().input_shape and throws if the model has none.
  void probe(std::vector<int64_t> input_shape = {});
  bool probed() const;
  // Readies the model for images of `data_shape` [C, H, W]: a recorded input shape must match it
  // (StitchError naming both); a model without our metadata gets (x - mean) / std per channel
  // (one value or one per channel; empty = none) before its first layer; then probe(data_shape).
  void bind_data(const std::vector<int64_t>& data_shape, const std::vector<double>& mean,
                 const std::vector<double>& std);
  // Input normalisation applied before the first layer (see bind_data); empty mean = none.
  void set_input_normalization(const std::vector<double>& mean, const std::vector<double>& std);
  int64_t num_classes() const;  // width of the logits, known after probe() (0 before)

  // All module-call boundaries in forward order (cuttable or not).
  const std::vector<StitchPoint>& boundaries() const;
  // Cuttable points only, in forward order.
  std::vector<StitchPoint> points() const;
  // The point named `name`; throws StitchError listing the valid names if it is unknown or
  // not cuttable (with the reason).
  const StitchPoint& point(const std::string& name) const;

  // Position of a point in forward order (equal for points that name the same tensor);
  // kInput is 0, kOutput the largest. Throws like point() for unknown names.
  size_t position(const std::string& name) const;

  // Forward passes of a model in eval mode run optimised segments (docs/architecture.md §3):
  // the weights frozen into the graph as constants, BatchNorm folded into the convolutions,
  // channels-last convolutions where gradients flow and oneDNN with prepacked weights where they
  // do not (CPU). Each segment is checked once against the plain one (same output up to float
  // rounding, else it stays plain) and rebuilt when the weights change in place. Off: exactly
  // the TorchScript graph, cut (bit-identical to module.forward). Default on; STITCH_OPTIMIZE=0
  // in the environment turns the default off.
  void set_optimized(bool on);
  int64_t optimized_segments() const;  // segments built, checked and running optimised

  at::Tensor forward(const at::Tensor& x);  // [N, ...] -> logits [N, K]
  // Runs from `from` (kInput or a point) to `to` (a point or kOutput). `to` must not come
  // before `from`. x is the activation at `from`.
  at::Tensor forward_range(const at::Tensor& x, const std::string& from, const std::string& to);
  // One pass from the input collecting the activations at `names` (any order; returned in the
  // order given). If logits != nullptr it receives the model output of the same pass.
  std::vector<at::Tensor> forward_collect(const at::Tensor& x,
                                          const std::vector<std::string>& names,
                                          at::Tensor* logits = nullptr);

  void train(bool on);  // train()/eval() mode of every submodule (BatchNorm, dropout)
  void to(c10::Device device);
  c10::Device device() const;
  std::vector<at::Tensor> parameters() const;
  int64_t parameter_count() const;
  torch::jit::Module& module();  // the underlying TorchScript module (src/stitch/model only)

 private:
  StagedModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stitch
