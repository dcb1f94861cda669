// Data sources: CIFAR-10/100 binary and generic HDF5 files written here byte by byte, the data
// section's checks, and colour markers on RGB images.
#include <H5Cpp.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "stitch/data/data_source.h"
#include "stitch/data/markers.h"
#include "stitch/util/error.h"
#include "test_util.h"

namespace stitch {
namespace {

// A CIFAR record: label byte(s), then 3072 pixels (R plane, G plane, B plane); pixel p of record
// r in channel c is (r * 7 + c * 3 + p) mod 256, so every value can be recomputed.
std::vector<uint8_t> cifar_records(int n, int first, const std::vector<int>& labels_per_record,
                                   int label_bytes) {
  std::vector<uint8_t> out;
  for (int r = 0; r < n; ++r) {
    for (int b = 0; b < label_bytes; ++b)
      out.push_back(static_cast<uint8_t>(labels_per_record[static_cast<size_t>(b)] + r % 3));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p)
        out.push_back(static_cast<uint8_t>(((first + r) * 7 + c * 3 + p) % 256));
  }
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

DataConfig cifar10_at(const std::string& dir) {
  DataConfig d;
  d.source = DataSource::kCifar10;
  d.dir = dir;
  return d;
}

TEST(DataSource, Cifar10BinaryFilesInOrderWithPlanesAsChannels) {
  const std::string dir = test::temp_dir();
  // data_batch_2 is written first: files are read in name order, not creation order.
  write_bytes(dir + "/data_batch_2.bin", cifar_records(3, 4, {1}, 1));
  write_bytes(dir + "/data_batch_1.bin", cifar_records(4, 0, {5}, 1));
  write_bytes(dir + "/test_batch.bin", cifar_records(2, 100, {0}, 1));
  const Dataset train = data_load(cifar10_at(dir), "train");
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{7, 3, 32, 32}));
  for (int r = 0; r < 7; ++r) {
    EXPECT_EQ(train.labels[r].item<int64_t>(), (r < 4 ? 5 + r % 3 : 1 + (r - 4) % 3)) << r;
    for (int c = 0; c < 3; ++c)
      for (int p : {0, 33, 1023}) {
        const float want = static_cast<float>((r * 7 + c * 3 + p) % 256) / 255.0f;
        EXPECT_FLOAT_EQ(train.images[r][c][p / 32][p % 32].item<float>(), want) << r << c << p;
      }
  }
  EXPECT_EQ(train.index[6].item<int64_t>(), 6);
  const Dataset test = data_load(cifar10_at(dir), "test");
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(data_input_shape(cifar10_at(dir)), (std::vector<int64_t>{3, 32, 32}));
}

TEST(DataSource, Cifar100FineAndCoarseLabels) {
  const std::string dir = test::temp_dir();
  write_bytes(dir + "/train.bin", cifar_records(3, 0, {7, 70}, 2));  // coarse 7.., fine 70..
  write_bytes(dir + "/test.bin", cifar_records(1, 0, {2, 20}, 2));
  DataConfig d = cifar10_at(dir);
  d.source = DataSource::kCifar100;
  EXPECT_EQ(data_load(d, "train").labels[2].item<int64_t>(), 72);
  d.label = CifarLabel::kCoarse;
  EXPECT_EQ(data_load(d, "train").labels[2].item<int64_t>(), 9);
  EXPECT_FLOAT_EQ(data_load(d, "train").images[1][0][0][0].item<float>(), 7.0f / 255.0f);
}

