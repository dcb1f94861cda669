#pragma once
// Where a trained job's rows come from: read back from the activation store, or computed live
// by the frozen models on each batch (a job whose training activations nothing else reuses:
// up to 3 epochs, no other job on the same split; docs/architecture.md §5).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace stitch {

class StagedModel;
class StoreReader;
struct Dataset;

// The frozen models' activations for one batch of rows.
struct RowBatch {
  at::Tensor front;              // front model at i [B, ...]
  at::Tensor end;                // end model at j [B, ...]
  at::Tensor end_logits;         // end model output [B, K], when asked for
  std::vector<at::Tensor> down;  // end model at each downstream point, when asked for
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual int64_t rows() const = 0;
  virtual const at::Tensor& labels() const = 0;  // int64 [N]
  // Activations of rows idx (int64 [B], any order), on dev; end_logits / down only when asked.
  virtual RowBatch fetch(const at::Tensor& idx, bool logits, bool down, c10::Device dev) = 0;
  virtual bool live() const = 0;  // computed per call (each call costs forward passes)
};

// Rows read back from store files (readers of one split).
class StoredRows : public RowSource {
 public:
  StoredRows(std::shared_ptr<StoreReader> front, std::shared_ptr<StoreReader> end,
             std::shared_ptr<StoreReader> end_logits,
             std::vector<std::shared_ptr<StoreReader>> down, at::Tensor labels);
  int64_t rows() const override;
  const at::Tensor& labels() const override { return labels_; }
  RowBatch fetch(const at::Tensor& idx, bool logits, bool down, c10::Device dev) override;
  bool live() const override { return false; }

 private:
  std::shared_ptr<StoreReader> front_, end_, end_logits_;
  std::vector<std::shared_ptr<StoreReader>> down_;
  at::Tensor labels_;
};

// Rows computed by the frozen models (eval mode, no grad) on the images of `data`: the front
// model from the input to front_point, the end model in one pass from the input through
// end_point and the downstream points, on to the logits only when they are asked for.
class LiveRows : public RowSource {
 public:
  LiveRows(StagedModel& front, StagedModel& end, const Dataset& data, std::string front_point,
           std::string end_point, std::vector<std::string> down);
  int64_t rows() const override;
  const at::Tensor& labels() const override;
  RowBatch fetch(const at::Tensor& idx, bool logits, bool down, c10::Device dev) override;
  bool live() const override { return true; }

 private:
  StagedModel &front_, &end_;
  const Dataset& data_;
  std::string front_point_, end_point_;
  std::vector<std::string> down_;
};

}  // namespace stitch
