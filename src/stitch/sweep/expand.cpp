#include "stitch/sweep/expand.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/job/methods.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/util/error.h"
#include "stitch/util/hash.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
// The end point at the same relative depth as front point a of n (rounded linspace, as the
// reference code pairs architectures of different depth; ties to even like numpy's round):
// 0 -> 0, n-1 -> m-1.
size_t relative_index(size_t a, size_t n, size_t m) {
  if (n <= 1) return m - 1;
  return static_cast<size_t>(std::nearbyint(static_cast<double>(a) * static_cast<double>(m - 1) /
                                            static_cast<double>(n - 1)));
}

double job_cost(const Settings& c, const Method& m) {
  const double eval = static_cast<double>(c.test_samples) / 10000.0;
  if (m.closed_form) return 1.0 + eval;
  return 1.0 + eval + static_cast<double>(c.epochs * c.train_samples) / 2000.0;
}

size_t model_index(const std::vector<ModelFacts>& models, const std::string& path) {
  for (size_t i = 0; i < models.size(); ++i)
    if (models[i].path == path) return i;
  throw StitchError(fmt::format("model '{}' is not among the sweep's models", path));
}

// The state of one expansion: the config, the models, the output and the groups by key.
struct ExpandState {
  const SweepConfig& c;
  const std::vector<ModelFacts>& models;
  const std::string& dir;
  Expansion& x;
  std::map<std::string, size_t> group_of;  // "front|end|end_point" -> index into x.groups
};

// Appends one job to the expansion and to its group.
void job_add(ExpandState& s, Job j, const Method& m) {
  const ModelFacts &F = s.models[j.front], &E = s.models[j.end];
  j.key_settings =
      job_key_settings(s.c, F.sha256, E.sha256, j.front_point, j.end_point, j.method, j.seed);
  j.key = job_key(j.key_settings);
  j.dir = fmt::format("{}/{}__{}/{}__{}/{}_s{}", s.dir, F.label, E.label, j.front_point,
                      j.end_point, j.method, j.seed);
  j.cost = job_cost(s.c.job, m);
  const std::string gk = fmt::format("{}|{}|{}", j.front, j.end, j.end_point);
  auto it = s.group_of.find(gk);
  if (it == s.group_of.end()) {
    s.x.groups.push_back(Group{j.front, j.end, j.end_point, {}, 0});
    it = s.group_of.emplace(gk, s.x.groups.size() - 1).first;
  }
  Group& g = s.x.groups[it->second];
  g.jobs.push_back(s.x.jobs.size());
  g.cost += j.cost;
  s.x.jobs.push_back(std::move(j));
}

// Whether method m can run at end point ep (downstream layers `down`): throws when the cell is
// the only one (`single`), else counts the skipped jobs and returns false.
bool method_fits(ExpandState& s, const Method& m, const ModelFacts& E, const std::string& ep,
                 const std::vector<std::string>& down, bool single) {
  const Settings& job = s.c.job;
  if (m.needs_downstream && down.empty()) {
    if (single)
      throw StitchError(fmt::format(
          "{} needs end-model layers after end_point '{}' and {} has none (layers: {}); "
          "choose an earlier end_point or use dm_hint",
          m.name, ep, E.path, fmt::join(E.recommended, ", ")));
    s.x.skipped[fmt::format("{} at end point {}: no end-model layers after it", m.name, ep)] +=
        static_cast<int64_t>(job.seeds.size());
    return false;
  }
  if (m.needs_downstream && !job.fula_weights.empty() && job.fula_weights.size() != down.size() + 1)
    throw StitchError(fmt::format("fula.weights has {} entries but FuLA uses {} layers ({} and {})",
                                  job.fula_weights.size(), down.size() + 1, ep,
                                  fmt::join(down, ", ")));
  return true;
}

// The jobs of one cell (front point fp -> end point ep of a model pair): every method x seed
// that the cell supports. A cell or method that cannot run is an error when the cell is the
// only one of its model pair (`single`, as in stitch run) and is skipped with a note in a grid
// (e.g. a vector into a conv map, or FuLA at the last end point).
void cell_expand(ExpandState& s, const ModelPair& pair, size_t fi, size_t ei, const std::string& fp,
                 const std::string& ep, bool single) {
  const Settings& job = s.c.job;
  const ModelFacts &F = s.models[fi], &E = s.models[ei];
  try {  // unsupported shapes or ranks fail here, before any data is read
    stitch_widths(StitchSpec{facts_point(F, fp).shape, facts_point(E, ep).shape, job.bn_before,
                             job.bn_after, job.rank});
  } catch (const StitchError& e) {
    if (single) throw;
    s.x.skipped[fmt::format("{} -> {}: {}", fp, ep, e.what())] +=
        static_cast<int64_t>(job.methods.size() * job.seeds.size());
    return;
  }
  const auto down = downstream_points(E, ep, job);
  for (const auto& method : job.methods) {
    const Method& m = method_get(method);
    if (!method_fits(s, m, E, ep, down, single)) continue;
    for (int64_t seed : job.seeds) {
      Job j;
      j.front_model = F.path;
      j.end_model = E.path;
      j.front_point = fp;
      j.end_point = ep;
      j.method = method;
      j.seed = seed;
      j.front = fi;
      j.end = ei;
      j.condition = pair.condition;
      job_add(s, std::move(j), m);
    }
  }
}

