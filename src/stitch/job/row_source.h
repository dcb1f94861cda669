#pragma once
// Where a job's rows come from: read back from the activation store, or computed live by the
// frozen models on each batch (training rows nothing else reuses: up to 8 epochs, no other job
// on the same split; test rows of the only unit that evaluates on them; docs/architecture.md §5).
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
  at::Tensor front_logits;       // front model output [B, K'], when asked for
};

// What a fetch returns besides the front and end activations.
struct RowsWanted {
  bool end_logits = false, down = false, front_logits = false;
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual int64_t rows() const = 0;
  virtual const at::Tensor& labels() const = 0;  // int64 [N]
  // Activations of rows idx (int64 [B], any order), on dev, with what `want` asks for.
  virtual RowBatch fetch(const at::Tensor& idx, const RowsWanted& want, c10::Device dev) = 0;
  virtual bool live() const = 0;  // computed per call (each call costs forward passes)
};

// Store readers of one split; end_logits, front_logits and down may be left empty when no
// fetch asks for them.
struct SplitReaders {
  std::shared_ptr<StoreReader> front, end, end_logits, front_logits;
  std::vector<std::shared_ptr<StoreReader>> down;
  at::Tensor labels;  // int64 [N]
};

// Rows read back from store files (readers of one split).
class StoredRows : public RowSource {
 public:
  explicit StoredRows(SplitReaders r);
  int64_t rows() const override;
  const at::Tensor& labels() const override { return r_.labels; }
  RowBatch fetch(const at::Tensor& idx, const RowsWanted& want, c10::Device dev) override;
  bool live() const override { return false; }

 private:
  SplitReaders r_;
};

// Rows computed by the frozen models (eval mode, no grad) on the images of `data`: the front
// model from the input to front_point (on to its logits when asked for), the end model in one
// pass from the input through end_point and the downstream points, on to the logits only when
// they are asked for.
class LiveRows : public RowSource {
 public:
  LiveRows(StagedModel& front, StagedModel& end, const Dataset& data, std::string front_point,
           std::string end_point, std::vector<std::string> down);
  int64_t rows() const override;
  const at::Tensor& labels() const override;
  RowBatch fetch(const at::Tensor& idx, const RowsWanted& want, c10::Device dev) override;
  bool live() const override { return true; }

 private:
  StagedModel &front_, &end_;
  const Dataset& data_;
  std::string front_point_, end_point_;
  std::vector<std::string> down_;
};

}  // namespace stitch
