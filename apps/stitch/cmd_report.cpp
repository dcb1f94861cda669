// `stitch report runs/<sweep> [--similarity runs/<sim>] [--out DIR]`: a markdown summary and PNG
// figures (heatmaps of cross-layer grids, metric-vs-layer lines per method) drawn with
// matplotlib by scripts/report.py, which this command runs with the Python that has it.
#include <spawn.h>
#include <sys/wait.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_cli.h"
#include "stitch/results/result_row.h"
#include "stitch/results/results.h"
#include "stitch/sweep/collect_dir.h"
#include "stitch/util/error.h"
#include "stitch/util/version.h"

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
namespace fs = std::filesystem;

struct ReportConfig {
  std::string dir, out, metric = "stitched_acc", compare, control;
  std::vector<std::string> similarity;
  bool collect = true;
};

// Rebuilds a sweep folder's results files from its job folders (a Slurm array's shards may each
// have collected before the last one finished); a folder that cannot be re-planned is read as it
// is, with a warning.
void collect_first(const std::string& dir) {
  std::string why;
  const int64_t rows = sweep_collect_dir(dir, &why);
  if (rows >= 0)
    spdlog::info("report: {} collected from its job folders ({} rows)", dir, rows);
  else
    spdlog::warn("report: {} read as it is, not collected: {}", dir, why);
}

// The metrics a report can draw: the declared result columns with a unit (shares and
// differences of shares) and the distances and agreements without one.
std::vector<std::string> report_metrics() {
  std::vector<std::string> out;
  for (const auto& c : result_columns())
    if (*c.unit || std::string(c.name) == "fula_test" || std::string(c.name) == "stitch_residual" ||
        std::string(c.name) == "soft_agreement" || std::string(c.name) == "kappa")
      out.push_back(c.name);
  return out;
}

// --compare A,B names two methods or two conditions (a row's condition, or "front → end" of a
// model pair without one) of the rows; throws naming the ones there are.
void compare_check(const std::string& spec, const std::vector<nlohmann::json>& rows) {
  std::set<std::string> methods, groups;
  for (const auto& r : rows) {
    methods.insert(r.value("method", ""));
    const std::string cond = r.value("condition", "");
    groups.insert(!cond.empty() ? cond
                                : fs::path(r.value("front", "")).stem().string() + " → " +
                                      fs::path(r.value("end", "")).stem().string());
  }
  const auto comma = spec.find(',');
  const std::string a = spec.substr(0, comma),
                    b = comma == std::string::npos ? "" : spec.substr(comma + 1);
  const bool ok = comma != std::string::npos && b.find(',') == std::string::npos && a != b &&
                  ((methods.count(a) && methods.count(b)) || (groups.count(a) && groups.count(b)));
  if (!ok)
    throw StitchError(fmt::format(
        "--compare '{}' needs two different methods ({}) or two conditions ({}) of the sweep, "
        "as A,B",
        spec, fmt::join(methods, ", "), fmt::join(groups, ", ")));
}

const ConfigTable<ReportConfig>& report_table() {
  using C = ReportConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.add("dir", &C::dir, "a sweep's output folder (holds results.jsonl)").flag("dir");
    t.add("similarity", &C::similarity,
          "folders of `stitch similarity` runs whose pairs go beside the stitching scores "
          "(linear CKA heatmaps, correlations over matched cells)")
        .flag("--similarity");
    t.add("out", &C::out, "where report.md and the PNGs go (\"\" = <dir>/report)").flag("--out");
    t.add("metric", &C::metric, "the main stitching metric of the figures")
        .choices(report_metrics())
        .flag("--metric");
    t.add("compare", &C::compare,
          "A,B: two methods or two conditions; per cell the difference A - B with a 95 % paired "
          "bootstrap interval over images and replicates")
        .flag("--compare");
    t.add("control", &C::control,
          "a control sweep's folder (random-init front, rand markers): subtracted cell by cell, "
          "with intervals")
        .flag("--control");
    t.add("collect", &C::collect,
          "first rebuild results.jsonl of the sweep (and the control) from its job folders "
          "(loads its models; off: read the results files as they are)")
        .flag("--collect");
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
      ReportConfig c;
      report_table().parse(cli->node(), c);
      if (c.dir.empty()) throw StitchError("report: give a sweep's output folder (runs/<name>)");
      if (c.collect)
        for (const std::string& d : {c.dir, c.control})
          if (!d.empty() && fs::is_directory(d)) collect_first(d);
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
                                    std::string(source_dir()) + "/scripts/report.py",
                                    c.dir,
                                    "--out",
                                    c.out.empty() ? c.dir + "/report" : c.out,
                                    "--metric",
                                    c.metric};
      if (!c.control.empty() && !fs::exists(c.control + "/results.jsonl"))
        throw StitchError(fmt::format(
            "--control '{}' has no results.jsonl; give the folder of a control sweep", c.control));
      if (!c.compare.empty()) compare_check(c.compare, results_read(c.dir));
      for (const std::string& opt : {std::string("--compare"), std::string("--control")}) {
        const std::string& v = opt == "--compare" ? c.compare : c.control;
        if (v.empty()) continue;
        argv.push_back(opt);
        argv.push_back(v);
      }
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