// The cells of one model pair under `pairs` (grid, zip or relative depth).
void pair_expand(ExpandState& s, const ModelPair& pair) {
  const SweepConfig& c = s.c;
  const size_t fi = model_index(s.models, pair.front), ei = model_index(s.models, pair.end);
  const ModelFacts &F = s.models[fi], &E = s.models[ei];
  const auto fps = facts_points_resolve(F, c.front_points, "front");
  const auto eps = facts_points_resolve(E, c.end_points, "end");
  if (c.pairs == PointPairs::kZip && fps.size() != eps.size())
    throw StitchError(fmt::format(
        "pairs: zip needs as many front points ({}: {}) as end points ({}: {}); use pairs: grid",
        F.label, fmt::join(fps, ","), E.label, fmt::join(eps, ",")));
  for (size_t a = 0; a < fps.size(); ++a)
    for (size_t e = 0; e < eps.size(); ++e) {
      if (c.pairs == PointPairs::kZip && a != e) continue;
      if (c.pairs == PointPairs::kRelative && e != relative_index(a, fps.size(), eps.size()))
        continue;
      cell_expand(s, pair, fi, ei, fps[a], eps[e], fps.size() == 1 && eps.size() == 1);
    }
}
}  // namespace

std::vector<std::string> sweep_model_paths(const SweepConfig& c) {
  std::vector<std::string> out;
  for (const auto& pair : c.models)
    for (const std::string* p : {&pair.front, &pair.end})
      if (std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  return out;
}

void models_label(std::vector<ModelFacts>& models) {
  std::map<std::string, int> stems;
  for (auto& m : models) {
    m.label = std::filesystem::path(m.path).stem().string();
    if (stems[m.label]++ > 0) m.label += "-" + m.sha256.substr(0, 8);
  }
}

Expansion sweep_expand(const SweepConfig& c, const std::vector<ModelFacts>& models,
                       const std::string& dir) {
  Expansion x;
  ExpandState s{c, models, dir, x, {}};
  for (const auto& pair : c.models) pair_expand(s, pair);
  std::set<std::string> dirs;
  for (const auto& j : x.jobs)
    if (!dirs.insert(j.dir).second)
      throw StitchError(fmt::format(
          "two jobs share the folder '{}': a model pair, point pair, method or seed is listed "
          "twice",
          j.dir));
  if (x.jobs.empty()) throw StitchError("the sweep expands into no jobs");
  return x;
}

std::vector<std::string> downstream_points(const ModelFacts& end, const std::string& end_point,
                                           const Settings& c) {
  const std::vector<std::string> cand =
      c.fula_points.empty() ? facts_recommended(end) : c.fula_points;
  const size_t j = facts_point(end, end_point).position;
  std::vector<std::pair<size_t, std::string>> after;
  for (const auto& p : cand) {
    const size_t pos = facts_point(end, p).position;
    if (pos > j &&
        std::none_of(after.begin(), after.end(), [&](const auto& a) { return a.first == pos; }))
      after.push_back({pos, p});
  }
  std::sort(after.begin(), after.end());
  std::vector<std::string> out;
  for (const auto& a : after)
    if (c.fula_cutoff < 0 || static_cast<int64_t>(out.size()) < c.fula_cutoff)
      out.push_back(a.second);
  return out;
}

Json job_key_settings(const SweepConfig& c, const std::string& front_sha256,
                      const std::string& end_sha256, const std::string& front_point,
                      const std::string& end_point, const std::string& method, int64_t seed) {
  Json k = {{"format_version", kJobFormatVersion},
            {"front_sha256", front_sha256},
            {"end_sha256", end_sha256},
            {"front_point", front_point},
            {"end_point", end_point},
            {"method", method},
            {"seed", seed}};
  k["settings"] = sweep_config_table().values(c, method_affects(method_get(method), c.job));
  return k;
}

std::string job_key(const Json& key_settings) {
  return text_sha256(key_settings.dump()).substr(0, 16);
}

}  // namespace stitch
