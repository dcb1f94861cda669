// `stitch train-model`: train one zoo model (arguments and/or a YAML file) or a whole zoo.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "config_cli.h"
#include "stitch/train/trainer.h"

namespace stitch::cli {

namespace {
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
  auto cli = std::make_shared<ConfigCli>(cmd, train_config_table(), train_config_table().help());
  auto zoo = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option(
      "--zoo", *zoo,
      "train every model of a zoo YAML (e.g. configs/zoo.yaml); existing files are skipped; "
      "--config, flags and --set apply to every model");
  cmd->add_flag("--force", *force, "with --zoo: retrain models whose file exists");
  cmd->callback([&run, cli, zoo, force] {
    run = [cli, zoo, force] {
      if (!zoo->empty()) {
        print_results(train_zoo(*zoo, cli->node(), *force));
        return 0;
      }
      print_results({train_model(train_config_parse(cli->node()))});
      return 0;
    };
  });
}

}  // namespace stitch::cli
