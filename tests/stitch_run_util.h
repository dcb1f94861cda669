#pragma once
// `stitch run` for tests, through the path the command takes: a config written as YAML, parsed
// as a one-pair sweep (sweep_config_parse), planned and run in one process.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/job/settings.h"

namespace stitch::test {

// A `stitch run` config: the shared settings and one model pair cut at one point pair.
struct RunConfig : Settings {
  std::string front, end, front_point, end_point;
};

// Every method x seed of c at c.front_point -> c.end_point; one result row per job.
std::vector<nlohmann::json> stitch_run(const RunConfig& c);

}  // namespace stitch::test
