// GPU tests: compiled always, skipped with a message where LibTorch sees no CUDA device.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>

#include "stitch/model/staged_model.h"
#include "stitch/results/results.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/device.h"
#include "stitch/util/version.h"
#include "test_util.h"

using namespace stitch;

namespace {
std::map<std::string, nlohmann::json> rows_on(const std::string& device) {
  SweepConfig c = sweep_config_parse(YAML::Load(
      "name: dev\nfront: " + test::arch_file("cnn") + "\nend: " + test::arch_file("cnn") +
      "\nfront_points: [block1, block2]\nend_points: [block2]\nmethods: [dm_closed, fula]\n"
      "data: {train_samples: 1024, test_samples: 1000}\ntrain: {epochs: 1}\nthreads: 2\n"
      "device: " +
      device + "\nout_dir: " + test::temp_dir() + "\n"));
  Plan p = plan_make(c, c10::Device(device));
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : sweep_run(p, Shard{}).rows) out[r["key"]] = r;
  return out;
}
}  // namespace

// The same sweep on CUDA and on the CPU: same jobs (the device is not part of a key), same
// accuracy within float noise, and the rows say where they ran.
TEST(Cuda, SweepOnCudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (LibTorch " << torch_version() << ")";
  const auto cpu = rows_on("cpu"), gpu = rows_on("cuda");
  ASSERT_EQ(cpu.size(), gpu.size());
  for (const auto& [key, r] : cpu) {
    ASSERT_TRUE(gpu.count(key)) << key;
    EXPECT_EQ(gpu.at(key)["device"].get<std::string>().rfind("cuda", 0), 0u);
    EXPECT_NEAR(gpu.at(key)["stitched_acc"].get<double>(), r["stitched_acc"].get<double>(), 0.01)
        << r["method"] << " " << r["front_point"];
    EXPECT_NEAR(gpu.at(key)["end_acc"].get<double>(), r["end_acc"].get<double>(), 0.002);
  }
}

namespace {
// One sweep on CUDA with the options a GPU user turns on; returns its rows.
std::vector<nlohmann::json> cuda_sweep(const std::string& yaml) {
  SweepConfig c = sweep_config_parse(YAML::Load(
      yaml + "\ndevice: cuda\nthreads: 2\nout_dir: " + test::temp_dir() + "\nname: cuda\n"));
  Plan p = plan_make(c, c10::Device("cuda"));
  return sweep_run(p, Shard{}).rows;
}

void expect_finite_on_cuda(const std::vector<nlohmann::json>& rows, size_t n) {
  ASSERT_EQ(rows.size(), n);
  for (const auto& r : rows) {
    EXPECT_EQ(r["device"].get<std::string>().rfind("cuda", 0), 0u) << r;
    EXPECT_FALSE(r["tf32"].get<bool>()) << "TF32 is off unless asked";
    for (const char* m : {"stitched_acc", "agreement", "fula_test"})
      EXPECT_TRUE(std::isfinite(r[m].get<double>())) << m << " " << r;
  }
}
}  // namespace

// Live rows, a lockstep group of trained methods, bfloat16 autocast, PGD and markers on CUDA.
TEST(Cuda, LiveLockstepAmpPgdAndMarkers) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const auto rows = cuda_sweep(
      "front: " + test::arch_file("cnn") + "\nend: " + test::arch_file("cnn") +
      "\nfront_point: block2\nend_point: block2\nmethods: [dm_closed, tlm, fula]\n"
      "data: {train_samples: 1024, test_samples: 500}\ntrain: {epochs: 1, amp: true}\n"
      "eval: {robust_samples: 100, robust_steps: 3, markers: pixel_loc}\nlockstep: true\n");
  expect_finite_on_cuda(rows, 3);
  for (const auto& r : rows) {
    EXPECT_EQ(r["test_rows"], "live") << r;
    EXPECT_TRUE(r.contains("marker_follow") && r.contains("robust_acc")) << r;
    if (r["method"] != "dm_closed") EXPECT_EQ(r["lockstep_jobs"].get<int64_t>(), 2) << r;
  }
}

// BatchNorm in train mode and the zoo resnet on CUDA.
TEST(Cuda, ResnetWithBatchNormInTrainMode) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const auto rows =
      cuda_sweep("front: " + test::arch_file("resnet") + "\nend: " + test::arch_file("resnet") +
                 "\nfront_point: layer1\nend_point: layer1\nmethods: [tlm]\n"
                 "data: {train_samples: 512, test_samples: 300}\n"
                 "train: {epochs: 1, bn_mode: train}\n");
  expect_finite_on_cuda(rows, 1);
}

// A torchvision ResNet-18 (no project metadata) on CUDA, and every one of its optimised segments
// is used there (with TF32 off they pass their float32 check instead of falling back).
TEST(Cuda, TorchvisionModelAndOptimisedSegments) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  if (!std::ifstream(test::fixture("resnet18_tv.pt")))
    GTEST_SKIP() << "no resnet18_tv.pt fixture (its python has no torchvision)";
  StagedModel m = StagedModel::load(test::fixture("resnet18_tv.pt"), c10::Device("cuda"));
  m.probe({3, 64, 64});
  for (auto& p : m.parameters()) p.requires_grad_(false);
  tf32_set(false);
  const at::Tensor x = at::rand({4, 3, 64, 64}).to(c10::Device("cuda"));
  for (const std::string point : {"layer1", "layer2.1"}) {
    at::Tensor head;
    {
      torch::NoGradGuard g;
      head = m.forward_range(x, kInput, point);
    }
    const at::Tensor h = head.clone().requires_grad_(true);
    m.forward_range(h * 1, point, kOutput).pow(2).sum().backward();
    EXPECT_TRUE(h.grad().defined());
  }
  EXPECT_EQ(m.optimized_segments(), 4) << "no optimised segment fell back on CUDA";
}

// The commands a GPU user runs: train-model, activations and similarity with --device cuda.
TEST(Cuda, TrainModelActivationsAndSimilarityCommands) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = test::temp_dir(), model = dir + "/m.pt";
  auto t = test::run_cli("train-model --arch cnn --set arch_dir=" + test::arch_dir() +
                         " --epochs 1 --train-samples 2000 --set test_samples=500 --set "
                         "adversarial.eval_samples=50 --device cuda --out " +
                         model);
  ASSERT_EQ(t.rc, 0) << t.err;
  auto a = test::run_cli("activations " + model + " --points block2 --samples 200 --device cuda" +
                         " --out " + dir + "/a.h5");
  ASSERT_EQ(a.rc, 0) << a.err;
  auto s = test::run_cli("similarity " + model + " " + model +
                         " --points-a block2 --points-b block2 --samples 200 --batch 100 "
                         "--metrics linear_cka --device cuda --out-dir " +
                         dir + " --name sim");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_NE(s.out.find("1.0000"), std::string::npos) << "CKA of a model with itself: " << s.out;
}
