#include "stitch/similarity/similarity_config.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/util/error.h"

namespace stitch {

const std::vector<std::string>& EnumNames<SimilarityPairs>::names() {
  static const std::vector<std::string> n{"grid", "zip"};
  return n;
}

const std::vector<std::string>& EnumNames<SimilarityLayout>::names() {
  static const std::vector<std::string> n{"flatten", "pool", "positions"};
  return n;
}

void similarity_config_check(const SimilarityConfig& c) {
  if (c.model_a.empty() || c.model_b.empty())
    throw StitchError("similarity: give two models or activation files (model_a, model_b)");
  if (c.points_a.empty() || c.points_b.empty())
    throw StitchError(
        "similarity: give at least one point for each model (--points-a, --points-b)");
  for (const auto* pts : {&c.points_a, &c.points_b})
    for (const auto& p : *pts)
      if (p.empty())
        throw StitchError("similarity: an empty point name; list points as block1,block2");
  if (c.metrics.empty()) throw StitchError("similarity: the metric list is empty");
  for (const auto& m : c.metrics)
    if (std::find(kSimilarityMetrics.begin(), kSimilarityMetrics.end(), m) ==
        kSimilarityMetrics.end()) {
      const auto [best, d] = nearest(m, kSimilarityMetrics);
      throw StitchError(fmt::format("unknown similarity metric '{}'{}; valid: {}", m,
                                    d <= 3 ? fmt::format(" (did you mean '{}'?)", best) : "",
                                    fmt::join(kSimilarityMetrics, ", ")));
    }
  if (c.pairs == SimilarityPairs::kZip && c.points_a.size() != c.points_b.size())
    throw StitchError(
        fmt::format("similarity: pairs=zip needs as many points for A as for B, got {} and {}",
                    c.points_a.size(), c.points_b.size()));
  if (c.batch < 4) throw StitchError("similarity: batch must be >= 4 (unbiased HSIC)");
  if (c.samples < 8) throw StitchError("similarity: samples must be >= 8");
  if (c.k < 1) throw StitchError("similarity: k must be >= 1");
  if (!(c.svcca_variance > 0 && c.svcca_variance <= 1) || c.svcca_dims < 0)
    throw StitchError("similarity: svcca.variance must be in (0, 1] and svcca.dims >= 0");
  data_config_check(c.data);
}

const ConfigTable<SimilarityConfig>& similarity_config_table() {
  using C = SimilarityConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.add("model_a", &C::model_a, "first TorchScript model or activation file (.h5)")
        .flag("model_a");
    t.add("model_b", &C::model_b, "second TorchScript model or activation file (.h5)")
        .flag("model_b");
    t.add("points_a", &C::points_a, "points of model A").flag("--points-a");
    t.add("points_b", &C::points_b, "points of model B").flag("--points-b");
    t.add("metrics", &C::metrics, "metrics (default: all)").flag("--metrics");
    t.add("pairs", &C::pairs, "every A point x every B point, or i-th with i-th").flag("--pairs");
    t.add("layout", &C::layout,
          "rows of conv maps / tokens: per input, mean over positions, or one per position")
        .flag("--layout");
    t.add("samples", &C::samples, "first N test images (held-out split)")
        .range(8, 1e9)
        .flag("--samples");
    t.add("batch", &C::batch, "batch size (also the minibatch-CKA batch)")
        .range(4, 1e9)
        .flag("--batch");
    t.add("k", &C::k, "neighbours for mutual k-NN and CKNNA").range(1, 1 << 20).flag("--k");
    t.add("cknna_features", &C::cknna_features,
          "CKNNA on features clamped and L2-normalised as platonic-rep does, or on raw features")
        .choices({"platonic", "raw"});
    t.add("svcca.variance", &C::svcca_variance, "SVCCA keeps directions explaining this much")
        .range(1e-6, 1.0);
    t.add("svcca.dims", &C::svcca_dims, "or exactly this many when > 0").range(0, 1 << 20);
    t.include(data_config_table(), &C::data, "data.");
    t.add("name", &C::name, "experiment name (outputs in <out_dir>/<name>/)").flag("--name");
    t.add("out_dir", &C::out_dir, "output folder").flag("--out-dir");
    add_device_threads(t);
    return t;
  }();
  return t;
}

SimilarityConfig similarity_config_parse(const YAML::Node& node) {
  SimilarityConfig c;
  similarity_config_table().parse(node, c);
  similarity_config_check(c);
  return c;
}

YAML::Node similarity_config_dump(const SimilarityConfig& c) {
  return similarity_config_table().dump(c);
}

}  // namespace stitch
