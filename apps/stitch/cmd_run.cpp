// `stitch run CONFIG.yaml` and `stitch sweep plan|run|collect CONFIG.yaml [--shard i/n]`: one
// code path. `run` is a sweep run in one process (every shard), printing the results table.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "config_cli.h"
#include "stitch/results/result_row.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/device.h"

namespace stitch::cli {

namespace {
struct SweepArgs {
  std::string shard;
  int64_t shards = 1;
};

// The sweep settings of a (sub)command: CONFIG.yaml positional, flags, --set.
std::shared_ptr<ConfigCli> config_options(CLI::App* cmd) {
  return std::make_shared<ConfigCli>(cmd, sweep_config_table(), sweep_config_table().help(),
                                     /*file_positional=*/true);
}

Plan plan_load(const ConfigCli& cli) {
  const SweepConfig c = sweep_config_parse(cli.node());
  threads_set(static_cast<int>(c.job.threads));
  return plan_make(c, device_parse(c.job.device));
}

}  // namespace

void add_run(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "run", "stitch two models as an experiment YAML describes (a sweep run in one process)");
  auto cli = config_options(cmd);
  cmd->callback([&run, cli] {
    run = [cli] {
      Plan plan = plan_load(*cli);
      const SweepOutcome o = sweep_run(plan, Shard{});
      std::printf("%s", result_table_text(o.rows).c_str());
      std::printf("results: %s/results.csv\n", plan.dir.c_str());
      return 0;
    };
  });
}

void add_sweep(CLI::App& app, std::function<int()>& run) {
  auto* sweep = app.add_subcommand(
      "sweep", "cross-layer / many-model stitching sweeps: plan, run (sharded), collect");
  sweep->require_subcommand(1);
  auto a = std::make_shared<SweepArgs>();
  auto* plan = sweep->add_subcommand(
      "plan", "print the job count, how many are done, store size, memory and time estimates");
  auto plan_cli = config_options(plan);
  plan->add_option("--shards", a->shards, "show how n shards would split the jobs")
      ->check(CLI::Range(1, 100000));
  plan->callback([&run, a, plan_cli] {
    run = [a, plan_cli] {
      Plan p = plan_load(*plan_cli);
      std::printf("%s", sweep_plan_text(p, a->shards).c_str());
      return 0;
    };
  });
  auto* go = sweep->add_subcommand(
      "run", "run one shard of the sweep (all of it without --shard or a Slurm array)");
  auto go_cli = config_options(go);
  go->add_option("--shard", a->shard,
                 "i/n: run the i-th of n shards (0-based); default: SLURM_ARRAY_TASK_ID / "
                 "SLURM_ARRAY_TASK_COUNT when set, else everything");
  go->callback([&run, a, go_cli] {
    run = [a, go_cli] {
      const Shard shard = shard_parse(a->shard);  // a bad shard fails before models load
      Plan p = plan_load(*go_cli);
      plan_shards(p, shard.count);
      const SweepOutcome o = sweep_run(p, shard);
      std::printf(
          "sweep %s shard %lld/%lld: %lld jobs run, %lld already done%s\n",
          p.config.job.name.c_str(), static_cast<long long>(shard.index),
          static_cast<long long>(shard.count), static_cast<long long>(o.ran),
          static_cast<long long>(o.reused),
          o.elsewhere ? fmt::format(", {} left to another process", o.elsewhere).c_str() : "");
      std::printf("results: %s/results.csv\n", p.dir.c_str());
      return 0;
    };
  });
  auto* collect = sweep->add_subcommand(
      "collect", "rewrite results.{jsonl,csv} from the job folders (one row per finished job)");
  auto collect_cli = config_options(collect);
  collect->callback([&run, collect_cli] {
    run = [collect_cli] {
      Plan p = plan_load(*collect_cli);
      const auto rows = sweep_collect(p);
      std::printf("%zu of %zu jobs done; results: %s/results.csv\n", rows.size(), p.jobs.size(),
                  p.dir.c_str());
      return 0;
    };
  });
}

}  // namespace stitch::cli
