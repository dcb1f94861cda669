#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <map>

#include "stitch/util/error.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace stitch::test {
namespace fs = std::filesystem;

std::string arch_file(const std::string& arch) {
  return std::string(STITCH_ARCH_DIR) + "/" + arch + ".pt";
}
std::string fixture(const std::string& name) {
  return std::string(STITCH_FIXTURE_DIR) + "/" + name;
}

namespace {
struct TempDirs {
  std::vector<std::string> dirs;
  ~TempDirs() {
    for (const auto& d : dirs) fs::remove_all(d);
  }
};
TempDirs g_temp;

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

at::Tensor tensor_fixture(const std::string& file, const std::string& name) {
  static std::map<std::string, torch::jit::Module> loaded;
  auto it = loaded.find(file);
  if (it == loaded.end())
    it = loaded.emplace(file, torch::jit::load(std::string(STITCH_TEST_DATA_DIR) + "/" + file))
             .first;
  return it->second.attr(name).toTensor();
}

std::string temp_dir() {
  std::string tmpl = "/tmp/stitch_test_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* d = mkdtemp(buf.data());
  g_temp.dirs.push_back(d);
  return d;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StitchError& e) {
    return e.what();
  }
  return "";
}

int CliResult::err_lines() const {
  int n = 0;
  for (char c : err) n += c == '\n';
  return n;
}

CliResult run_cli(const std::string& args) {
  const std::string dir = temp_dir();
  const std::string cmd =
      std::string(STITCH_BINARY) + " " + args + " >" + dir + "/out 2>" + dir + "/err </dev/null";
  CliResult r;
  const int status = std::system(cmd.c_str());
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  return r;
}

int spawn_cli(const std::vector<std::string>& args, const std::string& out,
              const std::string& err) {
  std::vector<std::string> all{STITCH_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, STITCH_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "cannot start " << STITCH_BINARY;
  return pid;
}

int stop_cli(int pid, int signal) {
  if (signal) kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void expect_one_line_error(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(r.err_lines(), 1) << r.err;
  EXPECT_EQ(r.err.rfind("stitch: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

}  // namespace stitch::test
