#include "stitch/sweep/plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/util/hash.h"

namespace stitch {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {
// A loaded model bound to the data's images, with its facts, hash and output shape.
PlannedModel model_plan(const std::string& path, const SweepConfig& c,
                        const std::vector<int64_t>& input_shape, c10::Device dev) {
  PlannedModel m{{}, StagedModel::load(path, dev), {}};
  m.model.bind_data(input_shape, c.job.data.mean, c.job.data.std);
  static_cast<ModelFacts&>(m) = model_facts(m.model);
  m.sha256 = file_sha256(path);
  at::NoGradGuard g;
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const at::Tensor y = m.model.forward(at::zeros(shape).to(dev));
  m.output_shape.assign(y.sizes().begin() + 1, y.sizes().end());
  return m;
}
}  // namespace

Plan plan_make(const SweepConfig& c, c10::Device dev) {
  Plan p;
  p.config = c;
  p.dir = c.job.out_dir + "/" + c.job.name;
  p.input_shape = data_input_shape(c.job.data);
  for (const auto& path : sweep_model_paths(c))
    p.models.push_back(model_plan(path, c, p.input_shape, dev));
  std::vector<ModelFacts> facts(p.models.begin(), p.models.end());
  models_label(facts);
  for (size_t i = 0; i < facts.size(); ++i) p.models[i].label = facts[i].label;
  Expansion x = sweep_expand(c, facts, p.dir);
  for (const auto& [what, n] : x.skipped)
    spdlog::warn("sweep {}: {} job(s) skipped, {}", c.job.name, n, what);
  p.jobs = std::move(x.jobs);
  p.groups = std::move(x.groups);
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
  return downstream_points(plan.models[job.end], job.end_point, plan.config.job);
}

}  // namespace stitch
