#include "stitch/sweep/sweep_config.h"

#include <cstdlib>

#include <fmt/format.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/util/error.h"

namespace stitch {

namespace {
// "recommended" / "all" or a list of point names.
std::vector<std::string> points_read(YamlReader& r, const std::string& list_key,
                                     const std::string& one_key, std::vector<std::string> def) {
  if (r.has(one_key) && r.has(list_key))
    throw StitchError(fmt::format("give either '{}' or '{}', not both", one_key, list_key));
  if (r.has(one_key)) return {r.str(one_key, "")};
  return r.list<std::string>(list_key, def);
}

std::vector<ModelPair> models_read(YamlReader& r, const YAML::Node& node) {
  std::vector<ModelPair> pairs;
  const std::string front = r.str("front", ""), end = r.str("end", "");
  const auto fronts = r.list<std::string>("fronts", {}), ends = r.list<std::string>("ends", {});
  const std::string how = r.str("model_pairs", "grid", {"grid", "zip"});
  r.allow("models");
  if (node["models"]) {
    if (!node["models"].IsSequence())
      throw StitchError("'models' must be a list of {front: A.pt, end: B.pt} pairs");
    for (size_t i = 0; i < node["models"].size(); ++i) {
      YamlReader m(node["models"][i], fmt::format("models[{}].", i));
      ModelPair p{m.str("front", ""), m.str("end", "")};
      m.finish();
      if (p.front.empty() || p.end.empty())
        throw StitchError(fmt::format("models[{}] needs both 'front' and 'end'", i));
      pairs.push_back(p);
    }
  }
  if (!front.empty() || !end.empty()) {
    if (front.empty() || end.empty())
      throw StitchError("config needs 'front' and 'end' model files");
    pairs.push_back({front, end});
  }
  if (!fronts.empty() || !ends.empty()) {
    if (fronts.empty() || ends.empty())
      throw StitchError("'fronts' and 'ends' go together (every front with every end)");
    if (how == "zip" && fronts.size() != ends.size())
      throw StitchError(fmt::format("model_pairs: zip needs as many fronts ({}) as ends ({})",
                                    fronts.size(), ends.size()));
    for (size_t i = 0; i < fronts.size(); ++i)
      for (size_t j = 0; j < ends.size(); ++j)
        if (how == "grid" || i == j) pairs.push_back({fronts[i], ends[j]});
  }
  if (pairs.empty())
    throw StitchError(
        "config names no models: give 'front' and 'end', a 'models' list of {front, end} pairs, "
        "or 'fronts' and 'ends'");
  return pairs;
}
}  // namespace

SweepConfig sweep_config_parse(const YAML::Node& node) {
  SweepConfig c;
  if (node && !node.IsMap()) throw StitchError("a sweep config must be a YAML map of settings");
  YamlReader r(node);
  stitch_settings_parse(r, c.job);
  c.models = models_read(r, node);
  c.front_points = points_read(r, "front_points", "front_point", c.front_points);
  c.end_points = points_read(r, "end_points", "end_point", c.end_points);
  c.pairs = r.str("pairs", c.pairs, {"grid", "zip", "relative"});
  YamlReader s = r.child("store");
  c.store_dir = s.str("dir", c.store_dir);
  c.store_dtype = s.str("dtype", c.store_dtype, {"float32", "float16"});
  c.store_ram_mb = s.integer("ram_mb", c.store_ram_mb, 0, 1 << 24);
  s.finish();
  r.finish();
  stitch_settings_check(c.job);
  for (const auto* pts : {&c.front_points, &c.end_points})
    if (pts->empty()) throw StitchError("front_points and end_points must not be empty");
  if (c.store_dir.empty()) c.store_dir = c.job.out_dir + "/store";
  return c;
}

YAML::Node sweep_config_dump(const SweepConfig& c) {
  YAML::Node n = stitch_settings_dump(c.job);
  for (const auto& p : c.models) {
    YAML::Node m;
    m["front"] = p.front;
    m["end"] = p.end;
    n["models"].push_back(m);
  }
  n["front_points"] = c.front_points;
  n["end_points"] = c.end_points;
  n["pairs"] = c.pairs;
  n["store"]["dir"] = c.store_dir;
  n["store"]["dtype"] = c.store_dtype;
  n["store"]["ram_mb"] = c.store_ram_mb;
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
