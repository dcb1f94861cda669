#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "stitch/results/results.h"
#include "stitch/sweep/job_inputs.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;
namespace fs = std::filesystem;

namespace {
// A small cross-layer sweep of the untrained cnn with itself: 2 x 2 points, two methods.
SweepConfig small_sweep(const std::string& out) {
  SweepConfig c = sweep_config_parse(
      YAML::Load("name: t\nfront: " + test::arch_file("cnn") + "\nend: " + test::arch_file("cnn") +
                 "\nfront_points: [block1, block2]\nend_points: [block2, block3]\n"
                 "methods: [dm_closed, dm_hint]\ndata: {train_samples: 512, test_samples: 500}\n"
                 "train: {epochs: 1}\nthreads: 2\ndevice: cpu\nout_dir: " +
                 out + "\n"));
  return c;
}

std::vector<std::string> jsonl_keys(const std::string& dir) {
  std::vector<std::string> keys;
  for (const auto& r : results_read(dir)) keys.push_back(r.value("key", ""));
  return keys;
}

// A sweep of the nan_toy model with `other` and tlm from a random init: tlm's loss turns NaN
// (log of negative stitched activations). Checks that only tlm fails, that the error names it,
// and that `other` is written; `lockstep`: the two jobs form one lockstep group.
void expect_only_tlm_fails(const std::string& other, bool lockstep) {
  const std::string toy = test::fixture("nan_toy.pt");
  SweepConfig c = sweep_config_parse(YAML::Load(
      "name: nan\nfront: " + toy + "\nend: " + toy + "\nfront_point: a\nend_point: a\n" +
      "methods: [" + other + ", tlm]\ntrain: {init: rand}\n" +
      "data: {train_samples: 512, test_samples: 200}\ndevice: cpu\nout_dir: " + test::temp_dir() +
      "\n"));
  Plan p = plan_make(c, c10::Device("cpu"));
  EXPECT_EQ(lockstep_units(p, {0, 1}).size(), lockstep ? 1u : 2u);
  const std::string err = test::error_of([&] { sweep_run(p, Shard{}); });
  EXPECT_NE(err.find("1 of 2 jobs failed"), std::string::npos) << err;
  EXPECT_NE(err.find("tlm seed 0: loss is"), std::string::npos) << err;
  EXPECT_EQ(results_read(p.dir).size(), 1u) << "the " << other << " job is kept";
  for (const auto& j : p.jobs)
    EXPECT_EQ(fs::exists(j.dir + "/result.json"), j.method == other) << j.method;
}

size_t csv_rows(const std::string& dir) {
  std::ifstream in(dir + "/results.csv");
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n - 1;  // header
}
}  // namespace

// Identity anchor through the sweep path: a model stitched to itself at the same point is the
// end model. dm_closed is the exact least-squares fit (the identity). dm_hint starts there, but
// at a zero loss Adam normalises the remaining rounding-level gradients into steps of ~lr, so
// its stitch drifts off the identity (orth_error ~0.03 after an epoch); the untrained cnn's
// logits are near ties (10 % accuracy), so that drift flips about 1 % of its predictions.
TEST(SweepRun, SelfPairDiagonalEqualsTheEndModel) {
  Plan p = plan_make(small_sweep(test::temp_dir()), c10::Device("cpu"));
  const auto rows = sweep_run(p, Shard{}).rows;
  ASSERT_EQ(rows.size(), 8u);
  int diagonal = 0;
  for (const auto& r : rows)
    if (r["front_point"] == r["end_point"]) {
      ++diagonal;
      EXPECT_NEAR(r["stitched_acc"].get<double>(), r["end_acc"].get<double>(), 0.002) << r;
      EXPECT_GE(r["agreement"].get<double>(), r["method"] == "dm_closed" ? 0.999 : 0.98) << r;
    }
  EXPECT_EQ(diagonal, 2);
  // The resolved sweep written beside the results plans the same jobs (same keys).
  const Plan back = plan_make(sweep_config_parse(YAML::LoadFile(p.dir + "/sweep.resolved.yaml")),
                              c10::Device("cpu"));
  ASSERT_EQ(back.jobs.size(), p.jobs.size());
  for (size_t i = 0; i < p.jobs.size(); ++i) EXPECT_EQ(back.jobs[i].key, p.jobs[i].key);
}

