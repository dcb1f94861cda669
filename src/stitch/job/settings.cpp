#include "stitch/job/settings.h"

#include <fmt/format.h>

#include "stitch/job/methods.h"
#include "stitch/util/error.h"

namespace stitch {

const std::vector<std::string>& EnumNames<StitchInit>::names() {
  static const std::vector<std::string> n{"rand", "eye", "lstsq", "procrustes"};
  return n;
}
const std::vector<std::string>& EnumNames<BnMode>::names() {
  static const std::vector<std::string> n{"eval", "train"};
  return n;
}

namespace {
// Names, the jobs a sweep expands into, and the data of every job.
void rows_jobs_data(ConfigTable<Settings>& t) {
  using C = Settings;
  t.add("name", &C::name, "experiment name: outputs go to <out_dir>/<name>/")
      .flag("--name")
      .affects(Affects::kNothing);
  t.add("out_dir", &C::out_dir, "output folder").flag("--out-dir").affects(Affects::kNothing);
  t.add("methods", &C::methods, "stitching methods (docs/methods.md §1.2)")
      .flag("--methods")
      .affects(Affects::kIdentity);
  t.add("seeds", &C::seeds, "one job per method x seed")
      .flag("--seeds")
      .affects(Affects::kIdentity);
  t.include(data_config_table(), &C::data, "data.");
  t.add("data.train_samples", &C::train_samples, "first N training images for stitch training")
      .range(1, 1e9)
      .affects(Affects::kEveryJob);
  t.add("data.test_samples", &C::test_samples, "first N test images for evaluation")
      .range(1, 1e9)
      .affects(Affects::kEveryJob);
  t.add("data.init_samples", &C::init_samples,
        "first N training images for closed-form fits and lstsq init")
      .range(1, 1e9)
      .affects(Affects::kFitRows);
}

// The optimisation of trained methods and the fits of closed-form ones.
void rows_training(ConfigTable<Settings>& t) {
  using C = Settings;
  t.add("train.epochs", &C::epochs, "epochs of trained methods")
      .range(1, 10000)
      .flag("--epochs")
      .affects(Affects::kTrained);
  t.add("train.batch_size", &C::batch_size, "batch size")
      .range(1, 100000)
      .affects(Affects::kTrained);
  t.add("train.lr", &C::lr, "Adam learning rate").range(1e-12, 10).affects(Affects::kTrained);
  t.add("train.weight_decay", &C::weight_decay, "Adam weight decay")
      .range(0, 1)
      .affects(Affects::kTrained);
  t.add("train.schedule", &C::schedule, "learning-rate schedule, per iteration")
      .affects(Affects::kTrained);
  t.add("train.init", &C::init, "stitch-layer init for trained methods").affects(Affects::kTrained);
  t.add("train.ridge", &C::ridge, "ridge of the least-squares fit (0 = pinv)")
      .range(0, 1e12)
      .affects(Affects::kLstsq);
  t.add("train.bn_mode", &C::bn_mode, "frozen networks' BatchNorm mode while training")
      .affects(Affects::kTrained);
  t.add("train.iso_lambda", &C::iso_lambda, "isometry-step weight (0 = off)")
      .range(0, 1e6)
      .affects(Affects::kTrained);
  t.add("train.amp", &C::amp,
        "mixed precision: autocast the stitched forward and the loss to bfloat16 (no loss "
        "scaling needed; for GPUs with bfloat16, Ampere or newer)")
      .affects(Affects::kTrained);
}

// The shortcut testbed's markers, the stitch layer and the method-specific losses and fits.
void rows_markers_layer(ConfigTable<Settings>& t) {
  using C = Settings;
  t.add("train.markers", &C::train_markers,
        "shortcut testbed: plant class markers in the stitch-training images (rand: random "
        "patterns, the control)")
      .affects(Affects::kEveryJob);
  t.add("train.marker_prob", &C::train_marker_prob,
        "share of training images that carry their class marker")
      .range(0, 1)
      .affects(Affects::kEveryJob);
  t.add("marker_style", &C::marker_style,
        "markers of train.markers and eval.markers on grey images: the class's binary pattern, "
        "or a solid square at the class's grey level (the analogue of class colours)")
      .affects(Affects::kEveryJob);
  t.add("stitch.bn_before", &C::bn_before, "BatchNorm before the stitch layer")
      .affects(Affects::kEveryJob);
  t.add("stitch.bn_after", &C::bn_after, "BatchNorm after the stitch layer")
      .affects(Affects::kEveryJob);
  t.add("stitch.rank", &C::rank, "low-rank stitch (0 = full rank)")
      .range(0, 1 << 20)
      .affects(Affects::kEveryJob);
  t.add("fula.points", &C::fula_points,
        "end-model points of the FuLA terms (default: "
        "its recommended points after the stitch)")
      .affects(Affects::kFula);
  t.add("fula.weights", &C::fula_weights,
        "per-term weights incl. the stitch point (default: "
        "uniform)")
      .affects(Affects::kFula);
  t.add("fula.cutoff", &C::fula_cutoff, "keep terms with l - j <= cutoff (-1 = all)")
      .range(-1, 10000)
      .affects(Affects::kFula);
  t.add("fula.soft", &C::fula_soft, "add the SLM KL term to the mean").affects(Affects::kFula);
  t.add("procrustes.center", &C::procrustes_center, "centre both sides")
      .affects(Affects::kProcrustes);
  t.add("procrustes.scale", &C::procrustes_scale, "fit a global scale")
      .affects(Affects::kProcrustes);
  t.add("procrustes.kabsch", &C::procrustes_kabsch, "proper rotations only (det = +1)")
      .affects(Affects::kProcrustes);
}

// Evaluations beyond clean accuracy, and where a job runs.
void rows_evaluation(ConfigTable<Settings>& t) {
  using C = Settings;
  t.add("eval.robust_samples", &C::robust_samples,
        "PGD-L-inf robust accuracy on the first N test images (0 = off)")
      .range(0, 1e9)
      .affects(Affects::kEveryJob);
  t.add("eval.robust_steps", &C::robust_steps, "PGD steps")
      .range(1, 10000)
      .affects(Affects::kEveryJob);
  t.add("eval.robust_epsilon", &C::robust_epsilon, "PGD radius (pixel scale 0..1)")
      .range(0, 1)
      .affects(Affects::kEveryJob);
  t.add("eval.robust_alpha", &C::robust_alpha, "PGD step size")
      .range(1e-9, 1)
      .affects(Affects::kEveryJob);
  t.add("eval.markers", &C::markers, "excess agreement with shortcut markers")
      .affects(Affects::kEveryJob);
  add_device_threads(t);
  t.add("tf32", &C::tf32,
        "CUDA: let matrix products and convolutions use TF32 (10-bit mantissa; faster on "
        "Ampere or newer, results differ from the CPU's by ~1e-3). Off: float32 everywhere, "
        "and the optimised segments pass their float32 check")
      .affects(Affects::kEveryJob);
}

}  // namespace

const ConfigTable<Settings>& settings_table() {
  static const ConfigTable<Settings> t = [] {
    ConfigTable<Settings> t;
    rows_jobs_data(t);
    rows_training(t);
    rows_markers_layer(t);
    rows_evaluation(t);
    return t;
  }();
  return t;
}

void settings_check(const Settings& c) {
  if (c.methods.empty()) throw StitchError("config key 'methods' is empty");
  for (const auto& m : c.methods) method_get(m);
  if (c.seeds.empty()) throw StitchError("config key 'seeds' is empty");
  data_config_check(c.data);
}

YAML::Node job_config_dump(const JobSpec& job, const Settings& c) {
  Settings one = c;
  one.methods = {job.method};
  one.seeds = {job.seed};
  YAML::Node n = settings_table().dump(one);
  n["front"] = job.front_model;
  n["end"] = job.end_model;
  n["front_point"] = job.front_point;
  n["end_point"] = job.end_point;
  return n;
}

}  // namespace stitch
