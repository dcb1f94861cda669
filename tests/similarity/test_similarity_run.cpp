#include <gtest/gtest.h>
#include <torch/torch.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/similarity/activation_export.h"
#include "stitch/similarity/similarity_run.h"
#include "test_util.h"

using namespace stitch;

// Conv maps [N, C, H, W], tokens [N, T, d] and vectors [N, d] as rows for each layout.
TEST(SimilarityRun, ActivationRowsLayouts) {
  at::Tensor maps = at::arange(2 * 3 * 2 * 2, at::kFloat).reshape({2, 3, 2, 2});
  EXPECT_TRUE(activation_rows(maps, SimilarityLayout::kFlatten).equal(maps.reshape({2, 12})));
  EXPECT_TRUE(activation_rows(maps, SimilarityLayout::kPool).allclose(maps.mean({2, 3})));
  at::Tensor pos = activation_rows(maps, SimilarityLayout::kPositions);
  ASSERT_EQ(pos.sizes(), (at::IntArrayRef{8, 3}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t w = 0; w < 2; ++w)
        EXPECT_TRUE(pos[i * 4 + h * 2 + w].equal(maps.select(0, i).select(1, h).select(1, w)));
  at::Tensor tok = at::randn({2, 4, 5});
  EXPECT_TRUE(activation_rows(tok, SimilarityLayout::kFlatten).equal(tok.reshape({2, 20})));
  EXPECT_TRUE(activation_rows(tok, SimilarityLayout::kPool).allclose(tok.mean(1)));
  at::Tensor rows = activation_rows(tok, SimilarityLayout::kPositions);
  ASSERT_EQ(rows.sizes(), (at::IntArrayRef{8, 5}));
  EXPECT_TRUE(rows[5].equal(tok[1][1]));
  at::Tensor vec = at::randn({2, 7});
  for (const auto layout :
       {SimilarityLayout::kFlatten, SimilarityLayout::kPool, SimilarityLayout::kPositions})
    EXPECT_TRUE(activation_rows(vec, layout).equal(vec)) << enum_name(layout);
}

namespace {
SimilarityConfig small(const std::string& a, const std::string& b, std::vector<std::string> pa,
                       std::vector<std::string> pb) {
  SimilarityConfig c;
  c.out_dir = test::temp_dir();
  c.model_a = a;
  c.model_b = b;
  c.points_a = std::move(pa);
  c.points_b = std::move(pb);
  c.samples = 430;  // 4 whole batches of 100 and a partial one, which minibatch CKA leaves out
  c.batch = 100;
  c.device = "cpu";
  c.threads = 2;
  return c;
}
}  // namespace

// With minibatch CKA alone the data are streamed one batch at a time; the values must be those
// of the whole-data path (the same batches of the same activations), for per-input rows and for
// token rows, and the partial last batch is left out by both.
TEST(SimilarityRun, StreamedMinibatchCkaEqualsTheWholeDataPath) {
  struct Case {
    std::string a, b;
    SimilarityLayout layout;
    std::vector<std::string> pa, pb;
    int64_t rows_per_input;
  };
  const std::vector<Case> cases{{test::arch_file("cnn"),
                                 test::fixture("cnn_a.pt"),
                                 SimilarityLayout::kFlatten,
                                 {"block1", "head"},
                                 {"block2", "head"},
                                 1},
                                {test::arch_file("vit"),
                                 test::arch_file("vit"),
                                 SimilarityLayout::kPositions,
                                 {"blocks.0"},
                                 {"blocks.1", "blocks.3"},
                                 16}};
  for (const auto& cs : cases) {
    SimilarityConfig c = small(cs.a, cs.b, cs.pa, cs.pb);
    c.layout = cs.layout;
    c.metrics = {"minibatch_cka"};
    c.name = "streamed";
    const auto s = similarity_run(c);
    c.metrics = {"minibatch_cka", "linear_cka"};
    c.name = "whole";
    const auto w = similarity_run(c);
    ASSERT_EQ(s.size(), cs.pa.size() * cs.pb.size());
    ASSERT_EQ(w.size(), s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      EXPECT_TRUE(s[i]["streamed"].get<bool>());
      EXPECT_FALSE(w[i]["streamed"].get<bool>());
      EXPECT_EQ(s[i]["minibatch_batches"], 4) << "430 samples: 4 whole batches of 100";
      EXPECT_EQ(w[i]["minibatch_batches"], 4);
      EXPECT_EQ(s[i]["rows"], 400 * cs.rows_per_input);
      EXPECT_EQ(s[i]["end_features"], w[i]["end_features"]);
      const double v = s[i]["minibatch_cka"].get<double>();
      EXPECT_NEAR(v, w[i]["minibatch_cka"].get<double>(), 1e-9)
          << enum_name(cs.layout) << " pair " << i;
      EXPECT_GT(v, 0.0);
      EXPECT_LT(v, 1.0);
    }
  }
}

// Streaming reads activation files one row range at a time: the same values as from the models.
TEST(SimilarityRun, StreamedFromActivationFiles) {
  const std::string dir = test::temp_dir();
  ActivationExportConfig e;
  e.model = test::arch_file("cnn");
  e.points = {"block1", "block3"};
  e.samples = 300;
  e.batch = 100;
  e.out = dir + "/a.h5";
  e.device = "cpu";
  activations_export(e);
  SimilarityConfig c = small(e.model, e.model, {"block1"}, {"block3"});
  c.samples = 300;
  c.metrics = {"minibatch_cka"};
  const auto m = similarity_run(c);
  c.model_a = c.model_b = e.out;
  c.name = "files";
  const auto f = similarity_run(c);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["minibatch_batches"], 3);
  EXPECT_NEAR(f[0]["minibatch_cka"].get<double>(), m[0]["minibatch_cka"].get<double>(), 1e-9);
  c.samples = 400;  // more than the file holds: one line naming the count
  EXPECT_NE(test::error_of([&] { similarity_run(c); }).find("holds 300 samples"),
            std::string::npos);
}