// The job folders are the source of truth: duplicated lines in results.jsonl (a kill between
// an append and the collection) and a truncated result.json (a crash mid-write on a file
// system without atomic rename) are mended by the next run, which re-runs only that job.
TEST(SweepRun, ResumeMendsDuplicatesAndRerunsOnlyBrokenOrChangedJobs) {
  const std::string out = test::temp_dir();
  Plan p = plan_make(small_sweep(out), c10::Device("cpu"));
  sweep_run(p, Shard{});
  const std::string dir = p.dir;
  const std::vector<std::string> keys = jsonl_keys(dir);
  ASSERT_EQ(keys.size(), 8u);
  const nlohmann::json dup = results_read(dir)[3];
  results_append(dir, dup);
  results_append(dir, dup);
  const Job& broken = p.jobs[5];
  const std::string text = test::read_file(broken.dir + "/result.json");
  std::ofstream(broken.dir + "/result.json", std::ios::trunc) << text.substr(0, text.size() / 3);
  const auto mtime = [&](const Job& j) { return fs::last_write_time(j.dir + "/result.json"); };
  const auto before = mtime(p.jobs[0]);
  const SweepOutcome again = sweep_run(p, Shard{});
  EXPECT_EQ(again.ran, 1) << "only the job with the unreadable result.json";
  EXPECT_EQ(again.reused, 7);
  EXPECT_EQ(mtime(p.jobs[0]), before) << "finished jobs are not re-run";
  auto after = jsonl_keys(dir);
  EXPECT_EQ(after.size(), 8u) << "one row per job";
  EXPECT_EQ(std::set<std::string>(after.begin(), after.end()),
            std::set<std::string>(keys.begin(), keys.end()));
  EXPECT_EQ(csv_rows(dir), 8u);
  // A changed setting changes the trained jobs' keys: they, and only they, run again.
  SweepConfig c = small_sweep(out);
  c.job.epochs = 2;
  Plan p2 = plan_make(c, c10::Device("cpu"));
  const SweepOutcome changed = sweep_run(p2, Shard{});
  EXPECT_EQ(changed.ran, 4) << "the four dm_hint jobs";
  EXPECT_EQ(jsonl_keys(dir).size(), 8u);
}

// Shards run disjoint jobs; after all of them the collected files hold every job once, with
// the same results as one unsharded run.
TEST(SweepRun, ShardsTogetherEqualOneRun) {
  Plan whole = plan_make(small_sweep(test::temp_dir()), c10::Device("cpu"));
  const auto one = sweep_run(whole, Shard{}).rows;
  Plan sharded = plan_make(small_sweep(test::temp_dir()), c10::Device("cpu"));
  plan_shards(sharded, 2);
  size_t ran = 0;
  for (int64_t s = 0; s < 2; ++s) ran += sweep_run(sharded, Shard{s, 2}).ran;
  EXPECT_EQ(ran, 8u);
  std::map<std::string, double> acc;
  for (const auto& r : one) acc[r["key"]] = r["stitched_acc"];
  const auto rows = results_read(sharded.dir);
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& r : rows) EXPECT_NEAR(acc.at(r["key"]), r["stitched_acc"].get<double>(), 1e-9);
}

// Frozen means frozen: a job with bn_mode train (BatchNorm statistics updated while training,
// as the reference code does) leaves the sweep's end model exactly as loaded.
TEST(SweepRun, BnModeTrainLeavesTheEndModelUnchanged) {
  SweepConfig c = small_sweep(test::temp_dir());
  c.front_points = {"block1"};
  c.end_points = {"block1"};
  c.job.methods = {"tlm"};
  c.job.bn_mode = BnMode::kTrain;
  c.job.init = StitchInit::kRand;
  Plan p = plan_make(c, c10::Device("cpu"));
  at::set_num_threads(2);  // the sweep's threads: bitwise equality needs the same kernel split
  const at::Tensor x = at::rand({8, 1, 28, 28});
  const at::Tensor before = p.models[0].model.forward(x);
  sweep_run(p, Shard{});
  EXPECT_TRUE(p.models[0].model.forward(x).equal(before));
  EXPECT_EQ(results_read(p.dir).size(), 1u);
}

