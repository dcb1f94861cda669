#include "stitch/cache/activation_store.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/cache/hdf5_io.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/hash.h"
#include "stitch/util/version.h"

namespace stitch {
namespace fs = std::filesystem;
using namespace hdf5;

namespace {
constexpr hsize_t kChunkBytes = 64 << 10;  // small chunks: training reads random rows

std::string indices_sha(const StoreEntry& e) {
  const at::Tensor i = e.indices.to(at::kLong).contiguous().cpu();
  const std::string sha =
      bytes_sha256(i.data_ptr(), static_cast<size_t>(i.numel()) * sizeof(int64_t));
  return e.data.empty() ? sha : text_sha256(sha + "\n" + e.data);
}

H5::DataType storage_type(const std::string& dtype) {
  if (dtype == "float16") return half_type();
  return H5::PredType::NATIVE_FLOAT;
}

// "" when `path` is a complete file for this entry and point, else why not.
std::string check_file(const std::string& path, const StoreEntry& e, const std::string& idx_sha,
                       const std::string& point, const std::vector<int64_t>& shape) {
  if (!fs::exists(path)) return "missing";
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    const std::string want_version = std::to_string(kStoreFormatVersion);
    for (const auto& [attr, want] :
         std::vector<std::pair<const char*, std::string>>{{"model_sha256", e.model_sha256},
                                                          {"split", e.split},
                                                          {"indices_sha256", idx_sha},
                                                          {"dtype", e.dtype},
                                                          {"format_version", want_version}})
      if (attr_read(f, attr) != want)
        return fmt::format("its {} is '{}', not '{}'", attr, attr_read(f, attr), want);
    if (!has_dataset(f, point)) return fmt::format("it has no dataset /{}", point);
    H5::DataSpace space = f.openDataSet(point).getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    std::vector<int64_t> want{e.indices.size(0)};
    want.insert(want.end(), shape.begin(), shape.end());
    if (std::vector<int64_t>(dims.begin(), dims.end()) != want)
      return fmt::format("/{} has shape [{}], not [{}]", point, fmt::join(dims, ","),
                         fmt::join(want, ","));
    return "";
  } catch (const H5::Exception& ex) {
    return fmt::format("it cannot be read ({}); truncated or not HDF5", ex.getDetailMsg());
  }
}

// One point being written: a temporary HDF5 file that becomes `path` on commit().
class PointWriter {
 public:
  PointWriter(const std::string& path, const StoreEntry& e, const std::string& idx_sha,
              const std::string& point, const std::vector<int64_t>& shape)
      : path_(path), tmp_(file_temp_name(path)), point_(point), type_(storage_type(e.dtype)) {
    half_ = e.dtype == "float16";
    file_ = H5::H5File(tmp_, H5F_ACC_TRUNC);
    attr_write(file_, "model", e.model_path);
    attr_write(file_, "model_sha256", e.model_sha256);
    attr_write(file_, "split", e.split);
    attr_write(file_, "indices_sha256", idx_sha);
    attr_write(file_, "dtype", e.dtype);
    attr_write(file_, "format_version", std::to_string(kStoreFormatVersion));
    attr_write(file_, "git_commit", git_stamp());
    attr_write(file_, "torch_version", torch_version());
    for (const auto& [name, t] : {std::pair<const char*, at::Tensor>{kIndices, e.indices},
                                  std::pair<const char*, at::Tensor>{kLabels, e.labels}}) {
      const at::Tensor v = t.to(at::kLong).contiguous().cpu();
      const hsize_t n = static_cast<hsize_t>(v.numel());
      H5::DataSpace s(1, &n);
      file_.createDataSet(name, H5::PredType::NATIVE_INT64, s)
          .write(v.data_ptr(), H5::PredType::NATIVE_INT64);
    }
    dims_ = {static_cast<hsize_t>(e.indices.size(0))};
    hsize_t row = half_ ? 2 : 4;
    for (int64_t s : shape) {
      dims_.push_back(static_cast<hsize_t>(s));
      row *= static_cast<hsize_t>(s);
    }
    std::vector<hsize_t> chunk = dims_;
    chunk[0] = chunk_rows(row, dims_[0], kChunkBytes);
    H5::DSetCreatPropList plist;
    plist.setChunk(static_cast<int>(chunk.size()), chunk.data());
    H5::DataSpace space(static_cast<int>(dims_.size()), dims_.data());
    data_ = file_.createDataSet(point, type_, space, plist);
  }
  ~PointWriter() {
    if (committed_) return;
    try {
      file_.close();
    } catch (...) {
    }
    std::remove(tmp_.c_str());
  }
  // Writes rows [start, start + x.size(0)).
  void write(int64_t start, const at::Tensor& x) {
    const at::Tensor v = x.detach().to(at::kCPU, half_ ? at::kHalf : at::kFloat).contiguous();
    std::vector<hsize_t> count = dims_, offset(dims_.size(), 0);
    count[0] = static_cast<hsize_t>(v.size(0));
    offset[0] = static_cast<hsize_t>(start);
    H5::DataSpace fspace = data_.getSpace();
    fspace.selectHyperslab(H5S_SELECT_SET, count.data(), offset.data());
    H5::DataSpace mspace(static_cast<int>(count.size()), count.data());
    data_.write(v.data_ptr(), type_, mspace, fspace);
  }
  // After a failed write the library cannot close this file (HDF5 1.10 crashes in H5Fclose after
  // a failed H5Dclose): the temp file goes and the handles are never touched again (the caller
  // leaks the writer; write_failed ends the process without HDF5's exit handlers).
  void abandon() { std::remove(tmp_.c_str()); }
  void commit() {
    data_.close();
    file_.close();
    file_commit(tmp_, path_);
    committed_ = true;
  }

