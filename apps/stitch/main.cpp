// stitch: command-line front end. Thin: parse arguments, call the library, print. Every
// StitchError becomes one line on stderr and exit code 2.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "commands.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/version.h"

namespace {
// Prints the one-line error and returns the exit code; ends the process at once (no exit
// handlers) when a library asked for it (stitch::exit_fast_request: HDF5 after a failed write).
int error_exit(const std::string& msg) {
  std::fprintf(stderr, "stitch: error: %s\n", msg.c_str());
  if (stitch::exit_fast_requested()) {
    std::fflush(nullptr);
    std::_Exit(2);
  }
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  // Keep freed tensor memory in the heap instead of handing it back to the OS after every batch:
  // with glibc's defaults each batch's large tensors were fresh mmaps, page-faulted and zeroed
  // again (a FuLA job: 2.4M minor faults, 6.9 s of system time; 0.5M and 2.6 s with these).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
  CLI::App app{"stitch: model stitching and representation similarity with LibTorch"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version,
               "print version, git commit, LibTorch version and CUDA availability");
  spdlog::set_pattern("[%H:%M:%S] %v");
  std::function<int()> run;
  stitch::cli::add_layers(app, run);
  stitch::cli::add_train_model(app, run);
  stitch::cli::add_run(app, run);
  stitch::cli::add_similarity(app, run);
  stitch::cli::add_activations(app, run);
  stitch::cli::add_sweep(app, run);
  stitch::cli::add_report(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (version) {
      std::printf("%s\n", stitch::version_string().c_str());
      return 0;
    }
    if (!run) {
      std::printf("%s", app.help().c_str());
      return 0;
    }
    return run();
  } catch (const stitch::StitchError& e) {
    return error_exit(e.what());
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return error_exit(msg.substr(0, msg.find('\n')));
  }
}
