#pragma once
// A job's per-test-image outcomes (docs/methods.md §1.8): the predicted classes from which every
// interval of its row and every paired comparison of `stitch report` are computed. Written as
// outcomes.h5 beside result.json (int32 datasets of the same names, h5py-readable).
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace stitch {

// int64 [N] class indices on the CPU; a group is undefined when its evaluation is off.
struct Outcomes {
  at::Tensor label, end_pred, front_pred, stitched_pred;  // the test split
  at::Tensor pgd_label, pgd_stitched_pred, pgd_end_pred;  // first robust_samples, under PGD
  // Markers of the true class (marker_*) and rolled to class label + 1 mod K (rolled_*);
  // rolled_class is that marker's class.
  at::Tensor rolled_class, marker_stitched_pred, marker_end_pred, rolled_stitched_pred,
      rolled_end_pred;
};

// The row's interval columns (<metric>_lo/_hi: Wilson for shares, paired bootstrap for
// differences) and marker metrics (marker_follow, marker_gap, their end-model twins, the
// accuracies under markers), from the outcomes; `row` already holds the scalar metrics.
void outcomes_add_to_row(const Outcomes& o, nlohmann::json& row);

// The named vectors of outcomes.h5 (the defined ones).
std::vector<std::pair<std::string, at::Tensor>> outcomes_sets(const Outcomes& o);

}  // namespace stitch
