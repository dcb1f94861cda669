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
#include "config_cli.h"
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

namespace {
struct ReportConfig {
  std::string dir, out, metric = "stitched_acc";
  std::vector<std::string> similarity;
};

const ConfigTable<ReportConfig>& report_table() {
  using C = ReportConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.add("dir", &C::dir, "a sweep's output folder (holds results.jsonl)").flag("dir");
    t.add("similarity", &C::similarity,
          "folders of `stitch similarity` runs whose pairs go beside the stitching scores "
          "(linear CKA heatmaps, rank correlations)")
        .flag("--similarity");
    t.add("out", &C::out, "where report.md and the PNGs go (\"\" = <dir>/report)").flag("--out");
    t.add("metric", &C::metric, "the main stitching metric of the figures")
        .choices({"stitched_acc", "agreement", "soft_agreement", "stitching_penalty", "fula_test",
                  "stitch_residual", "robust_acc", "excess_agreement"})
        .flag("--metric");
    return t;
  }();
  return t;
}
}  // namespace

void add_report(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "report",
      "markdown summary and PNG figures (heatmaps, metric vs layer) of a sweep's results");
  auto cli = std::make_shared<ConfigCli>(cmd, report_table(), report_table().help());
  cmd->callback([&run, cli] {
    run = [cli] {
      namespace fs = std::filesystem;
      ReportConfig c;
      report_table().parse(cli->node(), c);
      if (c.dir.empty()) throw StitchError("report: give a sweep's output folder (runs/<name>)");
      if (!fs::exists(c.dir + "/results.jsonl"))
        throw StitchError(fmt::format(
            "'{}' has no results.jsonl; give a sweep's output folder (runs/<name>) after "
            "`stitch sweep run` or `stitch sweep collect`",
            c.dir));
      for (const auto& s : c.similarity)
        if (!fs::exists(s + "/results.jsonl"))
          throw StitchError(fmt::format(
              "'{}' has no results.jsonl; give the folder of a `stitch similarity` run", s));
      const char* py = std::getenv("STITCH_PYTHON");
      std::vector<std::string> argv{py ? py : "/usr/bin/python3",
                                    std::string(STITCH_SOURCE_DIR) + "/scripts/report.py",
                                    c.dir,
                                    "--out",
                                    c.out.empty() ? c.dir + "/report" : c.out,
                                    "--metric",
                                    c.metric};
      for (const auto& s : c.similarity) {
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
