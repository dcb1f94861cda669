#include "stitch/model/graph_cut.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/ir/scope.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch {
using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

std::vector<Node*> top_nodes(Graph& g) {
  std::vector<Node*> nodes;
  for (Node* n : g.nodes()) nodes.push_back(n);
  return nodes;
}

// Module instance names along a node's inlined callstack, skipping method calls on the module
// itself ("SELF", e.g. torchvision's forward -> _forward_impl) and plain function calls.
std::vector<std::string> node_path(const Node* n) {
  std::vector<std::string> path;
  auto cs = n->callstack();
  if (!cs) return path;
  for (const auto& entry : (*cs)->vec()) {
    const auto& info = std::get<2>(entry);
    if (!info) continue;
    const std::string name = info->instance_name();
    if (name == "SELF" || name.empty()) continue;
    path.push_back(name);
  }
  return path;
}

// Path of a node; a control-flow node without a callstack takes the common prefix of the paths
// of the nodes nested in it (BatchNorm's checks are emitted that way).
std::vector<std::string> node_path_or_nested(const Node* n) {
  if (n->callstack() || n->blocks().empty()) return node_path(n);
  bool first = true;
  std::vector<std::string> common;
  for (const Block* b : n->blocks())
    for (const Node* inner : b->nodes()) {
      if (!inner->callstack()) continue;
      std::vector<std::string> p = node_path(inner);
      if (first) {
        common = p;
        first = false;
        continue;
      }
      size_t k = 0;
      while (k < common.size() && k < p.size() && common[k] == p[k]) ++k;
      common.resize(k);
    }
  return common;
}

std::string path_join(const std::vector<std::string>& p, size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) s += (i ? "." : "") + p[i];
  return s;
}

// The top-level node that contains `n` (n itself when it is top-level).
Node* top_owner(Node* n, const Block* top) {
  while (n->owningBlock() != top) n = n->owningBlock()->owningNode();
  return n;
}

// Values defined outside `n` that `n` or any node nested in its blocks reads.
void captured_inputs(Node* n, const Block* top, std::vector<Value*>& out) {
  for (Value* v : n->inputs())
    if (v->node()->owningBlock() == top || v->node()->kind() == torch::jit::prim::Param)
      out.push_back(v);
  for (Block* b : n->blocks()) {
    for (Value* v : b->outputs())
      if (v->node()->owningBlock() == top) out.push_back(v);
    for (Node* inner : b->nodes()) captured_inputs(inner, top, out);
  }
}

struct Analysis {
  std::vector<Node*> nodes;
  std::unordered_map<const Node*, size_t> index;
  std::unordered_set<const Value*> data;  // values that depend on the model input
  std::vector<bool> data_node;            // node reads a data value (directly or nested)
  std::unordered_map<const Value*, size_t> last_use;  // top-level index; SIZE_MAX = graph output
};

Analysis analyse(Graph& g) {
  Analysis a;
  a.nodes = top_nodes(g);
  for (size_t i = 0; i < a.nodes.size(); ++i) a.index[a.nodes[i]] = i;
  const auto inputs = g.inputs();
  for (size_t i = 1; i < inputs.size(); ++i) a.data.insert(inputs[i]);  // input 0 is `self`
  const Block* top = g.block();
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    // A node without outputs (BatchNorm's size check: a prim::If that only reads aten::size and
    // may raise) is dropped by segment_build's backward slice, so its reads are not real uses
    // and it belongs to no module call.
    if (a.nodes[i]->outputs().empty()) {
      a.data_node.push_back(false);
      continue;
    }
    std::vector<Value*> caps;
    captured_inputs(a.nodes[i], top, caps);
    bool is_data = false;
    for (Value* v : caps) {
      if (a.data.count(v)) is_data = true;
      a.last_use[v] = std::max(a.last_use.count(v) ? a.last_use[v] : 0, i);
    }
    a.data_node.push_back(is_data);
    if (is_data)
      for (Value* o : a.nodes[i]->outputs()) a.data.insert(o);
  }
  for (Value* v : g.outputs()) a.last_use[v] = SIZE_MAX;
  return a;
}

// A candidate boundary: a maximal sequence of consecutive data nodes sharing the same module
// path prefix of length `depth`, ending at top-level node `end`.
struct Run {
  std::string name;
  size_t end;
  int depth;
};

