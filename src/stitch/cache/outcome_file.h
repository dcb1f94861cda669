#pragma once
// Small HDF5 files of per-item integer vectors (a job's per-test-image outcomes, outcomes.h5):
// one 1-D int32 dataset per name at the root plus string attributes, readable with
// h5py.File(path)["stitched_pred"][:].
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

// Writes `sets` (1-D integer tensors, any device) and `attrs` to `path` atomically.
void outcome_file_write(const std::string& path,
                        const std::vector<std::pair<std::string, at::Tensor>>& sets,
                        const std::vector<std::pair<std::string, std::string>>& attrs);
// Every dataset of such a file as int64 [N]; throws StitchError naming the file when unreadable.
std::map<std::string, at::Tensor> outcome_file_read(const std::string& path);

}  // namespace stitch
