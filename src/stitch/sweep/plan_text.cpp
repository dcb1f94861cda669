// `stitch sweep plan`: what a sweep will do, and rough estimates of disk, memory and time.
#include <ATen/ATen.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "stitch/job/methods.h"
#include "stitch/job/stitch_job.h"
#include "stitch/sweep/job_inputs.h"
#include "stitch/sweep/plan_memory.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/progress.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
// The fastest of repeated timed runs after 2 untimed ones (TorchScript's profiling executor
// optimises a graph on its first calls): at least 2 runs and 0.3 s, at most 200, so that a
// moment of contention with another process (OpenMP threads waiting for a core) is outlived
// by small models; a big one (over a second a pass) gets one timed run.
double best_time(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const bool slow =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > 1;
  f();
  double best = 1e9, total = 0;
  for (int r = 0; r < 200 && (r < (slow ? 1 : 2) || total < 0.3); ++r) {
    const auto t1 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

// Seconds of one forward pass of 128 images (fastest of repeated runs), the unit of the time
// estimates.
double forward_seconds(PlannedModel& m, const std::vector<int64_t>& in) {
  at::NoGradGuard g;
  std::vector<int64_t> shape{128};
  shape.insert(shape.end(), in.begin(), in.end());
  const at::Tensor x = at::rand(shape).to(m.model.device());
  // reading a value back waits for a GPU's kernels
  return best_time([&] { m.model.forward(x).sum().item<double>(); });
}

// Measured forward seconds (128 images) of whole models and of their tails from a point: a
// trained stitch runs the end's tail, which at a late point is a small part of the model.
struct ForwardTimes {
  std::map<size_t, double> whole;
  std::map<std::pair<size_t, std::string>, double> tail;
  double tail_of(Plan& plan, size_t mi, const std::string& point) {
    const auto key = std::make_pair(mi, point);
    auto it = tail.find(key);
    if (it != tail.end()) return it->second;
    at::NoGradGuard g;
    PlannedModel& m = plan.models[mi];
    std::vector<int64_t> shape{128};
    for (int64_t d : ShardData::shape(m, point)) shape.push_back(d);
    const at::Tensor a = at::rand(shape).to(m.model.device());
    const double s =
        best_time([&] { m.model.forward_range(a, point, kOutput).sum().item<double>(); });
    return tail[key] = std::min(s, whole.at(mi));
  }
  // One pass of the stitched model: the front up to its point, then the end's tail.
  double stitched(Plan& plan, const Job& j) {
    const double prefix = std::max(0.0, whole.at(j.front) - tail_of(plan, j.front, j.front_point));
    return prefix + tail_of(plan, j.end, j.end_point);
  }
};

double point_bytes(const PlannedModel& m, const std::string& p, int64_t rows, int bytes) {
  double n = static_cast<double>(rows) * bytes;
  for (int64_t s : ShardData::shape(m, p)) n *= static_cast<double>(s);
  return n;
}

// The jobs' states, and the measured fit + train seconds of finished jobs per method.
struct JobCounts {
  std::vector<size_t> todo;
  int64_t done = 0, stale = 0, broken = 0;
  std::map<std::string, std::pair<double, int>> measured;  // method -> (seconds, jobs)
};

JobCounts jobs_count(const Plan& plan) {
  JobCounts n;
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    Json row;
    const JobState s = job_state(plan.jobs[i], &row);
    if (s == JobState::kDone) {
      ++n.done;
      auto& m = n.measured[plan.jobs[i].method];
      m.first += row.value("fit_seconds", 0.0) + row.value("train_seconds", 0.0);
      m.second += 1;
      continue;
    }
    n.stale += s == JobState::kStale;
    n.broken += s == JobState::kBroken;
    n.todo.push_back(i);
  }
  return n;
}

// Bytes of the store that the jobs to run would write and that are already there, and the
// seconds of building the missing part (forward passes of the frozen models).
struct StoreEstimate {
  double disk_new = 0, disk_have = 0, build_s = 0;
};

StoreEstimate store_estimate(const Plan& plan, ShardData& data, const std::vector<size_t>& todo,
                             const LiveSplits& live, const std::map<size_t, double>& fwd) {
  StoreEstimate est;
  const int bytes = plan.config.store_dtype == "float16" ? 2 : 4;
  for (const auto& [what, points] : store_needs(plan, todo, live)) {
    const auto& [mi, split] = what;
    const PlannedModel& m = plan.models[mi];
    const StoreEntry e = data.entry(plan, mi, split);
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& p : points) shapes.push_back(ShardData::shape(m, p));
    const auto missing = data.store.missing(e, points, shapes);
    const int64_t n = e.indices.size(0);
    for (const auto& p : points) {
      const bool miss = std::find(missing.begin(), missing.end(), p) != missing.end();
      (miss ? est.disk_new : est.disk_have) += point_bytes(m, p, n, bytes);
    }
    if (!missing.empty()) est.build_s += 1.2 * fwd.at(mi) * static_cast<double>(n) / 128.0;
  }
  return est;
}

