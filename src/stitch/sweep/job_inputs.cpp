#include "stitch/sweep/job_inputs.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/data/markers.h"
#include "stitch/job/methods.h"
#include "stitch/util/error.h"
#include "stitch/util/progress.h"

namespace stitch {

namespace {
constexpr uint64_t kTrainMarkerSeed = 7001;  // which images carry markers, and where
constexpr int64_t kStoreBatch = 500;
// store.stream auto: up to this many epochs, running the frozen models per batch beats building
// the store entry first, and memory stays flat. Measured with optimised segments (25,600 images,
// FuLA; bench/README.md): zoo cnn at block1, 4 epochs 15.7 vs 22.6 s, 8 epochs 32.8 vs 37.6 s;
// zoo resnet at layer1.0, 8 epochs 52.9 vs 55.3 s (0.5 vs 2.0-2.6 GB). With plain segments the
// crossover was at 3 epochs.
constexpr int64_t kStreamMaxEpochs = 8;

void add(std::vector<std::string>& v, const std::string& p) {
  if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
}
}  // namespace

std::string fit_split(const Method& m) {
  return m.closed_form ? "init" : "train";
}

StoreNeeds store_needs(const Plan& plan, const std::vector<size_t>& jobs, const LiveSplits& live) {
  StoreNeeds needs;
  const Settings& c = plan.config.job;
  for (size_t ji : jobs) {
    const Job& j = plan.jobs[ji];
    const Method& m = method_get(j.method);
    const std::string fit = fit_split(m);
    if (live.test.count(ji) == 0) {
      add(needs[{j.front, "test"}], j.front_point);
      add(needs[{j.front, "test"}], kOutput);
      auto& te = needs[{j.end, "test"}];
      add(te, j.end_point);
      add(te, kOutput);
      for (const auto& d : job_downstream(plan, j)) add(te, d);
    }
    if (live.train.count(ji)) continue;
    add(needs[{j.front, fit}], j.front_point);
    auto& tr = needs[{j.end, fit}];
    add(tr, j.end_point);
    if (m.needs_logits(c)) add(tr, kOutput);
    if (m.needs_downstream && c.bn_mode == BnMode::kEval)
      for (const auto& d : job_downstream(plan, j)) add(tr, d);
  }
  return needs;
}

std::vector<std::vector<size_t>> lockstep_units(const Plan& plan, const std::vector<size_t>& jobs) {
  const Settings& c = plan.config.job;
  std::vector<std::vector<size_t>> units;
  std::map<std::string, size_t> open;  // lockstep key -> its unit
  for (size_t ji : jobs) {
    const Job& j = plan.jobs[ji];
    if (!plan.config.lockstep || c.bn_mode != BnMode::kEval || method_get(j.method).closed_form) {
      units.push_back({ji});
      continue;
    }
    const std::string key =
        fmt::format("{}|{}|{}|{}|{}", j.front, j.end, j.front_point, j.end_point, j.seed);
    auto it = open.find(key);
    if (it == open.end()) {
      open[key] = units.size();
      units.push_back({ji});
    } else {
      units[it->second].push_back(ji);
    }
  }
  return units;
}

namespace {
// Whether every store file that `unit` reads of `split` is there already.
bool unit_stored(const Plan& plan, const std::vector<size_t>& unit, const ShardData& data,
                 const std::string& split) {
  for (const auto& [what, points] : store_needs(plan, unit)) {
    if (what.second != split) continue;
    const PlannedModel& m = plan.models[what.first];
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& p : points) shapes.push_back(ShardData::shape(m, p));
    if (!data.store.missing(data.entry(plan, what.first, split), points, shapes, false).empty())
      return false;
  }
  return true;
}

// How many of `units` (those `counted`) read each model's rows, front or end.
std::map<size_t, int> model_readers(
    const Plan& plan, const std::vector<std::vector<size_t>>& units,
    const std::function<bool(const std::vector<size_t>&)>& counted) {
  std::map<size_t, int> readers;
  for (const auto& u : units) {
    if (!counted(u)) continue;
    const Job& j = plan.jobs[u[0]];
    ++readers[j.front];
    if (j.end != j.front) ++readers[j.end];
  }
  return readers;
}
}  // namespace

