#pragma once
// What planning a sweep needs to know of a model, apart from its weights: its file, hash and
// label, every boundary (cuttable or not, with probed shapes and forward positions) and its
// recommended points. Built from a loaded model once; tests build them by hand. The lookups
// here are pure and give the same one-line errors as StagedModel's.
#include <cstddef>
#include <string>
#include <vector>

#include "stitch/model/staged_model.h"

namespace stitch {

struct ModelFacts {
  std::string path, sha256;
  std::string label;                     // file stem, made unique within a sweep
  std::vector<StitchPoint> boundaries;   // forward order, cuttable or not
  std::vector<std::string> recommended;  // meta().stitch_points (empty for a foreign model)
};

// Facts of a loaded, probed model (sha256 and label are left for the caller).
ModelFacts model_facts(const StagedModel& m);

// Index into `boundaries` of the cuttable point `name`; throws StitchError naming `path` and
// listing the valid points when it is unknown or not cuttable (with the reason).
size_t boundary_index(const std::vector<StitchPoint>& boundaries, const std::string& path,
                      const std::string& name);

const StitchPoint& facts_point(const ModelFacts& m, const std::string& name);  // as point()
// The model's recommended points, or its top-level cuttable points when it recommends none (a
// model without our metadata).
std::vector<std::string> facts_recommended(const ModelFacts& m);
// The points a sweep's list names: [all] (every cuttable point), [recommended] (the model's,
// else its top-level cuttable points) or explicit names (checked). `which`: "front" or "end".
std::vector<std::string> facts_points_resolve(const ModelFacts& m,
                                              const std::vector<std::string>& list,
                                              const char* which);

}  // namespace stitch
