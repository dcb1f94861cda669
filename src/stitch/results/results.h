#pragma once
// Experiment-level result files: results.jsonl (one flat JSON object per job or pair) and
// results.csv (the same rows, union of columns, identifying columns first). Appends are one
// locked O_APPEND write, so concurrent processes (Slurm array tasks) never lose a line; the
// whole files are rewritten, atomically and under the same lock, only by results_write.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stitch {

// The rows of <dir>/results.jsonl (none when it does not exist; unparsable lines skipped).
std::vector<nlohmann::json> results_read(const std::string& dir);
// Appends `row` (a flat object of scalars) to <dir>/results.jsonl; O(1), results.csv untouched.
void results_append(const std::string& dir, const nlohmann::json& row);
// Replaces <dir>/results.jsonl and <dir>/results.csv with exactly `rows` (columns in the order
// of results/result_row.h) and writes <dir>/results.schema.json (what each column means).
void results_write(const std::string& dir, const std::vector<nlohmann::json>& rows);
// results_write of the rows `scan` returns, with `scan` called under the same lock, so a slow
// scan cannot overwrite rows that another process appended after it read the job folders.
// Temporary files that dead processes of this host left in `dir` are removed too.
std::vector<nlohmann::json> results_rebuild(
    const std::string& dir, const std::function<std::vector<nlohmann::json>()>& scan);

}  // namespace stitch
