#pragma once
// `stitch activations`: a model's activations at chosen points on the first n images of a
// data split, written to an HDF5 activation file (stitch/cache/activation_cache.h)
// that `stitch similarity` and h5py read.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "stitch/config/config_table.h"
#include "stitch/data/data_source.h"

namespace stitch {

class StagedModel;

struct ActivationExportConfig {
  std::string model, out;
  std::vector<std::string> points;  // empty: the model's recommended points
  std::string split = "test";       // test | train
  DataConfig data;
  int64_t samples = 10000, batch = 500;
  std::string device = "auto";
  int64_t threads = 0;
};

const ConfigTable<ActivationExportConfig>& activation_export_table();

// Writes c.out; returns the points and sample count written. Throws StitchError on bad settings.
struct ActivationExportResult {
  std::vector<std::string> points;  // the points written
  int64_t samples = 0;              // images written (fewer than asked when the split is smaller)
};
ActivationExportResult activations_export(const ActivationExportConfig& c);

// Activations [N, ...] of `images` at each point (in the order given), computed batch by batch
// without gradients on the model's device.
std::vector<at::Tensor> activations_collect(StagedModel& m, const std::vector<std::string>& points,
                                            const at::Tensor& images, int64_t batch);

}  // namespace stitch
