// The pure expansion (sweep/expand.h) against a brute-force enumeration written from the
// documented rules, on random made-up models: no model file is loaded and no file is read.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "stitch/sweep/expand.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;

namespace {
using Rng = std::mt19937;

int64_t pick(Rng& rng, int64_t lo, int64_t hi) {  // uniform in [lo, hi]
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// A made-up model: 2-7 boundaries in forward order, some not cuttable, some aliases (a block
// and its last child name one tensor), conv / token / vector shapes, and a recommended subset.
ModelFacts random_model(Rng& rng, const std::string& path) {
  ModelFacts m;
  m.path = path;
  m.sha256 = fmt::format("{:064x}", rng());
  size_t pos = 0;
  const int64_t n = pick(rng, 2, 7);
  for (int64_t i = 0; i < n; ++i) {
    StitchPoint p;
    const bool alias = i > 0 && pick(rng, 0, 4) == 0;
    p.name = alias ? m.boundaries.back().name + ".0" : fmt::format("b{}", i);
    p.depth = alias ? 2 : 1;
    p.cuttable = pick(rng, 0, 5) > 0;
    if (!p.cuttable) p.reason = "two tensors cross";
    p.position = alias ? pos : ++pos;
    const int64_t kind = pick(rng, 0, 2);
    if (alias)
      p.shape = m.boundaries.back().shape;
    else if (kind == 0)
      p.shape = {pick(rng, 1, 8), pick(rng, 1, 4), pick(rng, 1, 4)};
    else if (kind == 1)
      p.shape = {pick(rng, 1, 3), pick(rng, 1, 8)};
    else
      p.shape = {pick(rng, 1, 8)};
    m.boundaries.push_back(p);
  }
  for (const auto& p : m.boundaries)
    if (p.cuttable && pick(rng, 0, 1) == 1) m.recommended.push_back(p.name);
  return m;
}

// --- the brute force: each rule as the docs state it, written without the library's helpers ---

const StitchPoint* find_point(const ModelFacts& m, const std::string& name) {
  for (const auto& p : m.boundaries)
    if (p.name == name && p.cuttable) return &p;
  return nullptr;
}

// A model's recommended points, or its top-level cuttable points when it recommends none.
std::vector<std::string> brute_recommended(const ModelFacts& m) {
  if (!m.recommended.empty()) return m.recommended;
  std::vector<std::string> out;
  for (const auto& p : m.boundaries)
    if (p.cuttable && p.depth == 1) out.push_back(p.name);
  return out;
}

std::vector<std::string> brute_points(const ModelFacts& m, const std::vector<std::string>& list) {
  if (list == std::vector<std::string>{"recommended"}) return brute_recommended(m);
  if (list != std::vector<std::string>{"all"}) return list;  // explicit names, as given
  std::vector<std::string> out;
  for (const auto& p : m.boundaries)
    if (p.cuttable) out.push_back(p.name);
  return out;
}

// Shapes the stitch layer joins (stitch_layer.h): conv->conv, tokens->tokens with equal counts,
// vector->vector, conv/tokens->vector.
bool joins(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() == 3 && b.size() == 3) return true;
  if (a.size() == 2 && b.size() == 2) return a[0] == b[0];
  return b.size() == 1;
}

// Nearest integer to a * (m - 1) / (n - 1), ties to even, in integer arithmetic.
size_t relative_end(size_t a, size_t n, size_t m) {
  if (n <= 1) return m - 1;
  const size_t num = a * (m - 1), den = n - 1, q = num / den, r2 = 2 * (num % den);
  return r2 > den || (r2 == den && q % 2 == 1) ? q + 1 : q;
}

// Whether FuLA's targets exist: a candidate point strictly after the end point.
bool has_downstream(const ModelFacts& m, const std::string& ep, int64_t cutoff) {
  if (cutoff == 0) return false;
  for (const auto& name : brute_recommended(m))
    if (find_point(m, name)->position > find_point(m, ep)->position) return true;
  return false;
}

using Cell = std::tuple<std::string, std::string, std::string, std::string, std::string, int64_t>;

struct Brute {
  std::vector<Cell> jobs;
  int64_t ruled_cells_x_jobs = 0;  // jobs the pairs rule allows before shape and method checks
  bool throws = false;
};

Brute brute_force(const SweepConfig& c, const std::vector<ModelFacts>& models) {
  Brute b;
  auto model = [&](const std::string& path) -> const ModelFacts& {
    return *std::find_if(models.begin(), models.end(),
                         [&](const ModelFacts& m) { return m.path == path; });
  };
  const int64_t per_cell = static_cast<int64_t>(c.job.methods.size() * c.job.seeds.size());
  for (const auto& pair : c.models) {
    const ModelFacts &F = model(pair.front), &E = model(pair.end);
    const auto fps = brute_points(F, c.front_points), eps = brute_points(E, c.end_points);
    if (fps.empty() || eps.empty() || (c.pairs == PointPairs::kZip && fps.size() != eps.size()))
      return Brute{{}, 0, true};
    const bool single = fps.size() == 1 && eps.size() == 1;
    for (size_t a = 0; a < fps.size(); ++a)
      for (size_t e = 0; e < eps.size(); ++e) {
        if (c.pairs == PointPairs::kZip && a != e) continue;
        if (c.pairs == PointPairs::kRelative && e != relative_end(a, fps.size(), eps.size()))
          continue;
        b.ruled_cells_x_jobs += per_cell;
        if (!joins(find_point(F, fps[a])->shape, find_point(E, eps[e])->shape)) {
          if (single) return Brute{{}, 0, true};
          continue;
        }
        for (const auto& method : c.job.methods) {
          if (method == "fula" && !has_downstream(E, eps[e], c.job.fula_cutoff)) {
            if (single) return Brute{{}, 0, true};
            continue;
          }
          for (int64_t seed : c.job.seeds)
            b.jobs.emplace_back(F.path, E.path, fps[a], eps[e], method, seed);
        }
      }
  }
  if (b.jobs.empty()) b.throws = true;
  return b;
}

// A random sweep over three made-up models: distinct model pairs, point lists, a pairs rule,
// methods (FuLA needs end-model layers after the end point), seeds and a FuLA cutoff.
SweepConfig random_sweep(Rng& rng, const std::vector<ModelFacts>& models) {
  SweepConfig c;
  std::set<std::pair<size_t, size_t>> pairs;
  const int64_t n_pairs = pick(rng, 1, 4);
  for (int64_t i = 0; i < n_pairs; ++i)
    pairs.insert({static_cast<size_t>(pick(rng, 0, 2)), static_cast<size_t>(pick(rng, 0, 2))});
  for (const auto& [f, e] : pairs) c.models.push_back({models[f].path, models[e].path, ""});
  // all, recommended, or one or two cuttable names of the side's first model; names that
  // another model of the side lacks fall back to all (they would be an error there).
  auto list = [&](bool front) -> std::vector<std::string> {
    auto model_of = [&](const ModelPair& pr) -> const ModelFacts& {
      const std::string& path = front ? pr.front : pr.end;
      return *std::find_if(models.begin(), models.end(),
                           [&](const ModelFacts& x) { return x.path == path; });
    };
    const int64_t kind = pick(rng, 0, 3);
    if (kind == 0) return {"all"};
    if (kind == 1) return {"recommended"};
    std::vector<std::string> names;
    for (const auto& p : model_of(c.models[0]).boundaries)
      if (p.cuttable) names.push_back(p.name);
    if (names.empty()) return {"all"};
    std::vector<std::string> out{names[static_cast<size_t>(pick(rng, 0, names.size() - 1))]};
    if (pick(rng, 0, 1) == 1 && names.back() != out[0]) out.push_back(names.back());
    for (const auto& pr : c.models)
      for (const auto& name : out)
        if (!find_point(model_of(pr), name)) return {"all"};
    return out;
  };
  c.front_points = list(true);
  c.end_points = list(false);
  c.pairs = static_cast<PointPairs>(pick(rng, 0, 2));
  const std::vector<std::string> all_methods{"dm_closed", "fula", "tlm", "procrustes"};
  c.job.methods.clear();
  for (const auto& m : all_methods)
    if (pick(rng, 0, 1) == 1) c.job.methods.push_back(m);
  if (c.job.methods.empty()) c.job.methods = {"fula"};
  c.job.seeds = pick(rng, 0, 1) == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{3, 1};
  c.job.fula_cutoff = pick(rng, -1, 1);
  return c;
}
}  // namespace

