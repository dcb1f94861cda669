#pragma once
// Helpers shared by the tests: paths of built artefacts, a temp folder, running the CLI.
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch::test {

std::string arch_file(const std::string& arch);  // build's exported untrained architecture
std::string fixture(const std::string& name);    // build's generated fixtures (fixtures/*.pt)
std::string temp_dir();                          // a fresh folder under /tmp, removed at exit

std::string read_file(const std::string& path);  // whole file ("" if unreadable)
// Tensor attribute `name` of a checked-in TorchScript tensor container in tests/fixtures/
// (made by scripts/make_*_reference.py); each file is loaded once.
at::Tensor tensor_fixture(const std::string& file, const std::string& name);

// Runs f and returns the message of the StitchError it throws ("" if it throws none).
std::string error_of(const std::function<void()>& f);

struct CliResult {
  int rc = -1;
  std::string out, err;
  int err_lines() const;
};
// Runs the stitch binary with `args` (shell words, already quoted as needed).
CliResult run_cli(const std::string& args);
// Starts the stitch binary with `args` (one argument each) in the background, stdout and
// stderr appended to the given files; returns its pid.
int spawn_cli(const std::vector<std::string>& args, const std::string& out, const std::string& err);
// Sends `signal` to a spawned process (0: none) and waits for it: its exit code, or 128 + the
// signal that ended it.
int stop_cli(int pid, int signal);

// A user error is one line on stderr, "stitch: error: ...", exit code 2, containing `needle`.
void expect_one_line_error(const CliResult& r, const std::string& needle);

}  // namespace stitch::test
