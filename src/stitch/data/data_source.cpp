#include "stitch/data/data_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

const std::vector<std::string>& EnumNames<DataSource>::names() {
  static const std::vector<std::string> n{"fashion_mnist", "cifar10", "cifar100", "hdf5"};
  return n;
}
const std::vector<std::string>& EnumNames<CifarLabel>::names() {
  static const std::vector<std::string> n{"fine", "coarse"};
  return n;
}

const ConfigTable<DataConfig>& data_config_table() {
  static const ConfigTable<DataConfig> t = [] {
    ConfigTable<DataConfig> t;
    t.add("source", &DataConfig::source, "image data set");
    t.add("dir", &DataConfig::dir,
          "folder of the Fashion-MNIST IDX files or the CIFAR binary files");
    t.add("file", &DataConfig::file, "hdf5: one file with groups train/ and test/");
    t.add("train_file", &DataConfig::train_file, "hdf5: the training split's file");
    t.add("test_file", &DataConfig::test_file, "hdf5: the test split's file");
    t.add("label", &DataConfig::label, "cifar100 labels");
    t.add("mean", &DataConfig::mean,
          "per-channel mean subtracted for models that record no normalisation");
    t.add("std", &DataConfig::std, "per-channel std divided by, for the same models");
    t.add("input_shape", &DataConfig::input_shape, "C,H,W (default: from the data)")
        .range(1, 1 << 20)
        .affects(Affects::kNothing);
    t.add("label_map", &DataConfig::label_map,
          "relabel: class k becomes label_map[k], e.g. coarse groups (empty = as stored)")
        .range(0, 1 << 20);
    // Every other data setting changes what a job reads: a new one is keyed too (conservative:
    // a needless re-run, never a stale result reused).
    t.affects_unset(Affects::kEveryJob);
    return t;
  }();
  return t;
}

void data_config_check(const DataConfig& d) {
  if (d.mean.size() != d.std.size())
    throw StitchError(fmt::format(
        "data.mean has {} values and data.std {}: give both, one per channel (or one each)",
        d.mean.size(), d.std.size()));
  for (double s : d.std)
    if (!(s > 0)) throw StitchError("data.std values must be positive");
  if (!d.input_shape.empty() && d.input_shape.size() != 3)
    throw StitchError("data.input_shape must be C,H,W (three numbers)");
  if (d.source == DataSource::kHdf5 && d.file.empty() &&
      (d.train_file.empty() || d.test_file.empty()))
    throw StitchError(
        "data.source hdf5 needs data.file (groups train/ and test/) or both data.train_file and "
        "data.test_file");
  if ((d.source == DataSource::kCifar10 || d.source == DataSource::kCifar100) &&
      d.dir == kFashionMnistDir)
    throw StitchError(fmt::format(
        "data.source {} needs data.dir, the folder of its .bin files (e.g. cifar-10-batches-bin)",
        enum_name(d.source)));
}

namespace {
std::vector<std::string> cifar_files(const DataConfig& d, const std::string& split) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(d.dir))
    throw StitchError(fmt::format("data.dir '{}' is not a folder", d.dir));
  std::vector<std::string> files;
  if (d.source == DataSource::kCifar100) {
    files.push_back(d.dir + (split == "train" ? "/train.bin" : "/test.bin"));
  } else if (split == "test") {
    files.push_back(d.dir + "/test_batch.bin");
  } else {
    for (const auto& e : fs::directory_iterator(d.dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("data_batch_", 0) == 0 && e.path().extension() == ".bin")
        files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw StitchError(fmt::format(
          "data.dir '{}' has no data_batch_*.bin files (the CIFAR-10 binary version)", d.dir));
  }
  return files;
}
}  // namespace

