// A user's own model and data through every command, as the README tells them: torchvision's
// ResNet-18 scripted in Python without any project metadata (fixtures/resnet18_tv.pt) on
// CIFAR-10 binary files written here. Shapes come from the data, normalisation from data.mean/std.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "stitch/results/results.h"
#include "test_util.h"

using stitch::test::expect_one_line_error;
using stitch::test::run_cli;

namespace {
// Random CIFAR-10 records with random labels: `n` records into `path`.
void write_cifar(const std::string& path, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string bytes;
  for (int r = 0; r < n; ++r) {
    bytes.push_back(static_cast<char>(rng() % 10));
    for (int p = 0; p < 3072; ++p) bytes.push_back(static_cast<char>(rng() % 256));
  }
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct UserSetup {
  std::string dir, model, data;
};

const UserSetup& user_setup() {
  static const UserSetup s = [] {
    UserSetup u;
    u.dir = stitch::test::temp_dir();
    u.model = stitch::test::fixture("resnet18_tv.pt");
    write_cifar(u.dir + "/data_batch_1.bin", 400, 1);
    write_cifar(u.dir + "/test_batch.bin", 200, 2);
    u.data = " --set data.source=cifar10 --set data.dir=" + u.dir +
             " --set data.mean=[0.49,0.48,0.45] --set data.std=[0.25,0.24,0.26] --device cpu";
    return u;
  }();
  return s;
}
}  // namespace

TEST(UserModel, LayersTakeTheShapeFromTheDataAndGroupAliases) {
  const UserSetup& u = user_setup();
  const auto r = run_cli("layers " + u.model + u.data.substr(0, u.data.find(" --device")));
  ASSERT_EQ(r.rc, 0) << r.err;
  // layer1 and its last block layer1.1 are the same tensor: one row, [64,8,8] at 32x32 inputs.
  std::istringstream lines(r.out);
  std::string line, layer1;
  while (std::getline(lines, line))
    if (line.rfind("layer1 ", 0) == 0) layer1 = line;
  EXPECT_NE(layer1.find("[64,8,8]"), std::string::npos) << r.out;
  EXPECT_NE(layer1.find("layer1.1"), std::string::npos) << "aliases on the row: " << layer1;
  EXPECT_EQ(r.out.find("\nlayer1.1 "), std::string::npos) << "layer1.1 has no row of its own";
}

TEST(UserModel, SelfStitchAtANestedPointReproducesTheModel) {
  const UserSetup& u = user_setup();
  const std::string out = u.dir + "/runs";
  const auto r = run_cli("run --front " + u.model + " --end " + u.model +
                         " --front-point layer2.0 --end-point layer2.0 --methods dm_closed"
                         " --name self --out-dir " +
                         out + u.data + " --set data.init_samples=100 --set data.test_samples=200");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto rows = stitch::results_read(out + "/self");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(rows[0]["agreement"].get<double>(), 0.999) << rows[0].dump();
  EXPECT_EQ(rows[0]["test_samples"].get<int64_t>(), 200);
}

TEST(UserModel, ActivationsAndSimilarityOfTheSameModel) {
  const UserSetup& u = user_setup();
  const std::string h5 = u.dir + "/acts.h5";
  const auto a = run_cli("activations " + u.model +
                         " --points layer1,layer3.1 --samples 120 --out " + h5 + u.data);
  ASSERT_EQ(a.rc, 0) << a.err;
  // The model against its own exported activations: the same images, the same normalisation.
  const auto s = run_cli("similarity " + u.model + " " + h5 +
                         " --points-a layer1,layer3.1 --points-b layer1,layer3.1 --pairs zip"
                         " --samples 120 --batch 60 --metrics linear_cka --out-dir " +
                         u.dir + "/sim" + u.data);
  ASSERT_EQ(s.rc, 0) << s.err;
  const auto rows = stitch::results_read(u.dir + "/sim/similarity");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows)
    EXPECT_NEAR(row["linear_cka"].get<double>(), 1.0, 1e-5) << row.dump();
  // Without the normalisation the activations differ, and so does CKA.
  const std::string raw = u.data.substr(0, u.data.find(" --set data.mean"));
  const auto t = run_cli("similarity " + u.model + " " + h5 +
                         " --points-a layer3.1 --points-b layer3.1 --samples 120 --batch 60"
                         " --metrics linear_cka --name raw --out-dir " +
                         u.dir + "/sim" + raw + " --device cpu");
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_LT(stitch::results_read(u.dir + "/sim/raw")[0]["linear_cka"].get<double>(), 0.9999);
}

TEST(UserModel, MetadataThatDisagreesWithTheDataIsOneLine) {
  const UserSetup& u = user_setup();
  expect_one_line_error(
      run_cli("run --front " + stitch::test::arch_file("cnn") + " --end " + u.model +
              " --front-point block1 --end-point layer1 --out-dir " + u.dir + "/bad" + u.data),
      "was made for inputs [1,28,28] but the data's images are [3,32,32]");
  expect_one_line_error(run_cli("layers " + u.model), "records no input shape");
}
