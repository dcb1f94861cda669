#include "stitch/cache/activation_cache.h"

#include <ATen/ATen.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/cache/hdf5_io.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

using namespace hdf5;

namespace {
void dataset_write(FileWriter& f, const std::string& name, const at::Tensor& x,
                   const H5::PredType& type) {
  std::vector<hsize_t> dims(x.sizes().begin(), x.sizes().end());
  std::vector<hsize_t> chunk = dims;  // ~1 MB chunks of whole rows, so row ranges read fast
  const hsize_t row_bytes = static_cast<hsize_t>(x.numel() / x.size(0) * x.element_size());
  chunk[0] = chunk_rows(row_bytes, dims[0], 1u << 20);
  H5::DSetCreatPropList plist;
  plist.setChunk(static_cast<int>(chunk.size()), chunk.data());
  H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
  f.dataset(name, type, space, x.data_ptr(), plist);
}

StitchError missing_point(const std::string& path, const std::string& point,
                          const std::vector<std::string>& have) {
  return StitchError(fmt::format("'{}' has no activations for point '{}'; it has: {}", path, point,
                                 fmt::join(have, ", ")));
}
}  // namespace

bool activations_is_file(const std::string& path) {
  quiet();
  try {
    return H5::H5File::isHdf5(path);
  } catch (const H5::Exception&) {
    return false;
  }
}

void activations_write(const std::string& path, const ActivationFile& meta,
                       const std::vector<at::Tensor>& acts) {
  quiet();
  if (meta.points.size() != acts.size())
    throw StitchError("activations: one tensor per point is needed");
  const int64_t n = meta.samples();
  for (size_t i = 0; i < acts.size(); ++i) {
    const std::string& p = meta.points[i];
    if (p.empty() || p == kIndices || p == kLabels || p.find('/') != std::string::npos)
      throw StitchError(fmt::format(
          "activations: '{}' cannot be a dataset name (reserved, empty or contains '/')", p));
    if (acts[i].dim() < 1 || acts[i].size(0) != n || n == 0)
      throw StitchError(fmt::format("activations: '{}' has {} rows, the file has {} samples", p,
                                    acts[i].dim() ? acts[i].size(0) : 0, n));
  }
  double bytes = 16.0 * static_cast<double>(n);  // indices and labels
  for (const auto& a : acts) bytes += 4.0 * static_cast<double>(a.numel());
  disk_check_free(path, bytes, "activation file");
  file_write_atomic(path, [&](const std::string& tmp) {
    try {
      CerrMute mute;
      FileWriter f(tmp);
      attr_write(f.file(), "model", meta.model);
      attr_write(f.file(), "model_sha256", meta.model_sha256);
      attr_write(f.file(), "split", meta.split);
      attr_write(f.file(), "git_commit", meta.git_commit);
      attr_write(f.file(), "torch_version", meta.torch_version);
      dataset_write(f, kIndices, meta.indices.to(at::kLong).contiguous().cpu(),
                    H5::PredType::NATIVE_INT64);
      dataset_write(f, kLabels, meta.labels.to(at::kLong).contiguous().cpu(),
                    H5::PredType::NATIVE_INT64);
      for (size_t i = 0; i < acts.size(); ++i)
        dataset_write(f, meta.points[i], acts[i].to(at::kFloat).contiguous().cpu(),
                      H5::PredType::NATIVE_FLOAT);
      f.close();
    } catch (const H5::Exception& e) {
      write_failed();
      throw StitchError(fmt::format("cannot write activations to '{}': {} ({})", path,
                                    e.getDetailMsg(), e.getFuncName()));
    }
  });
}

ActivationFile activations_open(const std::string& path) {
  quiet();
  file_check_readable(path, "activation file");
  if (!activations_is_file(path))
    throw StitchError(
        fmt::format("'{}' is not an HDF5 file; write one with `stitch activations`", path));
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    if (!has_dataset(f, kIndices) || !has_dataset(f, kLabels))
      throw StitchError(fmt::format(
          "'{}' has no /indices and /labels datasets; it was not written by `stitch activations`",
          path));
    ActivationFile a;
    a.model = attr_read(f, "model");
    a.model_sha256 = attr_read(f, "model_sha256");
    a.split = attr_read(f, "split");
    a.git_commit = attr_read(f, "git_commit");
    a.torch_version = attr_read(f, "torch_version");
    a.indices = dataset_read(f, kIndices, -1, at::kLong, H5::PredType::NATIVE_INT64);
    a.labels = dataset_read(f, kLabels, -1, at::kLong, H5::PredType::NATIVE_INT64);
    a.points = point_names(f);
    return a;
  } catch (const H5::Exception& e) {
    throw StitchError(fmt::format("cannot read activations from '{}': {}", path, e.getDetailMsg()));
  }
}

void activations_require(const ActivationFile& f, const std::string& path,
                         const std::vector<std::string>& points) {
  for (const auto& p : points)
    if (std::find(f.points.begin(), f.points.end(), p) == f.points.end())
      throw missing_point(path, p, f.points);
}

at::Tensor activations_read(const std::string& path, const std::string& point, int64_t n,
                            int64_t start) {
  quiet();
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    if (point == kIndices || point == kLabels || !has_dataset(f, point))
      throw missing_point(path, point, point_names(f));
    try {
      return dataset_read(f, point, n, at::kFloat, H5::PredType::NATIVE_FLOAT, start);
    } catch (const StitchError& e) {
      throw StitchError(fmt::format("{}: {}", path, e.what()));
    }
  } catch (const H5::Exception& e) {
    throw StitchError(fmt::format("cannot read '{}' from '{}': {}", point, path, e.getDetailMsg()));
  }
}

}  // namespace stitch
