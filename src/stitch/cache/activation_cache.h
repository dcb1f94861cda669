#pragma once
// Activation files (HDF5, docs/architecture.md §5): one float32 dataset `/<point>` [N, ...] per
// stitch point, chunked along N, plus `/indices` (row of each sample in the source data file, int64
// [N]) and
// `/labels` (int64 [N]); file attributes say which model (path, SHA-256), split, git commit and
// LibTorch version made it. h5py reads them directly: `h5py.File(f)["block2"][:]`.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

struct ActivationFile {
  std::string model, model_sha256, split, git_commit, torch_version;
  std::vector<std::string> points;  // datasets in the file, in the order written
  at::Tensor indices, labels;       // int64 [N]
  int64_t samples() const { return indices.defined() ? indices.size(0) : 0; }
};

// True when `path` is an HDF5 file (by its signature, not its name).
bool activations_is_file(const std::string& path);

// Writes meta + one dataset per point (acts[i] for meta.points[i], float32 [N, ...]) to `path`
// atomically (temp file + rename). Throws StitchError on a name clash or mismatched N.
void activations_write(const std::string& path, const ActivationFile& meta,
                       const std::vector<at::Tensor>& acts);

// Reads the attributes, points, indices and labels (not the activations).
ActivationFile activations_open(const std::string& path);

// Throws a StitchError listing the file's points for the first of `points` it does not hold.
void activations_require(const ActivationFile& f, const std::string& path,
                         const std::vector<std::string>& points);

// Reads rows [start, start + n) of one point's dataset as float32 [n, ...] (n = -1: all rows
// from start). Throws a StitchError listing the file's points when `point` is not there, and
// one naming the row count when the range is past the end.
at::Tensor activations_read(const std::string& path, const std::string& point, int64_t n = -1,
                            int64_t start = 0);

}  // namespace stitch
