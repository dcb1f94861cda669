#pragma once
// The data side of a shard: which activations its jobs need from the store, building the
// missing ones (streamed, one pass per model and split), and store readers for each job.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "stitch/cache/activation_store.h"
#include "stitch/data/data_source.h"
#include "stitch/job/stitch_job.h"
#include "stitch/sweep/plan.h"

namespace stitch {

// Points needed per (model index, split), "output" standing for the logits. Splits: "train",
// "test", and "init": the first data.init_samples training images, all a closed-form fit reads
// (so a dm_closed grid never runs the models over the whole training set).
using StoreNeeds = std::map<std::pair<size_t, std::string>, std::vector<std::string>>;

// What `jobs` read: front point (train or init, test) and front logits (test); end point,
// downstream points and logits (test; train: downstream only for methods trained on them with
// BN frozen, logits only for methods whose loss uses them).
// Jobs whose rows of a split are computed live instead of read from the store (store.stream).
struct LiveSplits {
  std::set<size_t> train;  // training (fit) rows live: nothing of that split is stored for them
  std::set<size_t> test;   // test rows live
};

// Jobs of `live` read nothing of the splits computed live for them.
StoreNeeds store_needs(const Plan& plan, const std::vector<size_t>& jobs,
                       const LiveSplits& live = {});
std::string fit_split(const Method& m);  // "init" for closed-form methods, else "train"

struct ShardData {
  std::string data_id;        // StoreEntry::data of this data source (test split)
  std::string train_data_id;  // the same plus the planted training markers, if any
  Dataset train, init, test;  // first data.train_samples / init_samples / test_samples images
  ActivationStore store;
  std::string dtype;

  ShardData(const Plan& plan);  // loads the data; creates/checks the store folder
  const Dataset& data(const std::string& split) const;  // "train" | "init" | "test"
  StoreEntry entry(const Plan& plan, size_t model, const std::string& split) const;
  // Builds the missing store files of `needs`; returns how many point files were built.
  size_t build(Plan& plan, const StoreNeeds& needs);
  // Activation shape (without batch) of a point or "output" of a model.
  static std::vector<int64_t> shape(const PlannedModel& m, const std::string& point);
};

// Store readers, shared by the jobs of a group. Readers are served from RAM while the bytes
// they hold stay within the budget, and from disk after that.
class ReaderCache {
 public:
  explicit ReaderCache(int64_t budget_bytes) : budget_(budget_bytes), left_(budget_bytes) {}
  std::shared_ptr<StoreReader> get(const std::string& path, const std::string& point);
  void clear();  // releases every reader (between groups)
  int64_t in_memory_bytes() const { return budget_ - left_; }

 private:
  int64_t budget_, left_;
  std::map<std::string, std::shared_ptr<StoreReader>> readers_;
};

// `jobs` as units run together: trained jobs that share models, points and seed form one
// lockstep group (when plan.config.lockstep and bn_mode is eval); every other job is a unit of
// one. Units keep the order of their first job.
std::vector<std::vector<size_t>> lockstep_units(const Plan& plan, const std::vector<size_t>& jobs);

// Which units compute rows live instead of reading them from the store (store.stream).
// Training rows: "always": every trained unit with BatchNorm frozen; "auto": trained units whose
// training activations nothing else reads (at most 8 epochs, no other trained unit on either
// model) and that are not in the store already. Test rows: "always": every unit; "auto": the
// only unit on either model (a one-off job or lockstep group: each test image then passes through
// the frozen models once either way, and writing it to the store would only be read back) when
// not in the store already. "never": none.
LiveSplits live_splits(const Plan& plan, const std::vector<std::vector<size_t>>& units,
                       const ShardData& data);

// The inputs of one unit of jobs (one job, or a lockstep group: same models and points):
// training rows with what any of them trains on and test rows (store readers, or computed live
// when live_train / live_test), downstream points, test images.
JobInputs job_inputs(Plan& plan, const std::vector<size_t>& unit, ShardData& data,
                     ReaderCache& cache, bool live_train = false, bool live_test = false);

}  // namespace stitch
