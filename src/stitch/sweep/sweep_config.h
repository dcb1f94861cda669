#pragma once
// A sweep: one YAML file that expands into stitching jobs over model pairs x front points x
// end points x methods x seeds (see configs/sweep_cnn_grid.yaml). `stitch run` configs (one
// front/end, one front_point/end_point) are the one-pair case of the same schema.
//
//   models: [{front: a.pt, end: b.pt, condition: adv}, ...]   or  front: a.pt / end: b.pt
//                                                 (condition: optional replicate group name)
//   fronts: [a.pt, c.pt]  ends: [b.pt]           every front x every end (with model_pairs: grid)
//   front_points: recommended | all | [block1, block2]   (front_point: x is a list of one)
//   end_points:   recommended | all | [...]
//   pairs: grid | zip | relative                  every front point x every end point; i-th with
//                                                 i-th; or each front point with the end point
//                                                 at the same relative depth (rounded linspace)
//   store: {dir: runs/store, dtype: float32 | float16, ram_mb: 2048, stream: auto}
//   lockstep: true                                trained jobs of one pair, points and seed (e.g.
//                                                 methods) train together: one fetch of the frozen
//                                                 rows and one stacked end-model pass per step
//   plus every setting of a stitching job (methods, seeds, data, train, stitch, fula, ...).
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/job/settings.h"

namespace stitch {

enum class PointPairs { kGrid, kZip, kRelative };   // pairs: grid | zip | relative
enum class ModelPairs { kGrid, kZip };              // model_pairs: grid | zip
enum class StoreStream { kAuto, kAlways, kNever };  // store.stream: auto | always | never
template <>
struct EnumNames<PointPairs> {
  static const std::vector<std::string>& names();
};
template <>
struct EnumNames<ModelPairs> {
  static const std::vector<std::string>& names();
};
template <>
struct EnumNames<StoreStream> {
  static const std::vector<std::string>& names();
};

struct ModelPair {
  std::string front, end;
  std::string condition;  // replicates of one condition share it; `stitch report` pools them
};

struct SweepConfig {
  Settings job;  // settings every job shares; its front/end/points are filled per job
  std::vector<ModelPair> models;
  std::vector<std::string> front_points{"recommended"}, end_points{"recommended"};
  PointPairs pairs = PointPairs::kGrid;
  std::string store_dir;  // default: <out_dir>/store
  std::string store_dtype = "float32";
  int64_t store_ram_mb = 2048;  // stored activations up to this size are read into RAM
  StoreStream store_stream = StoreStream::kAuto;  // rows computed live instead of stored
  bool lockstep = true;  // trained jobs sharing models, points and seed train together
  // Shorthands read from YAML and folded into `models` / `*_points` by sweep_config_parse
  // (empty afterwards, so the resolved dump re-parses to the same sweep).
  std::string front, end, front_point, end_point;
  ModelPairs model_pairs = ModelPairs::kGrid;
  std::vector<std::string> fronts, ends;
};

const ConfigTable<SweepConfig>& sweep_config_table();

// Parses and validates a sweep (or `stitch run`) config; unknown keys get the nearest valid key.
SweepConfig sweep_config_parse(const YAML::Node& node);
YAML::Node sweep_config_dump(const SweepConfig& c);

// "i/n" with 0 <= i < n; empty: from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT when set
// (task ids counted from SLURM_ARRAY_TASK_MIN), else "0/1". Throws StitchError naming the fix.
struct Shard {
  int64_t index = 0, count = 1;
};
Shard shard_parse(const std::string& spec);

}  // namespace stitch
