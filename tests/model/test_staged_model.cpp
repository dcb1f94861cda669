#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;
using stitch::test::error_of;
using Shape = std::vector<int64_t>;

namespace {

// These tests check the cut graphs themselves, bit for bit: optimised segments (frozen, folded)
// are compared with them in OptimizedSegmentsMatchThePlainOnes.
StagedModel probed(const std::string& path, Shape shape = {}) {
  StagedModel m = StagedModel::load(path);
  m.set_optimized(false);
  m.probe(shape);
  return m;
}

// Largest difference between a and b relative to b's largest magnitude.
double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().clamp_min(1e-12).item<double>();
}

const StitchPoint* find(const StagedModel& m, const std::string& name) {
  for (const auto& p : m.boundaries())
    if (p.name == name) return &p;
  return nullptr;
}

// tail(head(x)) == forward(x) bit-exactly at every cuttable point, on a fresh input.
void expect_every_cut_exact(StagedModel& m, const at::Tensor& x) {
  torch::NoGradGuard g;
  at::Tensor y = m.forward(x);
  for (const auto& p : m.points()) {
    at::Tensor head = m.forward_range(x, kInput, p.name);
    EXPECT_EQ(Shape(head.sizes().begin() + 1, head.sizes().end()), p.shape) << p.name;
    EXPECT_TRUE(at::equal(m.forward_range(head, p.name, kOutput), y)) << "cut at " << p.name;
  }
}
}  // namespace

// Shapes follow from the architectures in scripts/export_architectures.py (28x28 input).
TEST(StagedModel, ZooArchitecturesExposeTheirBlocks) {
  struct Case {
    std::string arch;
    std::vector<std::pair<std::string, Shape>> points;
  };
  const std::vector<Case> cases{
      {"mlp", {{"layer1", {256}}, {"layer2", {256}}, {"layer3", {128}}}},
      {"cnn",
       {{"block1", {16, 14, 14}}, {"block2", {32, 7, 7}}, {"block3", {64, 7, 7}}, {"head", {128}}}},
      {"resnet",
       {{"stem", {16, 28, 28}},
        {"layer1.0", {16, 14, 14}},
        {"layer1.1", {16, 14, 14}},
        {"layer2.0", {32, 7, 7}},
        {"layer2.1", {32, 7, 7}},
        {"layer3.0", {64, 4, 4}},
        {"layer3.1", {64, 4, 4}}}},
      {"vit",
       {{"patch_embed", {16, 64}},
        {"blocks.0", {16, 64}},
        {"blocks.3", {16, 64}},
        {"norm", {16, 64}}}},
  };
  for (const auto& c : cases) {
    StagedModel m = probed(test::arch_file(c.arch));
    ASSERT_TRUE(m.meta().present);
    EXPECT_EQ(m.meta().arch, c.arch);
    for (const auto& [name, shape] : c.points) {
      const StitchPoint* p = find(m, name);
      ASSERT_NE(p, nullptr) << c.arch << " lacks " << name;
      EXPECT_TRUE(p->cuttable) << c.arch << "." << name << ": " << p->reason;
      EXPECT_EQ(p->shape, shape) << c.arch << "." << name;
    }
    for (const auto& rec : m.meta().stitch_points)
      EXPECT_NO_THROW(m.point(rec)) << c.arch << " " << rec;
    expect_every_cut_exact(m, at::rand({3, 1, 28, 28}));
  }
}

TEST(StagedModel, ResNetSkipConnectionsAreNotCut) {
  StagedModel m = probed(test::arch_file("resnet"));
  // Inside a basic block the skip from the block input jumps over conv1/bn1/conv2.
  for (const std::string inner : {"layer1.0.conv1", "layer2.1.bn1", "layer3.0.conv2"}) {
    const StitchPoint* p = find(m, inner);
    ASSERT_NE(p, nullptr) << inner;
    EXPECT_FALSE(p->cuttable) << inner;
    EXPECT_NE(p->reason.find("skip connection"), std::string::npos) << p->reason;
    EXPECT_NE(error_of([&] { m.point(inner); }).find("not cuttable"), std::string::npos);
  }
  // Parameters before a point grow monotonically and end at the total minus the head.
  int64_t prev = -1;
  for (const auto& p : m.points()) {
    EXPECT_GE(p.params_before, prev);
    prev = p.params_before;
  }
  EXPECT_EQ(find(m, "avgpool")->params_before, m.parameter_count() - (64 * 10 + 10));
}