 private:
  std::string path_, tmp_, point_;
  H5::DataType type_;
  bool half_ = false, committed_ = false;
  H5::H5File file_;
  H5::DataSet data_;
  std::vector<hsize_t> dims_;
};
}  // namespace

ActivationStore::ActivationStore(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec || !fs::is_directory(root_))
    throw StitchError(
        fmt::format("cannot create the activation store folder '{}': {}; set "
                    "store: to a writable folder",
                    root_, ec ? ec.message() : "not a folder"));
  if (::access(root_.c_str(), W_OK) != 0)
    throw StitchError(fmt::format(
        "the activation store folder '{}' is not writable; set store: to a writable folder",
        root_));
}

std::string ActivationStore::entry_dir(const StoreEntry& e) const {
  return fmt::format("{}/{}/{}_n{}_{}_{}_v{}", root_, e.model_sha256.substr(0, 16), e.split,
                     e.indices.size(0), indices_sha(e).substr(0, 12), e.dtype, kStoreFormatVersion);
}

std::string ActivationStore::file(const StoreEntry& e, const std::string& point) const {
  return entry_dir(e) + "/" + point + ".h5";
}

std::vector<std::string> ActivationStore::missing(const StoreEntry& e,
                                                  const std::vector<std::string>& points,
                                                  const std::vector<std::vector<int64_t>>& shapes,
                                                  bool report) const {
  quiet();
  const std::string sha = indices_sha(e);
  std::vector<std::string> out;
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string path = file(e, points[i]);
    const std::string why = check_file(path, e, sha, points[i], shapes[i]);
    if (why.empty()) continue;
    if (report && why != "missing")
      spdlog::warn("store: '{}' is not a valid entry ({}); rebuilding it", path, why);
    out.push_back(points[i]);
  }
  return out;
}

size_t ActivationStore::ensure(const StoreEntry& e, const std::vector<std::string>& points,
                               const std::vector<std::vector<int64_t>>& shapes,
                               const StoreComputeFn& compute, int64_t batch) const {
  if (missing(e, points, shapes, /*report=*/false).empty()) return 0;
  const std::string dir = entry_dir(e);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw StitchError(fmt::format("cannot create store folder '{}': {}", dir, ec.message()));
  FileLock lock(dir + "/.lock", fmt::format("store: waiting for another process building {}", dir));
  const std::vector<std::string> todo = missing(e, points, shapes);  // it may have built them
  if (todo.empty()) return 0;
  file_remove_temps(dir);  // of builders killed mid-write (we hold the lock)
  const std::string sha = indices_sha(e);
  double bytes = 0;
  for (const auto& p : todo) {
    const size_t i =
        static_cast<size_t>(std::find(points.begin(), points.end(), p) - points.begin());
    double row = e.dtype == "float16" ? 2 : 4;
    for (int64_t d : shapes[i]) row *= static_cast<double>(d);
    bytes += (row + 16.0) * static_cast<double>(e.indices.size(0));
  }
  disk_check_free(dir + "/" + todo[0] + ".h5", bytes, "activation store");
  CerrMute mute;  // outlives the writers: see hdf5_io.h
  std::vector<std::unique_ptr<PointWriter>> writers;
  try {
    for (const auto& p : todo) {
      const size_t i =
          static_cast<size_t>(std::find(points.begin(), points.end(), p) - points.begin());
      writers.push_back(std::make_unique<PointWriter>(file(e, p), e, sha, p, shapes[i]));
    }
    const int64_t n = e.indices.size(0);
    for (int64_t s = 0; s < n; s += batch) {
      interrupt_throw_if_requested();
      const int64_t m = std::min(batch, n - s);
      const std::vector<at::Tensor> acts = compute(s, m, todo);
      for (size_t i = 0; i < todo.size(); ++i) writers[i]->write(s, acts[i]);
    }
    for (auto& w : writers) w->commit();
  } catch (const H5::Exception& ex) {
    write_failed();
    for (auto& w : writers) {
      w->abandon();
      (void)w.release();  // deliberately leaked: destroying it would close the broken file
    }
    throw StitchError(
        fmt::format("cannot write the activation store in '{}': {}", dir, ex.getDetailMsg()));
  }
  return todo.size();
}

