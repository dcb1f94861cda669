#include "stitch_run_util.h"

#include "stitch/sweep/plan.h"
#include "stitch/sweep/sweep_config.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/device.h"

namespace stitch::test {

std::vector<nlohmann::json> stitch_run(const StitchConfig& c) {
  const SweepConfig s = sweep_config_parse(stitch_config_dump(c));  // as apps/stitch/cmd_run.cpp
  threads_set(static_cast<int>(s.job.threads));
  Plan plan = plan_make(s, device_parse(s.job.device));
  return sweep_run(plan, Shard{}).rows;
}

}  // namespace stitch::test
