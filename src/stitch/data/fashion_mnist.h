#pragma once
// Fashion-MNIST from Debian's gzipped IDX files (the Dataset type: data/dataset.h).
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "stitch/data/dataset.h"

namespace stitch {

// Debian's dataset-fashion-mnist folder, or $STITCH_FASHION_MNIST_DIR when set (a machine
// without that package, e.g. the GPU machine with the package unpacked under /tmp/deps).
std::string fashion_mnist_default_dir();
inline const std::string kFashionMnistDir = fashion_mnist_default_dir();
inline constexpr double kFashionMnistMean = 0.2860, kFashionMnistStd = 0.3530;

// Reads one IDX file (gzip or plain) into a uint8 tensor of the dimensions its header gives,
// only the first max_rows entries along dim 0 when max_rows > 0 (the rest is not decompressed).
// Throws StitchError for a missing or truncated file, a wrong magic number or a non-uint8 type.
at::Tensor idx_read(const std::string& path, int64_t max_rows = 0);

// Loads images + labels of one split ("train" or "test") from `dir` (the first max_rows when
// max_rows > 0) and checks that the counts match and labels are 0..9.
Dataset fashion_mnist_load(const std::string& split, const std::string& dir = kFashionMnistDir,
                           int64_t max_rows = 0);

}  // namespace stitch
