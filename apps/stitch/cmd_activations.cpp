// `stitch activations MODEL.pt --points ... --out acts.h5`: export activations to HDF5.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "config_cli.h"
#include "stitch/similarity/activation_export.h"

namespace stitch::cli {

void add_activations(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("activations",
                                 "write a model's activations at stitch points to an HDF5 file");
  auto cli =
      std::make_shared<ConfigCli>(cmd, activation_export_table(), activation_export_table().help());
  cmd->callback([&run, cli] {
    run = [cli] {
      ActivationExportConfig c;
      activation_export_table().parse(cli->node(), c);
      const ActivationExportResult r = activations_export(c);
      std::printf("%s: %s, %lld %s images\n", c.out.c_str(),
                  fmt::format("{}", fmt::join(r.points, ", ")).c_str(),
                  static_cast<long long>(r.samples), c.split.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