TEST(SweepExpand, MatchesBruteForceEnumerationOnRandomModels) {
  Rng rng(20261202);
  int expanded = 0, thrown = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<ModelFacts> models;
    for (int i = 0; i < 3; ++i)
      models.push_back(random_model(rng, fmt::format("/zoo/m{}_t{}.pt", i, trial)));
    models_label(models);
    const SweepConfig c = random_sweep(rng, models);
    const Brute want = brute_force(c, models);
    Expansion x;
    const std::string err = test::error_of([&] { x = sweep_expand(c, models, "/out/s"); });
    ASSERT_EQ(!err.empty(), want.throws) << "trial " << trial << ": " << err;
    if (want.throws) {
      ++thrown;
      continue;
    }
    ++expanded;
    std::vector<Cell> got;
    for (const auto& j : x.jobs)
      got.emplace_back(j.front_model, j.end_model, j.front_point, j.end_point, j.method, j.seed);
    ASSERT_EQ(got, want.jobs) << "trial " << trial;
    // Every allowed cell's jobs are either planned or counted as skipped.
    int64_t skipped = 0;
    for (const auto& [why, n] : x.skipped) skipped += n;
    EXPECT_EQ(static_cast<int64_t>(x.jobs.size()) + skipped, want.ruled_cells_x_jobs);
    // Groups partition the jobs by (front, end, end point); keys and folders are unique.
    std::vector<int> seen(x.jobs.size(), 0);
    std::set<std::string> keys, dirs;
    for (const auto& g : x.groups) {
      double cost = 0;
      for (size_t ji : g.jobs) {
        const Job& j = x.jobs[ji];
        ++seen[ji];
        EXPECT_EQ(std::tie(j.front, j.end, j.end_point), std::tie(g.front, g.end, g.end_point));
        cost += j.cost;
      }
      EXPECT_DOUBLE_EQ(cost, g.cost);
    }
    for (size_t ji = 0; ji < x.jobs.size(); ++ji) {
      const Job& j = x.jobs[ji];
      EXPECT_EQ(seen[ji], 1) << "job in exactly one group";
      EXPECT_EQ(models[j.front].path, j.front_model);
      EXPECT_EQ(models[j.end].path, j.end_model);
      keys.insert(j.key);
      dirs.insert(j.dir);
      EXPECT_EQ(j.dir,
                fmt::format("/out/s/{}__{}/{}__{}/{}_s{}", models[j.front].label,
                            models[j.end].label, j.front_point, j.end_point, j.method, j.seed));
    }
    EXPECT_EQ(keys.size(), x.jobs.size());
    EXPECT_EQ(dirs.size(), x.jobs.size());
  }
  // The random sweeps exercise both outcomes often enough to mean something.
  EXPECT_GT(expanded, 200);
  EXPECT_GT(thrown, 10);
}

// Labels are file stems; a second model with the same stem gets 8 digits of its hash.
TEST(SweepExpand, LabelsAreUniqueStems) {
  std::vector<ModelFacts> m(3);
  m[0].path = "/a/net.pt", m[0].sha256 = std::string(64, '1');
  m[1].path = "/b/net.pt", m[1].sha256 = std::string(64, '2');
  m[2].path = "/b/other.pt", m[2].sha256 = std::string(64, '3');
  models_label(m);
  EXPECT_EQ(m[0].label, "net");
  EXPECT_EQ(m[1].label, "net-22222222");
  EXPECT_EQ(m[2].label, "other");
}

// The model paths come in the order the pairs first name them, each once.
TEST(SweepExpand, ModelPathsInFirstUseOrder) {
  SweepConfig c;
  c.models = {{"b.pt", "a.pt", ""}, {"a.pt", "c.pt", ""}, {"c.pt", "b.pt", ""}};
  EXPECT_EQ(sweep_model_paths(c), (std::vector<std::string>{"b.pt", "a.pt", "c.pt"}));
}