TEST(DataSource, BadCifarFilesAreOneLineErrors) {
  const std::string dir = test::temp_dir();
  auto bytes = cifar_records(2, 0, {1}, 1);
  bytes.resize(bytes.size() - 100);  // truncated
  write_bytes(dir + "/data_batch_1.bin", bytes);
  write_bytes(dir + "/test_batch.bin", cifar_records(2, 0, {12}, 1));  // label 12 in CIFAR-10
  const std::string trunc = test::error_of([&] { data_load(cifar10_at(dir), "train"); });
  EXPECT_NE(trunc.find("is not a whole number of 3073-byte records"), std::string::npos) << trunc;
  const std::string label = test::error_of([&] { data_load(cifar10_at(dir), "test"); });
  EXPECT_NE(label.find("label 13 is out of range 0..9"), std::string::npos) << label;
  write_bytes(dir + "/test.bin", cifar_records(2, 0, {1}, 1));
  DataConfig c100 = cifar10_at(dir);
  c100.source = DataSource::kCifar100;  // CIFAR-10 records read as CIFAR-100: wrong record size
  EXPECT_NE(test::error_of([&] { data_load(c100, "test"); }).find("data.source should be cifar10"),
            std::string::npos);
  EXPECT_NE(
      test::error_of([&] { data_load(cifar10_at(dir + "/nope"), "test"); }).find("is not a folder"),
      std::string::npos);
  DataConfig no_dir;
  no_dir.source = DataSource::kCifar10;
  EXPECT_NE(test::error_of([&] { data_load(no_dir, "test"); }).find("needs data.dir"),
            std::string::npos);
  for (const auto& e : {trunc, label}) EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

// Writes images [N, C, H, W] (uint8 or float) and labels [N] into `group` of an HDF5 file.
void write_h5(H5::H5File& f, const std::string& group, const at::Tensor& images,
              const at::Tensor& labels) {
  if (!group.empty()) f.createGroup(group);
  const std::string prefix = group.empty() ? "" : group + "/";
  const auto dims = images.sizes().vec();
  std::vector<hsize_t> hd(dims.begin(), dims.end());
  H5::DataSpace is(static_cast<int>(hd.size()), hd.data());
  const bool bytes = images.scalar_type() == at::kByte;
  const auto& type = bytes ? H5::PredType::NATIVE_UINT8 : H5::PredType::NATIVE_FLOAT;
  f.createDataSet(prefix + "images", type, is).write(images.contiguous().data_ptr(), type);
  const hsize_t n = static_cast<hsize_t>(labels.size(0));
  H5::DataSpace ls(1, &n);
  const auto& ltype =
      labels.is_floating_point() ? H5::PredType::NATIVE_DOUBLE : H5::PredType::NATIVE_INT64;
  const at::Tensor lv =
      labels.is_floating_point() ? labels.to(at::kDouble).contiguous() : labels.contiguous();
  f.createDataSet(prefix + "labels", ltype, ls).write(lv.data_ptr(), ltype);
}

TEST(DataSource, Hdf5FilesPerSplitOrOneFileWithGroups) {
  const std::string dir = test::temp_dir();
  const at::Tensor u8 = at::randint(0, 256, {6, 3, 8, 8}, at::kByte);
  const at::Tensor fl = at::rand({4, 1, 5, 5});
  const at::Tensor y6 = at::arange(6, at::kLong), y4 = at::arange(4, at::kLong);
  {
    H5::H5File a(dir + "/train.h5", H5F_ACC_TRUNC), b(dir + "/test.h5", H5F_ACC_TRUNC);
    write_h5(a, "", u8, y6);
    write_h5(b, "", u8.narrow(0, 0, 2), y6.narrow(0, 0, 2));
    H5::H5File g(dir + "/both.h5", H5F_ACC_TRUNC);
    write_h5(g, "train", fl, y4);
    write_h5(g, "test", fl.narrow(0, 1, 3), y4.narrow(0, 1, 3));
  }
  DataConfig d;
  d.source = DataSource::kHdf5;
  d.train_file = dir + "/train.h5";
  d.test_file = dir + "/test.h5";
  const Dataset tr = data_load(d, "train");
  EXPECT_TRUE(at::allclose(tr.images, u8.to(at::kFloat) / 255.0));
  EXPECT_TRUE(at::equal(tr.labels, y6));
  EXPECT_EQ(data_load(d, "test").size(), 2);
  DataConfig g;
  g.source = DataSource::kHdf5;
  g.file = dir + "/both.h5";
  EXPECT_TRUE(at::equal(data_load(g, "train").images, fl)) << "float images are kept as stored";
  EXPECT_TRUE(at::equal(data_load(g, "test").labels, y4.narrow(0, 1, 3)));
  g.input_shape = {3, 5, 5};
  EXPECT_NE(
      test::error_of([&] { data_load(g, "test"); }).find("data.input_shape [3,5,5] does not match"),
      std::string::npos);
}

TEST(DataSource, BadHdf5FilesAreOneLineErrors) {
  const std::string dir = test::temp_dir();
  {
    H5::H5File f(dir + "/n.h5", H5F_ACC_TRUNC);
    write_h5(f, "", at::zeros({5, 1, 4, 4}), at::zeros({4}, at::kLong));  // 5 images, 4 labels
    H5::H5File g(dir + "/neg.h5", H5F_ACC_TRUNC);
    write_h5(g, "", at::zeros({2, 1, 4, 4}), at::tensor({0, -1}, at::kLong));
    H5::H5File r(dir + "/rank.h5", H5F_ACC_TRUNC);
    write_h5(r, "", at::zeros({2, 4, 4}), at::zeros({2}, at::kLong));
    H5::H5File q(dir + "/frac.h5", H5F_ACC_TRUNC);  // float labels, one not a class index
    write_h5(q, "", at::zeros({3, 1, 4, 4}), at::tensor({0.0, 2.0, 2.5}, at::kDouble));
    H5::H5File w(dir + "/whole.h5", H5F_ACC_TRUNC);  // float labels that are whole numbers
    write_h5(w, "", at::zeros({2, 1, 4, 4}), at::tensor({1.0, 3.0}, at::kDouble));
    H5::H5File c(dir + "/nhwc.h5", H5F_ACC_TRUNC);  // channels last, as numpy and PIL give them
    write_h5(c, "", at::zeros({2, 8, 8, 3}), at::zeros({2}, at::kLong));
    // int16 pixels, and labels stored as text (two fixed-length strings "cat", "dog")
    hsize_t d4[4] = {2, 1, 4, 4}, n2 = 2;
    const std::vector<int16_t> px(32, 7);
    const int64_t lab[2] = {0, 1};
    H5::H5File i(dir + "/int16.h5", H5F_ACC_TRUNC);
    i.createDataSet("images", H5::PredType::NATIVE_INT16, H5::DataSpace(4, d4))
        .write(px.data(), H5::PredType::NATIVE_INT16);
    i.createDataSet("labels", H5::PredType::NATIVE_INT64, H5::DataSpace(1, &n2))
        .write(lab, H5::PredType::NATIVE_INT64);
    H5::H5File t(dir + "/text.h5", H5F_ACC_TRUNC);
    const at::Tensor im = at::zeros({2, 1, 4, 4});
    t.createDataSet("images", H5::PredType::NATIVE_FLOAT, H5::DataSpace(4, d4))
        .write(im.data_ptr(), H5::PredType::NATIVE_FLOAT);
    const H5::StrType st(H5::PredType::C_S1, 4);
    t.createDataSet("labels", st, H5::DataSpace(1, &n2)).write("cat\0dog", st);
  }
  {  // a truncated copy of a valid file
    const std::string whole = test::read_file(dir + "/n.h5");
    std::ofstream t(dir + "/trunc.h5", std::ios::binary);
    t.write(whole.data(), static_cast<std::streamsize>(whole.size() / 2));
  }
  auto err = [&](const std::string& file) {
    const std::string e = test::error_of([&] { hdf5_images_load(dir + "/" + file, ""); });
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  };
  EXPECT_NE(err("n.h5").find("5 images but 4 labels"), std::string::npos);
  EXPECT_NE(err("neg.h5").find("label -1 is out of range"), std::string::npos);
  EXPECT_NE(err("rank.h5").find("images has 3 dimensions, expected 4"), std::string::npos);
  EXPECT_NE(err("rank.h5").find("add a channel axis"), std::string::npos);
  EXPECT_NE(
      err("nhwc.h5").find("images are [2, 8, 8, 3], channels last; store them as [N, C, H, W]"),
      std::string::npos);
  EXPECT_NE(err("int16.h5").find("images must be uint8 (0..255) or float"), std::string::npos);
  EXPECT_NE(err("text.h5").find("labels must be integer class indices"), std::string::npos);
  EXPECT_NE(err("trunc.h5").find("cannot be read"), std::string::npos);
  EXPECT_NE(err("frac.h5").find("label 2.5 (row 2) is not a whole number"), std::string::npos);
  EXPECT_TRUE(
      at::equal(hdf5_images_load(dir + "/whole.h5", "").labels, at::tensor({1, 3}, at::kLong)));
  EXPECT_NE(err("missing.h5").find("missing.h5"), std::string::npos);
  DataConfig half;
  half.source = DataSource::kHdf5;
  half.train_file = "x.h5";
  EXPECT_NE(test::error_of([&] { data_config_check(half); }).find("data.test_file"),
            std::string::npos);
}

// label_map relabels (e.g. Fashion-MNIST's ten classes into coarse groups) for every split.
TEST(DataSource, LabelMapRelabelsAndIsCheckedAgainstTheLabels) {
  DataConfig d;
  d.label_map = {0, 1, 0, 2, 0, 3, 0, 3, 4, 3};  // tops, trousers, dresses, footwear, bags
  const Dataset fine = fashion_mnist_load("test"), coarse = data_load(d, "test");
  const at::Tensor map = at::tensor(d.label_map, at::kLong);
  EXPECT_TRUE(at::equal(coarse.labels, map.index_select(0, fine.labels)));
  EXPECT_EQ(coarse.labels.max().item<int64_t>(), 4);
  d.label_map = {0, 1, 2};
  EXPECT_NE(test::error_of([&] { data_load(d, "test"); }).find("label_map has 3 entries"),
            std::string::npos);
}

TEST(DataSource, ConfigSectionSuggestsKeysAndChecksNormalisation) {
  DataConfig d;
  const std::string typo =
      test::error_of([&] { data_config_table().parse(YAML::Load("{sorce: cifar10}"), d); });
  EXPECT_NE(typo.find("did you mean 'source'"), std::string::npos) << typo;
  const std::string bad =
      test::error_of([&] { data_config_table().parse(YAML::Load("{source: imagenet}"), d); });
  EXPECT_NE(bad.find("fashion_mnist, cifar10, cifar100, hdf5"), std::string::npos) << bad;
  d.mean = {0.5, 0.5};
  d.std = {0.2};
  EXPECT_NE(test::error_of([&] { data_config_check(d); }).find("give both"), std::string::npos);
}

TEST(Markers, RgbMarkersTakeTheirClassColour) {
  const at::Tensor img = at::zeros({3, 3, 32, 32});
  const at::Tensor cls = at::tensor({0, 3, -1}, at::kLong);
  const at::Tensor out = markers_apply(img, cls, MarkerMode::kPixelLoc, 5, 10);
  const at::Tensor pat = marker_patterns(10), loc = marker_locations(10, 32, 32);
  for (int i = 0; i < 2; ++i) {
    const int64_t k = cls[i].item<int64_t>(), r = loc[k][0].item<int64_t>(),
                  c = loc[k][1].item<int64_t>();
    const at::Tensor patch = out[i].narrow(1, r, 4).narrow(2, c, 4);
    // Every channel is a multiple of the binary pattern; together they are not grey.
    for (int ch = 0; ch < 3; ++ch) {
      const at::Tensor p = patch[ch];
      const float v = p.max().item<float>();
      EXPECT_TRUE(at::allclose(p, pat[k] * v)) << "class " << k << " channel " << ch;
    }
    EXPECT_GT((patch[0] - patch[1]).abs().max().item<float>() +
                  (patch[1] - patch[2]).abs().max().item<float>(),
              0.5f)
        << "class " << k << " marker is grey";
    EXPECT_EQ(out[i].abs().sum().item<float>(), patch.abs().sum().item<float>())
        << "only the marker changed";
  }
  EXPECT_TRUE(at::equal(out[2], img[2])) << "class -1: no marker";
  const at::Tensor c0 = out[0].sum({1, 2}), c3 = out[1].sum({1, 2});
  EXPECT_GT((c0 / c0.sum() - c3 / c3.sum()).abs().sum().item<float>(), 0.1f)
      << "classes 0 and 3 share a colour";
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {
// Level markers on grey images: a solid square at the class's grey level (k + 1) / (K + 1).
TEST(Markers, LevelStyleIsASolidSquareAtTheClassGreyLevel) {
  const at::Tensor img = at::zeros({2, 1, 28, 28});
  const at::Tensor out =
      markers_apply(img, at::tensor({3, 7}, at::kLong), MarkerMode::kPixelLoc, 5, 10, true);
  const at::Tensor loc = marker_locations(10, 28, 28);
  for (int i = 0; i < 2; ++i) {
    const int64_t k = i == 0 ? 3 : 7, r = loc[k][0].item<int64_t>(), c = loc[k][1].item<int64_t>();
    const at::Tensor patch = out[i][0].narrow(0, r, 4).narrow(1, c, 4);
    EXPECT_TRUE(at::allclose(patch, at::full({4, 4}, (k + 1) / 11.0)));
    EXPECT_NEAR(out[i].sum().item<double>(), 16 * (k + 1) / 11.0, 1e-4) << "only the square";
  }
}
}  // namespace
}  // namespace stitch
