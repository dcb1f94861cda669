#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include "stitch/data/markers.h"
#include "stitch/util/error.h"

using namespace stitch;

TEST(Markers, PatternsAreBinaryAndFarApart) {
  at::Tensor p = marker_patterns(10);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{10, 4, 4}));
  EXPECT_TRUE(at::equal(p, p.round()));
  int min_dist = 99;
  for (int64_t a = 0; a < 10; ++a)
    for (int64_t b = a + 1; b < 10; ++b)
      min_dist = std::min(min_dist, static_cast<int>(p[a].ne(p[b]).sum().item<int64_t>()));
  // Ten random 16-bit codes are typically ~3 apart at worst; farthest-point sampling must do
  // clearly better (the best possible for 10 codes of length 16 is 8, Plotkin bound).
  EXPECT_GE(min_dist, 6);
  for (int64_t k = 0; k < 10; ++k)
    EXPECT_GE(p[k].sum().item<double>(), 4.0) << "pattern invisible on black";
}

TEST(Markers, PixelLocPastesClassPatternAtClassLocation) {
  at::Tensor img = at::full({3, 1, 28, 28}, 0.5);
  at::Tensor cls = at::tensor({2, -1, 9}, at::kLong);
  at::Tensor out = markers_apply(img, cls, MarkerMode::kPixelLoc, 1);
  at::Tensor loc = marker_locations(10);
  at::Tensor pat = marker_patterns(10);
  for (int64_t i : {0, 2}) {
    const int64_t k = cls[i].item<int64_t>(), r = loc[k][0].item<int64_t>(),
                  c = loc[k][1].item<int64_t>();
    EXPECT_TRUE(at::equal(out[i][0].narrow(0, r, 4).narrow(1, c, 4), pat[k]));
    EXPECT_EQ(out[i].ne(img[i]).sum().item<int64_t>(),
              out[i][0].narrow(0, r, 4).narrow(1, c, 4).ne(0.5).sum().item<int64_t>())
        << "pixels outside the marker changed";
  }
  EXPECT_TRUE(at::equal(out[1], img[1])) << "class -1 means no marker";
  // Locations are distinct so that location alone identifies the class.
  for (int64_t a = 0; a < 10; ++a)
    for (int64_t b = a + 1; b < 10; ++b) EXPECT_FALSE(at::equal(loc[a], loc[b]));
}

TEST(Markers, PixelModeFindsPatternSomewhereAndRandIgnoresClass) {
  at::Tensor img = at::full({8, 1, 28, 28}, 0.5);
  at::Tensor cls = at::full({8}, 4, at::kLong);
  at::Tensor out = markers_apply(img, cls, MarkerMode::kPixel, 7);
  at::Tensor pat = marker_patterns(10)[4];
  std::set<std::pair<int64_t, int64_t>> places;
  for (int64_t i = 0; i < 8; ++i) {
    at::Tensor changed = out[i][0].ne(0.5).nonzero();
    ASSERT_GT(changed.size(0), 0);
    const int64_t r0 = changed.select(1, 0).min().item<int64_t>(),
                  c0 = changed.select(1, 1).min().item<int64_t>();
    bool found = false;
    for (int64_t r = std::max<int64_t>(0, r0 - 3); r <= std::min<int64_t>(24, r0) && !found; ++r)
      for (int64_t c = std::max<int64_t>(0, c0 - 3); c <= std::min<int64_t>(24, c0) && !found; ++c)
        if (at::equal(out[i][0].narrow(0, r, 4).narrow(1, c, 4), pat)) {
          found = true;
          places.insert({r, c});
        }
    EXPECT_TRUE(found);
  }
  EXPECT_GT(places.size(), 1u) << "pixel markers must move";
  // Rand: the pattern does not depend on the class.
  at::Tensor a = markers_apply(img, at::full({8}, 1, at::kLong), MarkerMode::kRand, 11);
  at::Tensor b = markers_apply(img, at::full({8}, 6, at::kLong), MarkerMode::kRand, 11);
  EXPECT_TRUE(at::equal(a, b));
}

TEST(Markers, RollAlwaysPicksAnotherClass) {
  at::Tensor y = at::arange(10, at::kLong);
  at::Tensor r = labels_roll(y);
  EXPECT_EQ(r.eq(y).sum().item<int64_t>(), 0);
  EXPECT_EQ(r[9].item<int64_t>(), 0);
}

TEST(Markers, NoneLeavesTheImagesAsTheyAre) {
  const at::Tensor img = at::rand({4, 3, 28, 28});
  const at::Tensor out = markers_apply(img, at::arange(4, at::kLong), MarkerMode::kNone, 1);
  EXPECT_TRUE(at::equal(out, img));
  EXPECT_NE(out.data_ptr(), img.data_ptr()) << "a copy, as for the other modes";
}
