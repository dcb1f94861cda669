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

#include "stitch/model/staged_model.h"
#include "stitch/sweep/sweep_config.h"

namespace stitch {

// 2: keys derived from the config tables' Affects flags (1: settings listed by hand).
inline constexpr int kJobFormatVersion = 2;

struct PlannedModel {
  std::string path, sha256, label;    // label: file stem, made unique within the sweep
  StagedModel model;                  // loaded and probed
  std::vector<int64_t> output_shape;  // logits without the batch dim, e.g. [10]
};

struct Job {
  size_t front = 0, end = 0;  // indices into Plan::models
  std::string front_point, end_point, method;
  int64_t seed = 0;
  std::string condition;  // replicate condition of its model pair ("" = none)
  std::string key;        // 16 hex digits of the SHA-256 of key_settings
  nlohmann::json key_settings;
  std::string dir;
  double cost = 1;  // relative cost estimate, for balancing shards
};

// Jobs sharing a model pair and an end point: one shard runs a whole group.
struct Group {
  size_t front = 0, end = 0;
  std::string end_point;
  std::vector<size_t> jobs;
  double cost = 0;
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

// Loads and probes every model once, resolves the point lists (recommended / all / names,
// each checked against its model with a one-line error), expands the jobs and their keys and
// groups them. Only the data's image shape is read (the test split); nothing is written.
Plan plan_make(const SweepConfig& c, c10::Device dev);

// Assigns groups to `count` shards, largest estimated cost first to the least loaded shard
// (deterministic: every shard of an array computes the same assignment).
void plan_shards(Plan& plan, int64_t count);
std::vector<size_t> plan_shard_jobs(const Plan& plan, int64_t shard);  // job indices, in order

// The settings a job's result depends on: the job format, both models' SHA-256, its points,
// method and seed, and every sweep-table row whose Affects is one of
// method_affects(method) (job/methods.h). Pure: reads no file.
nlohmann::json job_key_settings(const SweepConfig& c, const std::string& front_sha256,
                                const std::string& end_sha256, const std::string& front_point,
                                const std::string& end_point, const std::string& method,
                                int64_t seed);
std::string job_key(const nlohmann::json& key_settings);  // 16 hex digits of its SHA-256

// State of a job from its result.json; `row` receives the summary row when done, `why` the
// reason when stale or broken.
JobState job_state(const Job& job, nlohmann::json* row = nullptr, std::string* why = nullptr);

// The job's end-model points after its end point (FuLA targets and per-layer diagnostics).
std::vector<std::string> job_downstream(const Plan& plan, const Job& job);

}  // namespace stitch
