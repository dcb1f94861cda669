#pragma once
// Helpers shared by the tests: paths of built artefacts, a temp folder, running the CLI.
#include <string>

namespace stitch::test {

std::string arch_file(const std::string& arch);  // build's exported untrained architecture
std::string fixture(const std::string& name);    // build's generated fixtures (fixtures/*.pt)
std::string temp_dir();                          // a fresh folder under /tmp, removed at exit

struct CliResult {
  int rc = -1;
  std::string out, err;
  int err_lines() const;
};
// Runs the stitch binary with `args` (shell words, already quoted as needed).
CliResult run_cli(const std::string& args);

}  // namespace stitch::test