LiveSplits live_splits(const Plan& plan, const std::vector<std::vector<size_t>>& units,
                       const ShardData& data) {
  const Settings& c = plan.config.job;
  const StoreStream mode = plan.config.store_stream;
  LiveSplits out;
  if (mode == StoreStream::kNever) return out;
  auto trained = [&](const std::vector<size_t>& u) {
    return !method_get(plan.jobs[u[0]].method).closed_form;
  };
  auto any = [](const std::vector<size_t>&) { return true; };
  const std::map<size_t, int> train_readers = model_readers(plan, units, trained),
                              test_readers = model_readers(plan, units, any);
  auto only_reader = [](const std::map<size_t, int>& readers, const Job& j) {
    return readers.at(j.front) == 1 && readers.at(j.end) == 1;
  };
  for (const auto& u : units) {
    const Job& j = plan.jobs[u[0]];
    if (mode == StoreStream::kAlways ||
        (only_reader(test_readers, j) && !unit_stored(plan, u, data, "test")))
      out.test.insert(u.begin(), u.end());
    if (!trained(u) || c.bn_mode != BnMode::kEval) continue;
    if (mode == StoreStream::kAlways ||
        (c.epochs <= kStreamMaxEpochs && only_reader(train_readers, j) &&
         !unit_stored(plan, u, data, "train")))
      out.train.insert(u.begin(), u.end());
  }
  return out;
}

ShardData::ShardData(const Plan& plan)
    : store(plan.config.store_dir), dtype(plan.config.store_dtype) {
  const Settings& c = plan.config.job;
  train = data_load(c.data, "train", c.train_samples);
  init = dataset_first(train, c.init_samples);
  data_id = data_identity(c.data);
  train_data_id = data_id;
  test = data_load(c.data, "test", c.test_samples);
  for (const auto& m : plan.models)
    data_check_classes(c.data, {&train, &test}, m.path, m.model.num_classes());
  // The shortcut testbed: marked stitch-training images.
  if (c.train_markers != MarkerMode::kNone) {
    int64_t classes =
        std::max(train.labels.max().item<int64_t>(), test.labels.max().item<int64_t>()) + 1;
    for (const auto& m : plan.models) classes = std::max(classes, m.model.num_classes());
    train.images = markers_apply(
        train.images, marker_classes(train.labels, c.train_marker_prob, kTrainMarkerSeed),
        c.train_markers, kTrainMarkerSeed + 1, classes, c.marker_style == MarkerStyle::kLevel);
    init = dataset_first(train, c.init_samples);
    train_data_id +=
        fmt::format(" train_markers={} p={}", enum_name(c.train_markers), c.train_marker_prob);
    if (c.marker_style != MarkerStyle::kPattern)
      train_data_id += " style=" + enum_name(c.marker_style);
  }
}

const Dataset& ShardData::data(const std::string& split) const {
  return split == "train" ? train : split == "init" ? init : test;
}

StoreEntry ShardData::entry(const Plan& plan, size_t model, const std::string& split) const {
  const PlannedModel& m = plan.models[model];
  const Dataset& d = data(split);
  // The init rows are the first training images: an entry of the train split with fewer rows.
  return StoreEntry{m.path,   m.sha256, split == "init" ? "train" : split,        d.index,
                    d.labels, dtype,    split == "test" ? data_id : train_data_id};
}

std::vector<int64_t> ShardData::shape(const PlannedModel& m, const std::string& point) {
  return point == kOutput ? m.output_shape : m.model.point(point).shape;
}

