#include "stitch/job/outcomes.h"

#include <ATen/ATen.h>

#include <cmath>

#include "stitch/metrics/intervals.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
constexpr int64_t kBootstrapResamples = 2000;  // docs/methods.md §1.7b: B >= 2000, seed fixed
constexpr uint64_t kBootstrapSeed = 0;

double mean_of(const at::Tensor& hits) {
  return hits.numel() ? hits.to(at::kDouble).mean().item<double>() : 0.0;
}

// A share `name` (already in the row, or `value`) with its Wilson interval over n items.
void share_put(Json& row, const std::string& name, double value, int64_t n) {
  if (!row.contains(name)) row[name] = value;
  const double v = row[name].get<double>();
  const Interval95 ci =
      wilson_interval(std::round(v * static_cast<double>(n)), static_cast<double>(n));
  row[name + "_lo"] = ci.lo;
  row[name + "_hi"] = ci.hi;
}

// A difference of two shares over the same items (a - b, per item 0/1) with its paired
// bootstrap interval; the value in the row, when there, is kept (it is computed from logits).
void diff_put(Json& row, const std::string& name, const at::Tensor& a, const at::Tensor& b) {
  if (!row.contains(name)) row[name] = mean_of(a) - mean_of(b);
  const Interval95 ci = paired_bootstrap_interval(a, b, kBootstrapResamples, kBootstrapSeed);
  row[name + "_lo"] = ci.lo;
  row[name + "_hi"] = ci.hi;
}
}  // namespace

void outcomes_add_to_row(const Outcomes& o, Json& row) {
  const int64_t n = o.label.numel();
  const at::Tensor h_ok = o.stitched_pred.eq(o.label), g_ok = o.end_pred.eq(o.label);
  for (const char* m :
       {"stitched_acc", "stitched_top5", "end_acc", "front_acc", "agreement", "hard_agreement"})
    if (row.contains(m)) share_put(row, m, 0, n);
  diff_put(row, "stitching_penalty", g_ok, h_ok);
  row["bootstrap_resamples"] = kBootstrapResamples;
  if (o.pgd_label.defined()) {
    const int64_t np = o.pgd_label.numel();
    row["robust_samples"] = np;
    share_put(row, "robust_acc", mean_of(o.pgd_stitched_pred.eq(o.pgd_label)), np);
    share_put(row, "end_robust_acc", mean_of(o.pgd_end_pred.eq(o.pgd_label)), np);
  }
  if (o.rolled_class.defined()) {
    const int64_t nm = o.rolled_class.numel();
    const at::Tensor& y = o.label.narrow(0, 0, nm);
    row["marker_samples"] = nm;
    const at::Tensor agree = o.marker_stitched_pred.eq(o.marker_end_pred),
                     agree_rolled = o.rolled_stitched_pred.eq(o.rolled_end_pred);
    share_put(row, "marker_agreement", mean_of(agree), nm);
    share_put(row, "rolled_marker_agreement", mean_of(agree_rolled), nm);
    diff_put(row, "excess_agreement", agree, agree_rolled);
    for (const char* who : {"", "end_"}) {
      const std::string w(who);
      const at::Tensor& marked = w.empty() ? o.marker_stitched_pred : o.marker_end_pred;
      const at::Tensor& rolled = w.empty() ? o.rolled_stitched_pred : o.rolled_end_pred;
      const at::Tensor acc = marked.eq(y), acc_rolled = rolled.eq(y);
      share_put(row, w + "marker_acc", mean_of(acc), nm);
      share_put(row, w + "rolled_marker_acc", mean_of(acc_rolled), nm);
      share_put(row, w + "marker_follow", mean_of(rolled.eq(o.rolled_class)), nm);
      diff_put(row, w + "marker_gap", acc, acc_rolled);
    }
  }
}

std::vector<std::pair<std::string, at::Tensor>> outcomes_sets(const Outcomes& o) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, t] : std::vector<std::pair<const char*, const at::Tensor*>>{
           {"label", &o.label},
           {"end_pred", &o.end_pred},
           {"front_pred", &o.front_pred},
           {"stitched_pred", &o.stitched_pred},
           {"pgd_label", &o.pgd_label},
           {"pgd_stitched_pred", &o.pgd_stitched_pred},
           {"pgd_end_pred", &o.pgd_end_pred},
           {"rolled_class", &o.rolled_class},
           {"marker_stitched_pred", &o.marker_stitched_pred},
           {"marker_end_pred", &o.marker_end_pred},
           {"rolled_stitched_pred", &o.rolled_stitched_pred},
           {"rolled_end_pred", &o.rolled_end_pred}})
    if (t->defined()) out.emplace_back(name, *t);
  return out;
}

}  // namespace stitch
