#include "stitch/sweep/sweep_config.h"

#include <cstdlib>

#include <fmt/format.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/util/error.h"

namespace stitch {

const std::vector<std::string>& EnumNames<PointPairs>::names() {
  static const std::vector<std::string> n{"grid", "zip", "relative"};
  return n;
}
const std::vector<std::string>& EnumNames<ModelPairs>::names() {
  static const std::vector<std::string> n{"grid", "zip"};
  return n;
}
const std::vector<std::string>& EnumNames<StoreStream>::names() {
  static const std::vector<std::string> n{"auto", "always", "never"};
  return n;
}

const ConfigTable<SweepConfig>& sweep_config_table() {
  using C = SweepConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.include(settings_table(), &C::job);
    t.extra("models");
    t.add("front", &C::front, "front model of a one-pair sweep")
        .flag("--front")
        .affects(Affects::kIdentity);
    t.add("end", &C::end, "end model of a one-pair sweep")
        .flag("--end")
        .affects(Affects::kIdentity);
    t.add("fronts", &C::fronts, "front models (with ends: every front x every end)")
        .affects(Affects::kIdentity);
    t.add("ends", &C::ends, "end models").affects(Affects::kIdentity);
    t.add("model_pairs", &C::model_pairs, "how fronts and ends pair").affects(Affects::kIdentity);
    t.add("front_point", &C::front_point, "one front point (= front_points: [x])")
        .flag("--front-point")
        .affects(Affects::kIdentity);
    t.add("end_point", &C::end_point, "one end point (= end_points: [x])")
        .flag("--end-point")
        .affects(Affects::kIdentity);
    t.add("front_points", &C::front_points, "recommended, all, or a list of points")
        .affects(Affects::kIdentity);
    t.add("end_points", &C::end_points, "recommended, all, or a list of points")
        .affects(Affects::kIdentity);
    t.add("pairs", &C::pairs,
          "front x end points: every pair, i-th with i-th, or same relative depth")
        .affects(Affects::kIdentity);
    t.add("store.dir", &C::store_dir, "activation store (\"\" = <out_dir>/store)")
        .affects(Affects::kNothing);
    t.add("store.dtype", &C::store_dtype, "stored activation type")
        .choices({"float32", "float16"})
        .affects(Affects::kEveryJob);
    t.add("store.ram_mb", &C::store_ram_mb, "stored activations up to this size are held in RAM")
        .range(0, 1 << 24)
        .affects(Affects::kNothing);
    t.add("store.stream", &C::store_stream,
          "compute the frozen models' activations live per batch instead of storing them: auto "
          "= training rows when nothing else reads them (<= 8 epochs, the only trained job on "
          "that training split), test rows for the only job or lockstep group on its models")
        .affects(Affects::kNothing);
    t.add("lockstep", &C::lockstep,
          "train the trained jobs of one model pair, point pair and seed together: one fetch of "
          "the frozen activations and one stacked pass through the end model per step (BatchNorm "
          "frozen only)")
        .affects(Affects::kNothing);
    return t;
  }();
  return t;
}

