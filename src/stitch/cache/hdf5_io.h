#pragma once
// HDF5 helpers shared by activation files and the activation store. Internal to
// src/stitch/cache/: the only place that includes <H5Cpp.h>.
#include <H5Cpp.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch::hdf5 {

inline const char* kIndices = "indices";
inline const char* kLabels = "labels";

void quiet();  // HDF5's C++ API prints its error stack on every exception; ours are one line

// While alive, std::cerr writes nowhere: HDF5's C++ destructors print "H5File::~H5File -
// H5Fclose failed" there when a close fails (a full disk) beside our one-line error. Declare it
// before the HDF5 objects of a writer, so it outlives them. (Our own output goes through spdlog
// and stdio, not std::cerr.)
class CerrMute {
 public:
  CerrMute();
  ~CerrMute();
  CerrMute(const CerrMute&) = delete;
  CerrMute& operator=(const CerrMute&) = delete;

 private:
  std::streambuf* saved_;
};

// An HDF5 file being written (created or truncated at `path`). Each dataset and the file are
// closed explicitly, so a failed write (a full disk, a file-size limit) throws H5::Exception
// instead of vanishing in a destructor and leaving a truncated file that looks written. A writer
// destroyed before close() -- an exception on the way -- leaks its handles on purpose: HDF5 1.10
// crashes closing a file whose write failed (H5Fclose after a failed H5Dclose), so the handles
// are never touched again and write_failed() ends the process without HDF5's exit handlers.
class FileWriter {
 public:
  explicit FileWriter(const std::string& path);
  ~FileWriter() = default;  // see above: an unclosed file is left to the end of the process
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  H5::H5File& file() { return *file_; }
  // Creates dataset `name`, writes all of `data` into it and closes it.
  void dataset(const std::string& name, const H5::DataType& type, const H5::DataSpace& space,
               const void* data, const H5::DSetCreatPropList& plist = H5::DSetCreatPropList());
  void close();  // flushes and closes the file; throws H5::Exception when that fails

 private:
  H5::H5File* file_;  // owned; leaked when close() did not succeed
};

// For a caught HDF5 write failure: the library cannot close that file any more and its exit
// handler would crash on it, so the process ends without exit handlers after the error.
void write_failed();
void attr_write(H5::H5File& f, const char* name, const std::string& v);
std::string attr_read(const H5::H5File& f, const char* name);  // "" when absent
bool has_dataset(const H5::H5File& f, const std::string& name);
std::vector<std::string> point_names(const H5::H5File& f);  // datasets other than indices/labels
// Chunk of whole rows of about `target_bytes` for rows of `row_bytes`, at most `rows` rows.
hsize_t chunk_rows(hsize_t row_bytes, hsize_t rows, hsize_t target_bytes);
// IEEE half precision, which h5py reads as numpy float16 (HDF5 1.10 has no predefined one).
H5::FloatType half_type();
// Rows [start, start + n) of a dataset as a tensor of `dtype` (n = -1: all from start).
at::Tensor dataset_read(const H5::H5File& f, const std::string& name, int64_t n,
                        at::ScalarType dtype, const H5::DataType& type, int64_t start = 0);

}  // namespace stitch::hdf5
