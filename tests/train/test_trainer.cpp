#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "stitch/metrics/evaluate.h"
#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/train/trainer.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;

namespace {
TrainConfig small(const std::string& arch, Recipe recipe, const std::string& out) {
  TrainConfig c;
  c.arch = arch;
  c.arch_dir = test::arch_dir();
  c.recipe = recipe;
  c.epochs = 2;
  c.train_samples = 3000;
  c.test_samples = 1000;
  c.robust_eval_samples = 300;
  c.robust_eval_steps = 10;
  c.threads = 2;
  c.device = "cpu";
  c.optimizer = "adam";
  c.lr = 2e-3;
  c.weight_decay = 0;
  c.out = out;
  return c;
}
}  // namespace

TEST(Trainer, StandardRecipeLearnsAndRecordsMetadata) {
  const std::string out = test::temp_dir() + "/mlp.pt";
  TrainConfig c = small("mlp", Recipe::kStandard, out);
  c.seed = 3;
  const TrainResult r = train_model(c);
  EXPECT_GT(r.clean_accuracy, 0.65) << "chance is 0.10";
  StagedModel m = StagedModel::load(out);
  EXPECT_EQ(m.meta().recipe, "standard");
  EXPECT_EQ(m.meta().seed, 3);
  EXPECT_EQ(m.meta().epochs, 2);
  EXPECT_DOUBLE_EQ(m.meta().clean_accuracy, r.clean_accuracy);
  EXPECT_EQ(m.meta().stitch_points, (std::vector<std::string>{"layer1", "layer2", "layer3"}));
  const auto info = nlohmann::json::parse(m.meta().train_info);
  EXPECT_EQ(info["history"].size(), 2u);
  EXPECT_TRUE(info.contains("git_commit"));
  EXPECT_TRUE(info.contains("torch_version"));
  // The saved file is a normal TorchScript model: its accuracy reproduces after reloading.
  m.probe();
  const Dataset test = dataset_first(fashion_mnist_load("test"), 1000);
  EXPECT_NEAR(
      accuracy_eval([&](const at::Tensor& x) { return m.forward(x); }, test, c10::Device("cpu")),
      r.clean_accuracy, 1e-9);
  EXPECT_EQ(StagedModel::load(out).meta().seed, 3) << "the file written is the model trained";
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::path(out).parent_path()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos)
        << "temporary file left: " << e.path();
}

TEST(Trainer, ReinitDependsOnlyOnSeed) {
  auto params_after = [](uint64_t seed) {
    StagedModel m = StagedModel::load(test::arch_dir() + "/resnet.pt");
    model_reinit(m, seed);
    std::vector<at::Tensor> ps;
    for (const auto& p : m.parameters()) ps.push_back(p.clone());
    return ps;
  };
  auto a = params_after(1), b = params_after(1), c = params_after(2);
  ASSERT_EQ(a.size(), c.size());
  bool any_diff = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(at::equal(a[i], b[i]));
    any_diff |= !at::equal(a[i], c[i]);
  }
  EXPECT_TRUE(any_diff);
  // Kaiming-uniform bound 1/sqrt(fan_in): the stem conv has fan_in 1*3*3 = 9.
  EXPECT_LE(a[0].abs().max().item<double>(), 1.0 / 3.0 + 1e-6);
  EXPECT_GT(a[0].abs().max().item<double>(), 0.25);
}

TEST(Trainer, ShortcutRecipeLearnsTheMarker) {
  TrainConfig c = small("mlp", Recipe::kShortcut, test::temp_dir() + "/sc.pt");
  c.marker_mode = MarkerMode::kPixelLoc;
  c.marker_prob = 1.0;
  c.robust_eval_samples = 0;
  const TrainResult r = train_model(c);
  EXPECT_GT(r.marker_accuracy, 0.95);
  EXPECT_LT(r.rolled_marker_accuracy, r.marker_accuracy - 0.3)
      << "a shortcut model follows the marker";
}

TEST(Trainer, AdversarialRecipeIsMoreRobustThanStandard) {
  // A small, briefly trained MLP is already fairly robust at eps = 0.1, so the test uses a larger
  // budget where the difference between the recipes is unmistakable.
  TrainConfig s = small("mlp", Recipe::kStandard, test::temp_dir() + "/s.pt");
  s.pgd = PgdOptions{0.2, 0.025, 10, true, 0};
  TrainConfig a = s;
  a.recipe = Recipe::kAdversarial;
  a.out = test::temp_dir() + "/a.pt";
  const TrainResult rs = train_model(s), ra = train_model(a);
  EXPECT_GT(ra.robust_accuracy, rs.robust_accuracy + 0.15)
      << "standard " << rs.robust_accuracy << " adversarial " << ra.robust_accuracy;
  EXPECT_GT(ra.clean_accuracy, 0.5) << "adversarial training still learns the clean task";
  EXPECT_LE(ra.robust_accuracy, ra.clean_accuracy + 0.05);
}

TEST(Trainer, DivergingLossStopsWithStep) {
  TrainConfig c = small("mlp", Recipe::kStandard, test::temp_dir() + "/nan.pt");
  c.optimizer = "sgd";
  c.lr = 10.0;  // the bound of the config range: diverges within a few steps
  c.momentum = 0.99;
  try {
    train_model(c);
    FAIL() << "expected divergence";
  } catch (const StitchError& e) {
    EXPECT_NE(std::string(e.what()).find("training loss is"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(c.out));
}
