// `stitch run EXPERIMENT.yaml [--set k=v]`: fit/train stitches for every method x seed and
// print the results table.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "stitch/config/yaml_reader.h"
#include "stitch/runner/stitch_run.h"

namespace stitch::cli {

void print_stitch_table(const std::vector<nlohmann::json>& rows) {
  std::printf("%-11s %4s %9s %8s %8s %9s %8s %7s %9s %9s\n", "method", "seed", "stitched%", "end%",
              "front%", "agree%", "soft%", "kappa", "residual", "fula_test");
  for (const auto& r : rows)
    std::printf("%-11s %4lld %9.2f %8.2f %8.2f %9.2f %8.2f %7.3f %9.4f %9.4f\n",
                r["method"].get<std::string>().c_str(),
                static_cast<long long>(r["seed"].get<int64_t>()),
                100 * r["stitched_acc"].get<double>(), 100 * r["end_acc"].get<double>(),
                100 * r["front_acc"].get<double>(), 100 * r["agreement"].get<double>(),
                100 * r["soft_agreement"].get<double>(), r["kappa"].get<double>(),
                r["stitch_residual"].get<double>(), r["fula_test"].get<double>());
}

void add_run(CLI::App& app, std::function<int()>& run) {
  auto* cmd =
      app.add_subcommand("run", "stitch two models as an experiment YAML describes (see configs/)");
  auto config = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  cmd->add_option("config", *config, "experiment YAML")->required();
  cmd->add_option("--set", *sets,
                  "override a setting, e.g. --set train.epochs=2 --set methods=[fula]");
  cmd->callback([&run, config, sets] {
    run = [config, sets] {
      YAML::Node node = yaml_load_file(*config);
      for (const auto& s : *sets) yaml_set(node, s);
      const StitchConfig c = stitch_config_parse(node);
      const auto rows = stitch_experiment_run(c);
      print_stitch_table(rows);
      std::printf("results: %s/%s/results.csv\n", c.out_dir.c_str(), c.name.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
