#include "stitch/train/train_config.h"

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch {

const std::vector<std::string>& EnumNames<Recipe>::names() {
  static const std::vector<std::string> n{"standard", "adversarial", "shortcut"};
  return n;
}

std::string TrainConfig::out_path() const {
  return out.empty() ? fmt::format("models/zoo/{}_{}_s{}.pt", arch, enum_name(recipe), seed) : out;
}

namespace {
// The model, the optimisation, the data and where the trained model goes.
void rows_training(ConfigTable<TrainConfig>& t) {
  using C = TrainConfig;
  t.add("arch", &C::arch, "exported architecture to train")
      .choices({"mlp", "cnn", "resnet", "vit"})
      .flag("--arch");
  t.add("arch_dir", &C::arch_dir, "folder of exported architectures (\"\" = models/arch)");
  t.add("model", &C::model, "untrained TorchScript file to train instead of arch").flag("--model");
  t.add("recipe", &C::recipe, "training recipe").flag("--recipe");
  t.add("seed", &C::seed, "seed of initialisation, shuffling and attacks")
      .range(0, 1e9)
      .flag("--seed");
  t.add("epochs", &C::epochs, "training epochs").range(1, 10000).flag("--epochs");
  t.add("batch_size", &C::batch_size, "batch size").range(1, 1e6);
  t.add("optimizer", &C::optimizer, "SGD with Nesterov momentum, or Adam").choices({"sgd", "adam"});
  t.add("lr", &C::lr, "learning rate").range(1e-12, 10.0);
  t.add("momentum", &C::momentum, "SGD momentum").range(0.0, 0.999999);
  t.add("weight_decay", &C::weight_decay, "weight decay").range(0.0, 1.0);
  t.add("schedule", &C::schedule, "learning-rate schedule, per iteration");
  t.add("train_samples", &C::train_samples, "first N training images (0 = all)")
      .range(0, 1e9)
      .flag("--train-samples");
  t.add("train_per_class", &C::train_per_class, "or N per class (0 = off)").range(0, 1e9);
  t.add("test_samples", &C::test_samples, "first N test images (0 = all)").range(0, 1e9);
  t.add(
       "augment.crop_padding", [](C & c) -> auto& { return c.augment.crop_padding; },
       "random crop after zero padding by this many pixels (0 = off)")
      .range(0, 64);
  t.add(
      "augment.hflip", [](C & c) -> auto& { return c.augment.hflip; }, "random horizontal flips");
  t.include(data_config_table(), &C::data, "data.");
  add_device_threads(t);
  t.add("out", &C::out, "output .pt (\"\" = models/zoo/<arch>_<recipe>_s<seed>.pt)").flag("--out");
}

// The adversarial and shortcut recipes' settings.
void rows_recipes(ConfigTable<TrainConfig>& t) {
  using C = TrainConfig;
  t.add(
       "adversarial.epsilon", [](C & c) -> auto& { return c.pgd.epsilon; },
       "PGD-L-inf radius (pixel scale 0..1)")
      .range(0.0, 1.0);
  t.add(
       "adversarial.alpha", [](C & c) -> auto& { return c.pgd.alpha; }, "PGD step size")
      .range(1e-9, 1.0);
  t.add(
       "adversarial.steps", [](C & c) -> auto& { return c.pgd.steps; }, "PGD steps in training")
      .range(0, 1000);
  t.add(
      "adversarial.random_start", [](C & c) -> auto& { return c.pgd.random_start; },
      "PGD starts at a random point of the ball");
  t.add("adversarial.fraction", &C::adv_fraction, "adversarial share of each batch")
      .range(0.0, 1.0);
  t.add("adversarial.eval_samples", &C::robust_eval_samples,
        "robust accuracy on the first N test images (0 = skip)")
      .range(0, 1e9);
  t.add("adversarial.eval_steps", &C::robust_eval_steps, "PGD steps of that evaluation")
      .range(1, 10000);
  t.add("shortcut.mode", &C::marker_mode, "marker kind");
  t.add("shortcut.prob", &C::marker_prob, "share of training images carrying their marker")
      .range(0.0, 1.0);
}
}  // namespace

const ConfigTable<TrainConfig>& train_config_table() {
  static const ConfigTable<TrainConfig> t = [] {
    ConfigTable<TrainConfig> t;
    rows_training(t);
    rows_recipes(t);
    return t;
  }();
  return t;
}

TrainConfig train_config_parse(const YAML::Node& node) {
  TrainConfig c;
  train_config_table().parse(node, c);
  if (c.recipe == Recipe::kShortcut && c.marker_mode == MarkerMode::kNone)
    throw StitchError(
        "shortcut.mode: none plants no markers; use pixel, pixel_loc or rand (or recipe: "
        "standard)");
  data_config_check(c.data);
  return c;
}

YAML::Node train_config_dump(const TrainConfig& c) {
  YAML::Node n = train_config_table().dump(c);
  n["out"] = c.out_path();
  return n;
}

}  // namespace stitch
