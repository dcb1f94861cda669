#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
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

// An append that fails part way (here the file-size limit, as a disk filling up) takes its
// partial line back; a partial line left by a killed writer does not swallow the next line.
TEST(Fs, AppendLeavesNoPartialLineAndStartsAfterACutOne) {
  const std::string path = test::temp_dir() + "/rows.jsonl";
  file_append_line(path, "{\"a\": 1}");
  const auto before = fs::file_size(path);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  const rlimit lim{before + 10, old.rlim_max};
  auto* const saved = std::signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &lim);
  EXPECT_THROW(file_append_line(path, std::string(100, 'x')), StitchError);
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, saved);
  EXPECT_EQ(fs::file_size(path), before) << "the partial line was taken back";
  std::ofstream(path, std::ios::app) << "{\"b\": ";  // a writer killed mid-line
  file_append_line(path, "{\"c\": 3}");
  EXPECT_EQ(test::read_file(path), "{\"a\": 1}\n{\"b\": \n{\"c\": 3}\n");
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
