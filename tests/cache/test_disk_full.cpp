// A full disk (issue 19): writers of HDF5 files check the free space first and fail with one
// line, leaving no file. Needs a small real file system: a 256 KiB tmpfs mounted for the test
// (root only; skipped elsewhere).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>

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

}  // namespace
}  // namespace stitch
