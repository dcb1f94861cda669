#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "stitch/cache/outcome_file.h"
#include "stitch/job/stitch_job.h"
#include "stitch/model/staged_model.h"
#include "stitch/results/result_row.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/error.h"
#include "stitch_run_util.h"
#include "test_util.h"

using namespace stitch;
using stitch::test::error_of;
namespace fs = std::filesystem;

namespace {
test::RunConfig small(const std::string& front, const std::string& end, const std::string& fp,
                      const std::string& ep) {
  test::RunConfig c;
  c.name = "t";
  c.out_dir = test::temp_dir();
  c.front = front;
  c.end = end;
  c.front_point = fp;
  c.end_point = ep;
  c.methods = {"dm_closed", "procrustes"};
  c.train_samples = 600;
  c.test_samples = 1000;
  c.init_samples = 500;
  c.epochs = 1;
  c.threads = 2;
  c.device = "cpu";
  return c;
}
}  // namespace

// Stitching a model to itself at the same point: the closed-form stitches are the identity, so
// the stitched model reproduces the end model (docs/methods.md identities).
TEST(StitchRun, SelfStitchReproducesEndModelAtEveryPoint) {
  for (const std::string arch : {"mlp", "cnn", "resnet", "vit"}) {
    const std::string f = test::arch_file(arch);
    StagedModel m = StagedModel::load(f);
    for (const auto& point : m.meta().stitch_points) {
      const auto rows = test::stitch_run(small(f, f, point, point));
      for (const auto& r : rows) {
        const std::string what = arch + "." + point + " " + r["method"].get<std::string>();
        EXPECT_NEAR(r["stitched_acc"].get<double>(), r["end_acc"].get<double>(), 0.001) << what;
        EXPECT_GE(r["agreement"].get<double>(), 0.999) << what;
        // Untrained nets have near-degenerate directions that 500 fit samples pin down only
        // approximately, so the held-out residual is ~1e-3, not 0 (agreement is the criterion).
        EXPECT_LT(r["stitch_residual"].get<double>(), 1e-2) << what;
      }
    }
  }
}

// A copy whose channels at block2 are permuted (next layer permuted to match) is recovered
// exactly: the stitch matrix is the permutation.
TEST(StitchRun, PermutedCopyIsRecoveredExactly) {
  test::RunConfig c =
      small(test::fixture("cnn_a.pt"), test::fixture("cnn_a_perm.pt"), "block2", "block2");
  const auto rows = test::stitch_run(c);
  at::Tensor perm = torch::jit::load(test::fixture("cnn_a_perm.pt")).attr("perm").toTensor();
  at::Tensor P = at::zeros({32, 32});
  for (int64_t i = 0; i < 32; ++i) P[i][perm[i].item<int64_t>()] = 1.0;
  for (const auto& r : rows) {
    const std::string method = r["method"].get<std::string>();
    StitchLayer T(StitchSpec{{32, 7, 7}, {32, 7, 7}});
    torch::load(T, c.out_dir + "/t/cnn_a__cnn_a_perm/block2__block2/" + method + "_s0/stitch.pt");
    EXPECT_LT((T->weight() - P).abs().max().item<double>(), 1e-3) << method;
    EXPECT_LT(T->bias().abs().max().item<double>(), 1e-3) << method;
    EXPECT_GE(r["agreement"].get<double>(), 0.999) << method;
    EXPECT_NEAR(r["stitched_acc"].get<double>(), r["end_acc"].get<double>(), 0.001) << method;
  }
}

