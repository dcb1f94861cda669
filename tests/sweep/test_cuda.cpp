// GPU tests: compiled always, skipped with a message where LibTorch sees no CUDA device.
#include <gtest/gtest.h>

#include <map>

#include "stitch/runner/results.h"
#include "stitch/sweep/sweep_run.h"
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
