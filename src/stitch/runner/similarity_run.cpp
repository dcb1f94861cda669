#include "stitch/runner/similarity_run.h"

#include <torch/torch.h>

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/data/fashion_mnist.h"
#include "stitch/metrics/similarity.h"
#include "stitch/model/staged_model.h"
#include "stitch/runner/results.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/hash.h"
#include "stitch/util/version.h"

namespace stitch {

std::vector<nlohmann::json> similarity_run(const SimilarityConfig& c) {
  if (c.points_a.empty() || c.points_b.empty())
    throw StitchError("similarity: give at least one point for each model");
  if (c.metrics.empty()) throw StitchError("similarity: the metric list is empty");
  for (const auto& m : c.metrics)
    if (std::find(kSimilarityMetrics.begin(), kSimilarityMetrics.end(), m) ==
        kSimilarityMetrics.end())
      throw StitchError(fmt::format("unknown similarity metric '{}'; valid: {}", m,
                                    fmt::join(kSimilarityMetrics, ", ")));
  if (c.batch < 4) throw StitchError("similarity: batch must be >= 4 (unbiased HSIC)");
  const c10::Device dev = device_parse(c.device);
  threads_set(static_cast<int>(c.threads));
  StagedModel a = StagedModel::load(c.model_a, dev), b = StagedModel::load(c.model_b, dev);
  a.probe();
  b.probe();
  for (const auto& p : c.points_a) a.point(p);
  for (const auto& p : c.points_b) b.point(p);
  const Dataset test = dataset_first(fashion_mnist_load("test", c.data_dir), c.samples);
  if (test.size() < 8) throw StitchError("similarity: needs at least 8 samples");
  // Activations [n, features] per point (flattened per sample), computed in batches.
  auto collect = [&](StagedModel& m, const std::vector<std::string>& pts) {
    torch::NoGradGuard g;
    std::vector<std::vector<at::Tensor>> parts(pts.size());
    for (int64_t s = 0; s < test.size(); s += c.batch) {
      const auto acts = m.forward_collect(
          test.images.narrow(0, s, std::min(c.batch, test.size() - s)).to(dev), pts);
      for (size_t i = 0; i < pts.size(); ++i) parts[i].push_back(acts[i].flatten(1));
    }
    std::vector<at::Tensor> out;
    for (auto& p : parts) out.push_back(at::cat(p));
    return out;
  };
  const auto xa = collect(a, c.points_a), xb = collect(b, c.points_b);
  const std::string dir = c.out_dir + "/" + c.name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StitchError(fmt::format("cannot create output folder '{}': {}", dir, ec.message()));
  const std::string sha_a = file_sha256(c.model_a), sha_b = file_sha256(c.model_b);
  const int64_t n = test.size(), half = n / 2;
  std::vector<nlohmann::json> rows;
  auto has = [&](const char* m) {
    return std::find(c.metrics.begin(), c.metrics.end(), m) != c.metrics.end();
  };
  for (size_t i = 0; i < xa.size(); ++i)
    for (size_t j = 0; j < xb.size(); ++j) {
      const at::Tensor& x = xa[i];
      const at::Tensor& y = xb[j];
      nlohmann::json r = {{"name", c.name},
                          {"method", "similarity"},
                          {"seed", 0},
                          {"front", c.model_a},
                          {"end", c.model_b},
                          {"front_point", c.points_a[i]},
                          {"end_point", c.points_b[j]},
                          {"samples", n}};
      if (has("linear_cka")) r["linear_cka"] = linear_cka(x, y);
      if (has("unbiased_cka")) r["unbiased_cka"] = unbiased_cka(x, y);
      if (has("minibatch_cka")) {
        MinibatchCka mb;  // streams over batches: memory O(batch^2)
        for (int64_t s = 0; s + c.batch <= n; s += c.batch)
          mb.add(x.narrow(0, s, c.batch), y.narrow(0, s, c.batch));
        if (mb.batches() == 0)
          throw StitchError(
              "similarity: samples must be at least one full batch for minibatch CKA");
        r["minibatch_cka"] = mb.value();
      }
      if (has("svcca")) r["svcca"] = svcca(x, y);
      if (has("pwcca")) {
        try {  // undefined for wide activations on few samples: recorded as skipped, not as a
               // number
          r["pwcca"] = pwcca(x, y);
        } catch (const StitchError& e) {
          r["pwcca_skipped"] = e.what();
        }
      }
      if (has("mutual_knn")) r["mutual_knn"] = mutual_knn(x, y, c.k);
      if (has("cknna")) r["cknna"] = cknna(x, y, c.k);
      if (has("procrustes")) {  // fit on the first half, report on the second
        const ProcrustesStats s =
            procrustes_stats(x.narrow(0, 0, half), y.narrow(0, 0, half),
                             x.narrow(0, half, n - half), y.narrow(0, half, n - half));
        r["procrustes_rel_error_test"] = s.rel_error_test;
        r["procrustes_ev_before"] = s.ev_before;
        r["procrustes_ev_after"] = s.ev_after;
        r["procrustes_distance"] = s.distance;
        if (s.sqrt_2d > 0) {
          r["procrustes_det"] = s.det;
          r["procrustes_r_minus_i_over_sqrt_2d"] = s.r_minus_i / s.sqrt_2d;
        }
      }
      r["git_commit"] = std::string(git_commit()) + (git_dirty() ? "+dirty" : "");
      r["torch_version"] = torch_version();
      r["device"] = dev.str();
      r["front_sha256"] = sha_a;
      r["end_sha256"] = sha_b;
      results_append(dir, r);
      rows.push_back(r);
    }
  return rows;
}

}  // namespace stitch
