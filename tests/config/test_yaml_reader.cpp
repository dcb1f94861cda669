#include <gtest/gtest.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/train/train_config.h"
#include "stitch/util/error.h"

using namespace stitch;

static std::string error_of(const std::string& yaml) {
  try {
    train_config_parse(YAML::Load(yaml));
  } catch (const StitchError& e) {
    return e.what();
  }
  return "";
}

TEST(YamlReader, UnknownKeySuggestsNearest) {
  const std::string e = error_of("epochz: 3");
  EXPECT_NE(e.find("unknown config key 'epochz'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'epochs'"), std::string::npos) << e;
  const std::string nested = error_of("adversarial: {epsilom: 0.1}");
  EXPECT_NE(nested.find("did you mean 'adversarial.epsilon'"), std::string::npos) << nested;
}

TEST(YamlReader, TypeAndRangeErrorsNameTheKey) {
  EXPECT_NE(error_of("epochs: many").find("'epochs': expected an integer"), std::string::npos);
  EXPECT_NE(error_of("epochs: 0").find("'epochs': 0 is out of range"), std::string::npos);
  EXPECT_NE(error_of("lr: fast").find("'lr': expected a number"), std::string::npos);
  EXPECT_NE(error_of("recipe: magic").find("'recipe': 'magic' is not one of"), std::string::npos);
  EXPECT_NE(error_of("arch: transformer").find("'arch'"), std::string::npos);
  EXPECT_NE(error_of("augment: {hflip: maybe}").find("'augment.hflip': expected true or false"),
            std::string::npos);
}

TEST(YamlReader, DefaultsAndOverrides) {
  YAML::Node n = YAML::Load("arch: mlp\nadversarial: {steps: 3}");
  yaml_set(n, "adversarial.epsilon=0.2");
  yaml_set(n, "shortcut.mode=pixel_loc");
  yaml_set(n, "seed=7");
  const TrainConfig c = train_config_parse(n);
  EXPECT_EQ(c.arch, "mlp");
  EXPECT_EQ(c.seed, 7);
  EXPECT_EQ(c.pgd.steps, 3);
  EXPECT_DOUBLE_EQ(c.pgd.epsilon, 0.2);
  EXPECT_DOUBLE_EQ(c.pgd.alpha, 0.01);  // default kept
  EXPECT_EQ(c.marker_mode, MarkerMode::kPixelLoc);
  EXPECT_EQ(c.out_path(), "models/zoo/mlp_standard_s7.pt");
  EXPECT_THROW(yaml_set(n, "novalue"), StitchError);
}

TEST(YamlReader, DumpRoundTrips) {
  TrainConfig c;
  c.arch = "vit";
  c.pgd.steps = 4;
  c.marker_prob = 0.3;
  const TrainConfig d = train_config_parse(train_config_dump(c));
  EXPECT_EQ(d.arch, "vit");
  EXPECT_EQ(d.pgd.steps, 4);
  EXPECT_DOUBLE_EQ(d.marker_prob, 0.3);
}

TEST(YamlReader, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}
