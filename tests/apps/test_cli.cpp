#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

using stitch::test::expect_one_line_error;
using stitch::test::run_cli;
namespace fs = std::filesystem;

namespace {
std::string arch_dir_flag() {
  return "--set arch_dir=" + stitch::test::arch_dir();
}
}  // namespace

TEST(Cli, VersionNamesCommitAndLibTorch) {
  auto r = run_cli("--version");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("stitch 0.1.0 (commit "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LibTorch 1."), std::string::npos);
  EXPECT_NE(r.out.find("CUDA"), std::string::npos);
}

TEST(Cli, LayersPrintsTable) {
  auto r = run_cli("layers " + stitch::test::arch_file("cnn"));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("block2"), std::string::npos);
  EXPECT_NE(r.out.find("[32,7,7]"), std::string::npos);
  auto one = run_cli("layers " + stitch::test::arch_file("cnn") + " --point block3");
  ASSERT_EQ(one.rc, 0) << one.err;
  EXPECT_NE(one.out.find("[64,7,7]"), std::string::npos);
  EXPECT_EQ(one.out.find("block2 "), std::string::npos);
  // The data section of a sweep config works here too (sample counts included).
  auto shared = run_cli("layers " + stitch::test::arch_file("cnn") +
                        " --set data.train_samples=100 --set data.test_samples=50 --point block3");
  ASSERT_EQ(shared.rc, 0) << shared.err;
  EXPECT_NE(shared.out.find("[64,7,7]"), std::string::npos);
}

TEST(Cli, BadModelFiles) {
  const std::string dir = stitch::test::temp_dir();
  expect_one_line_error(run_cli("layers " + dir + "/none.pt"), "does not exist");
  std::ofstream(dir + "/text.pt") << "hello";
  expect_one_line_error(run_cli("layers " + dir + "/text.pt"), "not a TorchScript file");
  std::ofstream(dir + "/trunc.pt", std::ios::binary)
      << stitch::test::read_file(stitch::test::arch_file("mlp")).substr(0, 5000);
  expect_one_line_error(run_cli("layers " + dir + "/trunc.pt"), "truncated");
  expect_one_line_error(run_cli("layers " + stitch::test::arch_file("cnn") + " --point blockX"),
                        "valid points: block1.0");
  expect_one_line_error(
      run_cli("layers " + stitch::test::arch_file("resnet") + " --point layer1.0.conv1"),
      "not cuttable");
  expect_one_line_error(run_cli("layers " + stitch::test::fixture("resnet18_tv.pt")),
                        "--input-shape");
}

TEST(Cli, BadTrainingSettings) {
  const std::string dir = stitch::test::temp_dir();
  expect_one_line_error(run_cli("train-model --arch transformer --out " + dir + "/x.pt"), "'arch'");
  expect_one_line_error(run_cli("train-model --recipe magic --out " + dir + "/x.pt"),
                        "'recipe': 'magic'");
  expect_one_line_error(
      run_cli("train-model " + arch_dir_flag() + " --out /nonexistent_dir_q/x.pt"),
      "does not exist");
  expect_one_line_error(run_cli("train-model " + arch_dir_flag() + " --set lrr=0.1"),
                        "did you mean 'lr'");
  expect_one_line_error(
      run_cli("train-model --arch cnn --set arch_dir=" + dir + " --out " + dir + "/x.pt"),
      "scripts/export_architectures.py");
  expect_one_line_error(run_cli("train-model --config " + dir + "/missing.yaml"), "does not exist");
  std::ofstream(dir + "/bad.yaml") << "epochs: [1, 2\n";
  expect_one_line_error(run_cli("train-model --config " + dir + "/bad.yaml"), "YAML syntax error");
}

TEST(Cli, BadDataFiles) {
  const std::string dir = stitch::test::temp_dir();
  auto gz = [&](const std::string& name, const std::vector<unsigned char>& bytes) {
    gzFile f = gzopen((dir + "/" + name).c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  };
  const std::string run =
      "train-model " + arch_dir_flag() + " --set data.dir=" + dir + " --out " + dir + "/m.pt";
  gz("train-images-idx3-ubyte.gz", {0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3});
  gz("train-labels-idx1-ubyte.gz", {0, 0, 8, 1, 0, 0, 0, 100});
  expect_one_line_error(run_cli(run), "truncated");
  gz("train-images-idx3-ubyte.gz", {0x1f, 0x2e, 8, 3});
  expect_one_line_error(run_cli(run), "not an IDX file");
  fs::remove(dir + "/train-images-idx3-ubyte.gz");
  expect_one_line_error(run_cli(run), "does not exist");
  EXPECT_FALSE(fs::exists(dir + "/m.pt"));
}

TEST(Cli, InterruptLeavesNoFile) {
  const std::string dir = stitch::test::temp_dir();
  const std::string out = dir + "/m.pt";
  const int pid =
      stitch::test::spawn_cli({"train-model", "--arch", "cnn", "--epochs", "50", "--threads", "1",
                               "--set", "arch_dir=" + stitch::test::arch_dir(), "--out", out},
                              "/dev/null", dir + "/err");
  // Wait until training has started (the log line), then press Ctrl-C.
  for (int i = 0; i < 300; ++i) {
    if (stitch::test::read_file(dir + "/err").find("train-model: cnn") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(stitch::test::stop_cli(pid, SIGINT), 2);
  const std::string err = stitch::test::read_file(dir + "/err");
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find("m.pt"), std::string::npos)
        << "left behind: " << e.path();
}

TEST(Cli, RunRejectsBadExperimentFiles) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cnn = stitch::test::arch_file("cnn");
  const std::string base = "front: " + cnn + "\nend: " + cnn +
                           "\nfront_point: block2\nend_point: block2\nout_dir: " + dir + "\n";
  std::ofstream(dir + "/a.yaml") << base << "train: {epochs: two}\n";
  expect_one_line_error(run_cli("run " + dir + "/a.yaml"), "'train.epochs': expected an integer");
  std::ofstream(dir + "/b.yaml") << base << "metods: [fula]\n";
  expect_one_line_error(run_cli("run " + dir + "/b.yaml"), "did you mean 'methods'");
  expect_one_line_error(
      run_cli("run " + dir + "/a.yaml --set train.epochs=1 --set front_point=nope"),
      "valid points");
  std::ofstream(dir + "/c.yaml") << "front: " << cnn << "\nend: " << stitch::test::arch_file("vit")
                                 << "\nfront_point: block2\nend_point: blocks.1\nout_dir: " << dir
                                 << "\n";
  expect_one_line_error(run_cli("run " + dir + "/c.yaml"),
                        "cannot stitch a [32,7,7] activation into a [16,64]");
}

TEST(Cli, RunPrintsResultsTable) {
  const std::string dir = stitch::test::temp_dir();
  const std::string mlp = stitch::test::arch_file("mlp");
  std::ofstream(dir + "/e.yaml")
      << "name: e\nfront: " << mlp << "\nend: " << mlp
      << "\nfront_point: layer2\nend_point: layer2\nout_dir: " << dir
      << "\nmethods: [dm_closed, tlm]\ndata: {train_samples: 500, test_samples: 500}\n"
         "train: {epochs: 1}\ndevice: cpu\n";
  auto r = run_cli("run " + dir + "/e.yaml");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("dm_closed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tlm"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir + "/e/results.csv"));
}
