#pragma once
// A sweep's plan: the jobs one config expands into, each with a key (a hash of every setting
// that changes its result), grouped by (model pair, end point) and split into shards.
//
// Job folders: <out_dir>/<name>/<front>__<end>/<front_point>__<end_point>/<method>_s<seed>/
// holding config.resolved.yaml, stitch.pt and result.json (written last, atomically: it marks
// the job done and carries the key). A job whose result.json is missing, unreadable or has
// another key is to be run.
#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "stitch/model/model_facts.h"
#include "stitch/model/staged_model.h"
#include "stitch/sweep/expand.h"
#include "stitch/sweep/sweep_config.h"

namespace stitch {

// A model of the plan: its facts (path, hash, label, points) and the loaded model.
struct PlannedModel : ModelFacts {
  StagedModel model;                  // loaded and probed
  std::vector<int64_t> output_shape;  // logits without the batch dim, e.g. [10]
};

enum class JobState { kTodo, kDone, kStale, kBroken };  // stale: key changed; broken: unreadable

struct Plan {
  SweepConfig config;
  std::string dir;                   // <out_dir>/<name>
  std::vector<int64_t> input_shape;  // [C, H, W] of the data's images
  std::vector<PlannedModel> models;
  std::vector<Job> jobs;
  std::vector<Group> groups;
  std::vector<int64_t> shard_of_group;  // filled by plan_shards
};

// Loads and probes every model once and expands the sweep from their facts (sweep_expand,
// expand.h); warns of skipped grid cells. Only the data's image shape is read (the test split);
// nothing is written.
Plan plan_make(const SweepConfig& c, c10::Device dev);

// Assigns groups to `count` shards, largest estimated cost first to the least loaded shard
// (deterministic: every shard of an array computes the same assignment).
void plan_shards(Plan& plan, int64_t count);
std::vector<size_t> plan_shard_jobs(const Plan& plan, int64_t shard);  // job indices, in order

// State of a job from its result.json; `row` receives the summary row when done, `why` the
// reason when stale or broken.
JobState job_state(const Job& job, nlohmann::json* row = nullptr, std::string* why = nullptr);

// The job's end-model points after its end point (FuLA targets and per-layer diagnostics).
std::vector<std::string> job_downstream(const Plan& plan, const Job& job);

}  // namespace stitch
