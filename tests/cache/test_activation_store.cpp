#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "stitch/cache/activation_cache.h"
#include "stitch/cache/activation_store.h"
#include "test_util.h"

using namespace stitch;
namespace fs = std::filesystem;

namespace {
// A deterministic "model": activations of sample s at point p are known in closed form, so the
// store's contents can be checked against them.
at::Tensor truth(const std::string& point, int64_t start, int64_t n) {
  const double scale = point == "a" ? 1.0 : -0.5;
  at::Tensor rows = at::arange(start, start + n, at::kFloat).view({n, 1, 1});
  return (rows * scale + at::arange(12, at::kFloat).view({1, 3, 4}) / 7.0).contiguous();
}

StoreEntry entry(int64_t n, const std::string& dtype = "float32") {
  return StoreEntry{"toy.pt",
                    std::string(64, 'c'),
                    "train",
                    at::arange(n, at::kLong) * 3,
                    at::arange(n, at::kLong) % 10,
                    dtype};
}

StoreComputeFn compute_fn(std::atomic<int>* calls = nullptr) {
  return [calls](int64_t start, int64_t n, const std::vector<std::string>& pts) {
    if (calls) ++*calls;
    std::vector<at::Tensor> out;
    for (const auto& p : pts) out.push_back(truth(p, start, n));
    return out;
  };
}

const std::vector<std::vector<int64_t>> kShapes{{3, 4}, {3, 4}};
}  // namespace

// Streamed in batches that do not divide N; every row lands where it belongs, and a reader
// serving from RAM and one reading from disk give the same rows for any order of indices.
TEST(ActivationStore, StreamedBuildAndReadersAgree) {
  ActivationStore store(test::temp_dir() + "/store");
  const StoreEntry e = entry(1003);
  std::atomic<int> calls{0};
  EXPECT_EQ(store.ensure(e, {"a", "b"}, kShapes, compute_fn(&calls), 100), 2u);
  EXPECT_EQ(calls.load(), 11) << "one pass of ceil(1003 / 100) batches for both points";
  EXPECT_EQ(store.ensure(e, {"a", "b"}, kShapes, compute_fn(&calls), 100), 0u);
  EXPECT_EQ(calls.load(), 11) << "a complete entry is not rebuilt";
  for (const std::string p : {"a", "b"}) {
    StoreReader ram(store.file(e, p), p, 1 << 30), disk(store.file(e, p), p, 0);
    ASSERT_TRUE(ram.in_memory());
    ASSERT_FALSE(disk.in_memory());
    EXPECT_EQ(disk.shape(), (std::vector<int64_t>{3, 4}));
    EXPECT_TRUE(disk.range(0, 1003).equal(truth(p, 0, 1003)));
    EXPECT_TRUE(disk.range(517, 40).equal(truth(p, 517, 40)));
    const at::Tensor rows = torch::tensor({999, 3, 4, 5, 1002, 0, 4}, at::kLong);  // dups, unsorted
    const at::Tensor want = truth(p, 0, 1003).index_select(0, rows);
    EXPECT_TRUE(disk.gather(rows).equal(want));
    EXPECT_TRUE(ram.gather(rows).equal(want));
  }
  // The files are activation files too: indices and labels come back as written.
  const ActivationFile f = activations_open(store.file(e, "a"));
  EXPECT_TRUE(f.indices.equal(e.indices));
  EXPECT_TRUE(f.labels.equal(e.labels));
  EXPECT_EQ(f.model_sha256, e.model_sha256);
}

TEST(ActivationStore, Float16StorageRoundsLikeTorchHalf) {
  ActivationStore store(test::temp_dir() + "/store");
  const StoreEntry e = entry(50, "float16");
  store.ensure(e, {"a"}, {{3, 4}}, compute_fn(), 16);
  StoreReader r(store.file(e, "a"), "a", 0);
  EXPECT_TRUE(r.range(0, 50).equal(truth("a", 0, 50).to(at::kHalf).to(at::kFloat)));
  EXPECT_NE(store.entry_dir(e), store.entry_dir(entry(50))) << "dtype is part of the key";
}

// h5py, an independent reader, sees the layout the header documents (float16 as numpy float16).
TEST(ActivationStore, H5pyReadsStoreFiles) {
  ActivationStore store(test::temp_dir() + "/store");
  const StoreEntry e = entry(20, "float16");
  store.ensure(e, {"b"}, {{3, 4}}, compute_fn(), 7);
  const std::string script = test::temp_dir() + "/read.py";
  std::ofstream(script) << "import h5py, sys\n"
                           "f = h5py.File(sys.argv[1], 'r')\n"
                           "d = f['b']\n"
                           "print(d.shape, d.dtype, float(d[5, 1, 2]), int(f['indices'][5]),\n"
                           "      f.attrs['split'], f.attrs['dtype'])\n";
  const std::string out = test::temp_dir() + "/out.txt";
  ASSERT_EQ(
      std::system(("/usr/bin/python3 " + script + " " + store.file(e, "b") + " > " + out).c_str()),
      0);
  const double v = truth("b", 0, 20)[5][1][2].to(at::kHalf).item<double>();
  EXPECT_EQ(test::read_file(out), fmt::format("(20, 3, 4) float16 {} 15 train float16\n", v));
}

// A truncated file or one that does not match the entry is found, reported and rebuilt.
TEST(ActivationStore, TruncatedOrMismatchedFilesAreRebuilt) {
  ActivationStore store(test::temp_dir() + "/store");
  const StoreEntry e = entry(300);
  store.ensure(e, {"a", "b"}, kShapes, compute_fn(), 64);
  const std::string fa = store.file(e, "a");
  const std::string bytes = test::read_file(fa);
  std::ofstream(fa, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  EXPECT_EQ(store.missing(e, {"a", "b"}, kShapes), (std::vector<std::string>{"a"}));
  EXPECT_EQ(store.missing(e, {"b"}, {{3, 5}}), (std::vector<std::string>{"b"}))
      << "a file of another shape is not this point's activations";
  EXPECT_EQ(store.ensure(e, {"a", "b"}, kShapes, compute_fn(), 64), 1u);
  EXPECT_TRUE(StoreReader(fa, "a", 0).range(0, 300).equal(truth("a", 0, 300)));
}

// Two builders of one entry (threads with their own lock descriptors behave like processes):
// one computes, the other waits for the lock and then finds the files complete.
TEST(ActivationStore, ConcurrentBuildersComputeOnce) {
  ActivationStore store(test::temp_dir() + "/store");
  const StoreEntry e = entry(200);
  std::atomic<int> calls{0};
  auto slow = [&](int64_t start, int64_t n, const std::vector<std::string>& pts) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return compute_fn(&calls)(start, n, pts);
  };
  std::thread t1([&] { store.ensure(e, {"a"}, {{3, 4}}, slow, 50); });
  std::thread t2([&] { store.ensure(e, {"a"}, {{3, 4}}, slow, 50); });
  t1.join();
  t2.join();
  EXPECT_EQ(calls.load(), 4) << "200 rows in batches of 50, computed by one builder only";
  EXPECT_TRUE(StoreReader(store.file(e, "a"), "a", 0).range(0, 200).equal(truth("a", 0, 200)));
}

TEST(ActivationStore, UncreatableFolderIsAClearError) {
  const std::string file = test::temp_dir() + "/plain_file";
  std::ofstream(file) << "x";
  const std::string err = test::error_of([&] { ActivationStore s(file + "/store"); });
  EXPECT_NE(err.find("cannot create the activation store folder"), std::string::npos) << err;
  EXPECT_NE(err.find("set store: to a writable folder"), std::string::npos) << err;
}
