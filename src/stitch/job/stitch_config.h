#pragma once
// Settings of one stitching experiment (`stitch run experiment.yaml`): a model pair, a point pair,
// a list of methods and seeds. Every method x seed is one job with its own output folder.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/config/config_table.h"
#include "stitch/data/data_source.h"

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

struct StitchConfig {
  std::string name = "stitch";  // experiment name: outputs go to <out_dir>/<name>/
  std::string out_dir = "runs";
  std::string front, end;  // TorchScript files
  std::string front_point, end_point;
  std::vector<std::string> methods{"dm_closed", "fula"};
  std::vector<int64_t> seeds{0};
  DataConfig data;  // the data set (Fashion-MNIST by default) and its sample counts:
  int64_t train_samples = 10000, test_samples = 10000, init_samples = 500;
  // trained methods (docs/methods.md §1.5 defaults)
  int64_t epochs = 5, batch_size = 128;
  double lr = 1e-3, weight_decay = 1e-4;
  std::string schedule = "step";  // step (x0.1 at 1/3, 2/3) | cosine | constant, per iteration
  StitchInit init = StitchInit::kLstsq;
  double ridge = 0.0;  // ridge for lstsq (0 = pinv)
  BnMode bn_mode = BnMode::kEval;
  double iso_lambda = 0.0;  // AdamO-style isometry step weight (0 = off)
  bool amp = false;         // autocast the stitched forward + loss to bfloat16
  // shortcut testbed: markers planted in the stitch-training (and init) images
  std::string train_markers = "none";    // none | pixel | pixel_loc | rand
  double train_marker_prob = 1.0;        // share of training images that carry a marker
  std::string marker_style = "pattern";  // pattern | level (grey images: solid class grey level)
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
  std::string markers =
      "none";  // excess agreement with shortcut markers: none|pixel|pixel_loc|rand
  std::string device = "auto";
  int64_t threads = 0;
  bool tf32 = false;  // let CUDA matmuls and convolutions use TF32 (off: float32 as on the CPU)
};

// The settings every job shares (name, out_dir, methods, seeds and the data, train, stitch,
// fula, procrustes, eval sections, device, threads): the part a sweep shares across its jobs.
const ConfigTable<StitchConfig>& stitch_settings_table();
// stitch_settings_table() plus front, end, front_point and end_point.
const ConfigTable<StitchConfig>& stitch_config_table();

StitchConfig stitch_config_parse(const YAML::Node& node);  // validates; unknown keys suggested
YAML::Node stitch_config_dump(const StitchConfig& c);
void stitch_settings_check(const StitchConfig& c);  // methods known, lists not empty, data sane

}  // namespace stitch
