#pragma once
// `stitch similarity`: representation-similarity metrics for every (point A, point B) pair of
// two models on the first n test images, written as rows of <out_dir>/<name>/results.{jsonl,csv}
// in the same format as stitching jobs (so one report can show both grids).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stitch {

struct SimilarityConfig {
  std::string name = "similarity", out_dir = "runs";
  std::string model_a, model_b;
  std::vector<std::string> points_a, points_b;
  std::vector<std::string> metrics{"linear_cka", "unbiased_cka", "minibatch_cka", "svcca",
                                   "pwcca",      "mutual_knn",   "cknna",         "procrustes"};
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t samples = 2000, batch = 500, k = 10;
  std::string device = "auto";
  int64_t threads = 0;
};

inline const std::vector<std::string> kSimilarityMetrics{
    "linear_cka", "unbiased_cka", "minibatch_cka", "svcca",
    "pwcca",      "mutual_knn",   "cknna",         "procrustes"};

std::vector<nlohmann::json> similarity_run(const SimilarityConfig& c);

}  // namespace stitch
