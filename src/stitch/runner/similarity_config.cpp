#include "stitch/runner/similarity_config.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/util/error.h"

namespace stitch {

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
  if (c.pairs != "grid" && c.pairs != "zip")
    throw StitchError(fmt::format("similarity: pairs must be grid or zip, got '{}'", c.pairs));
  if (c.pairs == "zip" && c.points_a.size() != c.points_b.size())
    throw StitchError(
        fmt::format("similarity: pairs=zip needs as many points for A as for B, got {} and {}",
                    c.points_a.size(), c.points_b.size()));
  if (c.layout != "flatten" && c.layout != "pool" && c.layout != "positions")
    throw StitchError(
        fmt::format("similarity: layout must be flatten, pool or positions, got '{}'", c.layout));
  if (c.batch < 4) throw StitchError("similarity: batch must be >= 4 (unbiased HSIC)");
  if (c.samples < 8) throw StitchError("similarity: samples must be >= 8");
  if (c.k < 1) throw StitchError("similarity: k must be >= 1");
  if (!(c.svcca_variance > 0 && c.svcca_variance <= 1) || c.svcca_dims < 0)
    throw StitchError("similarity: svcca.variance must be in (0, 1] and svcca.dims >= 0");
}

SimilarityConfig similarity_config_parse(const YAML::Node& node) {
  SimilarityConfig c;
  YamlReader r(node);
  c.name = r.str("name", c.name);
  c.out_dir = r.str("out_dir", c.out_dir);
  c.model_a = r.str("model_a", c.model_a);
  c.model_b = r.str("model_b", c.model_b);
  c.points_a = r.list<std::string>("points_a", c.points_a);
  c.points_b = r.list<std::string>("points_b", c.points_b);
  c.metrics = r.list<std::string>("metrics", c.metrics);
  c.pairs = r.str("pairs", c.pairs, {"grid", "zip"});
  c.layout = r.str("layout", c.layout, {"flatten", "pool", "positions"});
  c.data_dir = r.str("data_dir", c.data_dir);
  c.samples = r.integer("samples", c.samples, 8, 60000);
  c.batch = r.integer("batch", c.batch, 4, 60000);
  c.k = r.integer("k", c.k, 1, 1 << 20);
  YamlReader s = r.child("svcca");
  c.svcca_variance = s.real("variance", c.svcca_variance, 1e-6, 1.0);
  c.svcca_dims = s.integer("dims", c.svcca_dims, 0, 1 << 20);
  s.finish();
  c.device = r.str("device", c.device);
  c.threads = r.integer("threads", c.threads, 0, 1024);
  r.finish();
  similarity_config_check(c);
  return c;
}

YAML::Node similarity_config_dump(const SimilarityConfig& c) {
  YAML::Node n;
  n["name"] = c.name;
  n["out_dir"] = c.out_dir;
  n["model_a"] = c.model_a;
  n["model_b"] = c.model_b;
  n["points_a"] = c.points_a;
  n["points_b"] = c.points_b;
  n["metrics"] = c.metrics;
  n["pairs"] = c.pairs;
  n["layout"] = c.layout;
  n["data_dir"] = c.data_dir;
  n["samples"] = c.samples;
  n["batch"] = c.batch;
  n["k"] = c.k;
  n["svcca"]["variance"] = c.svcca_variance;
  n["svcca"]["dims"] = c.svcca_dims;
  n["device"] = c.device;
  n["threads"] = c.threads;
  return n;
}

}  // namespace stitch
