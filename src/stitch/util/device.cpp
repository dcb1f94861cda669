#include "stitch/util/device.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "stitch/util/error.h"
#include "stitch/util/provenance.h"
#include "stitch/util/version.h"

namespace stitch {

c10::Device device_parse(const std::string& setting) {
  if (setting == "auto")
    return torch::cuda::is_available() ? c10::Device("cuda:0") : c10::Device("cpu");
  if (setting == "cpu") return c10::Device("cpu");
  if (setting == "cuda" || setting.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (setting.size() > 5) {
      const std::string digits = setting.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        throw StitchError(
            fmt::format("device '{}' is not valid; use auto, cpu, cuda or cuda:N", setting));
      index = std::stoi(digits);
    }
    const int n = static_cast<int>(torch::cuda::device_count());
    if (n == 0)
      throw StitchError(
          fmt::format("device '{}' requested but CUDA is not available in this build/machine; use "
                      "device: cpu or auto",
                      setting));
    if (index >= n)
      throw StitchError(fmt::format(
          "device '{}' does not exist (this machine has {} CUDA device(s): cuda:0..cuda:{})",
          setting, n, n - 1));
    return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw StitchError(
      fmt::format("device '{}' is not valid; use auto, cpu, cuda or cuda:N", setting));
}

void threads_set(int n) {
  // Under Slurm, "all cores" means the cores of this task, not of the node.
  const char* slurm = std::getenv("SLURM_CPUS_PER_TASK");
  if (n <= 0 && slurm && std::atoi(slurm) > 0) n = std::atoi(slurm);
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

std::string project_version() {
  return STITCH_VERSION;
}

std::string torch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

bool cuda_available() {
  return torch::cuda::is_available();
}

void tf32_set(bool on) {
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
}

std::string git_stamp() {
  return std::string(git_commit()) + (git_dirty() ? "+dirty" : "");
}

nlohmann::json provenance(const std::string& device) {
  return {{"git_commit", git_stamp()},
          {"torch_version", torch_version()},
          {"stitch_version", project_version()},
          {"device", device}};
}

std::string version_string() {
  return fmt::format(
      "stitch {} (commit {}) LibTorch {} CUDA {}", project_version(), git_stamp(), torch_version(),
      cuda_available() ? fmt::format("available ({} device(s))", torch::cuda::device_count())
                       : "not available");
}

}  // namespace stitch
