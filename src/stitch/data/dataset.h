#pragma once
// An image data set in memory (whatever its source), subsets, deterministic batching and
// augmentation.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

struct Dataset {
  at::Tensor images;  // [N, C, H, W] float32 (uint8 sources: in [0, 1])
  at::Tensor labels;  // [N] int64
  at::Tensor index;   // [N] int64: row of each sample in the source file (provenance)
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

Dataset dataset_first(const Dataset& d, int64_t n);  // the first n samples (all if n <= 0)
// The first n samples of every class (classes 0..num_classes-1), in file order.
Dataset dataset_per_class(const Dataset& d, int64_t n_per_class, int64_t num_classes = 10);
Dataset dataset_select(const Dataset& d, const at::Tensor& rows);  // rows: [M] int64

// (images - mean) / std, for models that do not normalise inside (ours do).
at::Tensor images_normalize(const at::Tensor& images, double mean, double std);

struct AugmentOptions {
  int64_t crop_padding = 0;  // random crop back to H x W after zero padding (0 = off)
  bool hflip = false;        // random horizontal flip with p = 0.5
};

// Applies augmentation to a batch [B, C, H, W] with a generator seeded from `seed`.
at::Tensor images_augment(const at::Tensor& images, const AugmentOptions& opt, uint64_t seed);

// Deterministic shuffled mini-batches: the order of epoch e depends only on (seed, e).
class Batcher {
 public:
  Batcher(const Dataset& data, int64_t batch_size, uint64_t seed, bool shuffle = true,
          bool drop_last = false);
  int64_t batches_per_epoch() const;
  void epoch_begin(int64_t epoch);         // reshuffles for this epoch
  at::Tensor batch_rows(int64_t b) const;  // [B] rows of `data` in batch b of this epoch
  Dataset batch(int64_t b) const;          // images/labels of batch b of this epoch

 private:
  const Dataset& data_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  std::vector<int64_t> order_;
};

// Fisher-Yates permutation of 0..n-1 from a 64-bit seed (same on every platform and torch version).
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

}  // namespace stitch
