#pragma once
// `stitch similarity`: representation-similarity metrics for (point A, point B) pairs of two
// models on the first n test images, written as rows of <out_dir>/<name>/results.{jsonl,csv}
// in the same format as stitching jobs (so one report can show both grids). Pairs already in
// results.jsonl with the same models, points and settings are reused, not recomputed.
// With minibatch CKA as the only metric the data are streamed: one batch of activations is
// held at a time, so any number of samples fits in memory.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "stitch/similarity/similarity_config.h"

namespace stitch {

// One row per pair (grid or zip order); also writes <out_dir>/<name>/config.resolved.yaml.
std::vector<nlohmann::json> similarity_run(const SimilarityConfig& c);

// Activations [N, ...] as rows for `layout` (see SimilarityConfig::layout): [N, C, H, W] ->
// flatten [N, C*H*W], pool [N, C], positions [N*H*W, C]; tokens [N, T, d] -> [N, T*d], [N, d],
// [N*T, d]; [N, d] unchanged.
at::Tensor activation_rows(const at::Tensor& act, SimilarityLayout layout);

}  // namespace stitch
