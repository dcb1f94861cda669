#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "stitch/sweep/plan.h"
#include "stitch/sweep/sweep_config.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;
using stitch::test::error_of;

namespace {
SweepConfig parse(const std::string& yaml) {
  return sweep_config_parse(YAML::Load(yaml));
}

std::string cnn() {
  return test::arch_file("cnn");
}

std::string two_models() {
  return "models: [{front: " + cnn() + ", end: " + test::arch_file("cnn") +
         "}, {front: " + test::arch_file("resnet") + ", end: " + cnn() + "}]\n";
}

Plan plan_of(const std::string& yaml) {
  return plan_make(parse(yaml), c10::Device("cpu"));
}

std::map<std::string, std::string> keys_by_method(const Plan& p) {
  std::map<std::string, std::string> k;
  for (const auto& j : p.jobs) k[j.method] = j.key;
  return k;
}
}  // namespace

// The cnn recommends 4 points; a grid is every front point x every end point, minus cells
// that cannot be stitched (a vector into a conv map) and FuLA at the last point.
TEST(SweepPlan, GridExpandsAndSkipsWhatCannotBeStitched) {
  const Plan p = plan_of("front: " + cnn() + "\nend: " + cnn() +
                         "\nmethods: [dm_closed, fula]\nseeds: [0, 1]\n");
  std::set<std::string> cells;
  for (const auto& j : p.jobs) cells.insert(j.front_point + ">" + j.end_point);
  // 16 cells - 3 (head into block1..3) = 13; fula also misses the 4 cells ending at head.
  EXPECT_EQ(cells.size(), 13u);
  EXPECT_EQ(p.jobs.size(), (13u + 13u - 4u) * 2u);
  EXPECT_EQ(p.groups.size(), 4u) << "one group per end point of the one model pair";
  std::set<std::string> keys;
  for (const auto& j : p.jobs) keys.insert(j.key);
  EXPECT_EQ(keys.size(), p.jobs.size()) << "every job has its own key";
}

TEST(SweepPlan, ZipAndExplicitPoints) {
  const Plan z = plan_of("front: " + cnn() + "\nend: " + cnn() +
                         "\nfront_points: [block1, block2]\nend_points: [block2, block3]\n"
                         "pairs: zip\nmethods: [dm_closed]\n");
  ASSERT_EQ(z.jobs.size(), 2u);
  EXPECT_EQ(z.jobs[0].front_point + ">" + z.jobs[0].end_point, "block1>block2");
  EXPECT_EQ(z.jobs[1].front_point + ">" + z.jobs[1].end_point, "block2>block3");
  // Depth-mismatched pairs through relative depth (rounded linspace, ties to even as numpy).
  const Plan rel = plan_of("front: " + cnn() + "\nend: " + cnn() +
                           "\nfront_points: [block1, block3]\nend_points: [block1, block2, "
                           "block3]\npairs: relative\nmethods: [dm_closed]\n");
  ASSERT_EQ(rel.jobs.size(), 2u);
  EXPECT_EQ(rel.jobs[0].front_point + ">" + rel.jobs[0].end_point, "block1>block1");
  EXPECT_EQ(rel.jobs[1].front_point + ">" + rel.jobs[1].end_point, "block3>block3");
  const Plan rel3 = plan_of("front: " + cnn() + "\nend: " + cnn() +
                            "\nfront_points: [block1, block2, block3]\nend_points: [block1, "
                            "block3]\npairs: relative\nmethods: [dm_closed]\n");
  ASSERT_EQ(rel3.jobs.size(), 3u);
  EXPECT_EQ(rel3.jobs[1].end_point, "block1") << "the middle of 3 onto 2: 0.5 rounds to 0";
  EXPECT_EQ(rel3.jobs[2].end_point, "block3");
  const Plan all = plan_of("front: " + cnn() + "\nend: " + cnn() +
                           "\nfront_points: all\nend_points: [block2]\nmethods: [dm_closed]\n");
  EXPECT_GT(all.jobs.size(), 10u) << "'all' is every cuttable point, nested ones included";
  const Plan two = plan_of(two_models() +
                           "front_points: [recommended]\nend_points: [block3]\n"
                           "methods: [dm_closed]\n");
  EXPECT_EQ(two.models.size(), 2u) << "the cnn is loaded once for both pairs";
  EXPECT_EQ(two.groups.size(), 2u);
}

// Keys change exactly when a setting that changes the result changes.
TEST(SweepPlan, KeysFollowTheSettingsThatMatter) {
  const std::string base = "front: " + cnn() + "\nend: " + cnn() +
                           "\nfront_point: block2\nend_point: block2\nmethods: [dm_closed, fula]\n";
  const auto k0 = keys_by_method(plan_of(base));
  const auto epochs = keys_by_method(plan_of(base + "train: {epochs: 9}\n"));
  EXPECT_EQ(k0.at("dm_closed"), epochs.at("dm_closed")) << "epochs do not change a closed form";
  EXPECT_NE(k0.at("fula"), epochs.at("fula"));
  const auto ridge = keys_by_method(plan_of(base + "train: {ridge: 0.1}\n"));
  EXPECT_NE(k0.at("dm_closed"), ridge.at("dm_closed"));
  const auto samples = keys_by_method(plan_of(base + "data: {test_samples: 50}\n"));
  EXPECT_NE(k0.at("dm_closed"), samples.at("dm_closed"));
  const auto name = keys_by_method(plan_of(base + "name: other\nthreads: 1\n"));
  EXPECT_EQ(k0, name) << "the name, folder and thread count are not part of a result";
  // Another model file (different bytes) is another key.
  YAML::Node n = YAML::Load(base);
  n["end"] = test::fixture("cnn_a.pt");
  const auto model = keys_by_method(plan_make(sweep_config_parse(n), c10::Device("cpu")));
  EXPECT_NE(k0.at("dm_closed"), model.at("dm_closed"));
}

