// The generic HDF5 image source: `images` [N, C, H, W] (uint8 or float) and `labels` [N].
#include <ATen/ATen.h>

#include <fmt/format.h>

#include "stitch/cache/hdf5_io.h"
#include "stitch/data/data_source.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

namespace {
// images [N, C, H, W] as float in [0, 1] (uint8 / 255) or as stored (float).
at::Tensor images_read(H5::H5File& f, const std::string& images, const std::string& where) {
  H5::DataSet ds = f.openDataSet(images);
  const int rank = ds.getSpace().getSimpleExtentNdims();
  if (rank != 4)
    throw StitchError(fmt::format(
        "HDF5 data '{}': images has {} dimensions, expected 4 [N, C, H, W]{}", where, rank,
        rank == 3 ? " (grey images: add a channel axis, images[:, None] in numpy)" : ""));
  std::vector<hsize_t> dims(4);
  ds.getSpace().getSimpleExtentDims(dims.data());
  if ((dims[3] == 1 || dims[3] == 3) && dims[1] > 4)
    throw StitchError(fmt::format(
        "HDF5 data '{}': images are [{}, {}, {}, {}], channels last; store them as [N, C, H, W] "
        "(images.transpose(0, 3, 1, 2) in numpy)",
        where, dims[0], dims[1], dims[2], dims[3]));
  const bool bytes = ds.getTypeClass() == H5T_INTEGER && ds.getIntType().getSize() == 1;
  if (!bytes && ds.getTypeClass() != H5T_FLOAT)
    throw StitchError(fmt::format(
        "HDF5 data '{}': images must be uint8 (0..255) or float, not another type; convert them "
        "(e.g. images.astype(np.float32) / 255)",
        where));
  if (!bytes) return hdf5::dataset_read(f, images, -1, at::kFloat, H5::PredType::NATIVE_FLOAT);
  return hdf5::dataset_read(f, images, -1, at::kByte, H5::PredType::NATIVE_UINT8)
      .to(at::kFloat)
      .div_(255.0);
}

// labels [N] as int64; float labels are accepted when they are whole numbers (2.5 is not a
// class).
at::Tensor labels_read(H5::H5File& f, const std::string& labels, const std::string& where) {
  if (f.openDataSet(labels).getSpace().getSimpleExtentNdims() != 1)
    throw StitchError(fmt::format("HDF5 data '{}': labels must be one-dimensional [N]", where));
  const H5T_class_t type = f.openDataSet(labels).getTypeClass();
  if (type != H5T_FLOAT && type != H5T_INTEGER && type != H5T_ENUM)  // h5py writes bool as enum
    throw StitchError(fmt::format(
        "HDF5 data '{}': labels must be integer class indices 0..K-1 (not text or another "
        "type); map them to integers first",
        where));
  if (type != H5T_FLOAT)
    return hdf5::dataset_read(f, labels, -1, at::kLong, H5::PredType::NATIVE_INT64);
  const at::Tensor v = hdf5::dataset_read(f, labels, -1, at::kDouble, H5::PredType::NATIVE_DOUBLE);
  const at::Tensor bad = (v != v.round()).nonzero();
  if (bad.size(0) > 0) {
    const int64_t row = bad[0][0].item<int64_t>();
    throw StitchError(fmt::format(
        "HDF5 data '{}': label {} (row {}) is not a whole number; labels are class indices "
        "0..K-1, store them as integers",
        where, v[row].item<double>(), row));
  }
  return v.to(at::kLong);
}

// Throws for mismatched counts, an empty set, negative labels or non-finite pixels.
void images_check(const Dataset& d, const std::string& where) {
  if (d.images.size(0) != d.labels.size(0))
    throw StitchError(fmt::format("HDF5 data '{}': {} images but {} labels", where,
                                  d.images.size(0), d.labels.size(0)));
  if (d.labels.size(0) == 0) throw StitchError(fmt::format("HDF5 data '{}' is empty", where));
  if (d.labels.min().item<int64_t>() < 0)
    throw StitchError(fmt::format("HDF5 data '{}': label {} is out of range (labels are 0..K-1)",
                                  where, d.labels.min().item<int64_t>()));
  if (!d.images.isfinite().all().item<bool>())
    throw StitchError(fmt::format("HDF5 data '{}': images contain NaN or infinity", where));
}
}  // namespace

Dataset hdf5_images_load(const std::string& path, const std::string& group) {
  hdf5::quiet();
  file_check_readable(path, "HDF5 data file");
  const std::string where = group.empty() ? path : path + ":" + group;
  const std::string images = group.empty() ? "images" : group + "/images";
  const std::string labels = group.empty() ? "labels" : group + "/labels";
  Dataset d;
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    for (const auto& name : {images, labels})
      if (!hdf5::has_dataset(f, name))
        throw StitchError(fmt::format(
            "HDF5 data '{}' has no dataset '{}' (expected images [N,C,H,W] and labels [N]{})", path,
            name, group.empty() ? "" : " in groups train/ and test/"));
    d.images = images_read(f, images, where);
    d.labels = labels_read(f, labels, where);
  } catch (const H5::Exception& e) {
    throw StitchError(fmt::format("HDF5 data '{}' cannot be read ({}); is it a complete HDF5 file?",
                                  where, e.getDetailMsg()));
  }
  images_check(d, where);
  d.images = d.images.contiguous();
  d.index = at::arange(d.labels.size(0), at::kLong);
  return d;
}

}  // namespace stitch
