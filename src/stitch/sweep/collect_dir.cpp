#include "stitch/sweep/collect_dir.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "stitch/sweep/sweep_run.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"

namespace stitch {
namespace fs = std::filesystem;

int64_t sweep_collect_dir(const std::string& dir, std::string* why) {
  const std::string resolved = dir + "/sweep.resolved.yaml";
  if (!fs::exists(resolved)) {
    if (why) *why = "it has no sweep.resolved.yaml";
    return -1;
  }
  try {
    SweepConfig c = sweep_config_parse(YAML::LoadFile(resolved));
    const fs::path d = fs::path(dir).lexically_normal();
    const fs::path name = d.has_filename() ? d.filename() : d.parent_path().filename();
    c.job.name = name.string();  // out_dir and name change no key
    c.job.out_dir = (d.has_filename() ? d.parent_path() : d.parent_path().parent_path()).string();
    if (c.job.out_dir.empty()) c.job.out_dir = ".";
    const Plan plan = plan_make(c, c10::Device("cpu"));
    return static_cast<int64_t>(sweep_collect(plan).size());
  } catch (const StitchError& e) {
    if (why) *why = e.what();
  } catch (const YAML::Exception& e) {
    if (why) *why = e.what();
  }
  return -1;
}

}  // namespace stitch
