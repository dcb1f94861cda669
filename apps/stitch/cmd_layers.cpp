// `stitch layers MODEL.pt`: table of stitch points with activation shapes; names of the same
// tensor (layer1, layer1.1, layer1.1.relu@2) share one row.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "config_cli.h"
#include "stitch/data/data_source.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/error.h"

namespace stitch::cli {

namespace {
struct LayersConfig {
  std::string model;
  std::vector<int64_t> input_shape;  // probe shape without the batch
  bool all = false;
  std::string point;
  DataConfig data;
  int64_t train_samples = 0, test_samples = 0, init_samples = 0;  // accepted, not used
};

const ConfigTable<LayersConfig>& layers_table() {
  using C = LayersConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.add("model", &C::model, "TorchScript model file (.pt)").flag("model");
    t.add("input_shape", &C::input_shape,
          "probe shape without the batch, e.g. 3,224,224 (default: the model's metadata, else "
          "the data's images)")
        .range(1, 1 << 20)
        .flag("--input-shape");
    t.add("all", &C::all, "also list boundaries that cannot be cut, with the reason").flag("--all");
    t.add("point", &C::point, "show only this point (error if unknown or not cuttable)")
        .flag("--point");
    t.include(data_config_table(), &C::data, "data.");
    // The sample counts of the other commands' data sections, accepted so that one data section
    // serves every command (layers reads one test image).
    for (auto [key, member] : {std::pair{"data.train_samples", &C::train_samples},
                               std::pair{"data.test_samples", &C::test_samples},
                               std::pair{"data.init_samples", &C::init_samples}})
      t.add(key, member, "accepted for a shared data section; layers reads one test image")
          .range(0, 1e9);
    return t;
  }();
  return t;
}

// One row per tensor: the shallowest name first, the other names of the same tensor after it.
struct Row {
  const StitchPoint* point;
  std::vector<std::string> aliases;
};

std::vector<Row> rows_group(const std::vector<StitchPoint>& boundaries, bool all) {
  std::vector<Row> rows;
  std::map<size_t, size_t> row_of_position;
  for (const auto& p : boundaries) {
    if (!p.cuttable) {
      if (all) rows.push_back({&p, {}});
      continue;
    }
    auto it = row_of_position.find(p.position);
    if (it == row_of_position.end()) {
      row_of_position[p.position] = rows.size();
      rows.push_back({&p, {}});
      continue;
    }
    Row& r = rows[it->second];
    if (p.depth < r.point->depth) {
      r.aliases.insert(r.aliases.begin(), r.point->name);
      r.point = &p;
    } else {
      r.aliases.push_back(p.name);
    }
  }
  return rows;
}
}  // namespace

void add_layers(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("layers",
                                 "list a TorchScript model's stitch points with activation shapes");
  auto cli = std::make_shared<ConfigCli>(cmd, layers_table(), layers_table().help());
  cmd->callback([&run, cli] {
    run = [cli] {
      const YAML::Node node = cli->node();
      LayersConfig c;
      layers_table().parse(node, c);
      if (c.model.empty()) throw StitchError("layers: give a model file (stitch layers MODEL.pt)");
      data_config_check(c.data);
      StagedModel m = StagedModel::load(c.model);
      if (!c.input_shape.empty()) {
        m.probe(c.input_shape);
      } else if (!m.meta().input_shape.empty() || !node["data"]) {
        m.probe();  // the recorded shape, or an error that names the three ways to give one
      } else {
        m.bind_data(data_input_shape(c.data), c.data.mean, c.data.std);
      }
      if (!c.point.empty()) {
        const StitchPoint& p = m.point(c.point);
        std::printf("%-28s %-20s %12s\n", "point", "shape", "params_before");
        std::printf("%-28s %-20s %12lld\n", p.name.c_str(),
                    fmt::format("[{}]", fmt::join(p.shape, ",")).c_str(),
                    static_cast<long long>(p.params_before));
        return 0;
      }
      std::printf("%-28s %-20s %12s  %s\n", "point", "shape", "params_before", "same tensor as");
      int n_cut = 0, n_not = 0;
      for (const auto& p : m.boundaries()) p.cuttable ? ++n_cut : ++n_not;
      const auto rows = rows_group(m.boundaries(), c.all);
      for (const auto& r : rows) {
        const StitchPoint& p = *r.point;
        const std::string shp = p.cuttable ? fmt::format("[{}]", fmt::join(p.shape, ",")) : "-";
        const std::string note = p.cuttable ? fmt::format("{}", fmt::join(r.aliases, ", "))
                                            : "not cuttable: " + p.reason;
        std::printf("%-28s %-20s %12lld  %s\n", p.name.c_str(), shp.c_str(),
                    static_cast<long long>(p.params_before), note.c_str());
      }
      std::printf(
          "%d cuttable names of %zu tensors, %d other boundaries%s; %lld parameters in total\n",
          n_cut, rows.size() - (c.all ? static_cast<size_t>(n_not) : 0), n_not,
          c.all ? "" : " (--all lists them)", static_cast<long long>(m.parameter_count()));
      return 0;
    };
  });
}

}  // namespace stitch::cli
