#pragma once
// Settings of `stitch similarity`: a YAML file, command-line flags and --set overrides all fill
// this one struct, validated in one place.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/config/config_table.h"
#include "stitch/data/data_source.h"

namespace stitch {

inline const std::vector<std::string> kSimilarityMetrics{
    "linear_cka", "unbiased_cka", "minibatch_cka", "svcca",
    "pwcca",      "mutual_knn",   "cknna",         "procrustes"};

enum class SimilarityPairs { kGrid, kZip };  // pairs: grid | zip
template <>
struct EnumNames<SimilarityPairs> {
  static const std::vector<std::string>& names();
};

// layout: how a [C, H, W] map or [T, d] token activation becomes rows (activation_rows).
enum class SimilarityLayout { kFlatten, kPool, kPositions };
template <>
struct EnumNames<SimilarityLayout> {
  static const std::vector<std::string>& names();  // flatten, pool, positions
};

struct SimilarityConfig {
  std::string name = "similarity", out_dir = "runs";
  // TorchScript models or activation files written by `stitch activations` (HDF5).
  std::string model_a, model_b;
  std::vector<std::string> points_a, points_b;
  std::vector<std::string> metrics = kSimilarityMetrics;
  // grid: every point of A with every point of B; zip: points_a[i] with points_b[i].
  SimilarityPairs pairs = SimilarityPairs::kGrid;
  // How a [C, H, W] map or [T, d] token activation becomes rows: flatten (one row per input,
  // all features), pool (mean over positions/tokens: [n, C]), positions (one row per spatial
  // position or token: [n*H*W, C], the rows a 1x1 / per-token stitch layer maps).
  SimilarityLayout layout = SimilarityLayout::kFlatten;
  DataConfig data;
  int64_t samples = 2000;  // the first n test images (the held-out split)
  int64_t batch = 500;     // forward batch, and the minibatch-CKA batch (in inputs)
  int64_t k = 10;          // neighbours for mutual k-NN and CKNNA
  std::string cknna_features = "platonic";  // platonic (Huh et al.'s preparation) | raw
  double svcca_variance = 0.99;  // SVCCA keeps the directions explaining this much variance,
  int64_t svcca_dims = 0;        // or exactly this many when > 0
  std::string device = "auto";
  int64_t threads = 0;
};

const ConfigTable<SimilarityConfig>& similarity_config_table();
// Throws StitchError naming the setting and its valid values.
void similarity_config_check(const SimilarityConfig& c);
// Reads and checks a config (unknown keys rejected with the nearest valid key suggested).
SimilarityConfig similarity_config_parse(const YAML::Node& node);
YAML::Node similarity_config_dump(const SimilarityConfig& c);

}  // namespace stitch
