#include "stitch/results/result_row.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace stitch {
using Json = nlohmann::json;

namespace {
constexpr Interval kN = Interval::kNone, kW = Interval::kWilson, kB = Interval::kBootstrap;

// Identity, metrics (docs/methods.md §1.7, §1.6b, §6), per-job facts, provenance; then the
// similarity pairs' columns (docs/methods.md §3-§4). Shares are over the n test images of the
// row (test_samples; robust_samples for PGD, marker_samples for markers).
const std::vector<ResultColumn> kColumns{
    {"name", "", kN, "experiment (sweep) name", ""},
    {"condition", "", kN, "replicate condition of the model pair (models[].condition)",
     "condition"},
    {"method", "", kN, "stitching method, or \"similarity\" for a similarity pair", "method"},
    {"seed", "", kN, "seed of the stitch's init and batch order", "seed"},
    {"front", "", kN, "front model file", ""},
    {"end", "", kN, "end model file", ""},
    {"front_point", "", kN, "cut of the front model", "front_point"},
    {"end_point", "", kN, "cut of the end model", "end_point"},
    {"front_depth", "", kN, "relative depth of front_point among the front model's points (0..1)",
     ""},
    {"end_depth", "", kN, "relative depth of end_point among the end model's points (0..1)", ""},
    {"stitch_kind", "", kN, "stitch layer: conv1x1, linear or token", ""},
    {"key", "", kN, "job key: hash of every setting that changes the result", ""},
    {"job_dir", "", kN, "the job's folder, relative to the sweep folder", ""},
    {"stitched_acc", "share", kW, "top-1 accuracy of the stitched model", "stitched%"},
    {"stitched_top5", "share", kW, "top-5 accuracy of the stitched model", ""},
    {"end_acc", "share", kW, "top-1 accuracy of the end model", "end%"},
    {"front_acc", "share", kW, "top-1 accuracy of the front model", "front%"},
    {"stitching_penalty", "points", kB, "end_acc - stitched_acc (paired over images)", ""},
    {"agreement", "share", kW, "share of images where stitched and end model predict alike",
     "agree%"},
    {"hard_agreement", "share", kW, "share where both are right or both wrong", ""},
    {"soft_agreement", "", kN, "mean p_h.p_g / max(|p_h|^2, |p_g|^2) over softmax outputs", "soft"},
    {"kappa", "", kN, "error consistency of stitched and end model", "kappa"},
    {"stitch_residual", "", kN, "relative distance to the end model's activation at end_point",
     "residual"},
    {"fula_test", "", kN, "mean relative distance at end_point and every later point", "fula_test"},
    {"bootstrap_resamples", "", kN, "resamples of the paired bootstrap intervals (seed 0)", ""},
    {"robust_samples", "", kN, "test images of the PGD evaluation", ""},
    {"robust_acc", "share", kW, "PGD-L-inf robust accuracy of the stitched model", "robust%"},
    {"end_robust_acc", "share", kW, "PGD-L-inf robust accuracy of the end model", ""},
    {"marker_samples", "", kN, "test images of the marker evaluation", ""},
    {"marker_agreement", "share", kW, "agreement(h, g) with markers of the true class", ""},
    {"rolled_marker_agreement", "share", kW, "agreement(h, g) with markers of class y+1 (rolled)",
     ""},
    {"excess_agreement", "points", kB,
     "marker_agreement - rolled_marker_agreement: against a marker-following end it is high when "
     "h ignores the markers; read marker_follow instead",
     "excess"},
    {"marker_acc", "share", kW, "stitched accuracy with markers of the true class", ""},
    {"rolled_marker_acc", "share", kW, "stitched accuracy with rolled markers", ""},
    {"marker_follow", "share", kW,
     "share of h's predictions equal to the marker's class under rolled markers: does the "
     "stitched model use the shortcut",
     "follow%"},
    {"marker_gap", "points", kB, "marker_acc - rolled_marker_acc (paired over images)", ""},
    {"end_marker_acc", "share", kW, "end accuracy with markers of the true class", ""},
    {"end_rolled_marker_acc", "share", kW, "end accuracy with rolled markers", ""},
    {"end_marker_follow", "share", kW, "marker_follow of the end model alone", "end_follow%"},
    {"end_marker_gap", "points", kB, "end_marker_acc - end_rolled_marker_acc", ""},
    {"rank", "", kN, "numerical rank of the stitch matrix", ""},
    {"condition_number", "", kN, "sigma_max / sigma_min of the stitch matrix", ""},
    {"orth_error", "", kN, "||W^T W - I||_F of the stitch matrix", ""},
    {"sv_ratio", "", kN, "sigma_min / sigma_max of the stitch matrix", ""},
    {"train_samples", "", kN, "training rows of the stitch", ""},
    {"test_samples", "", kN, "test images evaluated (n of the intervals)", ""},
    {"fit_seconds", "", kN, "seconds of the closed-form fit or init", ""},
    {"train_seconds", "", kN, "seconds of training (a lockstep group's time split evenly)", ""},
    {"train_rows", "", kN, "training activations: live or store", ""},
    {"test_rows", "", kN, "test activations: live or store", ""},
    {"lockstep_jobs", "", kN, "jobs trained together in this job's lockstep group", ""},
    {"git_commit", "", kN, "commit of the stitch build (+dirty)", ""},
    {"torch_version", "", kN, "LibTorch version", ""},
    {"stitch_version", "", kN, "stitch version", ""},
    {"device", "", kN, "device the job ran on", ""},
    {"tf32", "", kN, "whether CUDA could use TF32 (setting tf32 on a CUDA device)", ""},
    {"front_sha256", "", kN, "SHA-256 of the front model file", ""},
    {"end_sha256", "", kN, "SHA-256 of the end model file", ""},
    // similarity pairs
    {"split", "", kN, "data split of the similarity pair", ""},
    {"samples", "", kN, "images of the similarity pair", ""},
    {"rows", "", kN, "rows compared (images, or images x tokens)", ""},
    {"layout", "", kN, "how activations become rows", ""},
    {"front_features", "", kN, "features of the front side", ""},
    {"end_features", "", kN, "features of the end side", ""},
    {"linear_cka", "", kN, "linear CKA", ""},
    {"unbiased_cka", "", kN, "linear CKA with the unbiased HSIC", ""},
    {"minibatch_cka", "", kN, "minibatch CKA (unbiased HSIC averaged over batches)", ""},
    {"minibatch_batches", "", kN, "batches of minibatch CKA", ""},
    {"streamed", "", kN, "minibatch CKA computed streamed", ""},
    {"svcca", "", kN, "SVCCA", ""},
    {"svcca_skipped", "", kN, "why SVCCA was not computed", ""},
    {"pwcca", "", kN, "PWCCA", ""},
    {"pwcca_skipped", "", kN, "why PWCCA was not computed", ""},
    {"svcca_variance", "", kN, "SVCCA's kept variance", ""},
    {"svcca_dims", "", kN, "SVCCA's fixed dimensions (0 = by variance)", ""},
    {"svcca_dims_front", "", kN, "SVCCA directions kept, front", ""},
    {"svcca_dims_end", "", kN, "SVCCA directions kept, end", ""},
    {"mutual_knn", "", kN, "mutual k-NN alignment", ""},
    {"k", "", kN, "neighbours of mutual k-NN and CKNNA", ""},
    {"cknna", "", kN, "CKNNA", ""},
    {"cknna_features", "", kN, "CKNNA's feature setting", ""},
    {"batch", "", kN, "batch size of the similarity pass", ""},
    {"metrics", "", kN, "similarity metrics computed", ""},
    {"data", "", kN, "data identity (\"\" = Fashion-MNIST)", ""},
    {"procrustes_fit_rows", "", kN, "rows the Procrustes statistics were fitted on", ""},
    {"procrustes_underdetermined", "", kN, "fewer fit rows than features", ""},
    {"procrustes_rel_error_fit", "", kN, "relative error of the rotation on its fit rows", ""},
    {"procrustes_rel_error_test", "", kN, "relative error on the held-out rows", ""},
    {"procrustes_ev_before", "", kN, "explained variance before the rotation", ""},
    {"procrustes_ev_after", "", kN, "explained variance after the rotation", ""},
    {"procrustes_ev_affine", "", kN, "explained variance of the affine least-squares map", ""},
    {"procrustes_distance", "", kN, "Procrustes distance", ""},
    {"procrustes_det", "", kN, "det(R) of the rotation", ""},
    {"procrustes_r_minus_i", "", kN, "||R - I||_F", ""},
    {"procrustes_r_minus_i_over_sqrt_2d", "", kN, "||R - I||_F / sqrt(2d)", ""},
};

bool ends_with(const std::string& s, const char* tail) {
  const std::string t(tail);
  return s.size() > t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// The declared column of `key`, also for an interval bound (stitched_acc_lo -> stitched_acc).
const ResultColumn* column_of(const std::string& key) {
  if (const ResultColumn* c = result_column(key)) return c;
  for (const char* tail : {"_lo", "_hi"})
    if (ends_with(key, tail)) {
      const ResultColumn* c = result_column(key.substr(0, key.size() - 3));
      if (c && c->interval != Interval::kNone) return c;
    }
  return nullptr;
}

std::string cell_text(const ResultColumn& c, const Json& row) {
  const Json v = row.value(c.name, Json());
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (!v.is_number()) return v.dump();
  const double x = v.get<double>();
  if (std::string(c.unit).empty()) return fmt::format("{:.4f}", x);
  std::string s = fmt::format("{:.2f}", 100 * x);
  const std::string lo = std::string(c.name) + "_lo", hi = std::string(c.name) + "_hi";
  if (row.contains(lo) && row.contains(hi) && row[lo].is_number() && row[hi].is_number())
    s += fmt::format("±{:.2f}", 50 * (row[hi].get<double>() - row[lo].get<double>()));
  return s;
}
}  // namespace

const std::vector<ResultColumn>& result_columns() {
  return kColumns;
}

const ResultColumn* result_column(const std::string& name) {
  for (const auto& c : kColumns)
    if (name == c.name) return &c;
  return nullptr;
}

std::vector<std::string> result_undeclared(const Json& row) {
  std::vector<std::string> out;
  for (auto it = row.begin(); it != row.end(); ++it)
    if (!column_of(it.key())) out.push_back(it.key());
  return out;
}

std::vector<std::string> result_column_order(const std::vector<Json>& rows) {
  std::set<std::string> present, undeclared;
  for (const auto& r : rows)
    for (auto it = r.begin(); it != r.end(); ++it) {
      present.insert(it.key());
      if (!column_of(it.key())) undeclared.insert(it.key());
    }
  std::vector<std::string> out;
  for (const auto& c : kColumns)
    for (const std::string& k :
         {std::string(c.name), std::string(c.name) + "_lo", std::string(c.name) + "_hi"})
      if (present.count(k)) out.push_back(k);
  out.insert(out.end(), undeclared.begin(), undeclared.end());
  return out;
}

std::string result_table_text(const std::vector<Json>& rows) {
  std::vector<const ResultColumn*> cols;
  for (const auto& c : kColumns)
    if (*c.print &&
        std::any_of(rows.begin(), rows.end(), [&](const Json& r) { return r.contains(c.name); }))
      cols.push_back(&c);
  std::vector<std::vector<std::string>> cells(rows.size() + 1);
  for (const auto* c : cols) cells[0].push_back(c->print);
  for (size_t i = 0; i < rows.size(); ++i)
    for (const auto* c : cols) cells[i + 1].push_back(cell_text(*c, rows[i]));
  std::vector<size_t> width(cols.size(), 0);
  for (const auto& line : cells)
    for (size_t k = 0; k < line.size(); ++k)
      width[k] = std::max(width[k], line[k].size() - (line[k].find("±") != std::string::npos));
  std::string out;
  for (const auto& line : cells) {
    for (size_t k = 0; k < line.size(); ++k) {
      const bool text = cols[k] < result_column("stitched_acc");  // identity: left-aligned
      const size_t pad = width[k] - (line[k].size() - (line[k].find("±") != std::string::npos));
      out += (k ? " " : "") +
             (text ? line[k] + std::string(pad, ' ') : std::string(pad, ' ') + line[k]);
    }
    out += "\n";
  }
  return out;
}

Json result_schema() {
  Json out = Json::array();
  for (const auto& c : kColumns)
    out.push_back({{"name", c.name},
                   {"unit", c.unit},
                   {"interval", c.interval == Interval::kWilson      ? "wilson"
                                : c.interval == Interval::kBootstrap ? "bootstrap"
                                                                     : ""},
                   {"help", c.help}});
  return out;
}

}  // namespace stitch