TEST(SimilarityRun, ConfigFromYamlIsValidated) {
  YAML::Node n = YAML::Load(
      "model_a: a.pt\nmodel_b: b.pt\npoints_a: [block1, block2]\npoints_b: head\n"
      "metrics: [linear_cka]\nsvcca: {dims: 5}\nsamples: 300\n");
  const SimilarityConfig c = similarity_config_parse(n);
  EXPECT_EQ(c.points_a, (std::vector<std::string>{"block1", "block2"}));
  EXPECT_EQ(c.points_b, (std::vector<std::string>{"head"}));
  EXPECT_EQ(c.svcca_dims, 5);
  EXPECT_EQ(c.samples, 300);
  EXPECT_EQ(c.layout, SimilarityLayout::kFlatten);
  // The dump reads back to the same settings.
  const SimilarityConfig back = similarity_config_parse(similarity_config_dump(c));
  EXPECT_EQ(YAML::Dump(similarity_config_dump(back)), YAML::Dump(similarity_config_dump(c)));
  auto err = [&](const std::string& assignment) {  // n with one setting changed
    YAML::Node m = YAML::Clone(n);
    yaml_set(m, assignment);
    return test::error_of([&] { similarity_config_parse(m); });
  };
  EXPECT_NE(err("layuot=pool").find("did you mean 'layout'"), std::string::npos);
  EXPECT_NE(err("pairs=diagonal").find("'diagonal' is not one of: grid, zip"), std::string::npos);
  EXPECT_NE(err("samples=3").find("out of range"), std::string::npos);
  EXPECT_NE(err("svcca.variance=2").find("svcca.variance"), std::string::npos);
  EXPECT_NE(err("metrics=[linear_cak]").find("did you mean 'linear_cka'"), std::string::npos);
  EXPECT_NE(test::error_of([] {
              similarity_config_parse(YAML::Load("points_a: [x]"));
            }).find("give two models"),
            std::string::npos);
}
