#pragma once
// Peak memory of a sweep shard, for Slurm's --mem: measured, not modelled. The process's resident
// set after the models ran once (libraries, weights, optimised segments), plus the stored
// activations held in RAM, plus the largest of one training step, one evaluation batch and one
// closed-form fit (init rows + solve). Those three are the peak bytes of tensors alive at once,
// counted through LibTorch's allocation reports at two small batches and extrapolated linearly to
// the real batch sizes.
#include <string>
#include <vector>

#include "stitch/sweep/plan.h"

namespace stitch {

struct MemoryEstimate {
  double base = 0;   // resident now: libraries, models, their optimised segments
  double store = 0;  // stored activations read into RAM (up to store.ram_mb)
  double data = 0;   // the images of both splits as float tensors
  double step = 0;   // one training step: stitched tail forward + backward at batch x lockstep
  double eval = 0;   // one evaluation batch of kEvalBatch test images through both models
  double fit = 0;    // the largest closed-form fit: init rows of both models + the solve
  int64_t step_batch = 0;  // rows of that step: batch_size x the largest lockstep group
  double total() const;
  std::string dominant() const;  // which part is largest, in words
};

// Measures the units' largest training step (the earliest end point of each end model, the
// largest lockstep group) and evaluation; `store_ram` is the stored activations' RAM share.
// base is 0 where /proc/self/status is not readable.
MemoryEstimate plan_memory(Plan& plan, const std::vector<std::vector<size_t>>& units,
                           double store_ram);

}  // namespace stitch
