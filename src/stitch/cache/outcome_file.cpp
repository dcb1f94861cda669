#include "stitch/cache/outcome_file.h"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "stitch/cache/hdf5_io.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {
using namespace hdf5;

void outcome_file_write(const std::string& path,
                        const std::vector<std::pair<std::string, at::Tensor>>& sets,
                        const std::vector<std::pair<std::string, std::string>>& attrs) {
  quiet();
  double bytes = 0;
  for (const auto& [name, t] : sets) bytes += 4.0 * static_cast<double>(t.numel());
  disk_check_free(path, bytes, "outcome file");
  file_write_atomic(path, [&](const std::string& tmp) {
    try {
      CerrMute mute;
      FileWriter f(tmp);
      for (const auto& [name, t] : sets) {
        const at::Tensor v = t.to(at::kInt).contiguous().cpu().flatten();
        const hsize_t n = static_cast<hsize_t>(v.numel());
        f.dataset(name, H5::PredType::NATIVE_INT32, H5::DataSpace(1, &n), v.data_ptr());
      }
      for (const auto& [k, v] : attrs) attr_write(f.file(), k.c_str(), v);
      f.close();
    } catch (const H5::Exception& e) {
      write_failed();
      throw StitchError(fmt::format("cannot write '{}': {}", path, e.getDetailMsg()));
    }
  });
}

std::map<std::string, at::Tensor> outcome_file_read(const std::string& path) {
  quiet();
  file_check_readable(path, "outcome file");
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    std::map<std::string, at::Tensor> out;
    for (hsize_t i = 0; i < f.getNumObjs(); ++i) {
      const std::string name = f.getObjnameByIdx(i);
      out[name] = dataset_read(f, name, -1, at::kLong, H5::PredType::NATIVE_INT64);
    }
    return out;
  } catch (const H5::Exception& e) {
    throw StitchError(
        fmt::format("'{}' is not a readable outcome file: {}", path, e.getDetailMsg()));
  }
}

}  // namespace stitch