TEST(StitchRun, TrainedMethodsWriteOutputsAndResume) {
  const std::string f = test::arch_file("cnn");
  test::RunConfig c = small(f, f, "block2", "block2");
  c.methods = {"fula", "tlm", "slm", "dm_hint"};
  const auto rows = test::stitch_run(c);
  ASSERT_EQ(rows.size(), 4u);
  const std::string dir = c.out_dir + "/t";
  for (const auto& m : c.methods) {
    const std::string job = dir + "/cnn__cnn/block2__block2/" + m + "_s0";
    for (const char* file : {"config.resolved.yaml", "result.json", "stitch.pt"})
      EXPECT_TRUE(fs::exists(job + "/" + file)) << job << "/" << file;
    std::ifstream in(job + "/result.json");
    const auto res = nlohmann::json::parse(in);
    for (const char* k :
         {"git_commit", "torch_version", "device", "front_sha256", "end_sha256", "seed"})
      EXPECT_TRUE(res["summary"].contains(k)) << k;
    EXPECT_EQ(res["summary"]["front_sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(res["loss_curve"].size(), 1u);
    EXPECT_EQ(res["layers"][0]["point"], "block2");
    EXPECT_EQ(res["layers"].size(), 3u) << "cnn's block2 is followed by block3 and head";
  }
  // Self-stitch from the lstsq initialisation: training keeps every method at the end model.
  for (const auto& r : rows) EXPECT_GE(r["agreement"].get<double>(), 0.97) << r["method"];
  const auto again = test::stitch_run(c);  // resumes: nothing recomputed, nothing appended
  EXPECT_EQ(again.size(), 4u);
  std::ifstream jl(dir + "/results.jsonl");
  int lines = 0;
  for (std::string s; std::getline(jl, s);) lines += !s.empty();
  EXPECT_EQ(lines, 4);
  std::ifstream csv(dir + "/results.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("name,method,seed,", 0), 0u) << header;
}

TEST(StitchRun, BadInputsGiveClearErrors) {
  const std::string mlp = test::arch_file("mlp"), cnn = test::arch_file("cnn");
  EXPECT_NE(error_of([&] {
              test::stitch_run(small(mlp, cnn, "layer2", "block1"));
            }).find("cannot stitch a [256]"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { test::stitch_run(small(cnn, cnn, "block9", "block1")); }).find("valid points"),
      std::string::npos);
  test::RunConfig last = small(cnn, cnn, "head", "head");
  last.methods = {"fula"};
  EXPECT_NE(error_of([&] {
              test::stitch_run(last);
            }).find("fula needs end-model layers after end_point 'head'"),
            std::string::npos);
  test::RunConfig w = small(cnn, cnn, "block2", "block2");
  w.methods = {"fula"};
  w.fula_weights = {1.0};
  EXPECT_NE(
      error_of([&] { test::stitch_run(w); }).find("fula.weights has 1 entries but FuLA uses 3"),
      std::string::npos);
  // nan_toy takes log() after point 'a', which is positive on real data; a random stitch makes
  // it negative, so the first training step's loss is NaN.
  const std::string toy = test::fixture("nan_toy.pt");
  test::RunConfig nan = small(toy, toy, "a", "a");
  nan.methods = {"tlm"};
  nan.init = StitchInit::kRand;
  const std::string e = error_of([&] { test::stitch_run(nan); });
  EXPECT_NE(e.find("tlm seed 0: loss is"), std::string::npos) << e;
  EXPECT_NE(e.find("step"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(nan.out_dir + "/t/tlm_s0/result.json"));
  // Underdetermined lstsq (K rows < C_in + 1) warns and still gives a finite min-norm fit.
  test::RunConfig k = small(mlp, mlp, "layer1", "layer1");
  k.init_samples = 100;
  k.methods = {"dm_closed"};
  const auto rows = test::stitch_run(k);
  EXPECT_TRUE(std::isfinite(rows[0]["stitched_acc"].get<double>()));
}

TEST(StitchRun, ConfigValidation) {
  auto err = [](const std::string& yaml) {
    return error_of([&] { sweep_config_parse(YAML::Load(yaml)); });
  };
  const std::string base = "front: a.pt\nend: b.pt\nfront_point: x\nend_point: y\n";
  EXPECT_NE(err(base + "methods: [fulla]").find("did you mean 'fula'"), std::string::npos);
  EXPECT_NE(err(base + "train: {epoch: 3}").find("did you mean 'train.epochs'"), std::string::npos);
  EXPECT_NE(err(base + "train: {lr: fast}").find("'train.lr': expected a number"),
            std::string::npos);
  EXPECT_NE(err(base + "seeds: [a]").find("'seeds': expected a list"), std::string::npos);
  EXPECT_NE(err("front: a.pt").find("needs 'front' and 'end'"), std::string::npos);
  EXPECT_EQ(sweep_config_parse(YAML::Load(base)).job.methods,
            (std::vector<std::string>{"dm_closed", "fula"}));
}

// With the end model stitched to itself, both optional evaluations have known answers: the
// stitched model is the end model, so its robust accuracy equals the end model's (same attack
// seed) and it agrees with the end model on marked and rolled images alike (excess 0).
TEST(StitchRun, RobustAndMarkerEvaluationsOnSelfStitch) {
  const std::string f = test::arch_file("mlp");
  test::RunConfig c = small(f, f, "layer2", "layer2");
  c.methods = {"dm_closed", "procrustes"};
  c.robust_samples = 200;
  c.robust_steps = 5;
  c.markers = MarkerMode::kPixelLoc;
  const int64_t pgd_before = end_pgd_evaluations();
  const auto rows = test::stitch_run(c);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(end_pgd_evaluations() - pgd_before, 1) << "the end model is attacked once for both";
  EXPECT_EQ(rows[0]["end_robust_acc"], rows[1]["end_robust_acc"]);
  EXPECT_NEAR(rows[0]["robust_acc"].get<double>(), rows[0]["end_robust_acc"].get<double>(), 0.011);
  EXPECT_GE(rows[0]["marker_agreement"].get<double>(), 0.999);
  EXPECT_NEAR(rows[0]["excess_agreement"].get<double>(), 0.0, 0.002);
  // The stitched model is the end model, so it uses the markers exactly as much.
  const nlohmann::json& r = rows[0];
  EXPECT_NEAR(r["marker_follow"].get<double>(), r["end_marker_follow"].get<double>(), 0.002);
  EXPECT_NEAR(r["marker_gap"].get<double>(), r["end_marker_gap"].get<double>(), 0.002);
  EXPECT_EQ(r["robust_samples"].get<int64_t>(), 200);
  EXPECT_TRUE(result_undeclared(r).empty()) << r;
  for (const char* m : {"stitched_acc", "robust_acc", "marker_follow", "excess_agreement"}) {
    const std::string k(m);
    EXPECT_LE(r[k + "_lo"].get<double>(), r[k].get<double>()) << m;
    EXPECT_GE(r[k + "_hi"].get<double>(), r[k].get<double>()) << m;
  }
  // Per-image outcomes beside result.json reproduce the row's numbers.
  const auto o = outcome_file_read(c.out_dir + "/" + c.name + "/" +
                                   r["job_dir"].get<std::string>() + "/outcomes.h5");
  ASSERT_EQ(o.at("label").numel(), r["test_samples"].get<int64_t>());
  EXPECT_NEAR(o.at("stitched_pred").eq(o.at("label")).to(at::kDouble).mean().item<double>(),
              r["stitched_acc"].get<double>(), 1e-9);
  EXPECT_EQ(o.at("pgd_stitched_pred").numel(), 200);
  EXPECT_NEAR(o.at("pgd_stitched_pred").eq(o.at("pgd_label")).to(at::kDouble).mean().item<double>(),
              r["robust_acc"].get<double>(), 1e-9);
  EXPECT_NEAR(
      o.at("rolled_stitched_pred").eq(o.at("rolled_class")).to(at::kDouble).mean().item<double>(),
      r["marker_follow"].get<double>(), 1e-9);
}

// Each trained objective, from a random stitch between two trained cnns, lowers its own loss:
// the per-epoch mean of the last epoch is well below the first (a loss not wired to the stitch
// layer, a wrong sign or a zero gradient would leave it flat or rising).
TEST(StitchRun, EveryTrainedObjectiveFallsFromARandomInit) {
  const std::string src = test::data_dir() + "/../../models/zoo/";
  test::RunConfig c =
      small(src + "cnn_standard_s0.pt", src + "cnn_standard_s1.pt", "block2", "block2");
  c.methods = {"dm_hint", "tlm", "slm", "fula"};
  c.init = StitchInit::kRand;
  c.epochs = 3;
  c.train_samples = 1280;  // 10 steps per epoch
  c.test_samples = 500;
  c.lr = 3e-3;
  c.schedule = Schedule::kConstant;
  const auto rows = test::stitch_run(c);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& m : c.methods) {
    std::ifstream in(c.out_dir + "/t/cnn_standard_s0__cnn_standard_s1/block2__block2/" + m +
                     "_s0/result.json");
    const auto curve = nlohmann::json::parse(in)["loss_curve"];
    ASSERT_EQ(curve.size(), 3u) << m;
    const double first = curve[0]["loss"].get<double>(), last = curve[2]["loss"].get<double>();
    EXPECT_LT(last, 0.8 * first) << m << ": " << curve.dump();
  }
}

// Mixed precision (bfloat16 autocast) trains to the float32 result within noise, and is part of
// the job's key (a run with it is a different job).
TEST(StitchRun, AmpTrainsToTheSameAccuracyAsFloat32) {
  const std::string src = test::data_dir() + "/../../models/zoo/";
  auto run = [&](bool amp) {
    test::RunConfig c =
        small(src + "cnn_standard_s0.pt", src + "cnn_standard_s1.pt", "block2", "block2");
    c.methods = {"fula"};
    c.amp = amp;
    c.epochs = 2;
    c.train_samples = 1280;
    c.test_samples = 1000;
    return test::stitch_run(c)[0];
  };
  const auto full = run(false), half = run(true);
  EXPECT_NE(full["key"], half["key"]);
  EXPECT_NEAR(half["stitched_acc"].get<double>(), full["stitched_acc"].get<double>(), 0.02)
      << "float32 " << full["stitched_acc"] << " bfloat16 " << half["stitched_acc"];
  EXPECT_NEAR(half["fula_test"].get<double>(), full["fula_test"].get<double>(), 0.02);
  EXPECT_NE(half["fula_test"].get<double>(), full["fula_test"].get<double>())
      << "bfloat16 rounding must change the trained stitch: is autocast on?";
}

// The attack must work: PGD at eps 0.1 takes a standard cnn's (self-stitched) accuracy from ~92 %
// to near 0, while the adversarially trained cnn keeps most of it. A broken attack (no
// perturbation, wrong sign, no projection) breaks one of these bounds.
TEST(StitchRun, RobustAccuracySeparatesStandardFromAdversarialEnds) {
  const std::string src = test::data_dir() + "/../../models/zoo/";
  auto robust = [&](const std::string& model) {
    test::RunConfig c = small(src + model, src + model, "block2", "block2");
    c.methods = {"dm_closed"};
    c.test_samples = 300;
    c.robust_samples = 300;
    c.robust_steps = 10;
    c.robust_epsilon = 0.1;
    return test::stitch_run(c)[0];
  };
  const auto std_row = robust("cnn_standard_s0.pt"), adv_row = robust("cnn_adversarial_s0.pt");
  EXPECT_GT(std_row["stitched_acc"].get<double>(), 0.85);
  EXPECT_LT(std_row["robust_acc"].get<double>(), 0.15) << "attack too weak: " << std_row.dump();
  EXPECT_GT(adv_row["robust_acc"].get<double>(), 0.45) << adv_row.dump();
  EXPECT_LT(adv_row["robust_acc"].get<double>(), adv_row["stitched_acc"].get<double>() - 0.05)
      << "the attack lowers even the robust model's accuracy";
}

// The decoupled isometry step pulls a random stitch towards an orthogonal one.
TEST(StitchRun, IsometryStepReducesOrthogonalityError) {
  const std::string f = test::arch_file("cnn");
  auto orth_error = [&](double lambda) {
    test::RunConfig c = small(f, f, "block2", "block2");
    c.methods = {"tlm"};
    c.init = StitchInit::kRand;
    c.iso_lambda = lambda;
    c.schedule = Schedule::kConstant;
    c.train_samples = 2560;  // 20 steps: step size lr * lambda = 0.03 on ||W^T W - I||^2
    return test::stitch_run(c)[0]["orth_error"].get<double>();
  };
  const double plain = orth_error(0.0), iso = orth_error(30.0);
  EXPECT_LT(iso, 0.7 * plain) << "without " << plain << " with " << iso;
}
