#pragma once
// Accuracy evaluations of a classifier given as a forward function: clean top-1 accuracy and
// predictions and accuracy under PGD-L-inf. Used by model training and by every stitching job.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "stitch/attack/pgd.h"
#include "stitch/data/dataset.h"

namespace stitch {

// Top-1 accuracy of forward on d (in batches of `batch`, on `device`, no grad).
double accuracy_eval(const ForwardFn& forward, const Dataset& d, c10::Device device,
                     int64_t batch = 500);
// Predicted classes [N] (int64, CPU) of forward on PGD examples made against it (caller sets
// eval mode); each batch's attack is seeded with opt.seed + its first row.
at::Tensor robust_predictions(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                              c10::Device device, int64_t batch = 250);
// Accuracy on PGD examples made against forward (caller sets eval mode).
double robust_accuracy_eval(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                            c10::Device device, int64_t batch = 250);

}  // namespace stitch
