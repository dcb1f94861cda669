#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.h"

using stitch::test::expect_one_line_error;
using stitch::test::run_cli;
namespace fs = std::filesystem;

namespace {
// A sweep of the untrained cnn with itself: 2 x 2 points x (dm_closed, dm_hint) = 8 jobs.
std::string sweep_file(const std::string& dir,
                       const std::string& methods = "[dm_closed, dm_hint]") {
  const std::string path = dir + "/sweep.yaml";
  std::ofstream(path) << "name: k\nout_dir: " << dir
                      << "/runs\nfront: " << stitch::test::arch_file("cnn")
                      << "\nend: " << stitch::test::arch_file("cnn")
                      << "\nfront_points: [block1, block2]\nend_points: [block2, block3]\n"
                      << "methods: " << methods << "\n"
                      << "data: {train_samples: 1024, test_samples: 500}\ntrain: {epochs: 1}\n"
                         "threads: 1\ndevice: cpu\n";
  return path;
}

// Starts `stitch sweep run` and SIGKILLs it after `ms` milliseconds (or lets it finish).
void run_and_kill(const std::string& config, int ms, const std::string& log) {
  const int pid = stitch::test::spawn_cli({"sweep", "run", config}, log, log);
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(ms)) {
      stitch::test::stop_cli(pid, SIGKILL);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}
int results_lines(const std::string& dir) {
  std::ifstream in(dir + "/results.jsonl");
  int n = 0;
  for (std::string s; std::getline(in, s);) n += !s.empty();
  return n;
}
}  // namespace

// kill -9 at moments spread over a sweep (store build, training, writing), then a clean run:
// every job has exactly one row, none lost, none duplicated, and no temporary file is left.
TEST(CliSweep, KilledAtRandomMomentsThenResumedLosesAndRepeatsNothing) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir);
  std::ofstream(cfg, std::ios::app) << "seeds: [0, 1]\n";  // 16 jobs
  const std::string log = dir + "/log.txt";
  // Measured here: the store is built at ~1.0-1.6 s and the jobs run at ~1.6-2.4 s.
  for (int ms : {900, 1200, 1500, 1800, 2100, 2500, 3000}) run_and_kill(cfg, ms, log);
  auto r = run_cli("sweep run " + cfg);
  ASSERT_EQ(r.rc, 0) << r.err << stitch::test::read_file(log);
  std::ifstream in(dir + "/runs/k/results.jsonl");
  std::set<std::string> keys;
  int lines = 0;
  for (std::string s; std::getline(in, s);) {
    if (s.empty()) continue;
    ++lines;
    keys.insert(nlohmann::json::parse(s)["key"].get<std::string>());
  }
  EXPECT_EQ(lines, 16);
  EXPECT_EQ(keys.size(), 16u);
  for (const auto& f : fs::recursive_directory_iterator(dir + "/runs"))
    EXPECT_EQ(f.path().string().find(".tmp."), std::string::npos) << f.path();
  // Nothing is repeated: a further run finds every job done.
  auto again = run_cli("sweep run " + cfg);
  EXPECT_NE(again.out.find("0 jobs run, 16 already done"), std::string::npos) << again.out;
}

