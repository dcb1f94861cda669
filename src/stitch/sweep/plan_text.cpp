// `stitch sweep plan`: what a sweep will do, and rough estimates of disk, memory and time.
#include <ATen/ATen.h>

#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "stitch/runner/methods.h"
#include "stitch/runner/stitch_job.h"
#include "stitch/sweep/job_inputs.h"
#include "stitch/sweep/plan_memory.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/progress.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
// Seconds of one forward pass of 128 images (best of 3), the unit of the time estimates.
double forward_seconds(PlannedModel& m, const std::vector<int64_t>& in) {
  at::NoGradGuard g;
  std::vector<int64_t> shape{128};
  shape.insert(shape.end(), in.begin(), in.end());
  const at::Tensor x = at::rand(shape).to(m.model.device());
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    m.model.forward(x).sum().item<double>();  // reading a value back waits for a GPU's kernels
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::string bytes_format(double b) {
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  return fmt::format("{:.0f} MB", b / 1e6);
}

double point_bytes(const PlannedModel& m, const std::string& p, int64_t rows, int bytes) {
  double n = static_cast<double>(rows) * bytes;
  for (int64_t s : ShardData::shape(m, p)) n *= static_cast<double>(s);
  return n;
}
}  // namespace

std::string sweep_plan_text(Plan& plan, int64_t shards) {
  const StitchConfig& c = plan.config.job;
  std::vector<size_t> todo;
  int64_t done = 0, stale = 0, broken = 0;
  std::map<std::string, std::pair<double, int>> measured;  // method -> (seconds, jobs)
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    Json row;
    const JobState s = job_state(plan.jobs[i], &row);
    if (s == JobState::kDone) {
      ++done;
      auto& m = measured[plan.jobs[i].method];
      m.first += row.value("fit_seconds", 0.0) + row.value("train_seconds", 0.0);
      m.second += 1;
      continue;
    }
    stale += s == JobState::kStale;
    broken += s == JobState::kBroken;
    todo.push_back(i);
  }
  std::string out = fmt::format(
      "sweep {}: {} jobs ({} model pairs, {} groups of one pair and end point)\n"
      "  done {}, to run {} (of which {} changed settings or models, {} unreadable results)\n",
      c.name, plan.jobs.size(), plan.config.models.size(), plan.groups.size(), done, todo.size(),
      stale, broken);
  ShardData data(plan);
  const int bytes = plan.config.store_dtype == "float16" ? 2 : 4;
  double disk_new = 0, disk_have = 0, build_s = 0;
  std::map<size_t, double> fwd;
  for (size_t mi = 0; mi < plan.models.size(); ++mi)
    fwd[mi] = forward_seconds(plan.models[mi], plan.input_shape);
  const std::vector<std::vector<size_t>> units = lockstep_units(plan, todo);
  const LiveSplits live = live_splits(plan, units, data);
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
      (miss ? disk_new : disk_have) += point_bytes(m, p, n, bytes);
    }
    if (!missing.empty()) build_s += 1.2 * fwd[mi] * static_cast<double>(n) / 128.0;
  }
  out += fmt::format("  store {}: {} to write, {} already there\n", plan.config.store_dir,
                     bytes_format(disk_new), bytes_format(disk_have));
  // Memory: measured (sweep/plan_memory.h) plus a group's stored activations (train + test) up
  // to store.ram_mb.
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
  const double ram = std::min(group_max, static_cast<double>(plan.config.store_ram_mb) * 1048576);
  const MemoryEstimate mem = plan_memory(plan, units, ram);
  out += fmt::format(
      "  memory: ~{} per shard, mostly {} (measured: {} process with models, {} stored "
      "activations in RAM (store.ram_mb = {}), {} images, {} a training step at batch {}, {} an "
      "evaluation batch of {}); add ~15 % for Slurm's --mem\n",
      bytes_format(mem.total()), mem.dominant(), bytes_format(mem.base), bytes_format(mem.store),
      plan.config.store_ram_mb, bytes_format(mem.data), bytes_format(mem.step), mem.step_batch,
      bytes_format(mem.eval), kEvalBatch);
  double jobs_s = 0;
  const double batches = static_cast<double>(c.batch_size) / 128.0 *
                         static_cast<double>(c.epochs * (data.train.size() / c.batch_size));
  for (const auto& unit : units) {
    const Job& j0 = plan.jobs[unit[0]];
    bool all_measured = true;
    for (size_t ji : unit) all_measured = all_measured && measured.count(plan.jobs[ji].method);
    // Live rows: both frozen models once per batch for the whole unit (lockstep shares them).
    if (live.train.count(unit[0]) && !all_measured)
      jobs_s += (fwd[j0.front] + fwd[j0.end]) * batches;
    // Live test rows: both frozen models once over the test split for the unit.
    if (live.test.count(unit[0]))
      jobs_s += (fwd[j0.front] + fwd[j0.end]) * static_cast<double>(data.test.size()) / 128.0;
    for (size_t ji : unit) {
      const Job& j = plan.jobs[ji];
      const Method& m = method_get(j.method);
      const double eval = fwd[j.end] * static_cast<double>(data.test.size()) / 128.0;
      const auto it = measured.find(j.method);
      if (it != measured.end())
        jobs_s += it->second.first / it->second.second + eval;
      else if (m.closed_form)
        jobs_s += eval + 0.5;
      else if (m.needs_downstream || m.needs_logits(c))  // stitched tail forward + backward
        jobs_s += eval + 3.0 * fwd[j.end] * batches;
      else  // trained at the stitch point only (dm_hint)
        jobs_s += eval;
    }
  }
  out += fmt::format(
      "  time: ~{} on one shard here ({} building the store, {} for the jobs; rough, from "
      "measured forward passes{})\n",
      duration_format(build_s + jobs_s), duration_format(build_s), duration_format(jobs_s),
      measured.empty() ? "" : " and the timings of finished jobs");
  plan_shards(plan, shards);
  if (shards > 1) {
    out += fmt::format("  shards of {}: jobs per shard", shards);
    for (int64_t s = 0; s < shards; ++s) out += fmt::format(" {}", plan_shard_jobs(plan, s).size());
    out += "\n";
    if (static_cast<int64_t>(plan.groups.size()) < shards)
      out += fmt::format("  note: only {} groups, so {} shards will have nothing to do\n",
                         plan.groups.size(), shards - static_cast<int64_t>(plan.groups.size()));
  }
  return out;
}

}  // namespace stitch
