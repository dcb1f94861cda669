#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "stitch/job/methods.h"
#include "stitch/sweep/plan.h"

using namespace stitch;

namespace {
template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

// Sets the row's value in obj to another value its table accepts.
void perturb(const ConfigRow& row, void* obj) {
  const bool ranged = row.max >= row.min;
  std::visit(
      Overload{[&](std::string* v) {
                 if (row.choices.empty()) {
                   *v += "x";
                   return;
                 }
                 for (const auto& c : row.choices)
                   if (c != *v) {
                     *v = c;
                     return;
                   }
               },
               [&](int64_t* v) { *v = ranged && *v + 1 > row.max ? *v - 1 : *v + 1; },
               [&](double* v) {
                 const double up = *v + std::max(1e-3, std::abs(*v) * 0.5);
                 *v = ranged && up > row.max ? (*v + row.min) / 2 : up;
               },
               [&](bool* v) { *v = !*v; }, [&](std::vector<std::string>* v) { v->push_back("x"); },
               [&](std::vector<int64_t>* v) { v->push_back(1); },
               [&](std::vector<double>* v) { v->push_back(0.5); },
               [&](const EnumRef& e) { e.set((e.get() + 1) % e.names->size()); }},
      row.ref(obj));
}

std::string key_of(const SweepConfig& c, const std::string& method) {
  return job_key(job_key_settings(c, "aaa", "bbb", "block1", "block2", method, 0));
}
}  // namespace

// Every setting says what it changes: a row added to any table a sweep reads without an
// `affects` fails here, so no new setting silently stays out of the job keys.
TEST(JobKey, EverySweepSettingIsClassified) {
  for (const auto& row : sweep_config_table().rows())
    EXPECT_NE(row.affects, Affects::kUnset)
        << "config row '" << row.key << "' does not say whether it changes a job's result: add "
        << ".affects(Affects::...) where it is declared";
}

// The key is derived from the classification: changing a setting changes the key of exactly the
// jobs whose method it affects (closed forms ignore the optimiser, trained jobs from a random
// init ignore the least-squares ridge, ...), and never for settings that change nothing.
TEST(JobKey, ChangesExactlyWhenASettingAffectsTheMethod) {
  struct Case {
    std::string method;
    StitchInit init;
  };
  const std::vector<Case> cases{
      {"dm_closed", StitchInit::kLstsq}, {"procrustes", StitchInit::kLstsq},
      {"maiorca", StitchInit::kLstsq},   {"tlm", StitchInit::kLstsq},
      {"fula", StitchInit::kProcrustes}, {"dm_hint", StitchInit::kRand}};
  int changed = 0, unchanged = 0;
  for (const auto& cs : cases) {
    SweepConfig base;
    base.job.init = cs.init;
    const std::vector<Affects> affects = method_affects(method_get(cs.method), base.job);
    const std::string k0 = key_of(base, cs.method);
    for (const auto& row : sweep_config_table().rows()) {
      if (cs.init != StitchInit::kLstsq && row.key == "train.init")
        continue;  // changes the init method
      SweepConfig c = base;
      perturb(row, &c);
      const bool in_scope = std::find(affects.begin(), affects.end(), row.affects) != affects.end();
      const bool differs = key_of(c, cs.method) != k0;
      EXPECT_EQ(differs, in_scope)
          << cs.method << " (init " << enum_name(cs.init) << "): " << row.key;
      (differs ? changed : unchanged)++;
    }
  }
  EXPECT_GT(changed, 60);
  EXPECT_GT(unchanged, 60);
  // The job's own identity is in its key.
  SweepConfig c;
  EXPECT_NE(key_of(c, "tlm"), key_of(c, "slm"));
  EXPECT_NE(job_key(job_key_settings(c, "aaa", "bbb", "block1", "block2", "tlm", 1)),
            key_of(c, "tlm"));
  EXPECT_NE(job_key(job_key_settings(c, "aaa", "ccc", "block1", "block2", "tlm", 0)),
            key_of(c, "tlm"));
}

// train.init decides which fit settings a trained job depends on.
TEST(JobKey, TrainedJobsDependOnTheirInitFitOnly) {
  SweepConfig rand_init;
  rand_init.job.init = StitchInit::kRand;
  SweepConfig ridge = rand_init;
  ridge.job.ridge = 1.0;
  EXPECT_EQ(key_of(rand_init, "tlm"), key_of(ridge, "tlm"));
  SweepConfig lstsq = rand_init, lstsq_ridge = rand_init;
  lstsq.job.init = lstsq_ridge.job.init = StitchInit::kLstsq;
  lstsq_ridge.job.ridge = 1.0;
  EXPECT_NE(key_of(lstsq, "tlm"), key_of(lstsq_ridge, "tlm"));
  EXPECT_EQ(init_method(lstsq.job), &method_get("dm_closed"));
  EXPECT_EQ(init_method(rand_init.job), nullptr);
}
