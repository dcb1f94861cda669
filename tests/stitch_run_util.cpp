#include "stitch_run_util.h"

#include "stitch/sweep/plan.h"
#include "stitch/sweep/sweep_config.h"
#include "stitch/sweep/sweep_run.h"
#include "stitch/util/device.h"

namespace stitch::test {

std::vector<nlohmann::json> stitch_run(const RunConfig& c) {
  YAML::Node n = settings_table().dump(c);  // the YAML a user writes for `stitch run`
  n["front"] = c.front;
  n["end"] = c.end;
  n["front_point"] = c.front_point;
  n["end_point"] = c.end_point;
  const SweepConfig s = sweep_config_parse(n);  // as apps/stitch/cmd_run.cpp
  threads_set(static_cast<int>(s.job.threads));
  Plan plan = plan_make(s, device_parse(s.job.device));
  return sweep_run(plan, Shard{}).rows;
}

}  // namespace stitch::test
