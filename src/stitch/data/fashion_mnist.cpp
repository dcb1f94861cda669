#include "stitch/data/fashion_mnist.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

std::string fashion_mnist_default_dir() {
  const char* env = std::getenv("STITCH_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

namespace {
struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

void read_exact(gzFile f, void* buf, int64_t n, const std::string& path, const char* what) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    const int chunk = static_cast<int>(std::min<int64_t>(n, 1 << 30));
    const int got = gzread(f, p, static_cast<unsigned>(chunk));
    if (got < 0) {
      int err = 0;
      throw StitchError(
          fmt::format("IDX file '{}' is corrupt ({}); re-install dataset-fashion-mnist", path,
                      gzerror(f, &err)));
    }
    if (got == 0)
      throw StitchError(fmt::format(
          "IDX file '{}' is truncated while reading its {}; re-install dataset-fashion-mnist or "
          "re-download the file",
          path, what));
    p += got;
    n -= got;
  }
}
}  // namespace

at::Tensor idx_read(const std::string& path, int64_t max_rows) {
  file_check_readable(path, "IDX file");
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw StitchError(fmt::format("cannot open IDX file '{}'", path));
  unsigned char magic[4];
  read_exact(f.get(), magic, 4, path, "header");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4)
    throw StitchError(fmt::format(
        "'{}' is not an IDX file (magic bytes {:02x} {:02x} {:02x} {:02x}; expected 00 00 08 0N)",
        path, magic[0], magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw StitchError(fmt::format(
        "IDX file '{}' has element type 0x{:02x}; only unsigned bytes (0x08) are supported", path,
        magic[2]));
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char b[4];
    read_exact(f.get(), b, 4, path, "header");
    const int64_t d =
        (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
    if (d <= 0 || d > (1 << 28))
      throw StitchError(fmt::format("IDX file '{}' has an invalid dimension {}", path, d));
    dims.push_back(d);
    total *= d;
  }
  if (total > (int64_t{1} << 33))
    throw StitchError(fmt::format("IDX file '{}' declares {} bytes: too large", path, total));
  if (max_rows > 0 && max_rows < dims[0]) dims[0] = max_rows;
  at::Tensor out = at::empty(dims, at::kByte);
  read_exact(f.get(), out.data_ptr<uint8_t>(), out.numel(), path, "data");
  return out;
}

Dataset fashion_mnist_load(const std::string& split, const std::string& dir, int64_t max_rows) {
  std::string prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    throw StitchError(fmt::format("unknown data split '{}'; use train or test", split));
  const std::string img_path = fmt::format("{}/{}-images-idx3-ubyte.gz", dir, prefix);
  const std::string lab_path = fmt::format("{}/{}-labels-idx1-ubyte.gz", dir, prefix);
  at::Tensor img = idx_read(img_path, max_rows);
  at::Tensor lab = idx_read(lab_path, max_rows);
  if (img.dim() != 3 || img.size(1) != 28 || img.size(2) != 28)
    throw StitchError(
        fmt::format("'{}' holds {}-dimensional data, not N x 28 x 28 images", img_path, img.dim()));
  if (lab.dim() != 1)
    throw StitchError(fmt::format("'{}' is not a 1-dimensional label file", lab_path));
  if (img.size(0) != lab.size(0))
    throw StitchError(fmt::format("'{}' has {} images but '{}' has {} labels", img_path,
                                  img.size(0), lab_path, lab.size(0)));
  if (lab.numel() > 0 && lab.max().item<int64_t>() > 9)
    throw StitchError(
        fmt::format("'{}' has a label above 9; not a Fashion-MNIST label file", lab_path));
  Dataset d;
  d.images = img.to(at::kFloat).div_(255.0).unsqueeze(1).contiguous();
  d.labels = lab.to(at::kLong);
  d.index = at::arange(d.labels.size(0), at::kLong);
  return d;
}

}  // namespace stitch
