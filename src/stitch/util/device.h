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

// Whether CUDA matrix products (cuBLAS) and convolutions (cuDNN) may use TF32. PyTorch lets
// cuDNN use it by default; stitch turns it off unless asked, so CPU and GPU agree to float32
// rounding. No effect on the CPU.
void tf32_set(bool on);

}  // namespace stitch