struct StoreReader::Impl {
  std::string path, point;
  H5::H5File file;
  H5::DataSet data;
  std::vector<hsize_t> dims;
  std::vector<int64_t> shape;
  at::Tensor memory;  // defined when served from RAM

  // Reads the rows of `sorted` (ascending, unique): one plain hyperslab read per run of
  // consecutive rows. (One read of the union of the runs was 34x slower in HDF5 1.10: 161 ms
  // instead of 4.7 ms for 128 random rows of 50 KB, bench/store_read.cpp.)
  at::Tensor read_sorted(const at::Tensor& sorted) {
    const int64_t* r = sorted.data_ptr<int64_t>();
    const int64_t k = sorted.numel();
    std::vector<int64_t> out_shape{k};
    out_shape.insert(out_shape.end(), shape.begin(), shape.end());
    at::Tensor out = at::empty(out_shape, at::kFloat);
    const int64_t row = k ? out.numel() / k : 0;
    std::vector<hsize_t> count = dims, offset(dims.size(), 0);
    H5::DataSpace fspace = data.getSpace();
    for (int64_t i = 0; i < k;) {
      int64_t j = i + 1;
      while (j < k && r[j] == r[j - 1] + 1) ++j;
      offset[0] = static_cast<hsize_t>(r[i]);
      count[0] = static_cast<hsize_t>(j - i);
      fspace.selectHyperslab(H5S_SELECT_SET, count.data(), offset.data());
      H5::DataSpace mspace(static_cast<int>(count.size()), count.data());
      data.read(out.data_ptr<float>() + i * row, H5::PredType::NATIVE_FLOAT, mspace, fspace);
      i = j;
    }
    return out;
  }
};

StoreReader::StoreReader(const std::string& path, const std::string& point, int64_t max_ram_bytes)
    : impl_(std::make_unique<Impl>()) {
  quiet();
  impl_->path = path;
  impl_->point = point;
  try {
    impl_->file = H5::H5File(path, H5F_ACC_RDONLY);
    if (!has_dataset(impl_->file, point))
      throw StitchError(fmt::format("'{}' has no dataset /{}", path, point));
    impl_->data = impl_->file.openDataSet(point);
    H5::DataSpace space = impl_->data.getSpace();
    impl_->dims.resize(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(impl_->dims.data());
    impl_->shape.assign(impl_->dims.begin() + 1, impl_->dims.end());
    int64_t bytes = 4;
    for (hsize_t d : impl_->dims) bytes *= static_cast<int64_t>(d);
    if (bytes <= max_ram_bytes)
      impl_->memory = dataset_read(impl_->file, point, -1, at::kFloat, H5::PredType::NATIVE_FLOAT);
  } catch (const H5::Exception& ex) {
    throw StitchError(fmt::format("cannot read /{} from '{}': {}; delete the file to rebuild it",
                                  point, path, ex.getDetailMsg()));
  }
}

StoreReader::~StoreReader() = default;
StoreReader::StoreReader(StoreReader&&) noexcept = default;
StoreReader& StoreReader::operator=(StoreReader&&) noexcept = default;

int64_t StoreReader::rows() const {
  return static_cast<int64_t>(impl_->dims[0]);
}

const std::vector<int64_t>& StoreReader::shape() const {
  return impl_->shape;
}

bool StoreReader::in_memory() const {
  return impl_->memory.defined();
}

at::Tensor StoreReader::range(int64_t start, int64_t n) const {
  if (start < 0 || n < 0 || start + n > rows())
    throw StitchError(fmt::format("'{}': rows [{}, {}) asked for, it has {}", impl_->path, start,
                                  start + n, rows()));
  if (in_memory()) return impl_->memory.narrow(0, start, n);
  try {
    return dataset_read(impl_->file, impl_->point, n, at::kFloat, H5::PredType::NATIVE_FLOAT,
                        start);
  } catch (const H5::Exception& ex) {
    throw StitchError(
        fmt::format("cannot read /{} from '{}': {}", impl_->point, impl_->path, ex.getDetailMsg()));
  }
}

at::Tensor StoreReader::gather(const at::Tensor& rows_in) const {
  const at::Tensor r = rows_in.to(at::kCPU, at::kLong).contiguous();
  if (r.numel() > 0 && (r.min().item<int64_t>() < 0 || r.max().item<int64_t>() >= rows()))
    throw StitchError(
        fmt::format("'{}': a row outside [0, {}) was asked for", impl_->path, rows()));
  if (in_memory()) return impl_->memory.index_select(0, r);
  const auto [sorted, inverse, counts] = at::_unique2(r, /*sorted=*/true, /*return_inverse=*/true);
  try {
    return impl_->read_sorted(sorted).index_select(0, inverse);
  } catch (const H5::Exception& ex) {
    throw StitchError(
        fmt::format("cannot read /{} from '{}': {}", impl_->point, impl_->path, ex.getDetailMsg()));
  }
}

}  // namespace stitch
