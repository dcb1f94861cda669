#pragma once
// Running a sweep: one shard at a time (stitch sweep run X.yaml --shard i/n, or a Slurm array
// task), each job exactly once. Per shard: the activations every job needs are made sure of in
// the activation store (built streamed, once, under a lock), then each job is fitted or trained
// from the stored activations and its folder written (result.json last, atomically); finally
// results.{jsonl,csv} are collected from the job folders, one row per planned job that is done.
// A killed shard loses at most the job it was running; re-running it skips finished jobs and
// re-runs jobs whose key changed or whose result.json is unreadable. Each job is claimed with a
// lock on <job>/job.lock while it runs, so overlapping runs (two `sweep run`s of one sweep,
// overlapping shard specs) never run the same job twice; the lock goes with the process.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/job/settings.h"
#include "stitch/sweep/plan.h"

namespace stitch {

struct SweepOutcome {
  std::vector<nlohmann::json> rows;  // this shard's jobs that are done, in plan order
  int64_t ran = 0, reused = 0, failed = 0;
  int64_t elsewhere = 0;  // jobs another process was running (claimed) or finished meanwhile
};

// Runs the jobs of `shard` (plan_shards must have been called with shard.count). Jobs that fail
// (e.g. a NaN loss) are reported and left undone; the others go on, and a StitchError naming
// the first failure is thrown at the end. Ctrl-C stops the current job, collects and rethrows.
SweepOutcome sweep_run(Plan& plan, const Shard& shard);

// Rewrites <plan.dir>/results.{jsonl,csv} from the job folders: one row per planned job whose
// result.json is valid and has the job's key, in plan order. Returns those rows.
std::vector<nlohmann::json> sweep_collect(const Plan& plan);

// Human-readable plan: job counts (done / to run / stale / unreadable), store entries to build
// and their size on disk, rough memory and time estimates, and the jobs per shard.
std::string sweep_plan_text(Plan& plan, int64_t shards);

}  // namespace stitch
