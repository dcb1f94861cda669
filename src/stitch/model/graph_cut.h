#pragma once
// TorchScript graph surgery behind StagedModel (docs/architecture.md §3). Everything
// TorchScript-specific stays in src/stitch/model/ so another backend (torch.export) can be added
// later.
#include <memory>
#include <string>
#include <vector>

namespace c10 {
struct IValue;
}
namespace torch::jit {
struct Graph;
}

namespace stitch {

// One boundary between module calls in the inlined forward graph.
struct Boundary {
  std::string name;       // module path, e.g. "layer2.1"; "@2" suffix for a module's 2nd call
  size_t end_node = 0;    // index (top-level order) of the last node of the module call
  bool cuttable = false;  // exactly one data tensor crosses the boundary
  std::string reason;     // why not cuttable
  size_t value_node = 0;  // the crossing value: output `value_offset` of top-level node
  size_t value_offset = 0;
  int depth = 0;  // number of path components
};

// Inlines `forward` graph copy; every module call recorded in node callstacks becomes a Boundary
// (forward order; equal end_node = same tensor). `graph` must already be inlined.
std::vector<Boundary> boundaries_find(torch::jit::Graph& graph);

// Copies `graph` and cuts it to the segment between two boundaries. from == nullptr: starts at
// the model input; to == nullptr: ends at the model outputs. The returned graph takes
// (self, tensor) and returns one value.
std::shared_ptr<torch::jit::Graph> segment_build(torch::jit::Graph& graph, const Boundary* from,
                                                 const Boundary* to);

// Freezes a segment graph for inference on a model in eval mode: every attribute read from
// `self` (parameters, buffers, the training flag) becomes a constant, then constant propagation
// and the frozen-graph folds (BatchNorm and constant add/mul into the preceding convolution).
// The graph keeps its (self, tensor) signature; gradients with respect to the tensor input still
// flow (the folded convolutions compute the same affine map).
void segment_freeze(const std::shared_ptr<torch::jit::Graph>& graph, const c10::IValue& self);

// Rewrites a frozen segment graph for no-grad CPU inference (what torch.jit.optimize_for_inference
// does): convolution + add + ReLU fusion and convolutions / linear layers on oneDNN with
// prepacked weights. Outputs stay dense tensors; the result does not support autograd.
void segment_for_inference(const std::shared_ptr<torch::jit::Graph>& graph);

// Module paths (e.g. "layer1.0.conv1") whose nodes all lie at or before top-level node `end`;
// "" stands for the root module's own attribute reads. Used to count parameters before a point.
std::vector<std::string> modules_touched_before(torch::jit::Graph& graph, size_t end);

}  // namespace stitch