namespace {
std::vector<ModelPair> models_read(const SweepConfig& c, const YAML::Node& node) {
  std::vector<ModelPair> pairs;
  if (node && node.IsMap() && node["models"]) {
    const YAML::Node list = node["models"];
    if (!list.IsSequence())
      throw StitchError(
          "'models' must be a list of {front: A.pt, end: B.pt, condition: NAME} pairs");
    for (size_t i = 0; i < list.size(); ++i) {
      YamlReader m(list[i], fmt::format("models[{}].", i));
      ModelPair p{m.str("front", ""), m.str("end", ""), m.str("condition", "")};
      m.finish();
      if (p.front.empty() || p.end.empty())
        throw StitchError(fmt::format("models[{}] needs both 'front' and 'end'", i));
      pairs.push_back(p);
    }
  }
  if (!c.front.empty() || !c.end.empty()) {
    if (c.front.empty() || c.end.empty())
      throw StitchError("config needs 'front' and 'end' model files");
    pairs.push_back({c.front, c.end, ""});
  }
  if (!c.fronts.empty() || !c.ends.empty()) {
    if (c.fronts.empty() || c.ends.empty())
      throw StitchError("'fronts' and 'ends' go together (every front with every end)");
    if (c.model_pairs == ModelPairs::kZip && c.fronts.size() != c.ends.size())
      throw StitchError(fmt::format("model_pairs: zip needs as many fronts ({}) as ends ({})",
                                    c.fronts.size(), c.ends.size()));
    for (size_t i = 0; i < c.fronts.size(); ++i)
      for (size_t j = 0; j < c.ends.size(); ++j)
        if (c.model_pairs == ModelPairs::kGrid || i == j)
          pairs.push_back({c.fronts[i], c.ends[j], ""});
  }
  if (pairs.empty())
    throw StitchError(
        "config names no models: give 'front' and 'end', a 'models' list of {front, end} pairs, "
        "or 'fronts' and 'ends'");
  return pairs;
}

// front_point: x is front_points: [x]; giving both is an error.
void point_fold(std::string& one, std::vector<std::string>& list, bool list_given,
                const char* one_key, const char* list_key) {
  if (one.empty()) return;
  if (list_given)
    throw StitchError(fmt::format("give either '{}' or '{}', not both", one_key, list_key));
  list = {one};
  one.clear();
}
}  // namespace

SweepConfig sweep_config_parse(const YAML::Node& node) {
  SweepConfig c;
  sweep_config_table().parse(node, c);
  c.models = models_read(c, node);
  c.front.clear(), c.end.clear(), c.fronts.clear(), c.ends.clear();
  const SweepConfig defaults;
  point_fold(c.front_point, c.front_points, c.front_points != defaults.front_points, "front_point",
             "front_points");
  point_fold(c.end_point, c.end_points, c.end_points != defaults.end_points, "end_point",
             "end_points");
  settings_check(c.job);
  for (const auto* pts : {&c.front_points, &c.end_points})
    if (pts->empty()) throw StitchError("front_points and end_points must not be empty");
  if (c.store_dir.empty()) c.store_dir = c.job.out_dir + "/store";
  return c;
}

YAML::Node sweep_config_dump(const SweepConfig& c) {
  YAML::Node n = sweep_config_table().dump(c);
  for (const auto& p : c.models) {
    YAML::Node m;
    m["front"] = p.front;
    m["end"] = p.end;
    if (!p.condition.empty()) m["condition"] = p.condition;
    n["models"].push_back(m);
  }
  return n;
}

Shard shard_parse(const std::string& spec) {
  std::string s = spec;
  const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
  if (s.empty() && id && count) {
    const char* min = std::getenv("SLURM_ARRAY_TASK_MIN");
    const char* step = std::getenv("SLURM_ARRAY_TASK_STEP");
    try {
      const int64_t i = (std::stoll(id) - (min ? std::stoll(min) : 0)) /
                        std::max<int64_t>(step ? std::stoll(step) : 1, 1);
      s = fmt::format("{}/{}", i, count);
    } catch (const std::exception&) {
      throw StitchError(fmt::format(
          "SLURM_ARRAY_TASK_ID '{}' / SLURM_ARRAY_TASK_COUNT '{}' are not numbers", id, count));
    }
  }
  if (s.empty()) return {};
  const auto slash = s.find('/');
  Shard sh;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used_i = 0, used_n = 0;
    sh.index = std::stoll(s.substr(0, slash), &used_i);
    sh.count = std::stoll(s.substr(slash + 1), &used_n);
    if (used_i != slash || used_n != s.size() - slash - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw StitchError(
        fmt::format("shard '{}' is not of the form i/n (e.g. --shard 0/4 for the first of 4)", s));
  }
  if (sh.count < 1 || sh.index < 0 || sh.index >= sh.count)
    throw StitchError(fmt::format(
        "shard '{}' is out of range: i/n needs 0 <= i < n (shards of 4 are 0/4 .. 3/4)", s));
  return sh;
}

}  // namespace stitch