// Every run at every depth, ordered by the node it ends at (shallower first on ties). Only
// nodes that read the model's data define module calls: constants, attribute reads and other
// self-only nodes are hoisted by the inliner and can be recomputed on either side.
std::vector<Run> runs_find(const Analysis& a) {
  std::vector<size_t> dn;
  std::vector<std::vector<std::string>> paths;
  size_t max_depth = 0;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (!a.data_node[i]) continue;
    dn.push_back(i);
    paths.push_back(node_path_or_nested(a.nodes[i]));
    max_depth = std::max(max_depth, paths.back().size());
  }
  std::vector<Run> runs;
  const size_t m = dn.size();
  for (size_t d = 1; d <= max_depth; ++d) {
    size_t i = 0;
    while (i < m) {
      if (paths[i].size() < d) {
        ++i;
        continue;
      }
      const std::string key = path_join(paths[i], d);
      size_t j = i;
      while (j + 1 < m && paths[j + 1].size() >= d && path_join(paths[j + 1], d) == key) ++j;
      runs.push_back({key, dn[j], static_cast<int>(d)});
      i = j + 1;
    }
  }
  std::stable_sort(runs.begin(), runs.end(), [](const Run& x, const Run& y) {
    return x.end != y.end ? x.end < y.end : x.depth < y.depth;
  });
  return runs;
}

// Every data value (the model inputs first, then node outputs), with the index of its defining
// top-level node (0 for inputs).
struct DataValues {
  std::vector<Value*> values;
  std::vector<size_t> def_index;
  size_t n_inputs = 0;
};

DataValues data_values(Graph& graph, const Analysis& a) {
  DataValues d;
  for (size_t i = 1; i < graph.inputs().size(); ++i) {
    d.values.push_back(graph.inputs()[i]);
    d.def_index.push_back(0);
  }
  d.n_inputs = d.values.size();
  for (size_t i = 0; i < a.nodes.size(); ++i)
    for (Value* o : a.nodes[i]->outputs())
      if (a.data.count(o)) {
        d.values.push_back(o);
        d.def_index.push_back(i);
      }
  return d;
}

// Whether the graph can be cut after run r: exactly one tensor, made inside the model, crosses
// it. Fills b's cuttable / value / reason.
void boundary_classify(const Run& r, const Analysis& a, const DataValues& d, size_t last_data_node,
                       Boundary& b) {
  std::vector<size_t> crossing;
  for (size_t v = 0; v < d.values.size(); ++v) {
    if (v >= d.n_inputs && d.def_index[v] > r.end) continue;
    auto it = a.last_use.find(d.values[v]);
    if (it != a.last_use.end() && it->second > r.end) crossing.push_back(v);
  }
  if (r.end >= last_data_node) {
    b.reason = "it is the last module call (nothing follows it)";
  } else if (crossing.size() != 1) {
    b.reason =
        crossing.empty()
            ? "no tensor crosses it"
            : fmt::format("{} values cross it (a skip connection or second branch jumps over it)",
                          crossing.size());
  } else if (crossing[0] < d.n_inputs) {
    b.reason = "only the model input crosses it (the module's output is unused)";
  } else {
    Value* v = d.values[crossing[0]];
    if (!v->type()->cast<c10::TensorType>()) {
      b.reason = fmt::format("the value crossing it is a {}, not a tensor", v->type()->str());
    } else {
      b.cuttable = true;
      b.value_node = a.index.at(v->node());
      b.value_offset = v->offset();
    }
  }
}

}  // namespace

std::vector<Boundary> boundaries_find(Graph& graph) {
  const Analysis a = analyse(graph);
  size_t last_data_node = 0;
  for (size_t i = 0; i < a.nodes.size(); ++i)
    if (a.data_node[i]) last_data_node = i;
  const DataValues d = data_values(graph, a);
  std::map<std::string, int> seen;
  std::vector<Boundary> out;
  for (const Run& r : runs_find(a)) {
    Boundary b;
    const int k = ++seen[r.name];
    b.name = k == 1 ? r.name : fmt::format("{}@{}", r.name, k);
    b.end_node = r.end;
    b.depth = r.depth;
    boundary_classify(r, a, d, last_data_node, b);
    out.push_back(b);
  }
  return out;
}