// Two `sweep run`s of one sweep started together: each job is claimed by one process, so the
// 16 jobs run 16 times in all (before the claims: nearly twice), with one row each; and a stale
// temporary file of a dead process in the sweep folder is cleaned by the collection.
TEST(CliSweep, OverlappingRunsNeverRunAJobTwice) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir);
  std::ofstream(cfg, std::ios::app) << "seeds: [0, 1]\n";  // 16 jobs
  fs::create_directories(dir + "/runs/k");
  char host[64] = "host";
  gethostname(host, sizeof(host) - 1);
  const std::string stale = dir + "/runs/k/results.csv.tmp." + host + ".999999.0";
  std::ofstream(stale) << "half a file";
  const std::string a = dir + "/a.txt", b = dir + "/b.txt";
  const int pa = stitch::test::spawn_cli({"sweep", "run", cfg}, a, a);
  const int pb = stitch::test::spawn_cli({"sweep", "run", cfg}, b, b);
  ASSERT_EQ(stitch::test::stop_cli(pa, 0), 0) << stitch::test::read_file(a);
  ASSERT_EQ(stitch::test::stop_cli(pb, 0), 0) << stitch::test::read_file(b);
  auto runs = [](const std::string& log) {
    const std::string text = stitch::test::read_file(log);
    int n = 0;
    for (size_t at = text.find(": stitched "); at != std::string::npos;
         at = text.find(": stitched ", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(runs(a) + runs(b), 16) << stitch::test::read_file(a) << stitch::test::read_file(b);
  EXPECT_EQ(results_lines(dir + "/runs/k"), 16);
  EXPECT_FALSE(fs::exists(stale)) << "a dead process's temporary file is removed";
}

TEST(CliSweep, PlanCountsJobsAndEstimates) {
  const std::string dir = stitch::test::temp_dir();
  auto r = run_cli("sweep plan " + sweep_file(dir) + " --shards 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("8 jobs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to run 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to write"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("memory: ~"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time: ~"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shards of 2: jobs per shard 4 4"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/runs/k")) << "plan writes no results";
}

// The plan's time counts the PGD evaluation (robust_samples x (steps + 1) forward + backward
// passes per job): it was left out, and an adversarial study ran several times longer than
// planned. Parsed from "<duration> for the jobs" (duration_format: 1h02m, 3m58s, 59.6s).
double plan_jobs_seconds(const std::string& out) {
  const auto end = out.find(" for the jobs");
  const auto start = out.rfind(' ', end - 1) + 1;
  const std::string d = out.substr(start, end - start);
  double s = 0, num = 0, frac = 0;
  bool point = false;
  for (char ch : d) {
    if (ch >= '0' && ch <= '9') {
      num = point ? num + (ch - '0') * (frac /= 10) : num * 10 + (ch - '0');
    } else if (ch == '.') {
      point = true;
      frac = 1;
    } else {
      s += num * (ch == 'h' ? 3600 : ch == 'm' ? 60 : 1);
      num = 0;
      point = false;
    }
  }
  return s;
}

TEST(CliSweep, PlanTimeCountsThePgdEvaluation) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir, "[dm_closed]");
  auto off = run_cli("sweep plan " + cfg);
  auto on = run_cli("sweep plan " + cfg + " --set eval.robust_samples=2000");
  ASSERT_EQ(off.rc, 0) << off.err;
  ASSERT_EQ(on.rc, 0) << on.err;
  // 4 jobs x 2000/128 batches x 21 steps x 3 passes: ~3900 passes of 128 images, a second and
  // more even at 0.3 ms a pass; without the PGD term both plans are equal within the noise of
  // 16 timed clean passes.
  EXPECT_GT(plan_jobs_seconds(on.out), plan_jobs_seconds(off.out) + 1.0) << off.out << on.out;
}

// The memory estimate counts the closed-form fit (the init rows of both models and the float64
// solve), which grows with init_samples; a grid of dm_closed jobs peaked at twice the estimate
// without it.
TEST(CliSweep, PlanMemoryCountsTheClosedFormFit) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir, "[dm_closed]");
  auto fit_mb = [&](int init) {
    auto r = run_cli("sweep plan " + cfg + " --set data.init_samples=" + std::to_string(init));
    EXPECT_EQ(r.rc, 0) << r.err;
    const auto end = r.out.find(" a closed-form fit on " + std::to_string(init) + " images");
    EXPECT_NE(end, std::string::npos) << r.out;
    if (end == std::string::npos) return -1.0;
    const auto start = r.out.rfind(", ", end) + 2;  // "<n> MB" or "<n.n> GB"
    const double v = std::stod(r.out.substr(start, end - start));
    return r.out.compare(end - 2, 2, "GB") == 0 ? v * 1024 : v;
  };
  const double small = fit_mb(100), large = fit_mb(1000);
  EXPECT_GT(small, 0);
  EXPECT_GT(large, 4 * small) << "the fit's rows grow with init_samples";
}

