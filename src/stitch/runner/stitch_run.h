#pragma once
// Runs a stitching experiment: loads the model pair once, computes the shared front/end
// activations once, then fits or trains one stitch per method x seed and evaluates it.
// Each job writes <out_dir>/<name>/<method>_s<seed>/{config.resolved.yaml, result.json,
// stitch.pt} and appends a row to <out_dir>/<name>/results.{jsonl,csv}. A job whose
// result.json exists is skipped, so a killed run resumes without repeating work.
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/runner/stitch_config.h"

namespace stitch {

// Returns one flat summary row per job (read back from result.json for skipped jobs).
std::vector<nlohmann::json> stitch_experiment_run(const StitchConfig& c);

}  // namespace stitch
