#pragma once
// `stitch run` for tests, through the path the command takes: a config written as YAML, parsed
// as a one-pair sweep (sweep_config_parse), planned and run in one process.
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/job/stitch_config.h"

namespace stitch::test {

// Every method x seed of c at c.front_point -> c.end_point; one result row per job.
std::vector<nlohmann::json> stitch_run(const StitchConfig& c);

}  // namespace stitch::test
