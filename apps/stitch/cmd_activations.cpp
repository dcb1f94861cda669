// `stitch activations MODEL.pt --points ... --out acts.h5`: export activations to HDF5.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "stitch/runner/activation_export.h"

namespace stitch::cli {

void add_activations(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("activations",
                                 "write a model's activations at stitch points to an HDF5 file");
  auto c = std::make_shared<ActivationExportConfig>();
  cmd->add_option("model", c->model, "TorchScript model")->required();
  cmd->add_option("--out", c->out, "HDF5 file to write (datasets /<point> [N, ...])")->required();
  cmd->add_option("--points", c->points, "points (comma separated; default: recommended ones)")
      ->delimiter(',');
  cmd->add_option("--split", c->split, "test or train");
  cmd->add_option("--samples", c->samples, "first N images of the split");
  cmd->add_option("--batch", c->batch, "batch size");
  cmd->add_option("--data-dir", c->data_dir, "Fashion-MNIST folder");
  cmd->add_option("--device", c->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--threads", c->threads, "CPU threads (0 = all cores)");
  cmd->callback([&run, c] {
    run = [c] {
      const auto points = activations_export(*c);
      std::printf("%s: %s, %lld %s images\n", c->out.c_str(),
                  fmt::format("{}", fmt::join(points, ", ")).c_str(),
                  static_cast<long long>(c->samples), c->split.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
