#pragma once
// The activation store: a model's activations at its stitch points (and its logits, point
// "output") on one sample set of one split, shared by every job of a sweep and across sweeps.
//
// Layout (h5py reads every file directly):
//   <root>/<model sha256[:16]>/<split>_n<N>_<sample-index sha256[:12]>_<float32|float16>_v<V>/
//       <point>.h5    datasets /<point> [N, ...], /indices [N], /labels [N] (int64);
//                     attributes model, model_sha256, split, indices_sha256, dtype,
//                     format_version, git_commit, torch_version
//       .lock         flock: one process builds, the others wait
// Each point file is the same format as a `stitch activations` file, so `stitch similarity`
// reads store files too. Entries are built streamed, batch by batch (never a whole split in
// RAM), into temporary files that are renamed into place when complete; a file that is
// truncated or does not match its key is reported and rebuilt.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

inline constexpr int kStoreFormatVersion = 1;

// What an entry holds activations of: a model file on a sample set of a split.
struct StoreEntry {
  std::string model_path, model_sha256, split;
  at::Tensor indices, labels;     // int64 [N]: source-file rows of the samples, and their labels
  std::string dtype = "float32";  // storage type: float32 | float16 (read back as float32)
  std::string data;               // the data source and input normalisation when they are not
                                  // Fashion-MNIST as stored ("" = that); part of the entry's name
};

// Activations of samples [start, start + n) at `points` (in that order), [n, ...] each.
using StoreComputeFn = std::function<std::vector<at::Tensor>(
    int64_t start, int64_t n, const std::vector<std::string>& points)>;

class ActivationStore {
 public:
  // Creates `root` if needed; throws StitchError naming the folder when it cannot be created
  // or written (checked before any long work).
  explicit ActivationStore(std::string root);
  const std::string& root() const { return root_; }

  std::string entry_dir(const StoreEntry& e) const;
  std::string file(const StoreEntry& e, const std::string& point) const;
  // Points of `points` whose file is missing or invalid (invalid ones are logged when `report`;
  // ensure() reports them once, when it holds the lock and rebuilds them).
  std::vector<std::string> missing(const StoreEntry& e, const std::vector<std::string>& points,
                                   const std::vector<std::vector<int64_t>>& shapes,
                                   bool report = true) const;
  // Makes sure every point has a valid file: computes the missing ones in one streamed pass of
  // `batch` samples (compute is called once per batch with the missing points), under the
  // entry's lock. shapes[i] is the activation shape of points[i] without the batch dim.
  // Returns the number of points built (0 when all were there).
  size_t ensure(const StoreEntry& e, const std::vector<std::string>& points,
                const std::vector<std::vector<int64_t>>& shapes, const StoreComputeFn& compute,
                int64_t batch = 500) const;

 private:
  std::string root_;
};

// Reads one point of a store entry (or any activation file) as float32. When the dataset is at
// most `max_ram_bytes` it is loaded once and served from memory; otherwise rows are read from
// disk on each call, so memory is bounded by what one call returns.
class StoreReader {
 public:
  StoreReader(const std::string& path, const std::string& point, int64_t max_ram_bytes);
  ~StoreReader();
  StoreReader(StoreReader&&) noexcept;
  StoreReader& operator=(StoreReader&&) noexcept;

  int64_t rows() const;
  const std::vector<int64_t>& shape() const;  // without the batch dim
  bool in_memory() const;
  at::Tensor range(int64_t start, int64_t n) const;  // rows [start, start + n) -> [n, ...]
  at::Tensor gather(const at::Tensor& rows) const;   // int64 [B] (any order) -> [B, ...]

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stitch
