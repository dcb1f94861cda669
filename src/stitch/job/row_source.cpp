#include "stitch/job/row_source.h"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "stitch/cache/activation_store.h"
#include "stitch/data/dataset.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/error.h"

namespace stitch {

namespace {
// Host rows onto the device: through pinned memory and an asynchronous copy on CUDA (the copy
// overlaps the kernels already queued), a plain copy elsewhere.
at::Tensor to_device(const at::Tensor& t, c10::Device dev) {
  if (!dev.is_cuda() || !t.device().is_cpu()) return t.to(dev);
  return t.pin_memory().to(dev, /*non_blocking=*/true);
}
}  // namespace

StoredRows::StoredRows(SplitReaders r) : r_(std::move(r)) {}

int64_t StoredRows::rows() const {
  return r_.front->rows();
}

RowBatch StoredRows::fetch(const at::Tensor& idx, const RowsWanted& want, c10::Device dev) {
  auto read = [&](const std::shared_ptr<StoreReader>& r, const char* what) {
    if (!r) throw StitchError(fmt::format("internal: no store reader for the {}", what));
    return to_device(r->gather(idx), dev);
  };
  RowBatch b;
  b.front = read(r_.front, "front rows");
  b.end = read(r_.end, "end rows");
  if (want.end_logits) b.end_logits = read(r_.end_logits, "end logits");
  if (want.front_logits) b.front_logits = read(r_.front_logits, "front logits");
  if (want.down)
    for (const auto& r : r_.down) b.down.push_back(read(r, "downstream rows"));
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

RowBatch LiveRows::fetch(const at::Tensor& idx, const RowsWanted& want, c10::Device dev) {
  at::NoGradGuard g;
  const at::Tensor x = to_device(data_.images.index_select(0, idx), dev);
  RowBatch b;
  b.front =
      front_.forward_collect(x, {front_point_}, want.front_logits ? &b.front_logits : nullptr)[0];
  std::vector<std::string> names{end_point_};
  if (want.down) names.insert(names.end(), down_.begin(), down_.end());
  std::vector<at::Tensor> acts =
      end_.forward_collect(x, names, want.end_logits ? &b.end_logits : nullptr);
  b.end = acts[0];
  b.down.assign(acts.begin() + 1, acts.end());
  return b;
}

}  // namespace stitch
