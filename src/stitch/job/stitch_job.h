#pragma once
// One stitching job: fit or train a stitch T between a front model's point i and an end
// model's point j with one method and seed, then evaluate it on the test split. The frozen
// models' activations come from a RowSource (the activation store, or computed live); the end
// model is only run from point j on, on the stitched activations. Nothing here writes files.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/cache/activation_store.h"
#include "stitch/data/dataset.h"
#include "stitch/job/methods.h"
#include "stitch/job/outcomes.h"
#include "stitch/job/row_source.h"
#include "stitch/job/settings.h"
#include "stitch/metrics/classification.h"
#include "stitch/stitchers/stitch_layer.h"

namespace stitch {

class StagedModel;

inline constexpr int64_t kEvalBatch = 500;  // test images per evaluation batch

struct JobInputs {
  std::shared_ptr<RowSource> train;      // the fit split: "init" (closed form) or "train"
  std::shared_ptr<RowSource> test;       // the test split (evaluation), with both models' logits
  std::vector<std::string> downstream;   // end-model points after j, in forward order
  const Dataset* test_images = nullptr;  // for evaluations that run new inputs (PGD, markers)
  std::string end_key;  // the end model's SHA-256 (its PGD predictions are computed once)
};

// Test-set evaluation of a stitched model (docs/methods.md §1.7).
struct Evaluation {
  double stitched_acc = 0, stitched_top5 = 0, end_acc = 0, front_acc = 0, stitching_penalty = 0;
  double agreement = 0, hard_agreement = 0, soft_agreement = 0, kappa = 0;
  double stitch_residual = 0, fula_test = 0;  // relative distance at j; mean over j and after
  std::vector<double> layer_terms, layer_r2;  // at j and each downstream point
  MatrixStats matrix;
  Outcomes outcomes;  // per test image; PGD (eval.robust_samples > 0) and markers (eval.markers)
  // Flat scalars (no per-layer vectors), with intervals and marker metrics from the outcomes.
  nlohmann::json to_json() const;
};

struct JobOutcome {
  Evaluation eval;
  nlohmann::json loss_curve = nlohmann::json::array();  // [{epoch, loss}] for trained methods
  double fit_seconds = 0, train_seconds = 0;
};

// How many distinct end-model PGD evaluations this process has computed (each is reused by every
// job with the same end model, test images and attack).
int64_t end_pgd_evaluations();

// One stitch of a group trained together (stitch_jobs_run).
struct StitchTask {
  const JobSpec* job;  // its method and seed (the models and points are the caller's)
  const Method* m;     // method_get(job->method)
  StitchLayer* T;
  std::string label;  // prefixes progress lines
};

// Fits or trains the stitches of `tasks` under the shared settings `c` and evaluates each. More
// than one task: all trained, one seed, bn_mode eval; they are trained in lockstep (one fetch of
// the frozen rows and one stacked pass through the end model per step), which gives each the same
// result as training it alone, up to float summation order. Their train_seconds are the group's
// time split evenly.
std::vector<JobOutcome> stitch_jobs_run(const std::vector<StitchTask>& tasks, StagedModel& front,
                                        StagedModel& end, const JobInputs& in, const Settings& c);

}  // namespace stitch