// The largest group's stored activations (train + test, float32): what store.ram_mb caps.
double group_store_bytes(const Plan& plan, const ShardData& data, const LiveSplits& live) {
  double group_max = 0;
  for (const auto& g : plan.groups) {
    std::set<std::string> seen;
    double sum = 0;
    for (size_t ji : g.jobs)
      for (const auto& [what, points] : store_needs(plan, {ji}, live))
        for (const auto& p : points)
          if (seen.insert(fmt::format("{}|{}|{}", what.first, what.second, p)).second)
            sum += point_bytes(plan.models[what.first], p, data.data(what.second).size(), 4);
    group_max = std::max(group_max, sum);
  }
  return group_max;
}

// Seconds of the evaluations beyond the clean test pass: PGD on the stitched model (forward +
// backward per step; the end model's own PGD once per end model) and the two marker passes.
double extra_eval_seconds(Plan& plan, const std::vector<size_t>& todo, ForwardTimes& t,
                          double test_batches) {
  const Settings& c = plan.config.job;
  if (c.robust_samples <= 0 && c.markers == MarkerMode::kNone)
    return 0;  // times no tails for nothing
  const double pgd =
      static_cast<double>(c.robust_samples) / 128.0 * static_cast<double>(c.robust_steps + 1) * 3.0;
  std::set<size_t> ends;
  double s = 0;
  for (size_t ji : todo) {
    const Job& j = plan.jobs[ji];
    const double stitched = t.stitched(plan, j);
    if (c.robust_samples > 0) {
      s += pgd * stitched;
      if (ends.insert(j.end).second) s += pgd * t.whole.at(j.end);
    }
    if (c.markers != MarkerMode::kNone) s += 2.0 * (stitched + t.whole.at(j.end)) * test_batches;
  }
  return s;
}

// Seconds of the jobs to run, from measured forward passes (128 images: whole models, and the
// end's tail for a trained stitch) and the timings of finished jobs of the same method where
// there are any.
double jobs_seconds(Plan& plan, const std::vector<std::vector<size_t>>& units,
                    const LiveSplits& live, const ShardData& data, ForwardTimes& t,
                    const JobCounts& counts) {
  const Settings& c = plan.config.job;
  const double batches = static_cast<double>(c.batch_size) / 128.0 *
                         static_cast<double>(c.epochs * (data.train.size() / c.batch_size));
  const double test_batches = static_cast<double>(data.test.size()) / 128.0;
  const std::map<size_t, double>& fwd = t.whole;
  double jobs_s = 0;
  for (const auto& unit : units) {
    const Job& j0 = plan.jobs[unit[0]];
    bool all_measured = true;
    for (size_t ji : unit)
      all_measured = all_measured && counts.measured.count(plan.jobs[ji].method);
    // Live rows: both frozen models once per batch for the whole unit (lockstep shares them).
    if (live.train.count(unit[0]) && !all_measured)
      jobs_s += (fwd.at(j0.front) + fwd.at(j0.end)) * batches;
    // Live test rows: both frozen models once over the test split for the unit.
    if (live.test.count(unit[0])) jobs_s += (fwd.at(j0.front) + fwd.at(j0.end)) * test_batches;
    for (size_t ji : unit) {
      const Job& j = plan.jobs[ji];
      const Method& m = method_get(j.method);
      const double eval = fwd.at(j.end) * test_batches;
      const auto it = counts.measured.find(j.method);
      if (it != counts.measured.end())
        jobs_s += it->second.first / it->second.second + eval;
      else if (m.closed_form)
        jobs_s += eval + 0.5;
      else if (m.needs_downstream || m.needs_logits(c))  // stitched tail forward + backward
        jobs_s += eval + 3.0 * t.tail_of(plan, j.end, j.end_point) * batches;
      else  // trained at the stitch point only (dm_hint)
        jobs_s += eval;
    }
  }
  return jobs_s + extra_eval_seconds(plan, counts.todo, t, test_batches);
}

