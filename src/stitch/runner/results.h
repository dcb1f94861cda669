#pragma once
// Experiment-level result files: results.jsonl (one flat JSON object per job, appended
// atomically) and results.csv (rewritten from the JSONL, one row per job, union of columns).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stitch {

// The rows of <dir>/results.jsonl (none when it does not exist; unparsable lines skipped).
std::vector<nlohmann::json> results_read(const std::string& dir);
// Appends `row` (a flat object of scalars) to <dir>/results.jsonl and rewrites <dir>/results.csv.
void results_append(const std::string& dir, const nlohmann::json& row);

}  // namespace stitch
