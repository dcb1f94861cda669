#pragma once
// Trains the parameters of an exported architecture with one of three recipes (standard,
// adversarial, shortcut) and saves the trained TorchScript module with its metadata.
#include <string>
#include <vector>

#include "stitch/train/train_config.h"

namespace stitch {

struct TrainResult {
  std::string path;
  double clean_accuracy = -1, robust_accuracy = -1, marker_accuracy = -1,
         rolled_marker_accuracy = -1;
  double train_seconds = 0, images_per_second = 0, final_loss = 0;
  int64_t train_images = 0, test_images = 0;
};

// Runs one training job end to end. Ctrl-C stops between batches and writes nothing.
TrainResult train_model(const TrainConfig& c);

// Trains every model listed in a zoo YAML ({defaults: {...}, models: [{arch, recipe, seeds,
// ...}]}), skipping models whose output file exists unless `force`. `overrides` (a settings
// map: --config, flags, --set) are merged into every job. Returns one result per model (skipped
// ones read back from the file).
std::vector<TrainResult> train_zoo(const std::string& zoo_yaml, const YAML::Node& overrides,
                                   bool force = false);

}  // namespace stitch