TEST(SweepPlan, ShardsKeepGroupsTogetherAndCoverEveryJob) {
  Plan p = plan_of(two_models() + "methods: [dm_closed, dm_hint]\n");
  plan_shards(p, 3);
  std::map<size_t, int64_t> shard_of_job;
  for (int64_t s = 0; s < 3; ++s) {
    EXPECT_FALSE(plan_shard_jobs(p, s).empty()) << "shard " << s;
    for (size_t j : plan_shard_jobs(p, s))
      EXPECT_TRUE(shard_of_job.emplace(j, s).second) << "job " << j << " in two shards";
  }
  EXPECT_EQ(shard_of_job.size(), p.jobs.size());
  for (const auto& g : p.groups)
    for (size_t j : g.jobs) EXPECT_EQ(shard_of_job[j], shard_of_job[g.jobs[0]]) << "group split";
}

TEST(SweepPlan, ShardSpecsAndSlurmEnvironment) {
  EXPECT_EQ(shard_parse("2/4").index, 2);
  EXPECT_EQ(shard_parse("2/4").count, 4);
  EXPECT_NE(error_of([] { shard_parse("3/2"); }).find("0 <= i < n"), std::string::npos);
  EXPECT_NE(error_of([] { shard_parse("1/0"); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([] { shard_parse("a/b"); }).find("not of the form i/n"), std::string::npos);
  EXPECT_NE(error_of([] { shard_parse("1/2x"); }).find("not of the form i/n"), std::string::npos);
  setenv("SLURM_ARRAY_TASK_ID", "5", 1);
  setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
  setenv("SLURM_ARRAY_TASK_MIN", "2", 1);
  EXPECT_EQ(shard_parse("").index, 3) << "task ids count from SLURM_ARRAY_TASK_MIN";
  EXPECT_EQ(shard_parse("").count, 4);
  EXPECT_EQ(shard_parse("0/1").count, 1) << "an explicit --shard wins";
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_COUNT");
  unsetenv("SLURM_ARRAY_TASK_MIN");
  EXPECT_EQ(shard_parse("").count, 1);
}

TEST(SweepPlan, BadConfigsFailBeforeAnyWork) {
  auto err = [](const std::string& yaml) { return error_of([&] { plan_of(yaml); }); };
  const std::string pair = "front: " + cnn() + "\nend: " + cnn() + "\n";
  EXPECT_NE(err(pair + "front_points: [block9]").find("valid points"), std::string::npos);
  EXPECT_NE(err(pair + "front_points: [block9]").find("front point of"), std::string::npos);
  EXPECT_NE(err("front: nope.pt\nend: " + cnn()).find("does not exist"), std::string::npos);
  EXPECT_NE(err("methods: [dm_closed]").find("config names no models"), std::string::npos);
  EXPECT_NE(err(pair + "front_point: block1\nfront_points: [block2]").find("not both"),
            std::string::npos);
  EXPECT_NE(err(pair + "pairs: zip\nfront_points: [block1]\nend_points: [block1, block2]")
                .find("pairs: zip needs as many"),
            std::string::npos);
  EXPECT_NE(err(pair + "store: {dtype: float8}").find("'store.dtype'"), std::string::npos);
  EXPECT_NE(err(pair + "stor: {dtype: float16}").find("did you mean 'store'"), std::string::npos);
  EXPECT_NE(err(pair + "front_point: head\nend_point: block1").find("cannot stitch a [128]"),
            std::string::npos)
      << "the only cell of a pair is an error, not a skip";
}

// Model pairs can be named replicates of a condition: each job carries it, the resolved dump
// keeps it, and it is not part of the key (regrouping does not re-run anything).
TEST(SweepPlan, ConditionsNameReplicatePairs) {
  const std::string models = "models: [{front: " + cnn() + ", end: " + cnn() +
                             ", condition: std}, {front: " + test::fixture("cnn_a.pt") +
                             ", end: " + cnn() + ", condition: other}]\n";
  const std::string rest = "front_points: [block2]\nend_points: [block2]\nmethods: [dm_closed]\n";
  const Plan p = plan_of(models + rest);
  ASSERT_EQ(p.jobs.size(), 2u);
  EXPECT_EQ(p.jobs[0].condition, "std");
  EXPECT_EQ(p.jobs[1].condition, "other");
  const SweepConfig back = sweep_config_parse(sweep_config_dump(p.config));
  EXPECT_EQ(back.models[1].condition, "other");
  const Plan plain = plan_of("models: [{front: " + cnn() + ", end: " + cnn() + "}]\n" + rest);
  EXPECT_EQ(plain.jobs[0].key, p.jobs[0].key);
  EXPECT_NE(error_of([] {
              parse("models: [{front: a.pt, end: b.pt, conditon: x}]\n");
            }).find("condition"),
            std::string::npos)
      << "a misspelt key gets the nearest one";
}
