#pragma once
// A sweep's expansion into jobs from its config and its models' facts alone: nothing is loaded
// or read. The point lists are resolved per model (recommended / all / names), the cells a
// `pairs` rule allows are kept when the stitch layer can join their shapes, and every method x
// seed of a cell becomes a job with its key, folder, cost and group. plan_make (plan.h) loads
// the models once, takes their facts and calls sweep_expand.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/job/settings.h"
#include "stitch/model/model_facts.h"
#include "stitch/sweep/sweep_config.h"

namespace stitch {

// 2: keys derived from the config tables' Affects flags (1: settings listed by hand).
inline constexpr int kJobFormatVersion = 2;

// A planned job: its JobSpec (model files, points, method, seed) and what the plan derives.
struct Job : JobSpec {
  size_t front = 0, end = 0;  // indices into the sweep's models
  std::string condition;      // replicate condition of its model pair ("" = none)
  std::string key;            // 16 hex digits of the SHA-256 of key_settings
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

struct Expansion {
  std::vector<Job> jobs;
  std::vector<Group> groups;
  std::map<std::string, int64_t> skipped;  // why grid cells or methods were left out -> jobs
};

// The distinct model files of a sweep, in the order its model pairs first name them.
std::vector<std::string> sweep_model_paths(const SweepConfig& c);

// Sets each model's label to its file stem, made unique with 8 digits of its SHA-256.
void models_label(std::vector<ModelFacts>& models);

// The jobs of sweep `c` over `models` (one per path of sweep_model_paths, labelled), with job
// folders under `dir`. A cell or method that cannot run is a StitchError when it is the only
// cell of its model pair (as in `stitch run`) and is skipped (counted in `skipped`) in a grid.
// Throws on two jobs sharing a folder and on an empty expansion.
Expansion sweep_expand(const SweepConfig& c, const std::vector<ModelFacts>& models,
                       const std::string& dir);

// End-model points after `end_point` that FuLA and the per-layer diagnostics use: c.fula_points
// or the model's recommended points (top-level points when it recommends none), cut by
// c.fula_cutoff, in forward order.
std::vector<std::string> downstream_points(const ModelFacts& end, const std::string& end_point,
                                           const Settings& c);

// The settings a job's result depends on: the job format, both models' SHA-256, its points,
// method and seed, and every sweep-table row whose Affects is one of
// method_affects(method) (job/methods.h).
nlohmann::json job_key_settings(const SweepConfig& c, const std::string& front_sha256,
                                const std::string& end_sha256, const std::string& front_point,
                                const std::string& end_point, const std::string& method,
                                int64_t seed);
std::string job_key(const nlohmann::json& key_settings);  // 16 hex digits of its SHA-256

}  // namespace stitch