// A job whose loss turns NaN fails alone: the others are written, nothing of it is, and the
// error names it.
TEST(SweepRun, AFailingJobDoesNotStopTheOthers) {
  expect_only_tlm_fails("dm_closed", false);
}

// Never compute what a job does not use: closed-form fits read the first init_samples training
// images only, so a dm_closed sweep runs the models over those, not the whole training set.
TEST(SweepRun, ClosedFormJobsStoreOnlyTheInitRows) {
  SweepConfig c = small_sweep(test::temp_dir());
  c.job.methods = {"dm_closed"};
  c.job.init_samples = 100;
  Plan p = plan_make(c, c10::Device("cpu"));
  const auto rows = sweep_run(p, Shard{}).rows;
  ASSERT_EQ(rows.size(), 4u);
  std::set<std::string> entries;
  for (const auto& f : fs::recursive_directory_iterator(c.store_dir))
    if (f.is_directory() && f.path().parent_path().parent_path() == fs::path(c.store_dir))
      entries.insert(f.path().filename().string().substr(0, 10));
  EXPECT_EQ(entries, (std::set<std::string>{"test_n500_", "train_n100"})) << "no train_n512";
  for (const auto& r : rows) EXPECT_EQ(r["train_samples"].get<int64_t>(), 100) << r;
}

// The shortcut testbed plants class markers in the stitch-training images: those images (and
// only those) differ from the clean ones, their activations are a different store entry, and
// the setting is part of every job's key; unmarked sweeps keep their keys.
TEST(SweepRun, PlantedTrainingMarkersChangeTrainImagesKeysAndStoreEntries) {
  const std::string out = test::temp_dir();
  SweepConfig clean = small_sweep(out);
  SweepConfig marked = clean;
  marked.job.train_markers = MarkerMode::kPixelLoc;
  marked.job.train_marker_prob = 0.5;
  Plan pc = plan_make(clean, c10::Device("cpu")), pm = plan_make(marked, c10::Device("cpu"));
  const ShardData dc(pc), dm(pm);
  const at::Tensor changed = (dm.train.images - dc.train.images).abs().flatten(1).amax(1).gt(0);
  const double share = changed.to(at::kDouble).mean().item<double>();
  EXPECT_GT(share, 0.4) << "about half the images carry a marker";
  EXPECT_LT(share, 0.6);
  EXPECT_TRUE(at::equal(dm.test.images, dc.test.images)) << "test images stay clean";
  EXPECT_TRUE(at::equal(dm.init.images, dm.train.images.narrow(0, 0, dm.init.size())));
  EXPECT_NE(dm.store.entry_dir(dm.entry(pm, 0, "train")),
            dc.store.entry_dir(dc.entry(pc, 0, "train")));
  EXPECT_EQ(dm.store.entry_dir(dm.entry(pm, 0, "test")),
            dc.store.entry_dir(dc.entry(pc, 0, "test")));
  ASSERT_EQ(pc.jobs.size(), pm.jobs.size());
  for (size_t i = 0; i < pc.jobs.size(); ++i) {
    EXPECT_NE(pc.jobs[i].key, pm.jobs[i].key);
    EXPECT_FALSE(pc.jobs[i].key_settings.contains("train_markers"));
  }
}

