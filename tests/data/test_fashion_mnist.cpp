#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "stitch/data/data_source.h"
#include "stitch/data/fashion_mnist.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;
using stitch::test::error_of;

namespace {
// Facts computed independently by tests/fixtures/make_data_fixtures.py (gzip + numpy).
nlohmann::json facts() {
  std::ifstream in(test::data_dir() + "/fashion_mnist_facts.json");
  return nlohmann::json::parse(in);
}

const Dataset& train_set() {
  static const Dataset d = fashion_mnist_load("train");
  return d;
}

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST(FashionMnist, MatchesIndependentReader) {
  const auto f = facts();
  for (const std::string split : {"train", "test"}) {
    const Dataset d = split == "train" ? train_set() : fashion_mnist_load("test");
    const auto& s = f[split];
    ASSERT_EQ(d.size(), s["count"].get<int64_t>());
    EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{d.size(), 1, 28, 28}));
    for (size_t i = 0; i < s["first_labels"].size(); ++i)
      EXPECT_EQ(d.labels[static_cast<int64_t>(i)].item<int64_t>(),
                s["first_labels"][i].get<int64_t>());
    at::Tensor counts = at::bincount(d.labels, {}, 10);
    for (int64_t c = 0; c < 10; ++c)
      EXPECT_EQ(counts[c].item<int64_t>(), s["class_counts"][c].get<int64_t>());
    EXPECT_NEAR(d.images.to(at::kDouble).mean().item<double>(), s["mean"].get<double>(), 1e-6);
    EXPECT_NEAR(d.images.to(at::kDouble).std(/*unbiased=*/false).item<double>(),
                s["std"].get<double>(), 1e-6);
    EXPECT_NEAR(d.images[0].sum().item<double>(), s["first_image_sum"].get<double>(), 1e-3);
    EXPECT_FLOAT_EQ(d.images[1234][0][14][14].item<float>(),
                    s["image_1234_pixel_14_14"].get<float>());
  }
  // The published normalisation constants (docs/architecture.md §6) are the train-set statistics.
  EXPECT_NEAR(f["train"]["mean"].get<double>(), kFashionMnistMean, 1e-4);
  EXPECT_NEAR(f["train"]["std"].get<double>(), kFashionMnistStd, 1e-4);
}

TEST(FashionMnist, Subsets) {
  const Dataset first = dataset_first(train_set(), 100);
  EXPECT_EQ(first.size(), 100);
  EXPECT_TRUE(at::equal(first.labels, train_set().labels.narrow(0, 0, 100)));
  const Dataset per = dataset_per_class(train_set(), 7);
  EXPECT_EQ(per.size(), 70);
  at::Tensor counts = at::bincount(per.labels, {}, 10);
  EXPECT_TRUE(at::equal(counts, at::full({10}, 7, at::kLong)));
  // Rows keep their provenance: index points back into the file.
  for (int64_t i = 0; i < per.size(); ++i)
    ASSERT_EQ(train_set().labels[per.index[i].item<int64_t>()].item<int64_t>(),
              per.labels[i].item<int64_t>());
  EXPECT_THROW(dataset_per_class(first, 50), StitchError);
  EXPECT_THROW(fashion_mnist_load("validation"), StitchError);
  // Loading only a prefix (what a job with data.train_samples uses) gives the same rows as
  // loading everything and cutting; one image gives the shape.
  const Dataset prefix = fashion_mnist_load("train", kFashionMnistDir, 300);
  EXPECT_EQ(prefix.size(), 300);
  EXPECT_TRUE(at::equal(prefix.images, train_set().images.narrow(0, 0, 300)));
  EXPECT_TRUE(at::equal(prefix.labels, train_set().labels.narrow(0, 0, 300)));
  EXPECT_TRUE(at::equal(prefix.index, train_set().index.narrow(0, 0, 300)));
  EXPECT_EQ(data_input_shape(DataConfig{}), (std::vector<int64_t>{1, 28, 28}));
}

TEST(IdxReader, ReadsPlainAndRejectsBadFiles) {
  const std::string dir = test::temp_dir();
  // A valid 2x3 uint8 IDX file, uncompressed: gzread reads plain files too.
  {
    std::ofstream out(dir + "/ok.idx", std::ios::binary);
    const unsigned char bytes[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    out.write(reinterpret_cast<const char*>(bytes), sizeof bytes);
  }
  at::Tensor t = idx_read(dir + "/ok.idx");
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t[1][2].item<int64_t>(), 6);

  write_gz(dir + "/trunc.gz", {0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3});
  EXPECT_NE(error_of([&] { idx_read(dir + "/trunc.gz"); }).find("truncated"), std::string::npos);
  write_gz(dir + "/magic.gz", {'P', 'K', 3, 4, 0, 0, 0, 1, 1});
  EXPECT_NE(error_of([&] { idx_read(dir + "/magic.gz"); }).find("not an IDX file"),
            std::string::npos);
  write_gz(dir + "/float.gz", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  EXPECT_NE(error_of([&] { idx_read(dir + "/float.gz"); }).find("element type"), std::string::npos);
  EXPECT_NE(error_of([&] { idx_read(dir + "/missing.gz"); }).find("does not exist"),
            std::string::npos);
  write_gz(dir + "/empty.gz", {});
  EXPECT_NE(error_of([&] { idx_read(dir + "/empty.gz"); }).find("truncated"), std::string::npos);
}
