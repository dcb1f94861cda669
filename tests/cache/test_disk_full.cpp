// A full disk (issue 19): writers of HDF5 files check the free space first and fail with one
// line, leaving no file (DiskFull: a 256 KiB tmpfs mounted for the test; root only, skipped
// elsewhere). A write can still fail after that check (the disk fills meanwhile): FileSizeLimit
// makes every write past a given size fail, with the kernel's file-size limit (RLIMIT_FSIZE,
// SIGXFSZ ignored, as `ulimit -f` does), just below the size of each file a job writes in turn.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "stitch/cache/outcome_file.h"
#include "test_util.h"

namespace stitch {
namespace {
namespace fs = std::filesystem;

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir() + "/small";
    fs::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=256k") != 0)
      GTEST_SKIP() << "cannot mount a small tmpfs here (not root?)";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount(dir_.c_str());
  }
  std::string dir_;
  bool mounted_ = false;
};

TEST_F(DiskFull, ActivationExportIsOneLineAndLeavesNoFile) {
  // 500 images of the cnn at its recommended points: several MB, more than the 256 KiB there.
  const auto r = test::run_cli("activations " + test::arch_file("cnn") + " --out " + dir_ +
                               "/a.h5 --samples 500 --threads 1");
  test::expect_one_line_error(r, "not enough disk space");
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(DiskFull, SweepStoreIsOneLineAndLeavesNoFile) {
  const std::string cfg = test::temp_dir() + "/sweep.yaml";
  std::FILE* f = std::fopen(cfg.c_str(), "w");
  std::fprintf(f,
               "name: full\nout_dir: %s\nfront: %s\nend: %s\nfront_point: block1\nend_point: "
               "block1\nmethods: [dm_closed]\ndata: {train_samples: 600, test_samples: 200, "
               "init_samples: 100}\nstore: {dir: %s/store}\n",
               dir_.c_str(), test::arch_file("cnn").c_str(), test::arch_file("cnn").c_str(),
               dir_.c_str());
  std::fclose(f);
  const auto r = test::run_cli("run " + cfg + " --threads 1");
  test::expect_one_line_error(r, "not enough disk space for activation store");
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    EXPECT_FALSE(e.is_regular_file() && e.path().extension() == ".h5") << e.path();
}

// Runs the CLI with every file write beyond `bytes` failing (EFBIG), as on a disk that fills
// while the file is written.
test::CliResult run_cli_limited(const std::string& args, rlim_t bytes) {
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  const rlimit lim{bytes, old.rlim_max};
  auto* const saved = std::signal(SIGXFSZ, SIG_IGN);  // inherited: write() fails instead
  setrlimit(RLIMIT_FSIZE, &lim);
  test::CliResult r = test::run_cli(args);
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, saved);
  return r;
}

// Whatever a failed run left must be whole: no temp files, result.json files that parse,
// outcome files that read.
void expect_nothing_partial(const std::string& dir, const std::string& what) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string p = e.path().string(), name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << what << ": temp file left: " << p;
    if (name == "result.json")
      EXPECT_FALSE(nlohmann::json::parse(test::read_file(p), nullptr, false).is_discarded())
          << what << ": " << p;
    if (name == "outcomes.h5") EXPECT_NO_THROW(outcome_file_read(p)) << what << ": " << p;
  }
}

TEST(FileSizeLimit, AWriteFailingAtAnyFileIsOneLineAndTheRerunCompletesTheSweep) {
  const std::string tmp = test::temp_dir(), cfg = tmp + "/sweep.yaml";
  auto config = [&](const std::string& out) {
    std::ofstream(cfg) << "name: lim\nout_dir: " << out << "\nfront: " << test::arch_file("cnn")
                       << "\nend: " << test::arch_file("cnn")
                       << "\nfront_point: block1\nend_point: block2\nmethods: [dm_closed]\n"
                          "data: {train_samples: 300, test_samples: 200, init_samples: 100}\n"
                          "store: {dir: "
                       << tmp << "/store}\n";
  };
  // One full run measures the files a job writes (the store is then shared by every run).
  config(tmp + "/full");
  ASSERT_EQ(test::run_cli("run " + cfg + " --threads 1").rc, 0);
  std::map<std::string, uintmax_t> sizes;  // file name -> size
  for (const auto& e : fs::recursive_directory_iterator(tmp + "/full"))
    if (e.is_regular_file() && e.file_size() > 1) sizes[e.path().filename()] = e.file_size();
  for (const char* f : {"result.json", "outcomes.h5", "stitch.pt", "results.jsonl"})
    ASSERT_TRUE(sizes.count(f)) << f;
  int failed = 0;
  for (const auto& [name, size] : sizes) {
    const std::string out = tmp + "/" + name, what = "limit below " + name;
    config(out);
    const auto r = run_cli_limited("run " + cfg + " --threads 1", size - 1);
    ASSERT_TRUE(r.rc == 0 || r.rc == 2) << what << ": crashed, rc " << r.rc << "\n" << r.err;
    if (r.rc == 2) {
      ++failed;
      EXPECT_EQ(r.err_lines(), 1) << what << ":\n" << r.err;
      EXPECT_EQ(r.err.rfind("stitch: error: ", 0), 0u) << what << ":\n" << r.err;
    }
    expect_nothing_partial(out, what);
    // Without the limit the same sweep finishes: one row for its one job.
    ASSERT_EQ(test::run_cli("run " + cfg + " --threads 1").rc, 0) << what;
    std::ifstream rows(out + "/lim/results.jsonl");
    int n = 0;
    for (std::string line; std::getline(rows, line);) n += !line.empty();
    EXPECT_EQ(n, 1) << what;
  }
  EXPECT_GE(failed, 4) << "result.json, outcomes.h5, stitch.pt and the results files must fail";
  // The store: a limit below its files' size fails the build with one line and leaves none.
  config(tmp + "/store_run");
  fs::remove_all(tmp + "/store");
  const auto r = run_cli_limited("run " + cfg + " --threads 1", 64 * 1024);
  test::expect_one_line_error(r, "cannot write the activation store");
  expect_nothing_partial(tmp + "/store", "store");
  for (const auto& e : fs::recursive_directory_iterator(tmp + "/store"))
    EXPECT_NE(e.path().extension(), ".h5") << e.path();
}

}  // namespace
}  // namespace stitch
