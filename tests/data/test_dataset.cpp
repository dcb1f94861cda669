// data/dataset.h: deterministic batching and augmentation, on the first Fashion-MNIST images.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "stitch/data/dataset.h"
#include "stitch/data/fashion_mnist.h"

using namespace stitch;

namespace {
const Dataset& train_set() {
  static const Dataset d = fashion_mnist_load("train", kFashionMnistDir, 1000);
  return d;
}
}  // namespace

TEST(Dataset, BatcherIsDeterministicAndCoversEveryRowOnce) {
  const Dataset d = dataset_first(train_set(), 1000);
  Batcher a(d, 64, 5), b(d, 64, 5), c(d, 64, 6);
  EXPECT_EQ(a.batches_per_epoch(), 16);
  std::set<int64_t> seen;
  bool differs_from_other_seed = false;
  for (int64_t i = 0; i < a.batches_per_epoch(); ++i) {
    at::Tensor ra = a.batch_rows(i);
    ASSERT_TRUE(at::equal(ra, b.batch_rows(i)));
    if (!at::equal(ra, c.batch_rows(i))) differs_from_other_seed = true;
    for (int64_t k = 0; k < ra.size(0); ++k) seen.insert(ra[k].item<int64_t>());
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(differs_from_other_seed);
  at::Tensor e0 = a.batch_rows(0);
  a.epoch_begin(1);
  EXPECT_FALSE(at::equal(e0, a.batch_rows(0))) << "epochs must reshuffle";
  Batcher dl(d, 300, 1, true, /*drop_last=*/true);
  EXPECT_EQ(dl.batches_per_epoch(), 3);
}

TEST(Dataset, AugmentationCropsAndFlips) {
  const Dataset d = dataset_first(train_set(), 16);
  AugmentOptions flip_only{0, true};
  at::Tensor f = images_augment(d.images, flip_only, 3);
  int flipped = 0;
  for (int64_t i = 0; i < 16; ++i) {
    const bool same = at::equal(f[i], d.images[i]), flip = at::equal(f[i], d.images[i].flip({2}));
    ASSERT_TRUE(same || flip);
    flipped += flip && !same;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
  AugmentOptions crop{2, false};
  at::Tensor c = images_augment(d.images, crop, 3);
  at::Tensor padded = at::constant_pad_nd(d.images, {2, 2, 2, 2}, 0.0);
  for (int64_t i = 0; i < 16; ++i) {
    bool found = false;
    for (int64_t dy = 0; dy <= 4 && !found; ++dy)
      for (int64_t dx = 0; dx <= 4 && !found; ++dx)
        found = at::equal(c[i], padded[i].narrow(1, dy, 28).narrow(2, dx, 28));
    EXPECT_TRUE(found) << "sample " << i << " is not a shifted crop";
  }
  EXPECT_TRUE(at::equal(images_augment(d.images, crop, 3), c)) << "same seed, same augmentation";
  at::Tensor n = images_normalize(d.images, kFashionMnistMean, kFashionMnistStd);
  EXPECT_NEAR(n[0][0][0][0].item<double>(), (d.images[0][0][0][0].item<double>() - 0.2860) / 0.3530,
              1e-6);
}
