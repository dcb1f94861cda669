// Config tables: every shipped YAML parses with its table, dump -> parse -> dump is stable for
// every config, and `stitch X --help` lists every key of X's table with its default.
#include <gtest/gtest.h>

#include <filesystem>

#include "stitch/similarity/activation_export.h"
#include "stitch/similarity/similarity_config.h"
#include "stitch/sweep/sweep_config.h"
#include "stitch/train/train_config.h"
#include "stitch/util/error.h"
#include "test_util.h"

namespace stitch {
namespace {

const std::string kSource = test::data_dir() + "/../..";

TEST(ConfigTable, EveryShippedConfigParsesWithItsTable) {
  int n = 0;
  for (const char* dir : {"configs", "configs/methods", "experiments"})
    for (const auto& e : std::filesystem::directory_iterator(kSource + "/" + dir)) {
      if (e.path().extension() != ".yaml") continue;
      const std::string name = e.path().filename().string();
      const YAML::Node node = YAML::LoadFile(e.path().string());
      SCOPED_TRACE(e.path().string());
      if (name.rfind("zoo", 0) == 0) continue;  // lists of train-model configs (zoo*.yaml)
      if (name.rfind("train", 0) == 0)
        EXPECT_NO_THROW(train_config_parse(node));
      else if (name.rfind("similarity", 0) == 0)
        EXPECT_NO_THROW(similarity_config_parse(node));
      else
        EXPECT_NO_THROW(sweep_config_parse(node));
      ++n;
    }
  EXPECT_GE(n, 12);
}

template <typename T>
void expect_round_trip(const ConfigTable<T>& table, const std::string& yaml) {
  T a;
  table.parse(YAML::Load(yaml), a);
  const YAML::Node dumped = table.dump(a);
  T b;
  table.parse(dumped, b);
  EXPECT_EQ(YAML::Dump(table.dump(b)), YAML::Dump(dumped));
  for (const auto& row : table.rows())  // every key is in the dump
    EXPECT_NE(YAML::Dump(dumped).find(row.key.substr(row.key.rfind('.') + 1) + ":"),
              std::string::npos)
        << row.key;
}

TEST(ConfigTable, DumpParsesBackToTheSameSettings) {
  expect_round_trip(
      train_config_table(),
      "{arch: mlp, seed: 3, augment: {hflip: true}, data: {mean: [0.5], std: [0.2]}}");
  expect_round_trip(similarity_config_table(),
                    "{model_a: a.pt, model_b: b.pt, points_a: [x], points_b: [y, z], k: 4, "
                    "cknna_features: raw, data: {source: cifar10, dir: /d}}");
  expect_round_trip(activation_export_table(), "{model: m.pt, out: o.h5, points: [a, b]}");
  expect_round_trip(sweep_config_table(),
                    "{front: a.pt, end: b.pt, front_points: [p], methods: [fula], "
                    "train: {epochs: 2}, store: {dtype: float16}}");
  // The sweep's own round trip goes through its models list.
  const SweepConfig s = sweep_config_parse(YAML::Load(
      "{fronts: [a.pt, b.pt], ends: [c.pt], front_point: p, end_points: all, seeds: [1, 2]}"));
  const SweepConfig back = sweep_config_parse(sweep_config_dump(s));
  EXPECT_EQ(YAML::Dump(sweep_config_dump(back)), YAML::Dump(sweep_config_dump(s)));
  ASSERT_EQ(back.models.size(), 2u);
  EXPECT_EQ(back.models[1].front, "b.pt");
  EXPECT_EQ(back.front_points, std::vector<std::string>{"p"});
}

// Modes are enums inside the program and names at the table boundary: YAML names parse into
// the enum, dump and job-key values are the names (so keys of finished jobs stay valid), and an
// unknown name is an error that lists the valid ones.
TEST(ConfigTable, ModesAreEnumsReadAndWrittenByName) {
  const SweepConfig s = sweep_config_parse(YAML::Load(
      "{front: a.pt, end: b.pt, pairs: relative, train: {bn_mode: train, init: procrustes}, "
      "store: {stream: never}}"));
  EXPECT_EQ(s.pairs, PointPairs::kRelative);
  EXPECT_EQ(s.job.bn_mode, BnMode::kTrain);
  EXPECT_EQ(s.job.init, StitchInit::kProcrustes);
  EXPECT_EQ(s.store_stream, StoreStream::kNever);
  const YAML::Node d = sweep_config_dump(s);
  EXPECT_EQ(d["pairs"].as<std::string>(), "relative");
  EXPECT_EQ(d["train"]["bn_mode"].as<std::string>(), "train");
  EXPECT_EQ(d["train"]["init"].as<std::string>(), "procrustes");
  const nlohmann::json v = sweep_config_table().values(s, {Affects::kTrained, Affects::kIdentity});
  EXPECT_EQ(v["train.bn_mode"], "train");
  EXPECT_EQ(v["train.init"], "procrustes");
  EXPECT_EQ(v["pairs"], "relative");
  EXPECT_EQ(enum_name(StitchInit::kLstsq), "lstsq");
  const TrainConfig t =
      train_config_parse(YAML::Load("{recipe: shortcut, shortcut: {mode: rand}}"));
  EXPECT_EQ(t.recipe, Recipe::kShortcut);
  EXPECT_EQ(t.marker_mode, MarkerMode::kRand);
  EXPECT_EQ(t.out_path(), "models/zoo/cnn_shortcut_s0.pt");
  const std::string e = test::error_of(
      [] { sweep_config_parse(YAML::Load("{front: a, end: b, train: {bn_mode: frozen}}")); });
  EXPECT_NE(e.find("'frozen' is not one of: eval, train"), std::string::npos) << e;
  EXPECT_NE(sweep_config_table().help().find("[eval|train]"), std::string::npos);
  // Markers: `none` is a mode of the stitching settings, and an error for a shortcut recipe.
  const SweepConfig m = sweep_config_parse(
      YAML::Load("{front: a, end: b, train: {markers: pixel_loc}, marker_style: level}"));
  EXPECT_EQ(m.job.train_markers, MarkerMode::kPixelLoc);
  EXPECT_EQ(m.job.markers, MarkerMode::kNone);
  EXPECT_EQ(m.job.marker_style, MarkerStyle::kLevel);
  EXPECT_EQ(sweep_config_table().values(m, {Affects::kEveryJob})["train.markers"], "pixel_loc");
  const std::string em = test::error_of(
      [] { sweep_config_parse(YAML::Load("{front: a, end: b, eval: {markers: colour}}")); });
  EXPECT_NE(em.find("'colour' is not one of: none, pixel, pixel_loc, rand"), std::string::npos)
      << em;
  const std::string et = test::error_of(
      [] { train_config_parse(YAML::Load("{recipe: shortcut, shortcut: {mode: none}}")); });
  EXPECT_NE(et.find("shortcut.mode: none"), std::string::npos) << et;
}

TEST(ConfigTable, ErrorsNameTheKeyAndSuggestTheNearest) {
  auto err = [](const std::string& yaml) {
    return test::error_of([&] { sweep_config_parse(YAML::Load(yaml)); });
  };
  EXPECT_NE(err("{front: a, end: b, train: {epoch: 2}}").find("did you mean 'train.epochs'"),
            std::string::npos);
  EXPECT_NE(err("{front: a, end: b, data: {sorce: hdf5}}").find("did you mean 'data.source'"),
            std::string::npos);
  EXPECT_NE(err("{front: a, end: b, train: {epochs: 0}}").find("'train.epochs': 0 is out of range"),
            std::string::npos);
  EXPECT_NE(err("{front: a, end: b, store: {dtype: int8}}").find("float32, float16"),
            std::string::npos);
  EXPECT_NE(err("{front: a, end: b, front_point: x, front_points: [y]}").find("not both"),
            std::string::npos);
  EXPECT_NE(err("{front: a, end: b, seeds: [x]}").find("'seeds': expected a list"),
            std::string::npos);
}

// Each `stitch X --help` lists "key = default" for every row of X's table.
template <typename T>
void expect_help_lists(const std::string& command, const ConfigTable<T>& table) {
  const auto r = test::run_cli(command + " --help");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string help = table.help();
  std::istringstream lines(help);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    // "  key = default   help": compare "key = default" exactly.
    const std::string entry = line.substr(2, line.find("  ", 2) - 2);
    EXPECT_NE(r.out.find(entry), std::string::npos) << command << ": " << entry;
    ++rows;
  }
  EXPECT_EQ(rows, static_cast<int>(table.rows().size()));
}

TEST(ConfigTable, HelpOfEveryCommandListsEveryKeyWithItsDefault) {
  expect_help_lists("run", sweep_config_table());
  for (const char* sub : {"sweep plan", "sweep run", "sweep collect"})
    expect_help_lists(sub, sweep_config_table());
  expect_help_lists("similarity", similarity_config_table());
  expect_help_lists("activations", activation_export_table());
  expect_help_lists("train-model", train_config_table());
  const auto layers = test::run_cli("layers --help");
  for (const char* entry : {"input_shape = []", "data.source = fashion_mnist", "all = false"})
    EXPECT_NE(layers.out.find(entry), std::string::npos) << entry;
  EXPECT_NE(test::run_cli("train-model --help").out.find("data.mean = []"), std::string::npos);
}

}  // namespace
}  // namespace stitch