std::shared_ptr<Graph> segment_build(Graph& graph, const Boundary* from, const Boundary* to) {
  std::shared_ptr<Graph> g = graph.copy();
  const std::vector<Node*> nodes = top_nodes(*g);
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i]] = i;
  const Block* top = g->block();
  Value* x = g->inputs().at(1);
  if (from) {
    Value* v = nodes.at(from->value_node)->outputs().at(from->value_offset);
    Value* z = g->addInput("z")->setType(v->type());
    const auto uses = v->uses();
    for (const auto& use : uses)
      if (index.at(top_owner(use.user, top)) > from->end_node)
        use.user->replaceInput(use.offset, z);
  }
  if (to) {
    Value* v = nodes.at(to->value_node)->outputs().at(to->value_offset);
    while (!g->outputs().empty()) g->eraseOutput(0);
    g->registerOutput(v);
  }
  // Backward slice from the outputs; everything else is destroyed (EliminateDeadCode keeps
  // prim::CallMethod and BatchNorm's shape-check prim::If nodes, so it is not enough).
  std::unordered_set<const Node*> keep;
  std::vector<Node*> work;
  auto want = [&](Value* v) {
    Node* d = v->node();
    if (d->kind() == torch::jit::prim::Param) return;
    d = top_owner(d, top);
    if (keep.insert(d).second) work.push_back(d);
  };
  for (Value* v : g->outputs()) want(v);
  while (!work.empty()) {
    Node* n = work.back();
    work.pop_back();
    std::vector<Value*> caps;
    captured_inputs(n, top, caps);
    for (Value* v : caps) want(v);
  }
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
    if (!keep.count(*it)) (*it)->destroy();
  if (from) {
    if (x->hasUses())
      throw StitchError(
          fmt::format("internal: cut at '{}' still reads the model input", from->name));
    g->eraseInput(1);
  }
  g->lint();
  return g;
}

namespace {
// Replaces prim::GetAttr reads that resolve from `objects` (module objects by value) with
// constants, in `b` and its nested blocks.
void attributes_to_constants(Graph& g, Block* b,
                             std::unordered_map<const Value*, c10::IValue>& objects) {
  for (auto it = b->nodes().begin(); it != b->nodes().end();) {
    Node* n = *it++;
    if (n->kind() == torch::jit::prim::GetAttr) {
      auto o = objects.find(n->input(0));
      if (o == objects.end() || !o->second.isObject()) continue;
      c10::IValue v = o->second.toObject()->getAttr(n->s(torch::jit::attr::name));
      if (v.isObject()) {
        objects[n->output()] = v;
        continue;
      }
      if (v.isTensor()) v = v.toTensor().detach();
      torch::jit::WithInsertPoint guard(n);
      if (auto c = torch::jit::tryInsertConstant(g, v)) {
        n->output()->replaceAllUsesWith(*c);
        n->destroy();
      }
      continue;
    }
    for (Block* sub : n->blocks()) attributes_to_constants(g, sub, objects);
  }
}
}  // namespace

void segment_freeze(const std::shared_ptr<Graph>& graph, const c10::IValue& self) {
  std::unordered_map<const Value*, c10::IValue> objects{{graph->inputs().at(0), self}};
  attributes_to_constants(*graph, graph->block(), objects);
  std::shared_ptr<Graph> g = graph;
  torch::jit::ConstantPropagation(g);
  torch::jit::EliminateDeadCode(g);
  torch::jit::OptimizeFrozenGraph(g, /*optimize_numerics=*/true);
  torch::jit::EliminateDeadCode(g);
  g->lint();
}

void segment_for_inference(const std::shared_ptr<Graph>& graph) {
  std::shared_ptr<Graph> g = graph;
  torch::jit::FuseFrozenConvAddRelu(g);
  torch::jit::ConvertFrozenOpsToMKLDNN(g);
  torch::jit::FrozenLinearTranspose(g);
  torch::jit::EliminateDeadCode(g);
  g->lint();
}

std::vector<std::string> modules_touched_before(Graph& graph, size_t end) {
  std::set<std::string> after, before;
  size_t i = 0;
  for (Node* n : graph.nodes()) {
    const std::vector<std::string> p = node_path(n);
    std::string key = path_join(p, p.size());
    (i <= end ? before : after).insert(key);
    ++i;
  }
  std::vector<std::string> out;
  for (const auto& k : before)
    if (!after.count(k)) out.push_back(k);
  return out;
}

}  // namespace stitch
