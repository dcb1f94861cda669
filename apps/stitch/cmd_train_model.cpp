// `stitch train-model`: train one zoo model (arguments and/or a YAML file) or a whole zoo.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "stitch/config/yaml_reader.h"
#include "stitch/train/trainer.h"

namespace stitch::cli {

namespace {
struct TrainArgs {
  std::string config, zoo, arch, recipe, model, out, device;
  int64_t seed = -1, epochs = 0, train_samples = -1, threads = -1;
  std::vector<std::string> sets;
  bool force = false;
};

std::string pct(double x) {
  return x < 0 ? "-" : fmt::format("{:.2f}", 100 * x);
}

void print_results(const std::vector<TrainResult>& rs) {
  std::printf("%-40s %8s %8s %8s %8s %9s\n", "model", "clean%", "robust%", "marker%", "rolled%",
              "train_s");
  for (const auto& r : rs)
    std::printf("%-40s %8s %8s %8s %8s %9.1f\n", r.path.c_str(), pct(r.clean_accuracy).c_str(),
                pct(r.robust_accuracy).c_str(), pct(r.marker_accuracy).c_str(),
                pct(r.rolled_marker_accuracy).c_str(), r.train_seconds);
}
}  // namespace

void add_train_model(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "train-model", "train an exported architecture (standard, adversarial or shortcut recipe)");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--config", a->config,
                  "YAML file with training settings (see configs/train_cnn.yaml)");
  cmd->add_option(
      "--zoo", a->zoo,
      "train every model of a zoo YAML (e.g. configs/zoo.yaml); existing files are skipped");
  cmd->add_option("--arch", a->arch, "architecture: mlp, cnn, resnet, vit");
  cmd->add_option("--recipe", a->recipe, "standard, adversarial or shortcut");
  cmd->add_option("--model", a->model, "untrained TorchScript file to train instead of --arch");
  cmd->add_option("--seed", a->seed, "seed of initialisation, shuffling and attacks");
  cmd->add_option("--epochs", a->epochs, "training epochs");
  cmd->add_option("--train-samples", a->train_samples, "use the first N training images (0 = all)");
  cmd->add_option("--device", a->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--threads", a->threads, "CPU threads (0 = all cores)");
  cmd->add_option("--out", a->out, "output .pt (default models/zoo/<arch>_<recipe>_s<seed>.pt)");
  cmd->add_option("--set", a->sets, "override any setting, e.g. --set adversarial.epsilon=0.1");
  cmd->add_flag("--force", a->force, "with --zoo: retrain models whose file exists");
  cmd->callback([&run, a] {
    run = [a] {
      std::vector<std::string> sets;
      if (!a->arch.empty()) sets.push_back("arch=" + a->arch);
      if (!a->recipe.empty()) sets.push_back("recipe=" + a->recipe);
      if (!a->model.empty()) sets.push_back("model=" + a->model);
      if (a->seed >= 0) sets.push_back(fmt::format("seed={}", a->seed));
      if (a->epochs > 0) sets.push_back(fmt::format("epochs={}", a->epochs));
      if (a->train_samples >= 0) sets.push_back(fmt::format("train_samples={}", a->train_samples));
      if (!a->device.empty()) sets.push_back("device=" + a->device);
      if (a->threads >= 0) sets.push_back(fmt::format("threads={}", a->threads));
      if (!a->out.empty()) sets.push_back("out=" + a->out);
      sets.insert(sets.end(), a->sets.begin(), a->sets.end());
      if (!a->zoo.empty()) {
        print_results(train_zoo(a->zoo, sets, a->force));
        return 0;
      }
      YAML::Node node =
          a->config.empty() ? YAML::Node(YAML::NodeType::Map) : yaml_load_file(a->config);
      for (const auto& s : sets) yaml_set(node, s);
      print_results({train_model(train_config_parse(node))});
      return 0;
    };
  });
}

}  // namespace stitch::cli
