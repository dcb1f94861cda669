// `stitch layers MODEL.pt`: table of stitch points with activation shapes.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/error.h"

namespace stitch::cli {

std::vector<int64_t> shape_parse(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i <= s.size() && !s.empty()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string tok = s.substr(i, j - i);
    if (tok.empty() || tok.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(tok) <= 0)
      throw StitchError(fmt::format(
          "--input-shape '{}' is not valid; give positive sizes without the batch, e.g. 3,224,224",
          s));
    out.push_back(std::stoll(tok));
    i = j + 1;
  }
  return out;
}

void add_layers(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("layers",
                                 "list a TorchScript model's stitch points with activation shapes");
  auto model = std::make_shared<std::string>();
  auto shape = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto point = std::make_shared<std::string>();
  cmd->add_option("model", *model, "TorchScript model file (.pt)")->required();
  cmd->add_option(
      "--input-shape", *shape,
      "probe input shape without batch, e.g. 3,224,224 (default: from the model's metadata)");
  cmd->add_flag("--all", *all, "also list boundaries that cannot be cut, with the reason");
  cmd->add_option("--point", *point, "show only this point (error if unknown or not cuttable)");
  cmd->callback([&run, model, shape, all, point] {
    run = [model, shape, all, point] {
      StagedModel m = StagedModel::load(*model);
      m.probe(shape->empty() ? std::vector<int64_t>{} : shape_parse(*shape));
      if (!point->empty()) {
        const StitchPoint& p = m.point(*point);
        std::printf("%-28s %-20s %12s\n", "point", "shape", "params_before");
        std::printf("%-28s %-20s %12lld\n", p.name.c_str(),
                    fmt::format("[{}]", fmt::join(p.shape, ",")).c_str(),
                    static_cast<long long>(p.params_before));
        return 0;
      }
      std::printf("%-28s %-20s %12s  %s\n", "point", "shape", "params_before", *all ? "note" : "");
      int n_cut = 0, n_not = 0;
      for (const auto& p : m.boundaries()) {
        p.cuttable ? ++n_cut : ++n_not;
        if (!p.cuttable && !*all) continue;
        const std::string shp = p.cuttable ? fmt::format("[{}]", fmt::join(p.shape, ",")) : "-";
        std::printf("%-28s %-20s %12lld  %s\n", p.name.c_str(), shp.c_str(),
                    static_cast<long long>(p.params_before),
                    p.cuttable ? "" : ("not cuttable: " + p.reason).c_str());
      }
      std::printf("%d cuttable points, %d other boundaries%s; %lld parameters in total\n", n_cut,
                  n_not, *all ? "" : " (--all lists them)",
                  static_cast<long long>(m.parameter_count()));
      return 0;
    };
  });
}

}  // namespace stitch::cli
