#include "stitch/similarity/similarity_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/cache/activation_cache.h"
#include "stitch/data/data_source.h"
#include "stitch/metrics/similarity.h"
#include "stitch/model/staged_model.h"
#include "stitch/results/results.h"
#include "stitch/similarity/activation_export.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/hash.h"
#include "stitch/util/provenance.h"
#include "stitch/util/version.h"

namespace stitch {

namespace {
// One side of a comparison: a TorchScript model run on the test images, or an activation file
// written by `stitch activations` (HDF5, recognised by its signature).
struct Side {
  std::string path, sha256, split = "test";
  std::optional<StagedModel> model;
  at::Tensor file_indices;  // activation file: the sample behind each of its rows
};

// `test` is the data the models run on (empty when both sides are activation files).
Side side_open(const std::string& path, const std::vector<std::string>& points,
               const SimilarityConfig& c, const Dataset& test, c10::Device dev) {
  Side s;
  s.path = path;
  if (activations_is_file(path)) {
    const ActivationFile f = activations_open(path);
    activations_require(f, path, points);
    s.sha256 = f.model_sha256.empty() ? file_sha256(path) : f.model_sha256;
    s.split = f.split;
    s.file_indices = f.indices;
    return s;
  }
  s.model = StagedModel::load(path, dev);
  s.model->bind_data(test.images.sizes().slice(1).vec(), c.data.mean, c.data.std);
  for (const auto& p : points) s.model->point(p);
  s.sha256 = file_sha256(path);
  return s;
}

// The sample (row of the split's data file) behind each of the first n rows of a side.
at::Tensor side_indices(const Side& s, const Dataset& test, int64_t n) {
  return (s.model ? test.index : s.file_indices).narrow(0, 0, n);
}

// Activations of samples [start, start + count) at each point, laid out as rows, on `dev`.
std::vector<at::Tensor> side_rows(Side& s, const std::vector<std::string>& points,
                                  const Dataset& test, int64_t start, int64_t count,
                                  const SimilarityConfig& c, c10::Device dev) {
  std::vector<at::Tensor> acts;
  if (s.model)
    acts = activations_collect(*s.model, points, test.images.narrow(0, start, count), c.batch);
  else
    for (const auto& p : points) acts.push_back(activations_read(s.path, p, count, start).to(dev));
  for (auto& a : acts) a = activation_rows(a, c.layout);
  return acts;
}

// Metrics accumulated batch by batch. When only these are asked for, the command never holds
// more than one batch of activations, so memory is bounded by the batch, not the sample count.
bool streamable(const std::vector<std::string>& metrics) {
  return std::all_of(metrics.begin(), metrics.end(),
                     [](const std::string& m) { return m == "minibatch_cka"; });
}

// Both sides must have the same rows (the same inputs); with one row per position or token
// that means the same number of positions per input.
void require_same_rows(const Representation& x, const Representation& y, int64_t inputs,
                       const SimilarityConfig& c, size_t i, size_t j) {
  if (x.n() == y.n()) return;
  throw StitchError(fmt::format(
      "layout {}: A at {} gives {} rows per input but B at {} gives {}; pair points of the same "
      "spatial size / token count, or use --layout pool or flatten",
      enum_name(c.layout), c.points_a[i], x.n() / inputs, c.points_b[j], y.n() / inputs));
}

// Minibatch CKA of the pairs `todo`, streamed: each whole batch of c.batch inputs is run (or
// read), turned into one Gram per point and added to every pair; a last partial batch is left
// out, as in the whole-data path. `shape[p]` receives {rows, A features, B features}.
std::vector<MinibatchCka> stream_minibatch_cka(Side& a, Side& b, const SimilarityConfig& c,
                                               const Dataset& test, int64_t n,
                                               const std::vector<std::pair<size_t, size_t>>& pairs,
                                               const std::vector<size_t>& todo, c10::Device dev,
                                               std::vector<std::array<int64_t, 3>>& shape) {
  std::vector<MinibatchCka> acc(pairs.size());
  shape.assign(pairs.size(), {0, 0, 0});
  for (int64_t s = 0; s + c.batch <= n; s += c.batch) {
    interrupt_throw_if_requested();
    const auto xa = side_rows(a, c.points_a, test, s, c.batch, c, dev);
    const auto xb = side_rows(b, c.points_b, test, s, c.batch, c, dev);
    std::vector<Representation> ra, rb;  // each point's batch Gram is made once, on first use
    for (size_t i = 0; i < xa.size(); ++i)
      ra.emplace_back(xa[i], SimilarityOptions{},
                      fmt::format("activations of A at {}", c.points_a[i]));
    for (size_t j = 0; j < xb.size(); ++j)
      rb.emplace_back(xb[j], SimilarityOptions{},
                      fmt::format("activations of B at {}", c.points_b[j]));
    for (size_t p : todo) {
      const auto [i, j] = pairs[p];
      require_same_rows(ra[i], rb[j], c.batch, c, i, j);
      acc[p].add(ra[i], rb[j]);
      shape[p] = {shape[p][0] + ra[i].n(), ra[i].features(), rb[j].features()};
    }
  }
  return acc;
}

// Every metric of `metrics` for one pair, written into row `r`.
void pair_metrics(const Representation& x, const Representation& y, int64_t n,
                  const std::vector<std::string>& metrics, nlohmann::json& r) {
  auto has = [&](const char* m) {
    return std::find(metrics.begin(), metrics.end(), m) != metrics.end();
  };
  r["rows"] = x.n();
  r["front_features"] = x.features();
  r["end_features"] = y.features();
  if (has("linear_cka")) r["linear_cka"] = linear_cka(x, y);
  if (has("unbiased_cka")) r["unbiased_cka"] = unbiased_cka(x, y);
  if (has("minibatch_cka")) {
    r["minibatch_cka"] = minibatch_cka(x, y);
    r["minibatch_batches"] = static_cast<int64_t>(x.batch_grams().size());
  }
  // CCA metrics are undefined for wide activations on few samples: recorded as skipped with the
  // reason, not as a number.
  auto cca_metric = [&](const char* m, double (*f)(const Representation&, const Representation&)) {
    if (!has(m)) return;
    try {
      r[m] = f(x, y);
    } catch (const StitchError& e) {
      r[std::string(m) + "_skipped"] = e.what();
    }
  };
  cca_metric("svcca", svcca);
  cca_metric("pwcca", pwcca);
  if (has("svcca")) {
    r["svcca_dims_front"] = x.svcca_basis().size(1);
    r["svcca_dims_end"] = y.svcca_basis().size(1);
  }
  if (has("mutual_knn")) r["mutual_knn"] = mutual_knn(x, y);
  if (has("cknna")) {
    r["cknna"] = cknna(x, y);
    r["cknna_features"] = x.options().cknna_features;
  }
  if (has("procrustes")) {  // fit on the first half of the inputs, report on the second
    const int64_t half = (n / 2) * (x.n() / n), rest = x.n() - half;
    const at::Tensor xd = x.x(), yd = y.x();
    const ProcrustesStats s = procrustes_stats(xd.narrow(0, 0, half), yd.narrow(0, 0, half),
                                               xd.narrow(0, half, rest), yd.narrow(0, half, rest));
    r["procrustes_fit_rows"] = half;
    // Fewer fit rows than features leave R undetermined on the null space (docs/methods.md §3.1).
    r["procrustes_underdetermined"] = half < std::max(x.features(), y.features());
    r["procrustes_rel_error_fit"] = s.rel_error_fit;
    r["procrustes_rel_error_test"] = s.rel_error_test;
    r["procrustes_ev_before"] = s.ev_before;
    r["procrustes_ev_after"] = s.ev_after;
    r["procrustes_ev_affine"] = s.ev_affine;
    r["procrustes_distance"] = s.distance;
    if (s.sqrt_2d > 0) {
      r["procrustes_det"] = s.det;
      r["procrustes_r_minus_i"] = s.r_minus_i;
      r["procrustes_r_minus_i_over_sqrt_2d"] = s.r_minus_i / s.sqrt_2d;
    }
  }
}

// The row's identity: a finished row with the same key is reused on a re-run.
nlohmann::json row_key(const nlohmann::json& r) {
  nlohmann::json k;
  for (const char* f :
       {"front_sha256", "end_sha256", "front_point", "end_point", "split", "samples", "layout", "k",
        "batch", "metrics", "svcca_variance", "svcca_dims", "cknna_features", "data"})
    k[f] = r.value(f, nlohmann::json());
  return k;
}
// One row per pair in the files: rows appended by a killed earlier run and again now, or written
// before a setting changed, are collapsed to the newest row of each key.
void results_write_unique(const std::string& dir) {
  results_rebuild(dir, [&] {  // read under the results lock: no appended row is lost
    std::map<std::string, size_t> newest;
    std::vector<nlohmann::json> unique;
    for (const auto& r : results_read(dir)) {
      const std::string k = row_key(r).dump();
      const auto it = newest.find(k);
      if (it != newest.end()) {
        unique[it->second] = r;
      } else {
        newest[k] = unique.size();
        unique.push_back(r);
      }
    }
    return unique;
  });
}
}  // namespace

at::Tensor activation_rows(const at::Tensor& act, SimilarityLayout layout) {
  if (act.dim() <= 2 || layout == SimilarityLayout::kFlatten) return act.flatten(1);
  if (layout == SimilarityLayout::kPool)
    return act.dim() == 3 ? act.mean(1) : act.flatten(2).mean(2);
  // positions: tokens [N, T, d] -> [N*T, d]; maps [N, C, H, W] -> [N*H*W, C]
  if (act.dim() == 3) return act.reshape({-1, act.size(2)});
  return act.flatten(2).transpose(1, 2).reshape({-1, act.size(1)});
}

namespace {
// One similarity table's inputs: both sides opened, the point pairs, the first n test images
// (empty when both sides are activation files) and the output folder.
struct SimilarityJob {
  Side a, b;
  Dataset test;
  int64_t n = 0;
  std::vector<std::pair<size_t, size_t>> pairs;
  std::string dir;
  c10::Device dev{"cpu"};
};

// Opens both sides and checks that they can be compared: same split, enough samples, the same
// images, one minibatch at least.
SimilarityJob similarity_open(const SimilarityConfig& c, c10::Device dev) {
  // Models run on the first n test images; activation files must hold at least n samples.
  Dataset test;
  if (!activations_is_file(c.model_a) || !activations_is_file(c.model_b))
    test = data_load(c.data, "test", c.samples);
  SimilarityJob j{side_open(c.model_a, c.points_a, c, test, dev),
                  side_open(c.model_b, c.points_b, c, test, dev),
                  test,
                  0,
                  {},
                  "",
                  dev};
  if (j.a.split != j.b.split)
    throw StitchError(fmt::format("A holds {} activations but B holds {}; compare the same split",
                                  j.a.split, j.b.split));
  for (size_t i = 0; i < c.points_a.size(); ++i)
    for (size_t k = 0; k < c.points_b.size(); ++k)
      if (c.pairs == SimilarityPairs::kGrid || i == k) j.pairs.emplace_back(i, k);
  j.dir = c.out_dir + "/" + c.name;
  std::error_code ec;
  std::filesystem::create_directories(j.dir, ec);
  if (ec)
    throw StitchError(fmt::format("cannot create output folder '{}': {}", j.dir, ec.message()));
  j.n = test.size() > 0 ? test.size() : c.samples;
  for (const Side* s : {&j.a, &j.b})
    if (!s->model && s->file_indices.size(0) < j.n)
      throw StitchError(fmt::format("'{}' holds {} samples, {} are needed; use --samples {}",
                                    s->path, s->file_indices.size(0), j.n,
                                    s->file_indices.size(0)));
  if (j.n < c.batch &&
      std::find(c.metrics.begin(), c.metrics.end(), "minibatch_cka") != c.metrics.end())
    throw StitchError(fmt::format(
        "minibatch CKA: {} samples are less than one batch of {}; use --batch {} or fewer, or "
        "leave minibatch_cka out of --metrics",
        j.n, c.batch, j.n));
  if (!side_indices(j.a, test, j.n).equal(side_indices(j.b, test, j.n)))
    throw StitchError(
        "A and B hold activations of different images; export both with the same --split and "
        "--samples (or compare with the models themselves)");
  return j;
}

// A row's settings and identity before its metrics: pair p of the job.
nlohmann::json row_base(const SimilarityConfig& c, const SimilarityJob& j, size_t p) {
  const auto [i, k] = j.pairs[p];
  return nlohmann::json{{"name", c.name},
                        {"method", "similarity"},
                        {"seed", 0},
                        {"front", c.model_a},
                        {"end", c.model_b},
                        {"front_point", c.points_a[i]},
                        {"end_point", c.points_b[k]},
                        {"split", j.a.split},
                        {"samples", j.n},
                        {"layout", enum_name(c.layout)},
                        {"k", c.k},
                        {"batch", c.batch},
                        {"svcca_variance", c.svcca_variance},
                        {"svcca_dims", c.svcca_dims},
                        {"cknna_features", c.cknna_features},
                        {"data", data_identity(c.data)},
                        {"metrics", fmt::format("{}", fmt::join(c.metrics, ","))},
                        {"front_sha256", j.a.sha256},
                        {"end_sha256", j.b.sha256}};
}

// Fills `rows` with the finished rows of earlier runs and returns the pairs still to compute.
std::vector<size_t> pairs_todo(const SimilarityConfig& c, const SimilarityJob& j,
                               std::vector<nlohmann::json>& rows) {
  std::map<std::string, nlohmann::json> done;
  for (const auto& r : results_read(j.dir)) done[row_key(r).dump()] = r;
  rows.assign(j.pairs.size(), nlohmann::json());
  std::vector<size_t> todo;
  for (size_t p = 0; p < j.pairs.size(); ++p) {
    auto it = done.find(row_key(row_base(c, j, p)).dump());
    if (it != done.end())
      rows[p] = it->second;
    else
      todo.push_back(p);
  }
  return todo;
}

// The rows of `todo` with minibatch CKA streamed batch by batch (streamable metrics only).
std::vector<nlohmann::json> rows_streamed(const SimilarityConfig& c, SimilarityJob& j,
                                          const std::vector<size_t>& todo) {
  std::vector<std::array<int64_t, 3>> shape;
  const auto acc = stream_minibatch_cka(j.a, j.b, c, j.test, j.n, j.pairs, todo, j.dev, shape);
  std::vector<nlohmann::json> out;
  for (size_t p : todo) {
    nlohmann::json r = row_base(c, j, p);
    r["rows"] = shape[p][0];
    r["front_features"] = shape[p][1];
    r["end_features"] = shape[p][2];
    r["streamed"] = true;
    r["minibatch_cka"] = acc[p].value();
    r["minibatch_batches"] = acc[p].batches();
    out.push_back(r);
  }
  return out;
}

// The rows of `todo` from the whole activations of every point, each row handed to `finish`
// as soon as it is computed. One Representation per point: its Grams, SVD and neighbour lists
// are computed once and shared by every pair it is in (made on first use, so unused points
// cost nothing). A minibatch-CKA batch is the rows of `batch` inputs (batch x positions for
// positions).
void rows_whole(const SimilarityConfig& c, SimilarityJob& j, const std::vector<size_t>& todo,
                const std::function<void(size_t, nlohmann::json&)>& finish) {
  const auto xa = side_rows(j.a, c.points_a, j.test, 0, j.n, c, j.dev);
  const auto xb = side_rows(j.b, c.points_b, j.test, 0, j.n, c, j.dev);
  auto rep = [&](const at::Tensor& x, const std::string& name) {
    SimilarityOptions o;
    o.k = c.k;
    o.minibatch = c.batch * (x.size(0) / j.n);
    o.svcca_variance = c.svcca_variance;
    o.svcca_dims = c.svcca_dims;
    o.cknna_features = c.cknna_features;
    return Representation(x, o, name);
  };
  std::vector<Representation> ra, rb;
  for (size_t i = 0; i < xa.size(); ++i)
    ra.push_back(rep(xa[i], fmt::format("activations of A at {}", c.points_a[i])));
  for (size_t k = 0; k < xb.size(); ++k)
    rb.push_back(rep(xb[k], fmt::format("activations of B at {}", c.points_b[k])));
  for (size_t p : todo) {
    interrupt_throw_if_requested();
    nlohmann::json r = row_base(c, j, p);
    r["streamed"] = false;
    const auto [i, k] = j.pairs[p];
    require_same_rows(ra[i], rb[k], j.n, c, i, k);
    pair_metrics(ra[i], rb[k], j.n, c.metrics, r);
    finish(p, r);
  }
}
}  // namespace

std::vector<nlohmann::json> similarity_run(const SimilarityConfig& c) {
  similarity_config_check(c);
  const c10::Device dev = device_parse(c.device);
  threads_set(static_cast<int>(c.threads));
  tf32_set(false);  // float32 on CUDA as on the CPU
  interrupt_install();
  SimilarityJob j = similarity_open(c, dev);
  std::vector<nlohmann::json> rows;
  const std::vector<size_t> todo = pairs_todo(c, j, rows);
  if (todo.size() < j.pairs.size())
    spdlog::info("similarity {}: {} of {} pairs already in {}/results.jsonl, reused", c.name,
                 j.pairs.size() - todo.size(), j.pairs.size(), j.dir);
  if (todo.empty()) {
    results_write_unique(j.dir);  // results.csv may lag results.jsonl after a kill
    return rows;
  }
  file_write_text(j.dir + "/config.resolved.yaml", YAML::Dump(similarity_config_dump(c)) + "\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](size_t p, nlohmann::json& r) {
    r.update(provenance(dev.str()));
    results_append(j.dir, r);
    rows[p] = r;
  };
  if (streamable(c.metrics)) {
    std::vector<nlohmann::json> done = rows_streamed(c, j, todo);
    for (size_t q = 0; q < todo.size(); ++q) finish(todo[q], done[q]);
  } else {
    rows_whole(c, j, todo, finish);
  }
  results_write_unique(j.dir);
  spdlog::info("similarity {}: {} pairs in {:.1f} s", c.name, todo.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return rows;
}

}  // namespace stitch