Dataset cifar_load(const std::vector<std::string>& files, bool cifar100, bool coarse) {
  const int64_t label_bytes = cifar100 ? 2 : 1, pixels = 3 * 32 * 32;
  const int64_t record = label_bytes + pixels;
  std::vector<at::Tensor> images, labels;
  for (const auto& path : files) {
    file_check_readable(path, "CIFAR file");
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
    if (size == 0 || size % record != 0)
      throw StitchError(fmt::format(
          "CIFAR file '{}': {} bytes is not a whole number of {}-byte records ({}); truncated, or "
          "data.source should be {}",
          path, size, record, cifar100 ? "CIFAR-100" : "CIFAR-10",
          cifar100 ? "cifar10" : "cifar100"));
    at::Tensor raw = at::empty({size / record, record}, at::kByte);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), size);
    if (!in) throw StitchError(fmt::format("CIFAR file '{}': read failed", path));
    const int64_t label_col = cifar100 && !coarse ? 1 : 0;
    labels.push_back(raw.select(1, label_col).to(at::kLong));
    images.push_back(raw.narrow(1, label_bytes, pixels).reshape({-1, 3, 32, 32}));
  }
  Dataset d;
  d.images = at::cat(images).to(at::kFloat).div_(255.0).contiguous();
  d.labels = at::cat(labels).contiguous();
  d.index = at::arange(d.labels.size(0), at::kLong);
  const int64_t classes = cifar100 ? (coarse ? 20 : 100) : 10;
  const int64_t top = d.labels.max().item<int64_t>();
  if (top >= classes)
    throw StitchError(fmt::format("CIFAR files {}: label {} is out of range 0..{}; wrong format?",
                                  fmt::join(files, ", "), top, classes - 1));
  return d;
}

Dataset data_load(const DataConfig& d, const std::string& split, int64_t max_rows) {
  data_config_check(d);
  if (split != "train" && split != "test")
    throw StitchError(fmt::format("data split '{}' must be train or test", split));
  Dataset out;
  if (d.source == DataSource::kFashionMnist) {
    out = fashion_mnist_load(split, d.dir, max_rows);
  } else if (d.source == DataSource::kCifar10 || d.source == DataSource::kCifar100) {
    out = cifar_load(cifar_files(d, split), d.source == DataSource::kCifar100,
                     d.label == CifarLabel::kCoarse);
  } else {
    const std::string& f =
        d.file.empty() ? (split == "train" ? d.train_file : d.test_file) : d.file;
    out = hdf5_images_load(f, d.file.empty() ? "" : split);
  }
  out = dataset_first(out, max_rows);
  const auto shape = out.images.sizes().vec();
  if (!d.input_shape.empty() &&
      !std::equal(d.input_shape.begin(), d.input_shape.end(), shape.begin() + 1, shape.end()))
    throw StitchError(fmt::format("data.input_shape [{}] does not match the {} images [{}]",
                                  fmt::join(d.input_shape, ","), data_describe(d),
                                  fmt::join(shape.begin() + 1, shape.end(), ",")));
  if (!d.label_map.empty()) {
    const int64_t top = out.labels.max().item<int64_t>();
    if (top >= static_cast<int64_t>(d.label_map.size()))
      throw StitchError(fmt::format("data.label_map has {} entries but {} has label {}",
                                    d.label_map.size(), data_describe(d), top));
    out.labels = at::tensor(d.label_map, at::kLong).index_select(0, out.labels);
  }
  const int64_t c = shape[1];
  if (!d.mean.empty() && d.mean.size() != 1 && static_cast<int64_t>(d.mean.size()) != c)
    throw StitchError(fmt::format("data.mean/std have {} values but the images have {} channels",
                                  d.mean.size(), c));
  return out;
}

void data_check_classes(const DataConfig& d, const std::vector<const Dataset*>& splits,
                        const std::string& model, int64_t classes) {
  if (classes <= 0) return;
  int64_t top = -1;
  for (const Dataset* s : splits)
    if (s->size() > 0) top = std::max(top, s->labels.max().item<int64_t>());
  if (top >= classes)
    throw StitchError(fmt::format(
        "{} has labels up to {} but model '{}' has {} outputs; use data with 0..{} or a model "
        "for {} classes",
        data_describe(d), top, model, classes, classes - 1, top + 1));
}

std::vector<int64_t> data_input_shape(const DataConfig& d) {
  const Dataset t = data_load(d, "test", 1);  // Fashion-MNIST decompresses one image only
  return {t.images.size(1), t.images.size(2), t.images.size(3)};
}

std::string data_describe(const DataConfig& d) {
  if (d.source == DataSource::kHdf5)
    return d.file.empty() ? fmt::format("hdf5 {} / {}", d.train_file, d.test_file)
                          : fmt::format("hdf5 {}", d.file);
  return fmt::format("{} {}", enum_name(d.source), d.dir);
}

std::string data_identity(const DataConfig& d) {
  if (d.source == DataSource::kFashionMnist && d.mean.empty() && d.label_map.empty()) return "";
  std::string id = fmt::format("{} label={} mean=[{}] std=[{}]", data_describe(d),
                               enum_name(d.label), fmt::join(d.mean, ","), fmt::join(d.std, ","));
  if (!d.label_map.empty()) id += fmt::format(" label_map=[{}]", fmt::join(d.label_map, ","));
  return id;
}

}  // namespace stitch