// A note when other processes keep the cores busy: the timed passes then wait for a core, and
// every time estimate comes out too long (by 10x and more on 2 cores).
std::string busy_note() {
  std::ifstream f("/proc/loadavg");
  double load1 = 0;
  if (!(f >> load1)) return "";
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  if (load1 < 0.75 * cores) return "";
  return fmt::format(
      "  note: the machine is busy (load {:.1f} on {} cores), so the times above are too long; "
      "plan again when it is idle\n",
      load1, cores);
}

std::string shards_text(Plan& plan, int64_t shards) {
  plan_shards(plan, shards);
  if (shards <= 1) return "";
  std::string out = fmt::format("  shards of {}: jobs per shard", shards);
  for (int64_t s = 0; s < shards; ++s) out += fmt::format(" {}", plan_shard_jobs(plan, s).size());
  out += "\n";
  if (static_cast<int64_t>(plan.groups.size()) < shards)
    out += fmt::format("  note: only {} groups, so {} shards will have nothing to do\n",
                       plan.groups.size(), shards - static_cast<int64_t>(plan.groups.size()));
  return out;
}
}  // namespace

std::string sweep_plan_text(Plan& plan, int64_t shards) {
  const Settings& c = plan.config.job;
  const JobCounts counts = jobs_count(plan);
  std::string out = fmt::format(
      "sweep {}: {} jobs ({} model pairs, {} groups of one pair and end point)\n"
      "  done {}, to run {} (of which {} changed settings or models, {} unreadable results)\n",
      c.name, plan.jobs.size(), plan.config.models.size(), plan.groups.size(), counts.done,
      counts.todo.size(), counts.stale, counts.broken);
  ShardData data(plan);
  ForwardTimes times;
  for (size_t mi = 0; mi < plan.models.size(); ++mi)
    times.whole[mi] = forward_seconds(plan.models[mi], plan.input_shape);
  const std::map<size_t, double>& fwd = times.whole;
  const std::vector<std::vector<size_t>> units = lockstep_units(plan, counts.todo);
  const LiveSplits live = live_splits(plan, units, data);
  const StoreEstimate store = store_estimate(plan, data, counts.todo, live, fwd);
  out += fmt::format("  store {}: {} to write, {} already there\n", plan.config.store_dir,
                     bytes_format(store.disk_new), bytes_format(store.disk_have));
  // Memory: measured (sweep/plan_memory.h) plus a group's stored activations (train + test) up
  // to store.ram_mb.
  const double ram = std::min(group_store_bytes(plan, data, live),
                              static_cast<double>(plan.config.store_ram_mb) * 1048576);
  const MemoryEstimate mem = plan_memory(plan, units, ram);
  out += fmt::format(
      "  memory: ~{} per shard, mostly {} (measured: {} process with models, {} stored "
      "activations in RAM (store.ram_mb = {}), {} images, {} a training step at batch {}, {} an "
      "evaluation batch of {}, {} a closed-form fit on {} images); add ~15 % for Slurm's --mem\n",
      bytes_format(mem.total()), mem.dominant(), bytes_format(mem.base), bytes_format(mem.store),
      plan.config.store_ram_mb, bytes_format(mem.data), bytes_format(mem.step), mem.step_batch,
      bytes_format(mem.eval), kEvalBatch, bytes_format(mem.fit), c.init_samples);
  const double jobs_s = jobs_seconds(plan, units, live, data, times, counts);
  out += fmt::format(
      "  time: ~{} on one shard here ({} building the store, {} for the jobs; rough, from "
      "measured forward passes{})\n",
      duration_format(store.build_s + jobs_s), duration_format(store.build_s),
      duration_format(jobs_s), counts.measured.empty() ? "" : " and the timings of finished jobs");
  return out + busy_note() + shards_text(plan, shards);
}

}  // namespace stitch
