#include "stitch/cache/hdf5_io.h"

#include "stitch/util/fs.h"

#include <ATen/ATen.h>

#include <algorithm>

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch::hdf5 {

void quiet() {
  static const bool once = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)once;
}

CerrMute::CerrMute() : saved_(std::cerr.rdbuf(nullptr)) {}

CerrMute::~CerrMute() {
  std::cerr.rdbuf(saved_);
  std::cerr.clear();
}

FileWriter::FileWriter(const std::string& path) : file_(new H5::H5File(path, H5F_ACC_TRUNC)) {}

void FileWriter::dataset(const std::string& name, const H5::DataType& type,
                         const H5::DataSpace& space, const void* data,
                         const H5::DSetCreatPropList& plist) {
  auto* d = new H5::DataSet(file_->createDataSet(name, type, space, plist));
  d->write(data, type);  // a throw leaks d (see FileWriter)
  d->close();
  delete d;
}

void FileWriter::close() {
  file_->close();
  delete file_;
  file_ = nullptr;
}

void write_failed() {
  exit_fast_request();
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

bool has_dataset(const H5::H5File& f, const std::string& name) {
  return H5Lexists(f.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::string> point_names(const H5::H5File& f) {
  std::vector<std::string> pts;
  for (hsize_t i = 0; i < f.getNumObjs(); ++i) {
    const std::string name = f.getObjnameByIdx(i);
    if (name != kIndices && name != kLabels) pts.push_back(name);
  }
  return pts;
}

hsize_t chunk_rows(hsize_t row_bytes, hsize_t rows, hsize_t target_bytes) {
  return std::clamp<hsize_t>(target_bytes / std::max<hsize_t>(row_bytes, 1), 1,
                             std::max<hsize_t>(rows, 1));
}

H5::FloatType half_type() {
  H5::FloatType t(H5::PredType::IEEE_F32LE);
  t.setFields(15, 10, 5, 0, 10);  // sign bit, exponent at 10 (5 bits), mantissa at 0 (10 bits)
  t.setSize(2);
  t.setEbias(15);
  return t;
}

at::Tensor dataset_read(const H5::H5File& f, const std::string& name, int64_t n,
                        at::ScalarType dtype, const H5::DataType& type, int64_t start) {
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

}  // namespace stitch::hdf5