// Bad input: one line naming the problem and the fix, exit 2, before any long work.
TEST(CliSweep, BadInputIsOneLineBeforeAnyWork) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir);
  expect_one_line_error(run_cli("sweep run " + cfg + " --shard 3/2"), "0 <= i < n");
  expect_one_line_error(run_cli("sweep run " + cfg + " --set front_points=[block9]"),
                        "valid points");
  expect_one_line_error(run_cli("sweep run " + cfg + " --set end=" + dir + "/none.pt"),
                        "does not exist");
  std::ofstream(dir + "/file") << "x";
  expect_one_line_error(run_cli("sweep run " + cfg + " --set store.dir=" + dir + "/file/store"),
                        "cannot create the activation store folder");
  expect_one_line_error(run_cli("sweep run " + cfg + " --set methods=[fulla]"),
                        "did you mean 'fula'");
  EXPECT_FALSE(fs::exists(dir + "/runs/k/results.jsonl"));
}

// A corrupt store file is reported and rebuilt; the results do not change.
TEST(CliSweep, CorruptStoreFileIsRebuilt) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir, "[dm_closed]");
  ASSERT_EQ(run_cli("sweep run " + cfg).rc, 0);
  auto accuracies = [&] {
    std::map<std::string, double> acc;
    std::ifstream in(dir + "/runs/k/results.jsonl");
    for (std::string s; std::getline(in, s);)
      if (!s.empty()) {
        const auto j = nlohmann::json::parse(s);
        acc[j["key"]] = j["stitched_acc"];
      }
    return acc;
  };
  const auto first = accuracies();
  ASSERT_EQ(first.size(), 4u);
  std::string victim;
  for (const auto& f : fs::recursive_directory_iterator(dir + "/runs/store"))
    if (f.path().filename() == "block2.h5") victim = f.path().string();
  ASSERT_FALSE(victim.empty());
  std::ofstream(victim, std::ios::trunc) << "not hdf5";
  fs::remove_all(dir + "/runs/k");
  auto r = run_cli("sweep run " + cfg);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("is not a valid entry"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rebuilding it"), std::string::npos) << r.out;
  EXPECT_EQ(accuracies(), first) << "the rebuilt store gives the same results";
}

TEST(CliSweep, ReportWritesMarkdownAndFigures) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir, "[dm_closed]");
  ASSERT_EQ(run_cli("sweep run " + cfg).rc, 0);
  auto r = run_cli("report " + dir + "/runs/k");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string md = stitch::test::read_file(dir + "/runs/k/report/report.md");
  EXPECT_NE(md.find("| front \\ end | block2 | block3 |"), std::string::npos) << md;
  int pngs = 0;
  for (const auto& f : fs::directory_iterator(dir + "/runs/k/report"))
    pngs += f.path().extension() == ".png" && fs::file_size(f.path()) > 5000;
  EXPECT_EQ(pngs, 2) << "a heatmap and a line plot";
  expect_one_line_error(run_cli("report " + dir), "has no results.jsonl");
}

// The report collects first: a results.jsonl that lost rows (a shard's collect that ran before
// the last shard finished) is rebuilt from the job folders, also from a moved sweep folder;
// with collect off, or without a resolved sweep, the file is read as it is.
TEST(CliSweep, ReportCollectsTheJobFoldersFirst) {
  const std::string dir = stitch::test::temp_dir();
  ASSERT_EQ(run_cli("sweep run " + sweep_file(dir, "[dm_closed]")).rc, 0);
  fs::rename(dir + "/runs/k", dir + "/moved");
  const std::string rows = dir + "/moved/results.jsonl";
  auto lines = [&] {
    std::ifstream in(rows);
    int n = 0;
    for (std::string l; std::getline(in, l);) n += !l.empty();
    return n;
  };
  const int all = lines();
  ASSERT_EQ(all, 4);
  auto keep_one = [&] {
    std::ifstream in(rows);
    std::string first;
    std::getline(in, first);
    in.close();
    std::ofstream(rows, std::ios::trunc) << first << "\n";
  };
  keep_one();
  auto r = run_cli("report " + dir + "/moved --set collect=false");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines(), 1) << "collect off: read as it is";
  r = run_cli("report " + dir + "/moved");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines(), all) << r.out;
  EXPECT_NE(r.out.find("collected from its job folders (4 rows)"), std::string::npos) << r.out;
  keep_one();
  fs::remove(dir + "/moved/sweep.resolved.yaml");
  r = run_cli("report " + dir + "/moved");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines(), 1);
  EXPECT_NE(r.out.find("read as it is, not collected: it has no sweep.resolved.yaml"),
            std::string::npos)
      << r.out;
}

