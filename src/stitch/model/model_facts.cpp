#include "stitch/model/model_facts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/util/error.h"

namespace stitch {

namespace {
std::vector<std::string> cuttable_names(const std::vector<StitchPoint>& boundaries) {
  std::vector<std::string> out;
  for (const auto& p : boundaries)
    if (p.cuttable) out.push_back(p.name);
  return out;
}
}  // namespace

ModelFacts model_facts(const StagedModel& m) {
  return ModelFacts{m.path(), "", "", m.boundaries(), m.meta().stitch_points};
}

size_t boundary_index(const std::vector<StitchPoint>& boundaries, const std::string& path,
                      const std::string& name) {
  for (size_t i = 0; i < boundaries.size(); ++i) {
    if (boundaries[i].name != name) continue;
    if (!boundaries[i].cuttable)
      throw StitchError(fmt::format("stitch point '{}' in {} is not cuttable: {}; valid points: {}",
                                    name, path, boundaries[i].reason,
                                    fmt::join(cuttable_names(boundaries), ", ")));
    return i;
  }
  throw StitchError(fmt::format("unknown stitch point '{}' in {}; valid points: {}", name, path,
                                fmt::join(cuttable_names(boundaries), ", ")));
}

const StitchPoint& facts_point(const ModelFacts& m, const std::string& name) {
  return m.boundaries[boundary_index(m.boundaries, m.path, name)];
}

std::vector<std::string> facts_recommended(const ModelFacts& m) {
  if (!m.recommended.empty()) return m.recommended;
  std::vector<std::string> out;
  for (const auto& p : m.boundaries)
    if (p.cuttable && p.depth == 1) out.push_back(p.name);
  return out;
}

std::vector<std::string> facts_points_resolve(const ModelFacts& m,
                                              const std::vector<std::string>& list,
                                              const char* which) {
  std::vector<std::string> out;
  if (list.size() == 1 && list[0] == "all") {
    out = cuttable_names(m.boundaries);
  } else if (list.size() == 1 && list[0] == "recommended") {
    out = facts_recommended(m);
  } else {
    for (const auto& p : list) {
      try {
        facts_point(m, p);
      } catch (const StitchError& e) {
        throw StitchError(fmt::format("{} point of {}: {}", which, m.path, e.what()));
      }
      out.push_back(p);
    }
  }
  if (out.empty())
    throw StitchError(fmt::format("{} has no stitch points to use as {} points", m.path, which));
  return out;
}

}  // namespace stitch
