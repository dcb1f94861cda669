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
  return test::arch_dir() + "/" + arch + ".pt";
}
std::string fixture(const std::string& name) {
  return test::fixture_dir() + "/" + name;
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
    it = loaded.emplace(file, torch::jit::load(test::data_dir() + "/" + file)).first;
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
      test::binary() + " " + args + " >" + dir + "/out 2>" + dir + "/err </dev/null";
  CliResult r;
  const int status = std::system(cmd.c_str());
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  return r;
}

int spawn_cli(const std::vector<std::string>& args, const std::string& out,
              const std::string& err) {
  std::vector<std::string> all{binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const std::string bin = binary();
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "cannot start " << bin;
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
