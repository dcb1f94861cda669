// `stitch similarity [A B] [--config F.yaml] [--set k=v] [flags]`: similarity metrics per point
// pair. Settings come from the YAML file, then the flags given, then --set (last wins).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <functional>

#include "commands.h"
#include "config_cli.h"
#include "stitch/similarity/similarity_run.h"

namespace stitch::cli {

namespace {
// Prints one row per pair with a column for each metric that any row has.
void print_similarity_table(const std::vector<nlohmann::json>& rows) {
  const std::vector<std::pair<const char*, const char*>> cols{
      {"linear_cka", "cka"},       {"unbiased_cka", "cka_u"},
      {"minibatch_cka", "cka_mb"}, {"svcca", "svcca"},
      {"pwcca", "pwcca"},          {"mutual_knn", "mknn"},
      {"cknna", "cknna"},          {"procrustes_ev_after", "proc_ev"}};
  std::vector<std::pair<const char*, const char*>> shown;
  for (const auto& col : cols)
    for (const auto& r : rows)
      if (r.contains(col.first) ||
          (std::string(col.first) == "pwcca" && r.contains("pwcca_skipped"))) {
        shown.push_back(col);
        break;
      }
  std::printf("%-14s %-14s", "point_a", "point_b");
  for (const auto& col : shown) std::printf(" %8s", col.second);
  std::printf("\n");
  for (const auto& r : rows) {
    std::printf("%-14s %-14s", r["front_point"].get<std::string>().c_str(),
                r["end_point"].get<std::string>().c_str());
    for (const auto& col : shown)
      if (r.contains(col.first))
        std::printf(" %8.4f", r[col.first].get<double>());
      else
        std::printf(" %8s", "-");
    std::printf("\n");
  }
}
}  // namespace

void add_similarity(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "similarity", "CKA / SVCCA / PWCCA / mutual-kNN / CKNNA / Procrustes for every point pair");
  auto cli =
      std::make_shared<ConfigCli>(cmd, similarity_config_table(), similarity_config_table().help());
  cmd->callback([&run, cli] {
    run = [cli] {
      const SimilarityConfig c = similarity_config_parse(cli->node());
      const auto rows = similarity_run(c);
      print_similarity_table(rows);
      std::printf("results: %s/%s/results.csv\n", c.out_dir.c_str(), c.name.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
