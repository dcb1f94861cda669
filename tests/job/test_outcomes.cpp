#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "stitch/cache/outcome_file.h"
#include "stitch/job/outcomes.h"
#include "stitch/results/result_row.h"
#include "test_util.h"

using namespace stitch;
using Json = nlohmann::json;

namespace {
// Outcomes of 1000 images of 10 classes with markers: the end model follows the markers
// (predicts the marker's class), the stitched model predicts `stitched(label, marker class)`.
Outcomes marker_outcomes(int which) {
  Outcomes o;
  const int64_t n = 1000;
  o.label = at::arange(n, at::kLong).remainder(10);
  o.rolled_class = (o.label + 1).remainder(10);
  o.end_pred = o.label.clone();
  o.front_pred = o.label.clone();
  o.stitched_pred = o.label.clone();
  o.marker_end_pred = o.label.clone();
  o.rolled_end_pred = o.rolled_class.clone();  // a shortcut-trained end follows the markers
  o.marker_stitched_pred = o.label.clone();
  // 0: the stitched model always predicts the marker's class; 1: it ignores the markers
  o.rolled_stitched_pred = which == 0 ? o.rolled_class.clone() : o.label.clone();
  return o;
}
}  // namespace

// The marker metric that cannot be misread: a marker-following stitched model has
// marker_follow 100 %, a marker-blind one 0 %, while excess agreement against a marker-following
// end model reads the other way round (0 for the follower, 100 points for the blind one).
TEST(Outcomes, MarkerFollowSeparatesShortcutUseFromExcessAgreement) {
  Json follower, blind;
  outcomes_add_to_row(marker_outcomes(0), follower);
  outcomes_add_to_row(marker_outcomes(1), blind);
  EXPECT_DOUBLE_EQ(follower["marker_follow"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(blind["marker_follow"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(follower["excess_agreement"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(blind["excess_agreement"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(follower["marker_gap"].get<double>(), 1.0);  // right with, wrong against
  EXPECT_DOUBLE_EQ(blind["marker_gap"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(blind["end_marker_follow"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(blind["end_marker_gap"].get<double>(), 1.0);
  EXPECT_EQ(blind["marker_samples"].get<int64_t>(), 1000);
  // Wilson at 0 % of 1000: [0, 0.38 %]
  EXPECT_NEAR(blind["marker_follow_lo"].get<double>(), 0.0, 1e-12);
  EXPECT_NEAR(blind["marker_follow_hi"].get<double>(), 0.00383, 1e-4);
  EXPECT_TRUE(result_undeclared(blind).empty());
}

// Shares keep the value computed from logits and get its Wilson interval; differences get a
// paired interval that holds the value.
TEST(Outcomes, IntervalsBracketTheRowsValues) {
  Outcomes o;
  o.label = at::arange(500, at::kLong).remainder(10);
  o.end_pred = at::where(at::arange(500).remainder(7).eq(0), (o.label + 1).remainder(10), o.label);
  o.front_pred = o.label.clone();
  o.stitched_pred =
      at::where(at::arange(500).remainder(5).eq(0), (o.label + 2).remainder(10), o.end_pred);
  Json row{{"stitched_acc", o.stitched_pred.eq(o.label).to(at::kDouble).mean().item<double>()},
           {"end_acc", o.end_pred.eq(o.label).to(at::kDouble).mean().item<double>()}};
  row["stitching_penalty"] = row["end_acc"].get<double>() - row["stitched_acc"].get<double>();
  outcomes_add_to_row(o, row);
  for (const char* m : {"stitched_acc", "end_acc", "stitching_penalty"}) {
    const std::string s(m);
    EXPECT_LT(row[s + "_lo"].get<double>(), row[s].get<double>()) << m;
    EXPECT_GT(row[s + "_hi"].get<double>(), row[s].get<double>()) << m;
  }
  EXPECT_FALSE(row.contains("marker_follow")) << "no markers, no marker metrics";
  EXPECT_FALSE(row.contains("robust_acc"));
}

// outcomes.h5 holds what the outcomes hold, as int32 datasets readable back.
TEST(Outcomes, FileRoundTrip) {
  const Outcomes o = marker_outcomes(0);
  const std::string path = test::temp_dir() + "/outcomes.h5";
  outcome_file_write(path, outcomes_sets(o), {{"method", "tlm"}});
  const auto back = outcome_file_read(path);
  EXPECT_EQ(back.size(), 9u);  // 4 test-split vectors + rolled_class + 4 marker vectors
  EXPECT_TRUE(back.at("rolled_stitched_pred").equal(o.rolled_stitched_pred));
  EXPECT_TRUE(back.at("label").equal(o.label));
  EXPECT_EQ(back.count("pgd_label"), 0u);
  EXPECT_NE(test::error_of([&] { outcome_file_read(path + ".missing"); }).find("does not exist"),
            std::string::npos);
}