size_t ShardData::build(Plan& plan, const StoreNeeds& needs) {
  size_t built = 0;
  for (const auto& [what, points] : needs) {
    const auto& [mi, split] = what;
    PlannedModel& m = plan.models[mi];
    const Dataset& d = data(split);
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& p : points) shapes.push_back(shape(m, p));
    const StoreEntry e = entry(plan, mi, split);
    const auto todo = store.missing(e, points, shapes, /*report=*/false);  // ensure() reports
    if (todo.empty()) continue;
    spdlog::info("store: {} on {} {} images at {}", m.label, d.size(), split,
                 fmt::join(todo, ", "));
    const auto t0 = std::chrono::steady_clock::now();
    Progress progress(fmt::format("store {} {}", m.label, split),
                      (d.size() + kStoreBatch - 1) / kStoreBatch);
    int64_t batches = 0;
    auto compute = [&](int64_t start, int64_t n, const std::vector<std::string>& pts) {
      at::NoGradGuard g;
      const at::Tensor x = d.images.narrow(0, start, n).to(m.model.device());
      std::vector<std::string> inner;
      for (const auto& p : pts)
        if (p != kOutput) inner.push_back(p);
      at::Tensor logits;
      const bool want_logits = inner.size() < pts.size();
      const auto acts = m.model.forward_collect(x, inner, want_logits ? &logits : nullptr);
      std::vector<at::Tensor> out;
      size_t k = 0;
      for (const auto& p : pts) out.push_back(p == kOutput ? logits : acts[k++]);
      progress.update(++batches);
      return out;
    };
    built += store.ensure(e, points, shapes, compute, kStoreBatch);
    progress.finish(
        fmt::format("({:.1f} s)",
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  return built;
}

std::shared_ptr<StoreReader> ReaderCache::get(const std::string& path, const std::string& point) {
  auto it = readers_.find(path);
  if (it != readers_.end()) return it->second;
  auto r = std::make_shared<StoreReader>(path, point, left_);
  if (r->in_memory()) {
    int64_t bytes = 4 * r->rows();
    for (int64_t s : r->shape()) bytes *= s;
    left_ -= bytes;
  }
  readers_[path] = r;
  return r;
}

void ReaderCache::clear() {
  readers_.clear();
  left_ = budget_;
}

JobInputs job_inputs(Plan& plan, const std::vector<size_t>& unit, ShardData& data,
                     ReaderCache& cache, bool live_train, bool live_test) {
  const Settings& c = plan.config.job;
  const Job& job = plan.jobs.at(unit.at(0));
  const Method& m = method_get(job.method);
  bool logits = false, down = false;  // what any job of the unit trains on
  for (size_t ji : unit) {
    logits = logits || method_get(plan.jobs[ji].method).needs_logits(c);
    down = down || method_get(plan.jobs[ji].method).needs_downstream;
  }
  JobInputs in;
  in.downstream = job_downstream(plan, job);
  const std::string fit = fit_split(m);
  auto live = [&](const std::string& split) {
    return std::make_shared<LiveRows>(plan.models[job.front].model, plan.models[job.end].model,
                                      data.data(split), job.front_point, job.end_point,
                                      in.downstream);
  };
  if (live_train) in.train = live(fit);
  if (live_test) in.test = live("test");
  for (const std::string& split : {fit, std::string("test")}) {
    const bool test = split == "test";
    if (test ? live_test : live_train) continue;
    SplitReaders r;
    const StoreEntry fe = data.entry(plan, job.front, split), ee = data.entry(plan, job.end, split);
    auto reader = [&](const StoreEntry& e, const std::string& p) {
      return cache.get(data.store.file(e, p), p);
    };
    r.front = reader(fe, job.front_point);
    r.end = reader(ee, job.end_point);
    if (test || logits) r.end_logits = reader(ee, kOutput);
    if (test) r.front_logits = reader(fe, kOutput);
    if (test || (down && c.bn_mode == BnMode::kEval))
      for (const auto& d : in.downstream) r.down.push_back(reader(ee, d));
    r.labels = data.data(split).labels;
    (test ? in.test : in.train) = std::make_shared<StoredRows>(r);
  }
  if (c.robust_samples > 0 || c.markers != MarkerMode::kNone) in.test_images = &data.test;
  in.end_key = plan.models[job.end].sha256;
  return in;
}

}  // namespace stitch