// Replicates and paired comparisons from the command line: two closed-form methods on two model
// pairs of one condition (closed forms ignore the seed, so the model pairs are the replicates).
// --compare prints each cell's difference with its interval over images and replicates;
// --control against the run itself is 0 and "not established"; table cells say n; names that
// are neither two methods nor two conditions are one-line errors.
TEST(CliSweep, ReportComparesMethodsAndSubtractsAControl) {
  const std::string dir = stitch::test::temp_dir(), cnn = stitch::test::arch_file("cnn");
  const std::string cfg = dir + "/sweep.yaml";
  std::ofstream(cfg) << "name: k\nout_dir: " << dir << "/runs\nmodels: [{front: " << cnn
                     << ", end: " << cnn
                     << ", condition: c}, {front: " << stitch::test::fixture("cnn_a.pt")
                     << ", end: " << cnn << ", condition: c}]\nfront_points: [block1, block2]\n"
                     << "end_points: [block2]\nmethods: [dm_closed, procrustes]\nseeds: [0, 1]\n"
                     << "data: {train_samples: 1024, test_samples: 500}\nthreads: 1\ndevice: cpu\n";
  ASSERT_EQ(run_cli("sweep run " + cfg).rc, 0);
  const std::string run = dir + "/runs/k";
  auto r = run_cli("report " + run + " --compare dm_closed,procrustes --control " + run);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string md = stitch::test::read_file(run + "/report/report.md");
  EXPECT_NE(md.find("Paired comparison: dm_closed vs procrustes"), std::string::npos) << md;
  EXPECT_NE(md.find("| c / block1 / block2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 vs 2 | images × replicates |"), std::string::npos) << md;
  EXPECT_NE(md.find("| block2 / block2 / dm_closed | +0.00 | ["), std::string::npos)
      << "a run minus itself: " << md;
  EXPECT_EQ(md.find("run > control"), std::string::npos) << md;
  EXPECT_EQ(md.find("run < control"), std::string::npos) << md;
  EXPECT_NE(md.find(" (2) |"), std::string::npos) << "cells pool 2 replicates: " << md;
  expect_one_line_error(run_cli("report " + run + " --compare dm_closed,tlm"),
                        "needs two different methods (dm_closed, procrustes)");
  expect_one_line_error(run_cli("report " + run + " --control " + dir),
                        "--control '" + dir + "' has no results.jsonl");
}

// Ctrl-C stops the sweep cleanly: exit 2 with one line, the jobs finished so far are collected
// (results.csv lists exactly them) and a re-run finishes the rest.
TEST(CliSweep, InterruptCollectsWhatFinished) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cfg = sweep_file(dir);
  std::ofstream(cfg, std::ios::app) << "seeds: [0, 1, 2]\n";  // 24 jobs
  const std::string jsonl = dir + "/runs/k/results.jsonl";
  const int pid = stitch::test::spawn_cli({"sweep", "run", cfg}, dir + "/out", dir + "/err");
  const auto t0 = std::chrono::steady_clock::now();
  while (stitch::test::read_file(jsonl).empty() &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(stitch::test::stop_cli(pid, SIGINT), 2);
  const std::string err = stitch::test::read_file(dir + "/err");
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  int done = 0;
  for (const auto& f : fs::recursive_directory_iterator(dir + "/runs/k"))
    done += f.path().filename() == "result.json";
  const std::string csv = stitch::test::read_file(dir + "/runs/k/results.csv");
  EXPECT_GE(done, 1);
  EXPECT_LT(done, 24) << "the interrupt came before the end";
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), done + 1) << "header + one row per job";
  auto r = run_cli("sweep run " + cfg);
  EXPECT_NE(r.out.find(std::to_string(24 - done) + " jobs run, " + std::to_string(done) +
                       " already done"),
            std::string::npos)
      << r.out;
}
