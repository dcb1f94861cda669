#include "stitch/sweep/plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/job/methods.h"
#include "stitch/job/stitch_job.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/util/error.h"
#include "stitch/util/hash.h"

namespace stitch {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {
// The points a list names for one model: recommended / all / explicit names (checked).
std::vector<std::string> points_resolve(const PlannedModel& m, const std::vector<std::string>& pts,
                                        const char* which) {
  std::vector<std::string> out;
  if (pts.size() == 1 && pts[0] == "all") {
    for (const auto& p : m.model.points()) out.push_back(p.name);
  } else if (pts.size() == 1 && pts[0] == "recommended") {
    out = m.model.meta().stitch_points;
    if (out.empty())  // a model without our metadata: its top-level blocks
      for (const auto& p : m.model.points())
        if (p.depth == 1) out.push_back(p.name);
  } else {
    for (const auto& p : pts) {
      try {
        m.model.point(p);
      } catch (const StitchError& e) {
        throw StitchError(fmt::format("{} point of {}: {}", which, m.path, e.what()));
      }
      out.push_back(p);
    }
  }
  if (out.empty())
    throw StitchError(fmt::format("{} has no stitch points to use as {} points", m.path, which));
  return out;
}

// The end point at the same relative depth as front point a of n (rounded linspace, as the
// reference code pairs architectures of different depth; ties to even like numpy's round):
// 0 -> 0, n-1 -> m-1.
size_t relative_index(size_t a, size_t n, size_t m) {
  if (n <= 1) return m - 1;
  return static_cast<size_t>(std::nearbyint(static_cast<double>(a) * static_cast<double>(m - 1) /
                                            static_cast<double>(n - 1)));
}

std::string model_label(const std::string& path) {
  return fs::path(path).stem().string();
}

double job_cost(const StitchConfig& c, const Method& m) {
  const double eval = static_cast<double>(c.test_samples) / 10000.0;
  if (m.closed_form) return 1.0 + eval;
  return 1.0 + eval + static_cast<double>(c.epochs * c.train_samples) / 2000.0;
}

// The state of one plan's expansion: models loaded once per path, groups by (front, end, end
// point), and the jobs skipped in a grid with their reasons.
struct PlanBuild {
  Plan& p;
  const SweepConfig& c;
  c10::Device dev;
  std::map<std::string, size_t> by_path, group_of;
  std::map<std::string, int> stems;
  std::map<std::string, int64_t> skipped;
};

// The index of a model in p.models, loaded (with its hash, label and output shape) on first use.
size_t plan_model(PlanBuild& b, const std::string& path) {
  auto it = b.by_path.find(path);
  if (it != b.by_path.end()) return it->second;
  const DataConfig& d = b.c.job.data;
  PlannedModel m{path, "", "", StagedModel::load(path, b.dev), {}};
  m.model.bind_data(b.p.input_shape, d.mean, d.std);
  m.sha256 = file_sha256(path);
  m.label = model_label(path);
  if (b.stems[m.label]++ > 0) m.label += "-" + m.sha256.substr(0, 8);
  {
    at::NoGradGuard g;
    std::vector<int64_t> shape{1};
    shape.insert(shape.end(), b.p.input_shape.begin(), b.p.input_shape.end());
    const at::Tensor y = m.model.forward(at::zeros(shape).to(b.dev));
    m.output_shape.assign(y.sizes().begin() + 1, y.sizes().end());
  }
  b.p.models.push_back(std::move(m));
  return b.by_path[path] = b.p.models.size() - 1;
}

// Appends one job to the plan and to its group.
void plan_job_add(PlanBuild& b, Job j, const Method& m) {
  const PlannedModel &F = b.p.models[j.front], &E = b.p.models[j.end];
  j.key_settings =
      job_key_settings(b.c, F.sha256, E.sha256, j.front_point, j.end_point, j.method, j.seed);
  j.key = job_key(j.key_settings);
  j.dir = fmt::format("{}/{}__{}/{}__{}/{}_s{}", b.p.dir, F.label, E.label, j.front_point,
                      j.end_point, j.method, j.seed);
  j.cost = job_cost(b.c.job, m);
  const std::string gk = fmt::format("{}|{}|{}", j.front, j.end, j.end_point);
  auto it = b.group_of.find(gk);
  if (it == b.group_of.end()) {
    b.p.groups.push_back(Group{j.front, j.end, j.end_point, {}, 0});
    it = b.group_of.emplace(gk, b.p.groups.size() - 1).first;
  }
  Group& g = b.p.groups[it->second];
  g.jobs.push_back(b.p.jobs.size());
  g.cost += j.cost;
  b.p.jobs.push_back(std::move(j));
}

// The jobs of one cell (front point fp -> end point ep of a model pair): every method x seed
// that the cell supports. A cell or method that cannot run is an error when the cell is the
// only one of its model pair (`single`, as in stitch run) and is skipped with a note in a grid
// (e.g. a vector into a conv map, or FuLA at the last end point).
void plan_cell(PlanBuild& b, const ModelPair& pair, size_t fi, size_t ei, const std::string& fp,
               const std::string& ep, bool single) {
  const StitchConfig& job = b.c.job;
  const PlannedModel &F = b.p.models[fi], &E = b.p.models[ei];
  StitchSpec spec{F.model.point(fp).shape, E.model.point(ep).shape, job.bn_before, job.bn_after,
                  job.rank};
  try {
    StitchLayer{spec};  // unsupported shapes or ranks fail here, before any data is read
  } catch (const StitchError& e) {
    if (single) throw;
    b.skipped[fmt::format("{} -> {}: {}", fp, ep, e.what())] +=
        static_cast<int64_t>(job.methods.size() * job.seeds.size());
    return;
  }
  const auto down = downstream_points(E.model, ep, job);
  for (const auto& method : job.methods) {
    const Method& m = method_get(method);
    if (m.needs_downstream && down.empty()) {
      if (single)
        throw StitchError(fmt::format(
            "{} needs end-model layers after end_point '{}' and {} has none (layers: {}); "
            "choose an earlier end_point or use dm_hint",
            method, ep, E.path, fmt::join(E.model.meta().stitch_points, ", ")));
      b.skipped[fmt::format("{} at end point {}: no end-model layers after it", method, ep)] +=
          static_cast<int64_t>(job.seeds.size());
      continue;
    }
    if (m.needs_downstream && !job.fula_weights.empty() &&
        job.fula_weights.size() != down.size() + 1)
      throw StitchError(
          fmt::format("fula.weights has {} entries but FuLA uses {} layers ({} and {})",
                      job.fula_weights.size(), down.size() + 1, ep, fmt::join(down, ", ")));
    for (int64_t seed : job.seeds) {
      Job j;
      j.front = fi;
      j.end = ei;
      j.front_point = fp;
      j.end_point = ep;
      j.method = method;
      j.seed = seed;
      j.condition = pair.condition;
      plan_job_add(b, std::move(j), m);
    }
  }
}

// The cells of one model pair under `pairs` (grid, zip or relative depth).
void plan_model_pair(PlanBuild& b, const ModelPair& pair) {
  const SweepConfig& c = b.c;
  const size_t fi = plan_model(b, pair.front), ei = plan_model(b, pair.end);
  const PlannedModel &F = b.p.models[fi], &E = b.p.models[ei];
  const auto fps = points_resolve(F, c.front_points, "front");
  const auto eps = points_resolve(E, c.end_points, "end");
  if (c.pairs == PointPairs::kZip && fps.size() != eps.size())
    throw StitchError(fmt::format(
        "pairs: zip needs as many front points ({}: {}) as end points ({}: {}); use pairs: grid",
        F.label, fmt::join(fps, ","), E.label, fmt::join(eps, ",")));
  for (size_t a = 0; a < fps.size(); ++a)
    for (size_t e = 0; e < eps.size(); ++e) {
      if (c.pairs == PointPairs::kZip && a != e) continue;
      if (c.pairs == PointPairs::kRelative && e != relative_index(a, fps.size(), eps.size()))
        continue;
      plan_cell(b, pair, fi, ei, fps[a], eps[e], fps.size() == 1 && eps.size() == 1);
    }
}
}  // namespace

Plan plan_make(const SweepConfig& c, c10::Device dev) {
  Plan p;
  p.config = c;
  p.dir = c.job.out_dir + "/" + c.job.name;
  p.input_shape = data_input_shape(c.job.data);
  PlanBuild b{p, c, dev, {}, {}, {}, {}};
  for (const auto& pair : c.models) plan_model_pair(b, pair);
  for (const auto& [what, n] : b.skipped)
    spdlog::warn("sweep {}: {} job(s) skipped, {}", c.job.name, n, what);
  std::set<std::string> dirs;
  for (const auto& j : p.jobs)
    if (!dirs.insert(j.dir).second)
      throw StitchError(fmt::format(
          "two jobs share the folder '{}': a model pair, point pair, method or seed is listed "
          "twice",
          j.dir));
  if (p.jobs.empty()) throw StitchError("the sweep expands into no jobs");
  plan_shards(p, 1);
  return p;
}

void plan_shards(Plan& plan, int64_t count) {
  std::vector<size_t> order(plan.groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan.groups[a].cost > plan.groups[b].cost; });
  std::vector<double> load(static_cast<size_t>(count), 0.0);
  plan.shard_of_group.assign(plan.groups.size(), 0);
  for (size_t g : order) {
    const auto s = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    plan.shard_of_group[g] = static_cast<int64_t>(s);
    load[s] += plan.groups[g].cost;
  }
}

