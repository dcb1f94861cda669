#include "stitch/sweep/sweep_run.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/cache/outcome_file.h"
#include "stitch/job/stitch_job.h"
#include "stitch/results/results.h"
#include "stitch/sweep/job_inputs.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/progress.h"
#include "stitch/util/provenance.h"
#include "stitch/util/version.h"

namespace stitch {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {
// Relative depth of a point among the model's distinct points in forward order (0 .. 1).
double point_depth(const StagedModel& m, const std::string& point) {
  std::set<size_t> positions;
  for (const auto& p : m.points()) positions.insert(p.position);
  const size_t at = m.position(point);
  const auto rank = static_cast<double>(std::distance(positions.begin(), positions.find(at)));
  return positions.size() > 1 ? rank / static_cast<double>(positions.size() - 1) : 0.0;
}

std::string job_label(const Plan& p, const Job& j) {
  return fmt::format("{} s{} {}:{} -> {}:{}", j.method, j.seed, p.models[j.front].label,
                     j.front_point, p.models[j.end].label, j.end_point);
}

// Writes a finished job's folder and results line; returns its summary row.
Json job_write(Plan& p, const Job& j, StitchLayer& T, const JobInputs& in, const JobOutcome& out,
               size_t lockstep) {
  const Settings& c = p.config.job;
  const c10::Device dev = device_parse(c.device);
  PlannedModel &F = p.models[j.front], &E = p.models[j.end];
  Json row = {{"name", c.name},
              {"method", j.method},
              {"seed", j.seed},
              {"front", F.path},
              {"end", E.path},
              {"front_point", j.front_point},
              {"end_point", j.end_point},
              {"front_depth", point_depth(F.model, j.front_point)},
              {"end_depth", point_depth(E.model, j.end_point)},
              {"stitch_kind", stitch_kind_name(T->kind())},
              {"key", j.key},
              {"job_dir", fs::path(j.dir).lexically_relative(p.dir).string()}};
  if (!j.condition.empty()) row["condition"] = j.condition;
  row.update(out.eval.to_json());
  row["train_samples"] = in.train->rows();
  row["test_samples"] = in.test->rows();
  row["fit_seconds"] = out.fit_seconds;
  row["train_seconds"] = out.train_seconds;
  row["train_rows"] = in.train->live() ? "live" : "store";
  row["test_rows"] = in.test->live() ? "live" : "store";
  row["lockstep_jobs"] = lockstep;
  row.update(provenance(dev.str()));
  row["tf32"] = c.tf32 && dev.is_cuda();  // whether TF32 could be used
  row["front_sha256"] = F.sha256;
  row["end_sha256"] = E.sha256;
  const std::string config = YAML::Dump(job_config_dump(j, c));
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
  T->to(torch::kCPU);        // evaluated already: saved on the CPU, so any machine can load it
  std::ostringstream bytes;  // serialised in memory: torch's file writer throws from its
  torch::save(T, bytes);     // destructor on a failed write, which ends the process
  file_write_text(j.dir + "/stitch.pt", bytes.str());
  outcome_file_write(j.dir + "/outcomes.h5", outcomes_sets(out.eval.outcomes),
                     {{"key", j.key}, {"method", j.method}, {"seed", std::to_string(j.seed)}});
  file_write_text(j.dir + "/result.json", result.dump(1) + "\n");  // last: marks the job done
  results_append(p.dir, row);
  return row;
}

// Runs the jobs of one unit (one job, or a lockstep group sharing models, points and seed) and
// writes their folders; returns their summary rows.
std::vector<Json> unit_run(Plan& p, const std::vector<size_t>& unit, ShardData& data,
                           ReaderCache& cache, const LiveSplits& live,
                           const std::vector<std::string>& labels) {
  const Job& j0 = p.jobs[unit[0]];
  const Settings& c = p.config.job;
  const c10::Device dev = device_parse(c.device);
  const JobInputs in =
      job_inputs(p, unit, data, cache, live.train.count(unit[0]) > 0, live.test.count(unit[0]) > 0);
  PlannedModel &F = p.models[j0.front], &E = p.models[j0.end];
  // Frozen means frozen: bn_mode train updates BatchNorm statistics, so it gets its own copy.
  std::optional<StagedModel> copy;
  if (c.bn_mode == BnMode::kTrain) {
    copy = StagedModel::load(E.path, dev);
    copy->bind_data(p.input_shape, c.data.mean, c.data.std);
    for (auto& t : copy->parameters()) t.requires_grad_(false);
  }
  StagedModel& end = copy ? *copy : E.model;
  std::vector<StitchLayer> layers;
  layers.reserve(unit.size());  // tasks point into it
  std::vector<StitchTask> tasks;
  for (size_t k = 0; k < unit.size(); ++k) {
    const Job& j = p.jobs[unit[k]];
    layers.emplace_back(StitchSpec{F.model.point(j.front_point).shape,
                                   E.model.point(j.end_point).shape, c.bn_before, c.bn_after,
                                   c.rank});
    layers.back()->to(dev);
    tasks.push_back(StitchTask{&j, &method_get(j.method), &layers.back(), labels[k]});
  }
  const std::vector<JobOutcome> outs = stitch_jobs_run(tasks, F.model, end, in, c);
  std::vector<Json> rows;
  for (size_t k = 0; k < unit.size(); ++k)
    rows.push_back(job_write(p, p.jobs[unit[k]], layers[k], in, outs[k], unit.size()));
  return rows;
}
// Claims the jobs of `unit` for this process (a lock on <job>/job.lock, held while `claims`
// lives) and returns those to run: a job another process holds, or one that was finished since
// the plan was read, is left out and counted in `elsewhere`.
std::vector<size_t> unit_claim(const Plan& p, const std::vector<size_t>& unit,
                               std::vector<std::unique_ptr<FileLock>>& claims, int64_t& elsewhere) {
  std::vector<size_t> mine;
  for (size_t ji : unit) {
    const Job& j = p.jobs[ji];
    std::error_code ec;
    fs::create_directories(j.dir, ec);
    if (ec) throw StitchError(fmt::format("cannot create '{}': {}", j.dir, ec.message()));
    std::unique_ptr<FileLock> claim = FileLock::try_lock(j.dir + "/job.lock");
    if (!claim || job_state(j) == JobState::kDone) {
      spdlog::info("{}: {}; left to it", job_label(p, j),
                   claim ? "finished by another process" : "another process is running it");
      ++elsewhere;
      continue;
    }
    claims.push_back(std::move(claim));
    mine.push_back(ji);
  }
  return mine;
}
}  // namespace

std::vector<Json> sweep_collect(const Plan& plan) {
  std::error_code ec;
  fs::create_directories(plan.dir, ec);
  return results_rebuild(plan.dir, [&] {  // scanned under the results lock
    std::vector<Json> rows;
    for (const auto& j : plan.jobs) {
      Json row;
      if (job_state(j, &row) != JobState::kDone) continue;
      row.erase("condition");  // the sweep's grouping now, not that of the run that wrote it
      if (!j.condition.empty()) row["condition"] = j.condition;
      rows.push_back(row);
    }
    return rows;
  });
}

namespace {
// One shard's progress while it runs its units: jobs done (run, failed or done elsewhere) of
// `todo`, the start time for the ETA, and the first failure's message.
struct RunState {
  size_t done = 0, todo = 0;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::string first_failure;
};

// The jobs of `mine` that have no valid result yet (a stale or unreadable one is run again).
std::vector<size_t> jobs_todo(const Plan& plan, const std::vector<size_t>& mine) {
  std::vector<size_t> todo;
  for (size_t ji : mine) {
    std::string why;
    const JobState s = job_state(plan.jobs[ji], nullptr, &why);
    if (s == JobState::kDone) continue;
    if (s != JobState::kTodo)
      spdlog::warn("{}: {}; running it again", job_label(plan, plan.jobs[ji]), why);
    todo.push_back(ji);
  }
  return todo;
}

void rows_log(const std::vector<std::string>& labels, const std::vector<Json>& rows,
              const RunState& st) {
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.t0).count();
  for (size_t k = 0; k < rows.size(); ++k)
    spdlog::info("{}: stitched {:.2f}% end {:.2f}% agreement {:.2f}%{}", labels[k],
                 100 * rows[k]["stitched_acc"].get<double>(),
                 100 * rows[k]["end_acc"].get<double>(), 100 * rows[k]["agreement"].get<double>(),
                 k + 1 < rows.size()
                     ? ""
                     : " | ETA " + duration_format(el / static_cast<double>(st.done) *
                                                   static_cast<double>(st.todo - st.done)));
}

// Runs one claimed unit. When it fails, a lockstep unit goes back on the queue job by job (one
// failing stitch must not take the others with it); a single job is counted as failed.
void unit_try(Plan& plan, const std::vector<size_t>& unit, ShardData& data, ReaderCache& cache,
              const LiveSplits& live, std::vector<std::vector<size_t>>& queue, SweepOutcome& out,
              RunState& st) {
  std::vector<std::string> labels;
  for (size_t k = 0; k < unit.size(); ++k)
    labels.push_back(
        fmt::format("[{}/{}] {}", st.done + k + 1, st.todo, job_label(plan, plan.jobs[unit[k]])));
  try {
    const std::vector<Json> rows = unit_run(plan, unit, data, cache, live, labels);
    out.ran += static_cast<int64_t>(rows.size());
    st.done += rows.size();
    rows_log(labels, rows, st);
  } catch (const std::exception& e) {  // StitchError, or torch's c10::Error
    if (interrupt_requested()) throw;
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    if (unit.size() > 1) {
      spdlog::warn("{}: lockstep group of {} failed ({}); running its jobs one by one", labels[0],
                   unit.size(), what);
      for (auto it = unit.rbegin(); it != unit.rend(); ++it)
        if (job_state(plan.jobs[*it]) != JobState::kDone) queue.push_back({*it});
      return;
    }
    ++out.failed;
    ++st.done;
    spdlog::error("{}: failed, nothing written: {}", labels[0], what);
    if (st.first_failure.empty()) st.first_failure = what;
  }
}

// Builds the store the jobs of `todo` need, then runs their lockstep units in order, each
// claimed first (a unit another run holds is left to it).
void units_run(Plan& plan, const std::vector<size_t>& todo, SweepOutcome& out, RunState& st) {
  ShardData data(plan);
  for (auto& m : plan.models)
    for (auto& t : m.model.parameters()) t.requires_grad_(false);
  const std::vector<std::vector<size_t>> units = lockstep_units(plan, todo);
  const LiveSplits live = live_splits(plan, units, data);
  if (!live.train.empty() || !live.test.empty())
    spdlog::info(
        "rows computed live, not stored (store.stream: {}): training rows of {} of {} jobs, "
        "test rows of {}",
        enum_name(plan.config.store_stream), live.train.size(), todo.size(), live.test.size());
  data.build(plan, store_needs(plan, todo, live));
  ReaderCache cache(plan.config.store_ram_mb << 20);
  st.t0 = std::chrono::steady_clock::now();
  std::string group;
  std::vector<std::vector<size_t>> queue(units.rbegin(), units.rend());  // back = next
  while (!queue.empty()) {
    std::vector<std::unique_ptr<FileLock>> claims;
    const std::vector<size_t> unit = unit_claim(plan, queue.back(), claims, out.elsewhere);
    st.done += queue.back().size() - unit.size();
    queue.pop_back();
    if (unit.empty()) continue;
    const Job& j0 = plan.jobs[unit[0]];
    const std::string g = fmt::format("{}|{}|{}", j0.front, j0.end, j0.end_point);
    if (g != group) cache.clear();
    group = g;
    unit_try(plan, unit, data, cache, live, queue, out, st);
  }
}
}  // namespace

SweepOutcome sweep_run(Plan& plan, const Shard& shard) {
  interrupt_install();
  threads_set(static_cast<int>(plan.config.job.threads));
  tf32_set(plan.config.job.tf32);
  const std::vector<size_t> mine = plan_shard_jobs(plan, shard.index);
  SweepOutcome out;
  const std::vector<size_t> todo = jobs_todo(plan, mine);
  spdlog::info("sweep {} shard {}/{}: threads {}, {} of {} jobs to run ({} in the whole sweep)",
               plan.config.job.name, shard.index, shard.count, at::get_num_threads(), todo.size(),
               mine.size(), plan.jobs.size());
  RunState st;
  st.todo = todo.size();
  if (!todo.empty()) {
    std::error_code ec;
    fs::create_directories(plan.dir, ec);
    file_check_writable(plan.dir + "/results.jsonl");  // before any long work
    file_write_text(plan.dir + "/sweep.resolved.yaml",
                    YAML::Dump(sweep_config_dump(plan.config)) + "\n");
    try {
      units_run(plan, todo, out, st);
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
                                  out.failed, todo.size(), st.first_failure));
  return out;
}

}  // namespace stitch
