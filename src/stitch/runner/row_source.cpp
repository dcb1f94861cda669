#include "stitch/runner/row_source.h"

#include <ATen/ATen.h>

#include "stitch/cache/activation_store.h"
#include "stitch/data/fashion_mnist.h"
#include "stitch/model/staged_model.h"

namespace stitch {

StoredRows::StoredRows(std::shared_ptr<StoreReader> front, std::shared_ptr<StoreReader> end,
                       std::shared_ptr<StoreReader> end_logits,
                       std::vector<std::shared_ptr<StoreReader>> down, at::Tensor labels)
    : front_(std::move(front)),
      end_(std::move(end)),
      end_logits_(std::move(end_logits)),
      down_(std::move(down)),
      labels_(std::move(labels)) {}

int64_t StoredRows::rows() const {
  return front_->rows();
}

RowBatch StoredRows::fetch(const at::Tensor& idx, bool logits, bool down, c10::Device dev) {
  RowBatch b;
  b.front = front_->gather(idx).to(dev);
  b.end = end_->gather(idx).to(dev);
  if (logits) b.end_logits = end_logits_->gather(idx).to(dev);
  if (down)
    for (const auto& r : down_) b.down.push_back(r->gather(idx).to(dev));
  return b;
}

LiveRows::LiveRows(StagedModel& front, StagedModel& end, const Dataset& data,
                   std::string front_point, std::string end_point, std::vector<std::string> down)
    : front_(front),
      end_(end),
      data_(data),
      front_point_(std::move(front_point)),
      end_point_(std::move(end_point)),
      down_(std::move(down)) {}

int64_t LiveRows::rows() const {
  return data_.size();
}

const at::Tensor& LiveRows::labels() const {
  return data_.labels;
}

RowBatch LiveRows::fetch(const at::Tensor& idx, bool logits, bool down, c10::Device dev) {
  at::NoGradGuard g;
  const at::Tensor x = data_.images.index_select(0, idx).to(dev);
  RowBatch b;
  b.front = front_.forward_range(x, kInput, front_point_);
  std::vector<std::string> names{end_point_};
  if (down) names.insert(names.end(), down_.begin(), down_.end());
  std::vector<at::Tensor> acts = end_.forward_collect(x, names, logits ? &b.end_logits : nullptr);
  b.end = acts[0];
  b.down.assign(acts.begin() + 1, acts.end());
  return b;
}

}  // namespace stitch
