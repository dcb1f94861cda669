#include "stitch/cache/activation_cache.h"

#include <ATen/ATen.h>
#include <H5Cpp.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

namespace {
const char* kIndices = "indices";
const char* kLabels = "labels";

// The C++ API prints HDF5's error stack on every exception; ours are turned into one line.
void hdf5_quiet() {
  static const bool once = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)once;
}

void attr_write(H5::H5File& f, const char* name, const std::string& v) {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  f.createAttribute(name, t, H5::DataSpace(H5S_SCALAR)).write(t, v);
}

std::string attr_read(const H5::H5File& f, const char* name) {
  if (!f.attrExists(name)) return "";
  H5::Attribute a = f.openAttribute(name);
  std::string v;
  a.read(a.getStrType(), v);
  return v;
}

void dataset_write(H5::H5File& f, const std::string& name, const at::Tensor& x,
                   const H5::PredType& type) {
  std::vector<hsize_t> dims(x.sizes().begin(), x.sizes().end());
  std::vector<hsize_t> chunk = dims;  // ~1 MB chunks of whole rows, so row ranges read fast
  const hsize_t row_bytes = static_cast<hsize_t>(x.numel() / x.size(0) * x.element_size());
  chunk[0] = std::clamp<hsize_t>((1u << 20) / std::max<hsize_t>(row_bytes, 1), 1, dims[0]);
  H5::DSetCreatPropList plist;
  plist.setChunk(static_cast<int>(chunk.size()), chunk.data());
  H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
  f.createDataSet(name, type, space, plist).write(x.data_ptr(), type);
}

std::vector<std::string> point_names(const H5::H5File& f) {
  std::vector<std::string> pts;
  for (hsize_t i = 0; i < f.getNumObjs(); ++i) {
    const std::string name = f.getObjnameByIdx(i);
    if (name != kIndices && name != kLabels) pts.push_back(name);
  }
  return pts;
}

StitchError missing_point(const std::string& path, const std::string& point,
                          const std::vector<std::string>& have) {
  return StitchError(fmt::format("'{}' has no activations for point '{}'; it has: {}", path, point,
                                 fmt::join(have, ", ")));
}

bool has_dataset(const H5::H5File& f, const std::string& name) {
  return H5Lexists(f.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

// Rows [start, start + n) of a dataset as a tensor of `dtype` (n = -1: all from start).
at::Tensor dataset_read(const H5::H5File& f, const std::string& name, int64_t n,
                        at::ScalarType dtype, const H5::PredType& type, int64_t start = 0) {
  H5::DataSet ds = f.openDataSet(name);
  H5::DataSpace file_space = ds.getSpace();
  const int rank = file_space.getSimpleExtentNdims();
  std::vector<hsize_t> dims(rank), start_rows(rank, 0);
  file_space.getSimpleExtentDims(dims.data());
  const auto rows = static_cast<int64_t>(dims[0]);
  if (start < 0 || start > rows || (n >= 0 && start + n > rows))
    throw StitchError(
        fmt::format("'{}' has {} samples, {} were asked for; use --samples {} or fewer", name, rows,
                    start + std::max<int64_t>(n, 0), rows));
  dims[0] = static_cast<hsize_t>(n < 0 ? rows - start : n);
  start_rows[0] = static_cast<hsize_t>(start);
  file_space.selectHyperslab(H5S_SELECT_SET, dims.data(), start_rows.data());
  H5::DataSpace mem_space(rank, dims.data());
  at::Tensor out = at::empty(std::vector<int64_t>(dims.begin(), dims.end()), dtype);
  ds.read(out.data_ptr(), type, mem_space, file_space);
  return out;
}
}  // namespace

bool activations_is_file(const std::string& path) {
  hdf5_quiet();
  try {
    return H5::H5File::isHdf5(path);
  } catch (const H5::Exception&) {
    return false;
  }
}

void activations_write(const std::string& path, const ActivationFile& meta,
                       const std::vector<at::Tensor>& acts) {
  hdf5_quiet();
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
  file_write_atomic(path, [&](const std::string& tmp) {
    try {
      H5::H5File f(tmp, H5F_ACC_TRUNC);
      attr_write(f, "model", meta.model);
      attr_write(f, "model_sha256", meta.model_sha256);
      attr_write(f, "split", meta.split);
      attr_write(f, "git_commit", meta.git_commit);
      attr_write(f, "torch_version", meta.torch_version);
      dataset_write(f, kIndices, meta.indices.to(at::kLong).contiguous().cpu(),
                    H5::PredType::NATIVE_INT64);
      dataset_write(f, kLabels, meta.labels.to(at::kLong).contiguous().cpu(),
                    H5::PredType::NATIVE_INT64);
      for (size_t i = 0; i < acts.size(); ++i)
        dataset_write(f, meta.points[i], acts[i].to(at::kFloat).contiguous().cpu(),
                      H5::PredType::NATIVE_FLOAT);
      f.close();
    } catch (const H5::Exception& e) {
      throw StitchError(fmt::format("cannot write activations to '{}': {} ({})", path,
                                    e.getDetailMsg(), e.getFuncName()));
    }
  });
}

ActivationFile activations_open(const std::string& path) {
  hdf5_quiet();
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
  hdf5_quiet();
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
