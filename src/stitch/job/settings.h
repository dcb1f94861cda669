#pragma once
// The settings a sweep's jobs share (everything of a `stitch run` / `stitch sweep` config but the
// models and their points): methods, seeds, data, training, stitch layer, FuLA, evaluations. One
// job is a JobSpec (which models, where cut, which method and seed) run under these Settings.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/config/config_table.h"
#include "stitch/data/data_source.h"
#include "stitch/data/marker_mode.h"
#include "stitch/objectives/schedule.h"

namespace stitch {

// train.init: rand | eye | lstsq | procrustes
enum class StitchInit { kRand, kEye, kLstsq, kProcrustes };
// train.bn_mode: frozen nets in eval() or in train() (the reference code's behaviour)
enum class BnMode { kEval, kTrain };
template <>
struct EnumNames<StitchInit> {
  static const std::vector<std::string>& names();
};
template <>
struct EnumNames<BnMode> {
  static const std::vector<std::string>& names();
};

struct Settings {
  std::string name = "stitch";  // experiment name: outputs go to <out_dir>/<name>/
  std::string out_dir = "runs";
  std::vector<std::string> methods{"dm_closed", "fula"};
  std::vector<int64_t> seeds{0};
  DataConfig data;  // the data set (Fashion-MNIST by default) and its sample counts:
  int64_t train_samples = 10000, test_samples = 10000, init_samples = 500;
  // trained methods (docs/methods.md §1.5 defaults)
  int64_t epochs = 5, batch_size = 128;
  double lr = 1e-3, weight_decay = 1e-4;
  Schedule schedule = Schedule::kStep;  // per iteration: x0.1 at 1/3 and 2/3
  StitchInit init = StitchInit::kLstsq;
  double ridge = 0.0;  // ridge for lstsq (0 = pinv)
  BnMode bn_mode = BnMode::kEval;
  double iso_lambda = 0.0;  // AdamO-style isometry step weight (0 = off)
  bool amp = false;         // autocast the stitched forward + loss to bfloat16
  // shortcut testbed: markers planted in the stitch-training (and init) images
  MarkerMode train_markers = MarkerMode::kNone;
  double train_marker_prob = 1.0;                    // share of training images that carry a marker
  MarkerStyle marker_style = MarkerStyle::kPattern;  // level: solid class grey level (grey)
  // stitch layer
  bool bn_before = false, bn_after = false;
  int64_t rank = 0;
  // FuLA
  std::vector<std::string> fula_points;  // end-model layers (default: its recommended points)
  std::vector<double> fula_weights;      // per layer incl. the stitch point (default uniform)
  int64_t fula_cutoff = -1;              // keep layers with l - j <= cutoff (-1 = all)
  bool fula_soft = false;                // add the SLM KL term to the mean
  // Procrustes
  bool procrustes_center = true, procrustes_scale = false, procrustes_kabsch = false;
  // optional evaluations on the test split
  int64_t robust_samples = 0;  // PGD-L-inf robust accuracy of the stitched model (0 = off)
  int64_t robust_steps = 20;
  double robust_epsilon = 0.1, robust_alpha = 0.01;
  MarkerMode markers = MarkerMode::kNone;  // excess agreement with shortcut markers
  std::string device = "auto";
  int64_t threads = 0;
  bool tf32 = false;  // let CUDA matmuls and convolutions use TF32 (off: float32 as on the CPU)
};

// One job: the two models (TorchScript files), where each is cut, the method and the seed.
struct JobSpec {
  std::string front_model, end_model;
  std::string front_point, end_point;
  std::string method;
  int64_t seed = 0;
};

// The rows of Settings (name, out_dir, methods, seeds and the data, train, stitch, fula,
// procrustes, eval sections, device, threads), each with what it affects (a job's key).
const ConfigTable<Settings>& settings_table();
void settings_check(const Settings& c);  // methods known, lists not empty, data sane

// The `stitch run` config that reproduces one job (its config.resolved.yaml): the settings, its
// models and points, and methods/seeds lists of one.
YAML::Node job_config_dump(const JobSpec& job, const Settings& c);

}  // namespace stitch
