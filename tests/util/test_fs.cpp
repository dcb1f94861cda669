#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/version.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace stitch;

TEST(Fs, AtomicWriteLeavesNoPartialFileWhenWriterFails) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/out.txt";
  EXPECT_THROW(file_write_atomic(path,
                                 [](const std::string& tmp) {
                                   std::ofstream(tmp) << "half";
                                   throw StitchError("writer failed");
                                 }),
               StitchError);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir)) << "temporary file left behind";
}

TEST(Fs, AtomicWriteReplacesExistingFile) {
  const std::string path = test::temp_dir() + "/out.txt";
  file_write_text(path, "old");
  file_write_text(path, "new");
  std::ifstream in(path);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "new");
}

TEST(Fs, UnwritableOrMissingFolderIsAClearError) {
  try {
    file_write_text("/nonexistent_dir_xyz/out.txt", "x");
    FAIL() << "no error";
  } catch (const StitchError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST(Device, ParsesSettings) {
  EXPECT_TRUE(device_parse("cpu").is_cpu());
  EXPECT_EQ(device_parse("auto").is_cuda(), cuda_available());
  EXPECT_THROW(device_parse("gpu"), StitchError);
  EXPECT_THROW(device_parse("cuda:x"), StitchError);
  if (!cuda_available()) {
    EXPECT_THROW(device_parse("cuda"), StitchError);
  } else {
    EXPECT_TRUE(device_parse("cuda:0").is_cuda());
    EXPECT_THROW(device_parse("cuda:999"), StitchError);
  }
}

TEST(Version, StringHasCommitAndTorchVersion) {
  const std::string v = version_string();
  EXPECT_NE(v.find(git_commit()), std::string::npos);
  EXPECT_NE(v.find(torch_version()), std::string::npos);
  EXPECT_TRUE(torch_version().find('.') != std::string::npos);
}
