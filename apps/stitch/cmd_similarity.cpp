// `stitch similarity [A B] [--config F.yaml] [--set k=v] [flags]`: similarity metrics per point
// pair. Settings come from the YAML file, then the flags given, then --set (last wins).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <functional>

#include "commands.h"
#include "stitch/config/yaml_reader.h"
#include "stitch/runner/similarity_run.h"

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
  auto f = std::make_shared<SimilarityConfig>();
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  // Each flag given on the command line is written into the YAML node under its config key.
  auto flags =
      std::make_shared<std::vector<std::pair<CLI::Option*, std::function<void(YAML::Node&)>>>>();
  auto add = [&](const std::string& name, auto& var, const char* key, const std::string& help) {
    CLI::Option* o = cmd->add_option(name, var, help);
    flags->emplace_back(o, [key, &var](YAML::Node& n) { n[key] = var; });
    return o;
  };
  add("model_a", f->model_a, "model_a", "first TorchScript model or activation file (.h5)");
  add("model_b", f->model_b, "model_b", "second TorchScript model or activation file (.h5)");
  cmd->add_option("--config", *file, "similarity YAML (keys as in configs/similarity_cnn.yaml)");
  cmd->add_option("--set", *sets, "override a setting, e.g. --set samples=4000");
  add("--points-a", f->points_a, "points_a", "points of model A (comma separated)")->delimiter(',');
  add("--points-b", f->points_b, "points_b", "points of model B (comma separated)")->delimiter(',');
  add("--metrics", f->metrics, "metrics", "metrics (default: all)")->delimiter(',');
  add("--pairs", f->pairs, "pairs", "grid (every A point x every B point) or zip (i-th with i-th)");
  add("--layout", f->layout, "layout",
      "rows of conv maps / tokens: flatten (per input), pool (mean over positions) or "
      "positions (one row per position or token)");
  add("--samples", f->samples, "samples", "first N test images (held-out split)");
  add("--batch", f->batch, "batch", "batch size (also the minibatch-CKA batch)");
  add("--k", f->k, "k", "neighbours for mutual-kNN and CKNNA");
  add("--name", f->name, "name", "experiment name (outputs in <out-dir>/<name>/)");
  add("--out-dir", f->out_dir, "out_dir", "output folder");
  add("--data-dir", f->data_dir, "data_dir", "Fashion-MNIST folder");
  add("--device", f->device, "device", "auto, cpu, cuda or cuda:N");
  add("--threads", f->threads, "threads", "CPU threads (0 = all cores)");
  cmd->callback([&run, f, file, sets, flags] {
    run = [f, file, sets, flags] {
      YAML::Node node = file->empty() ? YAML::Node(YAML::NodeType::Map) : yaml_load_file(*file);
      for (const auto& [opt, put] : *flags)
        if (opt->count() > 0) put(node);
      for (const auto& s : *sets) yaml_set(node, s);
      const SimilarityConfig c = similarity_config_parse(node);
      const auto rows = similarity_run(c);
      print_similarity_table(rows);
      std::printf("results: %s/%s/results.csv\n", c.out_dir.c_str(), c.name.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
