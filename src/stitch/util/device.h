#pragma once
// Device selection from the `device` setting: "auto", "cpu", "cuda", "cuda:N".
#include <string>

#include <c10/core/Device.h>

namespace stitch {

// Parses a device setting; "auto" picks cuda:0 when available, else cpu. Throws StitchError
// for an unknown spelling or a CUDA device that does not exist.
c10::Device device_parse(const std::string& setting);

// Sets torch's intra-op thread count (0 = SLURM_CPUS_PER_TASK under Slurm, else all cores);
// torch defaults to 1 thread on Debian.
void threads_set(int n);

}  // namespace stitch
