#pragma once
// Settings of one zoo-model training run (`stitch train-model`), filled from YAML + overrides.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/attack/pgd.h"
#include "stitch/config/config_table.h"
#include "stitch/data/data_source.h"
#include "stitch/data/markers.h"
#include "stitch/objectives/schedule.h"

namespace stitch {

// recipe: standard | adversarial | shortcut
enum class Recipe { kStandard, kAdversarial, kShortcut };
template <>
struct EnumNames<Recipe> {
  static const std::vector<std::string>& names();
};

struct TrainConfig {
  std::string arch = "cnn";  // mlp | cnn | resnet | vit (resolved via arch_dir)
  std::string arch_dir;      // folder of exported architectures ("" = models/arch)
  std::string model;         // explicit untrained model file (overrides arch)
  Recipe recipe = Recipe::kStandard;
  int64_t seed = 0;
  int64_t epochs = 5;
  int64_t batch_size = 128;
  std::string optimizer = "sgd";  // sgd (Nesterov momentum) | adam
  double lr = 0.05, momentum = 0.9, weight_decay = 5e-4;
  Schedule schedule = Schedule::kCosine;  // per iteration
  int64_t train_samples = 0;              // first n training images (0 = all 60k)
  int64_t train_per_class = 0;            // or n per class (0 = off)
  int64_t test_samples = 0;               // first n test images (0 = all 10k)
  AugmentOptions augment;
  DataConfig data;
  std::string device = "auto";
  int64_t threads = 0;  // 0 = all cores
  std::string out;      // output .pt ("" = models/zoo/<arch>_<recipe>_s<seed>.pt)
  // adversarial recipe (PGD-L-inf, half of each batch adversarial, model in eval() while attacking)
  PgdOptions pgd{0.1, 0.01, 10, true, 0};
  double adv_fraction = 0.5;
  // robust evaluation (all recipes; 0 samples = skip)
  int64_t robust_eval_samples = 1000, robust_eval_steps = 20;
  // shortcut recipe
  MarkerMode marker_mode = MarkerMode::kPixel;
  double marker_prob = 0.8;  // fraction of training images that carry their class marker

  std::string out_path() const;
};

const ConfigTable<TrainConfig>& train_config_table();
// Parses a YAML map (unknown keys rejected with a suggestion, ranges checked).
TrainConfig train_config_parse(const YAML::Node& node);
// The resolved config as YAML (every field, defaults included).
YAML::Node train_config_dump(const TrainConfig& c);

}  // namespace stitch
