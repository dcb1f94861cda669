#include "stitch/sweep/sweep_run.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/runner/results.h"
#include "stitch/runner/stitch_job.h"
#include "stitch/sweep/job_inputs.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"
#include "stitch/util/version.h"

namespace stitch {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {
std::string job_label(const Plan& p, const Job& j) {
  return fmt::format("{} s{} {}:{} -> {}:{}", j.method, j.seed, p.models[j.front].label,
                     j.front_point, p.models[j.end].label, j.end_point);
}

// The resolved settings of one job, as a `stitch run` config that reproduces it.
StitchConfig job_config(const Plan& p, const Job& j) {
  StitchConfig one = p.config.job;
  one.front = p.models[j.front].path;
  one.end = p.models[j.end].path;
  one.front_point = j.front_point;
  one.end_point = j.end_point;
  one.methods = {j.method};
  one.seeds = {j.seed};
  return one;
}

// Runs one job and writes its folder; returns its summary row.
Json job_run(Plan& p, const Job& j, ShardData& data, ReaderCache& cache, const std::string& label) {
  const StitchConfig one = job_config(p, j);
  const c10::Device dev = device_parse(one.device);
  const JobInputs in = job_inputs(p, j, data, cache);
  PlannedModel &F = p.models[j.front], &E = p.models[j.end];
  // Frozen means frozen: bn_mode train updates BatchNorm statistics, so it gets its own copy.
  std::optional<StagedModel> copy;
  if (one.bn_mode == "train") {
    copy = StagedModel::load(E.path, dev);
    copy->bind_data(p.input_shape, one.data.mean, one.data.std);
    for (auto& t : copy->parameters()) t.requires_grad_(false);
  }
  StagedModel& end = copy ? *copy : E.model;
  StitchLayer T(StitchSpec{F.model.point(j.front_point).shape, E.model.point(j.end_point).shape,
                           one.bn_before, one.bn_after, one.rank});
  T->to(dev);
  const JobOutcome out =
      stitch_job_run(T, method_get(j.method), j.seed, F.model, end, in, one, label);
  Json row = {{"name", one.name},
              {"method", j.method},
              {"seed", j.seed},
              {"front", F.path},
              {"end", E.path},
              {"front_point", j.front_point},
              {"end_point", j.end_point},
              {"stitch_kind", stitch_kind_name(T->kind())},
              {"key", j.key}};
  row.update(out.eval.to_json());
  row["train_samples"] = in.train.labels.size(0);
  row["test_samples"] = in.test.labels.size(0);
  row["fit_seconds"] = out.fit_seconds;
  row["train_seconds"] = out.train_seconds;
  row["git_commit"] = std::string(git_commit()) + (git_dirty() ? "+dirty" : "");
  row["torch_version"] = torch_version();
  row["device"] = dev.str();
  row["front_sha256"] = F.sha256;
  row["end_sha256"] = E.sha256;
  const std::string config = YAML::Dump(stitch_config_dump(one));
  Json result = {{"summary", row},
                 {"key_settings", j.key_settings},
                 {"layers", Json::array()},
                 {"loss_curve", out.loss_curve},
                 {"config", config}};
  std::vector<std::string> names{j.end_point};
  names.insert(names.end(), in.downstream.begin(), in.downstream.end());
  for (size_t l = 0; l < names.size(); ++l)
    result["layers"].push_back({{"point", names[l]},
                                {"fula_term", out.eval.layer_terms[l]},
                                {"r2", out.eval.layer_r2[l]}});
  std::error_code ec;
  fs::create_directories(j.dir, ec);
  if (ec) throw StitchError(fmt::format("cannot create '{}': {}", j.dir, ec.message()));
  file_remove_temps(j.dir);  // one process runs a job: leftovers are from a killed one
  file_write_text(j.dir + "/config.resolved.yaml", config + "\n");
  file_write_atomic(j.dir + "/stitch.pt", [&](const std::string& tmp) { torch::save(T, tmp); });
  file_write_text(j.dir + "/result.json", result.dump(1) + "\n");  // last: marks the job done
  results_append(p.dir, row);
  return row;
}
}  // namespace

std::vector<Json> sweep_collect(const Plan& plan) {
  std::vector<Json> rows;
  for (const auto& j : plan.jobs) {
    Json row;
    if (job_state(j, &row) == JobState::kDone) rows.push_back(row);
  }
  std::error_code ec;
  fs::create_directories(plan.dir, ec);
  results_write(plan.dir, rows);
  return rows;
}

SweepOutcome sweep_run(Plan& plan, const Shard& shard) {
  interrupt_install();
  threads_set(static_cast<int>(plan.config.job.threads));
  const std::vector<size_t> mine = plan_shard_jobs(plan, shard.index);
  SweepOutcome out;
  std::vector<size_t> todo;
  for (size_t ji : mine) {
    std::string why;
    const JobState s = job_state(plan.jobs[ji], nullptr, &why);
    if (s == JobState::kDone) continue;
    if (s != JobState::kTodo)
      spdlog::warn("{}: {}; running it again", job_label(plan, plan.jobs[ji]), why);
    todo.push_back(ji);
  }
  const std::string name = plan.config.job.name;
  spdlog::info("sweep {} shard {}/{}: threads {}, {} of {} jobs to run ({} in the whole sweep)",
               name, shard.index, shard.count, at::get_num_threads(), todo.size(), mine.size(),
               plan.jobs.size());
  std::string first_failure;
  if (!todo.empty()) {
    std::error_code ec;
    fs::create_directories(plan.dir, ec);
    file_check_writable(plan.dir + "/results.jsonl");  // before any long work
    file_write_text(plan.dir + "/sweep.resolved.yaml",
                    YAML::Dump(sweep_config_dump(plan.config)) + "\n");
    ShardData data(plan);
    for (auto& m : plan.models)
      for (auto& t : m.model.parameters()) t.requires_grad_(false);
    try {
      data.build(plan, store_needs(plan, todo));
      ReaderCache cache(plan.config.store_ram_mb << 20);
      const auto t0 = std::chrono::steady_clock::now();
      std::string group;
      for (size_t k = 0; k < todo.size(); ++k) {
        const Job& j = plan.jobs[todo[k]];
        const std::string g = fmt::format("{}|{}|{}", j.front, j.end, j.end_point);
        if (g != group) cache.clear();
        group = g;
        const std::string label = fmt::format("[{}/{}] {}", k + 1, todo.size(), job_label(plan, j));
        try {
          const Json row = job_run(plan, j, data, cache, label);
          ++out.ran;
          const double el =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          spdlog::info("{}: stitched {:.2f}% end {:.2f}% agreement {:.2f}% | ETA {}", label,
                       100 * row["stitched_acc"].get<double>(), 100 * row["end_acc"].get<double>(),
                       100 * row["agreement"].get<double>(),
                       duration_format(el / static_cast<double>(k + 1) *
                                       static_cast<double>(todo.size() - k - 1)));
        } catch (const std::exception& e) {  // StitchError, or torch's c10::Error
          if (interrupt_requested()) throw;
          std::string what = e.what();
          what = what.substr(0, what.find('\n'));
          ++out.failed;
          spdlog::error("{}: failed, nothing written: {}", label, what);
          if (first_failure.empty()) first_failure = what;
        }
      }
    } catch (const StitchError&) {
      if (interrupt_requested()) sweep_collect(plan);  // what finished is kept and listed
      throw;
    }
  }
  const std::vector<Json> all = sweep_collect(plan);
  std::map<std::string, const Json*> by_key;
  for (const auto& r : all) by_key[r.value("key", "")] = &r;
  for (size_t ji : mine) {
    auto it = by_key.find(plan.jobs[ji].key);
    if (it != by_key.end()) out.rows.push_back(*it->second);
  }
  out.reused = static_cast<int64_t>(mine.size() - todo.size());
  if (out.failed > 0)
    throw StitchError(fmt::format("{} of {} jobs failed (the others are written); first: {}",
                                  out.failed, todo.size(), first_failure));
  return out;
}

std::vector<Json> stitch_experiment_run(const StitchConfig& c) {
  SweepConfig s;
  s.job = c;
  s.models = {{c.front, c.end}};
  s.front_points = {c.front_point};
  s.end_points = {c.end_point};
  s.store_dir = c.out_dir + "/store";
  stitch_settings_check(c);
  threads_set(static_cast<int>(c.threads));
  Plan plan = plan_make(s, device_parse(c.device));
  return sweep_run(plan, Shard{}).rows;
}

}  // namespace stitch
