// `stitch report runs/<sweep> [--similarity runs/<sim>] [--out DIR]`: a markdown summary and PNG
// figures (heatmaps of cross-layer grids, metric-vs-layer lines per method) drawn with
// matplotlib by scripts/report.py, which this command runs with the Python that has it.
#include <spawn.h>
#include <sys/wait.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "stitch/util/error.h"

extern char** environ;

namespace stitch::cli {

namespace {
int run_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0)
    throw StitchError(
        fmt::format("cannot run '{}'; install python3-matplotlib (scripts/"
                    "install-deps.sh) or set STITCH_PYTHON",
                    argv[0]));
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
}  // namespace

void add_report(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "report",
      "markdown summary and PNG figures (heatmaps, metric vs layer) of a sweep's results");
  auto dir = std::make_shared<std::string>();
  auto sims = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto metric = std::make_shared<std::string>("stitched_acc");
  cmd->add_option("dir", *dir, "a sweep's output folder (holds results.jsonl)")->required();
  cmd->add_option("--similarity", *sims,
                  "folders of `stitch similarity` runs whose pairs go beside the stitching "
                  "scores (linear CKA heatmaps, rank correlations)");
  cmd->add_option("--out", *out, "where report.md and the PNGs go (default: <dir>/report)");
  cmd->add_option("--metric", *metric, "the main stitching metric of the figures")
      ->check(CLI::IsMember({"stitched_acc", "agreement", "soft_agreement", "stitching_penalty",
                             "fula_test", "stitch_residual", "robust_acc", "excess_agreement"}));
  cmd->callback([&run, dir, sims, out, metric] {
    run = [dir, sims, out, metric] {
      namespace fs = std::filesystem;
      for (const auto& d : std::vector<std::string>{*dir})
        if (!fs::exists(d + "/results.jsonl"))
          throw StitchError(fmt::format(
              "'{}' has no results.jsonl; give a sweep's output folder (runs/<name>) after "
              "`stitch sweep run` or `stitch sweep collect`",
              d));
      for (const auto& s : *sims)
        if (!fs::exists(s + "/results.jsonl"))
          throw StitchError(fmt::format(
              "'{}' has no results.jsonl; give the folder of a `stitch similarity` run", s));
      const char* py = std::getenv("STITCH_PYTHON");
      std::vector<std::string> argv{py ? py : "/usr/bin/python3",
                                    std::string(STITCH_SOURCE_DIR) + "/scripts/report.py",
                                    *dir,
                                    "--out",
                                    out->empty() ? *dir + "/report" : *out,
                                    "--metric",
                                    *metric};
      for (const auto& s : *sims) {
        argv.push_back("--similarity");
        argv.push_back(s);
      }
      const int rc = run_process(argv);
      if (rc != 0)
        throw StitchError(
            fmt::format("scripts/report.py failed (exit {}); see the lines above", rc));
      return 0;
    };
  });
}

}  // namespace stitch::cli
