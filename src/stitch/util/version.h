#pragma once
// Build provenance: project version, git commit baked in at build time, LibTorch version.
#include <string>

namespace stitch {

const char* git_commit();  // short commit hash, or "unknown" outside a git checkout
bool git_dirty();          // true when tracked files differed from the commit at build time
std::string git_stamp();   // the commit with "+dirty" appended when dirty: what records carry
const char* source_dir();  // the source tree this build was configured from
std::string project_version();
std::string torch_version();   // e.g. "1.13.0"
bool cuda_available();         // whether LibTorch sees a CUDA device
std::string version_string();  // one line with all of the above

}  // namespace stitch
