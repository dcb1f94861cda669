// `stitch similarity A.pt B.pt --points-a ... --points-b ...`: similarity metrics per point pair.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"
#include "stitch/runner/similarity_run.h"

namespace stitch::cli {

void add_similarity(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "similarity", "CKA / SVCCA / PWCCA / mutual-kNN / CKNNA / Procrustes for every point pair");
  auto c = std::make_shared<SimilarityConfig>();
  cmd->add_option("model_a", c->model_a, "first TorchScript model")->required();
  cmd->add_option("model_b", c->model_b, "second TorchScript model")->required();
  cmd->add_option("--points-a", c->points_a, "points of model A (comma separated)")
      ->delimiter(',')
      ->required();
  cmd->add_option("--points-b", c->points_b, "points of model B (comma separated)")
      ->delimiter(',')
      ->required();
  cmd->add_option("--metrics", c->metrics, "metrics (default: all)")->delimiter(',');
  cmd->add_option("--samples", c->samples, "first N test images (held-out split)");
  cmd->add_option("--batch", c->batch, "batch size (also the minibatch-CKA batch)");
  cmd->add_option("--k", c->k, "neighbours for mutual-kNN and CKNNA");
  cmd->add_option("--name", c->name, "experiment name (outputs in <out-dir>/<name>/)");
  cmd->add_option("--out-dir", c->out_dir, "output folder");
  cmd->add_option("--device", c->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--threads", c->threads, "CPU threads (0 = all cores)");
  cmd->callback([&run, c] {
    run = [c] {
      const auto rows = similarity_run(*c);
      std::printf("%-14s %-14s %8s %8s %8s %8s %8s %8s %8s\n", "point_a", "point_b", "cka", "cka_u",
                  "cka_mb", "svcca", "pwcca", "mknn", "cknna");
      auto v = [](const nlohmann::json& r, const char* k) {
        return r.contains(k) ? r[k].get<double>() : NAN;
      };
      for (const auto& r : rows)
        std::printf("%-14s %-14s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n",
                    r["front_point"].get<std::string>().c_str(),
                    r["end_point"].get<std::string>().c_str(), v(r, "linear_cka"),
                    v(r, "unbiased_cka"), v(r, "minibatch_cka"), v(r, "svcca"), v(r, "pwcca"),
                    v(r, "mutual_knn"), v(r, "cknna"));
      std::printf("results: %s/%s/results.csv\n", c->out_dir.c_str(), c->name.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
