// stitch: command-line front end. Thin: parse arguments, call the library, print. Every
// StitchError becomes one line on stderr and exit code 2.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "stitch/util/error.h"
#include "stitch/util/version.h"

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
    std::fprintf(stderr, "stitch: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    std::fprintf(stderr, "stitch: error: %s\n", msg.c_str());
    return 2;
  }
}
