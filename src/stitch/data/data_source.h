#pragma once
// The `data:` section every command shares: which image data set (Fashion-MNIST IDX, CIFAR-10/100
// binary, or a generic HDF5 file), and the per-channel normalisation and input shape used for
// models that record none. Loading returns the same Dataset whatever the source.
#include <cstdint>
#include <string>
#include <vector>

#include "stitch/config/config_table.h"
#include "stitch/data/fashion_mnist.h"

namespace stitch {

enum class DataSource { kFashionMnist, kCifar10, kCifar100, kHdf5 };  // data.source
enum class CifarLabel { kFine, kCoarse };  // data.label: cifar100's 100 classes or 20 groups
template <>
struct EnumNames<DataSource> {
  static const std::vector<std::string>& names();  // fashion_mnist, cifar10, cifar100, hdf5
};
template <>
struct EnumNames<CifarLabel> {
  static const std::vector<std::string>& names();  // fine, coarse
};

struct DataConfig {
  DataSource source = DataSource::kFashionMnist;
  std::string dir = kFashionMnistDir;    // folder of the IDX or CIFAR binary files
  std::string file;                      // hdf5: one file with groups train/ and test/, or
  std::string train_file, test_file;     // hdf5: one file per split (images, labels at the root)
  CifarLabel label = CifarLabel::kFine;  // cifar100: 100 classes or 20 coarse groups
  std::vector<double> mean, std;         // per channel (or one for all), for models without
                                         // their own normalisation; empty = none
  std::vector<int64_t> input_shape;      // [C, H, W]; empty = from the data (checked if given)
  std::vector<int64_t> label_map;        // label k becomes label_map[k] (e.g. coarse groups);
                                         // empty = labels as stored
};

const ConfigTable<DataConfig>& data_config_table();
// Throws StitchError naming the key for settings that cannot work together.
void data_config_check(const DataConfig& d);

// Loads split "train" or "test" as float32 images in [0, 1] (uint8 sources) or as stored (float
// sources): the first max_rows samples when max_rows > 0 (Fashion-MNIST decompresses no more).
// Throws StitchError with one line for missing, truncated or inconsistent files.
Dataset data_load(const DataConfig& d, const std::string& split, int64_t max_rows = 0);
// [C, H, W] of the data (the first test image; data.input_shape when given must match it).
std::vector<int64_t> data_input_shape(const DataConfig& d);
// One line for logs and provenance: "cifar10 /data/cifar-10-batches-bin".
std::string data_describe(const DataConfig& d);

// What makes this data differ from Fashion-MNIST as stored, for cache keys and result rows:
// source, files, labels and normalisation; "" for the default Fashion-MNIST without mean/std.
std::string data_identity(const DataConfig& d);

// Throws when the labels of `splits` reach past a model's `classes` outputs (0 = unknown, no
// check), naming the data, the model and the fix.
void data_check_classes(const DataConfig& d, const std::vector<const Dataset*>& splits,
                        const std::string& model, int64_t classes);

// The two readers behind data_load, for tests and tools.
// CIFAR binary records (1 label byte, or coarse + fine for CIFAR-100, then 3072 pixel bytes).
Dataset cifar_load(const std::vector<std::string>& files, bool cifar100, bool coarse);
// HDF5 `images` [N, C, H, W] (uint8 -> /255, or float) and `labels` [N] in `group` ("" = root).
Dataset hdf5_images_load(const std::string& path, const std::string& group);

}  // namespace stitch