std::vector<size_t> plan_shard_jobs(const Plan& plan, int64_t shard) {
  std::vector<size_t> out;
  for (size_t g = 0; g < plan.groups.size(); ++g)
    if (plan.shard_of_group[g] == shard)
      out.insert(out.end(), plan.groups[g].jobs.begin(), plan.groups[g].jobs.end());
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

JobState job_state(const Job& job, Json* row, std::string* why) {
  const std::string path = job.dir + "/result.json";
  if (!fs::exists(path)) return JobState::kTodo;
  std::ifstream in(path);
  const Json r = Json::parse(in, nullptr, false);
  if (r.is_discarded() || !r.is_object() || !r.contains("summary") || !r["summary"].is_object()) {
    if (why) *why = fmt::format("'{}' is unreadable (truncated?)", path);
    return JobState::kBroken;
  }
  const std::string key = r["summary"].value("key", "");
  if (key != job.key) {
    const Json old = r.value("key_settings", Json::object());
    const int version = old.is_object() ? old.value("format_version", 0) : 0;
    if (why)
      *why = version != kJobFormatVersion
                 ? fmt::format("it was written with job format {} (now {})", version,
                               kJobFormatVersion)
                 : fmt::format("its settings or models changed (key {} -> {})", key, job.key);
    return JobState::kStale;
  }
  if (row) *row = r["summary"];
  return JobState::kDone;
}

std::vector<std::string> job_downstream(const Plan& plan, const Job& job) {
  return downstream_points(plan.models[job.end].model, job.end_point, plan.config.job);
}

}  // namespace stitch