// Lockstep training (four methods, one fetch of the frozen rows and one stacked end-model pass
// per step) on rows computed live gives the same stitches as training each job alone on rows
// read back from the store, up to float summation order; the live run (the only unit on its
// models, so training and test rows are live) writes nothing to the store.
TEST(SweepRun, LockstepOnLiveRowsEqualsOneByOneFromTheStore) {
  const std::string zoo = test::data_dir() + "/../../models/zoo/";
  auto run = [&](bool lockstep, StoreStream stream) {
    SweepConfig c = sweep_config_parse(YAML::Load(
        "name: ls\nfront: " + zoo + "cnn_standard_s0.pt\nend: " + zoo +
        "cnn_standard_s1.pt\nfront_point: block1\nend_point: block1\n"
        "methods: [dm_hint, tlm, slm, fula]\ndata: {train_samples: 1280, test_samples: 500}\n"
        "train: {epochs: 1}\nthreads: 2\ndevice: cpu\nout_dir: " +
        test::temp_dir() + "\n"));
    c.lockstep = lockstep;
    c.store_stream = stream;
    Plan p = plan_make(c, c10::Device("cpu"));
    std::map<std::string, nlohmann::json> by_method;
    for (const auto& r : sweep_run(p, Shard{}).rows) by_method[r["method"]] = r;
    std::set<std::string> entries;
    for (const auto& f : fs::recursive_directory_iterator(c.store_dir))
      if (f.is_directory() && f.path().parent_path().parent_path() == fs::path(c.store_dir))
        entries.insert(f.path().filename().string().substr(0, 5));
    return std::make_pair(by_method, entries);
  };
  const auto [together, together_store] = run(true, StoreStream::kAuto);
  const auto [alone, alone_store] = run(false, StoreStream::kNever);
  EXPECT_EQ(together_store, (std::set<std::string>{})) << "no store entry when live";
  EXPECT_EQ(alone_store, (std::set<std::string>{"test_", "train"}));
  ASSERT_EQ(together.size(), 4u);
  for (const auto& [m, r] : together) {
    const auto& a = alone.at(m);
    EXPECT_EQ(r["train_rows"], "live") << m;
    EXPECT_EQ(r["test_rows"], "live") << m;
    EXPECT_EQ(a["test_rows"], "store") << m;
    EXPECT_EQ(r["lockstep_jobs"], 4) << m;
    EXPECT_EQ(a["train_rows"], "store") << m;
    EXPECT_EQ(a["lockstep_jobs"], 1) << m;
    EXPECT_EQ(r["key"], a["key"]) << m << ": how rows are computed is not part of the job";
    EXPECT_NEAR(r["stitched_acc"].get<double>(), a["stitched_acc"].get<double>(), 0.004) << m;
    EXPECT_NEAR(r["fula_test"].get<double>(), a["fula_test"].get<double>(), 1e-3) << m;
    EXPECT_NE(r["fula_test"].get<double>(), together.at(m == "fula" ? "tlm" : "fula")["fula_test"])
        << m << ": each stitch trained on its own loss";
  }
}

// Test rows computed live (the only unit on its models) and read back from the store give the
// same evaluation of the same stitch (a closed-form fit: no training noise): every metric equal
// up to float rounding, and nothing of the test split is stored when live.
TEST(SweepRun, LiveTestRowsEvaluateLikeStoredOnes) {
  auto run = [](StoreStream stream) {
    SweepConfig c = small_sweep(test::temp_dir());
    c.job.methods = {"dm_closed"};
    c.front_points = {"block2"};
    c.end_points = {"block2"};
    c.store_stream = stream;
    Plan p = plan_make(c, c10::Device("cpu"));
    const auto rows = sweep_run(p, Shard{}).rows;
    EXPECT_EQ(rows.size(), 1u);
    bool test_stored = false;
    for (const auto& f : fs::recursive_directory_iterator(c.store_dir))
      test_stored = test_stored || f.path().filename().string().rfind("test_", 0) == 0;
    return std::make_pair(rows.at(0), test_stored);
  };
  const auto [live, live_stored] = run(StoreStream::kAuto);
  const auto [stored, stored_stored] = run(StoreStream::kNever);
  EXPECT_EQ(live["test_rows"], "live");
  EXPECT_EQ(stored["test_rows"], "store");
  EXPECT_FALSE(live_stored);
  EXPECT_TRUE(stored_stored);
  for (const char* k : {"stitched_acc", "end_acc", "front_acc", "agreement", "soft_agreement",
                        "kappa", "stitch_residual", "fula_test"})
    EXPECT_NEAR(live[k].get<double>(), stored[k].get<double>(), 1e-6) << k;
}

// A NaN in one stitch of a lockstep group does not fail the others: the group is re-run job by
// job, the finite job is written and the error names the failing one.
TEST(SweepRun, AFailingStitchInALockstepGroupFailsAlone) {
  expect_only_tlm_fails("dm_hint", true);
}
