#include "stitch/train/train_config.h"

#include <fmt/format.h>

#include "stitch/config/yaml_reader.h"

namespace stitch {

std::string TrainConfig::out_path() const {
  return out.empty() ? fmt::format("models/zoo/{}_{}_s{}.pt", arch, recipe, seed) : out;
}

TrainConfig train_config_parse(const YAML::Node& node) {
  TrainConfig c;
  YamlReader r(node);
  c.arch = r.str("arch", c.arch, {"mlp", "cnn", "resnet", "vit"});
  c.arch_dir = r.str("arch_dir", c.arch_dir);
  c.model = r.str("model", c.model);
  c.recipe = r.str("recipe", c.recipe, {"standard", "adversarial", "shortcut"});
  c.seed = r.integer("seed", c.seed, 0, 1'000'000'000);
  c.epochs = r.integer("epochs", c.epochs, 1, 10'000);
  c.batch_size = r.integer("batch_size", c.batch_size, 1, 1'000'000);
  c.optimizer = r.str("optimizer", c.optimizer, {"sgd", "adam"});
  c.lr = r.real("lr", c.lr, 1e-12, 10.0);
  c.momentum = r.real("momentum", c.momentum, 0.0, 0.999999);
  c.weight_decay = r.real("weight_decay", c.weight_decay, 0.0, 1.0);
  c.schedule = r.str("schedule", c.schedule, {"cosine", "step", "constant"});
  c.train_samples = r.integer("train_samples", c.train_samples, 0, 60000);
  c.train_per_class = r.integer("train_per_class", c.train_per_class, 0, 6000);
  c.test_samples = r.integer("test_samples", c.test_samples, 0, 10000);
  YamlReader aug = r.child("augment");
  c.augment.crop_padding = aug.integer("crop_padding", c.augment.crop_padding, 0, 14);
  c.augment.hflip = aug.boolean("hflip", c.augment.hflip);
  aug.finish();
  c.data_dir = r.str("data_dir", c.data_dir);
  c.device = r.str("device", c.device);
  c.threads = r.integer("threads", c.threads, 0, 1024);
  c.out = r.str("out", c.out);
  YamlReader adv = r.child("adversarial");
  c.pgd.epsilon = adv.real("epsilon", c.pgd.epsilon, 0.0, 1.0);
  c.pgd.alpha = adv.real("alpha", c.pgd.alpha, 1e-9, 1.0);
  c.pgd.steps = adv.integer("steps", c.pgd.steps, 0, 1000);
  c.pgd.random_start = adv.boolean("random_start", c.pgd.random_start);
  c.adv_fraction = adv.real("fraction", c.adv_fraction, 0.0, 1.0);
  c.robust_eval_samples = adv.integer("eval_samples", c.robust_eval_samples, 0, 10000);
  c.robust_eval_steps = adv.integer("eval_steps", c.robust_eval_steps, 1, 10000);
  adv.finish();
  YamlReader sc = r.child("shortcut");
  c.marker_mode = marker_mode_parse(
      sc.str("mode", marker_mode_name(c.marker_mode), {"pixel", "pixel_loc", "rand"}));
  c.marker_prob = sc.real("prob", c.marker_prob, 0.0, 1.0);
  sc.finish();
  r.finish();
  return c;
}

YAML::Node train_config_dump(const TrainConfig& c) {
  YAML::Node n;
  n["arch"] = c.arch;
  n["arch_dir"] = c.arch_dir;
  n["model"] = c.model;
  n["recipe"] = c.recipe;
  n["seed"] = c.seed;
  n["epochs"] = c.epochs;
  n["batch_size"] = c.batch_size;
  n["optimizer"] = c.optimizer;
  n["lr"] = c.lr;
  n["momentum"] = c.momentum;
  n["weight_decay"] = c.weight_decay;
  n["schedule"] = c.schedule;
  n["train_samples"] = c.train_samples;
  n["train_per_class"] = c.train_per_class;
  n["test_samples"] = c.test_samples;
  n["augment"]["crop_padding"] = c.augment.crop_padding;
  n["augment"]["hflip"] = c.augment.hflip;
  n["data_dir"] = c.data_dir;
  n["device"] = c.device;
  n["threads"] = c.threads;
  n["out"] = c.out_path();
  n["adversarial"]["epsilon"] = c.pgd.epsilon;
  n["adversarial"]["alpha"] = c.pgd.alpha;
  n["adversarial"]["steps"] = c.pgd.steps;
  n["adversarial"]["random_start"] = c.pgd.random_start;
  n["adversarial"]["fraction"] = c.adv_fraction;
  n["adversarial"]["eval_samples"] = c.robust_eval_samples;
  n["adversarial"]["eval_steps"] = c.robust_eval_steps;
  n["shortcut"]["mode"] = marker_mode_name(c.marker_mode);
  n["shortcut"]["prob"] = c.marker_prob;
  return n;
}

}  // namespace stitch
