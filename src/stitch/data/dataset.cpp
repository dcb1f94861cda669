#include "stitch/data/dataset.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch {

Dataset dataset_select(const Dataset& d, const at::Tensor& rows) {
  return {d.images.index_select(0, rows), d.labels.index_select(0, rows),
          d.index.index_select(0, rows)};
}

Dataset dataset_first(const Dataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  return {d.images.narrow(0, 0, n), d.labels.narrow(0, 0, n), d.index.narrow(0, 0, n)};
}

Dataset dataset_per_class(const Dataset& d, int64_t n_per_class, int64_t num_classes) {
  if (n_per_class <= 0) return d;
  std::vector<int64_t> count(static_cast<size_t>(num_classes), 0), rows;
  auto lab = d.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < d.size(); ++i) {
    const int64_t c = lab[i];
    if (c >= 0 && c < num_classes && count[static_cast<size_t>(c)] < n_per_class) {
      ++count[static_cast<size_t>(c)];
      rows.push_back(i);
    }
  }
  for (int64_t c = 0; c < num_classes; ++c)
    if (count[static_cast<size_t>(c)] < n_per_class)
      throw StitchError(fmt::format("only {} samples of class {} available, {} requested per class",
                                    count[static_cast<size_t>(c)], c, n_per_class));
  return dataset_select(d, at::tensor(rows, at::kLong));
}

at::Tensor images_normalize(const at::Tensor& images, double mean, double std) {
  return (images - mean) / std;
}

at::Tensor images_augment(const at::Tensor& images, const AugmentOptions& opt, uint64_t seed) {
  if (opt.crop_padding <= 0 && !opt.hflip) return images;
  std::mt19937_64 rng(seed);
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3), p = opt.crop_padding;
  at::Tensor src = p > 0 ? at::constant_pad_nd(images, {p, p, p, p}, 0.0) : images;
  at::Tensor out = at::empty_like(images);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t dy = p > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * p + 1)) : 0;
    const int64_t dx = p > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * p + 1)) : 0;
    at::Tensor crop = src[i].narrow(1, dy, h).narrow(2, dx, w);
    if (opt.hflip && (rng() & 1)) crop = crop.flip({2});
    out[i].copy_(crop);
  }
  return out;
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

Batcher::Batcher(const Dataset& data, int64_t batch_size, uint64_t seed, bool shuffle,
                 bool drop_last)
    : data_(data), batch_size_(batch_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch_size <= 0)
    throw StitchError(fmt::format("batch size must be positive, got {}", batch_size));
  if (data.size() == 0) throw StitchError("cannot batch an empty data set");
  epoch_begin(0);
}

int64_t Batcher::batches_per_epoch() const {
  const int64_t n = data_.size();
  return drop_last_ ? std::max<int64_t>(1, n / batch_size_) : (n + batch_size_ - 1) / batch_size_;
}

void Batcher::epoch_begin(int64_t epoch) {
  order_ = shuffle_ ? permutation(data_.size(), seed_ * 1000003ULL + static_cast<uint64_t>(epoch))
                    : permutation(data_.size(), 0);
  if (!shuffle_)
    for (int64_t i = 0; i < data_.size(); ++i) order_[static_cast<size_t>(i)] = i;
}

at::Tensor Batcher::batch_rows(int64_t b) const {
  const int64_t start = b * batch_size_;
  const int64_t len = std::min(batch_size_, data_.size() - start);
  std::vector<int64_t> rows(order_.begin() + start, order_.begin() + start + len);
  return at::tensor(rows, at::kLong);
}

Dataset Batcher::batch(int64_t b) const {
  return dataset_select(data_, batch_rows(b));
}

}  // namespace stitch
