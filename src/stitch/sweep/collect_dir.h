#pragma once
// Collecting a sweep's results from its folder alone (`stitch report` does it first): the job
// folders are the truth, results.{jsonl,csv} are rebuilt from them.
#include <string>

namespace stitch {

// Re-plans the sweep saved in <dir>/sweep.resolved.yaml (loading its models, with its output
// folder taken as `dir`) and rewrites <dir>/results.{jsonl,csv} from the job folders. Returns
// the number of rows, or -1 with the reason in `why` when there is no resolved sweep there or it
// cannot be planned (e.g. a model file moved); the results files are then left as they are.
int64_t sweep_collect_dir(const std::string& dir, std::string* why);

}  // namespace stitch