TEST(StagedModel, TorchvisionResNet18NotExportedByUs) {
  StagedModel m = probed(test::fixture("resnet18_tv.pt"), {3, 64, 64});
  EXPECT_FALSE(m.meta().present);
  // 64x64 input: conv1 stride 2 -> 32, maxpool -> 16, layer2..4 halve it each.
  const std::vector<std::pair<std::string, Shape>> expected{
      {"conv1", {64, 32, 32}},    {"maxpool", {64, 16, 16}}, {"layer1", {64, 16, 16}},
      {"layer1.0", {64, 16, 16}}, {"layer2.1", {128, 8, 8}}, {"layer3", {256, 4, 4}},
      {"layer4.0", {512, 2, 2}},  {"layer4", {512, 2, 2}},   {"avgpool", {512, 1, 1}}};
  for (const auto& [name, shape] : expected) {
    const StitchPoint* p = find(m, name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_TRUE(p->cuttable) << name << ": " << p->reason;
    EXPECT_EQ(p->shape, shape) << name;
  }
  EXPECT_FALSE(find(m, "layer1.0.conv1")->cuttable);
  // forward matches what Python computed for the same input.
  torch::jit::Module probe = torch::jit::load(test::fixture("resnet18_tv_probe.pt"));
  at::Tensor x = probe.attr("x").toTensor(), y = probe.attr("y").toTensor();
  torch::NoGradGuard g;
  EXPECT_TRUE(at::allclose(m.forward(x), y, 1e-4, 1e-5));
  expect_every_cut_exact(m, x);
}

TEST(StagedModel, TopLevelSkipMakesBoundaryUncuttable) {
  StagedModel m = probed(test::fixture("skip_toy.pt"), {8});
  EXPECT_TRUE(find(m, "a")->cuttable);
  EXPECT_FALSE(find(m, "b")->cuttable);
  EXPECT_NE(find(m, "b")->reason.find("2 values cross"), std::string::npos);
  const std::string e = error_of([&] { m.forward_range(at::rand({2, 8}), kInput, "b"); });
  EXPECT_NE(e.find("not cuttable"), std::string::npos) << e;
  EXPECT_NE(e.find("valid points: a"), std::string::npos) << e;
}

TEST(StagedModel, RangesCollectAndGradients) {
  StagedModel m = probed(test::arch_file("resnet"));
  at::Tensor x = at::rand({4, 1, 28, 28});
  at::Tensor logits;
  std::vector<at::Tensor> acts = m.forward_collect(x, {"layer2.1", "stem", "layer1.0"}, &logits);
  torch::NoGradGuard g;
  EXPECT_TRUE(at::equal(acts[1], m.forward_range(x, kInput, "stem")));
  EXPECT_TRUE(at::equal(acts[2], m.forward_range(acts[1], "stem", "layer1.0")));
  EXPECT_TRUE(at::equal(acts[0], m.forward_range(acts[2], "layer1.0", "layer2.1")));
  EXPECT_TRUE(at::equal(logits, m.forward(x)));
  EXPECT_TRUE(at::equal(m.forward_range(acts[0], "layer2.1", "layer2.1"), acts[0]));
  EXPECT_NE(error_of([&] { m.forward_range(acts[0], "layer2.1", "stem"); }).find("comes before"),
            std::string::npos);
  const std::string unknown = error_of([&] { m.forward_range(x, kInput, "layer9"); });
  EXPECT_NE(unknown.find("unknown stitch point 'layer9'"), std::string::npos);
  EXPECT_NE(unknown.find("layer1.0, "), std::string::npos) << "lists the valid points: " << unknown;
}

TEST(StagedModel, GradientsFlowThroughCutGraphs) {
  StagedModel m = probed(test::arch_file("cnn"));
  at::Tensor h =
      m.forward_range(at::rand({2, 1, 28, 28}), kInput, "block2").detach().requires_grad_(true);
  at::Tensor out = m.forward_range(h, "block2", kOutput);
  out.sum().backward();
  ASSERT_TRUE(h.grad().defined());
  EXPECT_GT(h.grad().abs().sum().item<double>(), 0.0);
}

// Optimised segments (weights frozen in, BatchNorm folded, oneDNN without gradients,
// channels-last with them) compute the same function as the plain cut graphs: activations at
// every point, logits, and the input gradient of every tail, on every zoo architecture and a
// torchvision ResNet-18; and they follow the weights when these change in place.
TEST(StagedModel, OptimizedSegmentsMatchThePlainOnes) {
  struct Case {
    std::string path;
    Shape shape;
    std::vector<std::string> points;  // empty: every cuttable point
  };
  const std::vector<Case> cases{
      {test::arch_file("mlp"), {1, 28, 28}, {}},
      {test::arch_file("cnn"), {1, 28, 28}, {}},
      {test::arch_file("resnet"), {1, 28, 28}, {}},
      {test::arch_file("vit"), {1, 28, 28}, {}},
      {test::fixture("resnet18_tv.pt"), {3, 64, 64}, {"bn1", "maxpool", "layer1.1", "layer3.0"}}};
  for (const auto& c : cases) {
    StagedModel m = probed(c.path, c.shape);
    model_reinit(m, 5);  // non-trivial BatchNorm statistics and weights
    for (auto& p : m.parameters()) p.requires_grad_(false);
    Shape xs{3};
    xs.insert(xs.end(), c.shape.begin(), c.shape.end());
    const at::Tensor x = at::rand(xs);
    std::vector<std::string> points = c.points;
    if (points.empty())
      for (const auto& p : m.points()) points.push_back(p.name);
    for (const auto& name : points) {
      const StitchPoint& p = m.point(name);
      at::Tensor plain_head, plain_grad, opt_head, opt_grad;
      for (bool opt : {false, true}) {
        m.set_optimized(opt);
        at::Tensor head;
        {
          torch::NoGradGuard g;
          head = m.forward_range(x, kInput, p.name);
        }
        const at::Tensor h = head.clone().requires_grad_(true);
        // h * 1: a stitch's output is no leaf (torchvision's in-place ReLU may follow the cut)
        m.forward_range(h * 1, p.name, kOutput).pow(2).sum().backward();
        (opt ? opt_head : plain_head) = head;
        (opt ? opt_grad : plain_grad) = h.grad();
      }
      EXPECT_LT(rel_diff(opt_head, plain_head), 1e-4) << c.path << " at " << p.name;
      EXPECT_LT(rel_diff(opt_grad, plain_grad), 1e-3) << c.path << " gradient after " << p.name;
    }
    // each point's head (no gradient) and tail (with gradient) ran optimised, none fell back
    EXPECT_EQ(m.optimized_segments(), static_cast<int64_t>(2 * points.size())) << c.path;
    torch::NoGradGuard g;
    const at::Tensor before = m.forward(x);
    model_reinit(m, 6);  // in place: the frozen constants are stale now
    const at::Tensor after = m.forward(x);
    m.set_optimized(false);
    EXPECT_LT(rel_diff(after, m.forward(x)), 1e-4) << c.path << ": optimised after new weights";
    EXPECT_GT(rel_diff(after, before), 1e-3) << c.path;
  }
}

// An optimised segment whose output does not match the plain one is not used: under bfloat16
// autocast the folded convolution rounds differently from convolution + BatchNorm (float32), so
// every segment falls back and the results are the plain graph's, bit for bit.
TEST(StagedModel, AnOptimisedSegmentThatDiffersFallsBackToThePlainOne) {
  StagedModel m = probed(test::arch_file("cnn"));
  model_reinit(m, 5);
  for (auto& p : m.parameters()) p.requires_grad_(false);
  const at::Tensor x = at::rand({4, 1, 28, 28});
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  at::Tensor plain, opt;
  for (bool o : {false, true}) {
    m.set_optimized(o);
    torch::NoGradGuard g;
    (o ? opt : plain) = m.forward_range(m.forward_range(x, kInput, "block1"), "block1", kOutput);
  }
  at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
  EXPECT_EQ(m.optimized_segments(), 0);
  EXPECT_TRUE(at::equal(opt, plain));
}

TEST(StagedModel, BadFilesGiveClearErrors) {
  const std::string dir = test::temp_dir();
  EXPECT_NE(error_of([&] { StagedModel::load(dir + "/missing.pt"); }).find("does not exist"),
            std::string::npos);
  std::ofstream(dir + "/text.pt") << "this is not a model\n";
  EXPECT_NE(error_of([&] { StagedModel::load(dir + "/text.pt"); }).find("not a TorchScript file"),
            std::string::npos);
  const std::string bytes = test::read_file(test::arch_file("cnn"));
  std::ofstream(dir + "/trunc.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(error_of([&] { StagedModel::load(dir + "/trunc.pt"); }).find("truncated"),
            std::string::npos);
  StagedModel tv = StagedModel::load(test::fixture("resnet18_tv.pt"));
  EXPECT_NE(error_of([&] { tv.probe(); }).find("--input-shape"), std::string::npos);
  EXPECT_NE(error_of([&] {
              tv.probe({1, 28, 28});
            }).find("fails on a probe input"),
            std::string::npos);
}
