#include "stitch/model/model_io.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/version.h"

namespace stitch {
namespace fs = std::filesystem;

std::string arch_path(const std::string& arch, const std::string& arch_dir) {
  static const std::vector<std::string> known{"mlp", "cnn", "resnet", "vit"};
  if (std::find(known.begin(), known.end(), arch) == known.end())
    throw StitchError(fmt::format(
        "unknown architecture '{}'; valid: mlp, cnn, resnet, vit (or give a model file)", arch));
  std::vector<std::string> dirs;
  if (!arch_dir.empty())
    dirs.push_back(arch_dir);
  else
    dirs = {"models/arch", std::string(source_dir()) + "/models/arch"};
  for (const auto& d : dirs) {
    const std::string p = d + "/" + arch + ".pt";
    if (fs::exists(p)) return p;
  }
  throw StitchError(fmt::format(
      "architecture file {}/{}.pt not found: run /usr/bin/python3 scripts/export_architectures.py "
      "--out {} (the build does this)",
      dirs.front(), arch, dirs.front()));
}

void model_reinit(StagedModel& m, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  auto uniform = [&](at::Tensor t, double bound) {
    t.copy_(at::rand(t.sizes(), gen, at::TensorOptions().dtype(t.dtype())) * (2 * bound) - bound);
  };
  for (const auto& sub : m.module().named_modules()) {
    const std::string type = sub.value.type()->name() ? sub.value.type()->name()->name() : "";
    const bool affine = type == "Conv2d" || type == "Linear" || type == "Conv1d";
    const bool norm = type.find("Norm") != std::string::npos;
    at::Tensor weight;
    for (const auto& p : sub.value.named_parameters(false)) {
      if (affine && p.name == "weight") weight = p.value;
    }
    const int64_t fan_in = weight.defined() ? weight.numel() / weight.size(0) : 0;
    for (const auto& p : sub.value.named_parameters(false)) {
      at::Tensor t = p.value;
      if (affine && p.name == "weight") {
        uniform(t, 1.0 / std::sqrt(static_cast<double>(fan_in)));  // kaiming_uniform(a=sqrt(5))
      } else if (affine && p.name == "bias") {
        uniform(t, 1.0 / std::sqrt(static_cast<double>(fan_in)));
      } else if (norm) {
        t.fill_(p.name == "weight" ? 1.0 : 0.0);
      } else {
        t.copy_(at::randn(t.sizes(), gen, at::TensorOptions().dtype(t.dtype())) * 0.02);
      }
    }
    if (norm)
      for (const auto& b : sub.value.named_buffers(false)) {
        if (b.name == "running_mean" || b.name == "num_batches_tracked") b.value.zero_();
        if (b.name == "running_var") b.value.fill_(1.0);
      }
  }
}

void model_meta_write(StagedModel& m, const ModelMeta& meta) {
  torch::jit::Module& mod = m.module();
  for (const char* k : {"recipe", "seed", "epochs", "clean_accuracy", "robust_accuracy",
                        "marker_accuracy", "rolled_marker_accuracy", "train_info"})
    if (!mod.hasattr(k))
      throw StitchError(
          fmt::format("model '{}' has no '{}' attribute: export it with /usr/bin/python3 "
                      "scripts/export_architectures.py",
                      m.path(), k));
  mod.setattr("recipe", meta.recipe);
  mod.setattr("seed", meta.seed);
  mod.setattr("epochs", meta.epochs);
  mod.setattr("clean_accuracy", meta.clean_accuracy);
  mod.setattr("robust_accuracy", meta.robust_accuracy);
  mod.setattr("marker_accuracy", meta.marker_accuracy);
  mod.setattr("rolled_marker_accuracy", meta.rolled_marker_accuracy);
  mod.setattr("train_info", meta.train_info);
}

void model_save(StagedModel& m, const std::string& path) {
  const c10::Device dev = m.device();
  const bool training = m.module().is_training();
  m.train(false);
  m.to(c10::Device("cpu"));
  try {
    std::ostringstream bytes;  // in memory: torch's file writer throws from its destructor on
    m.module().save(bytes);    // a failed write (a full disk), which ends the process
    file_write_text(path, bytes.str());
  } catch (...) {
    m.to(dev);
    m.train(training);
    throw;
  }
  m.to(dev);
  m.train(training);
}

}  // namespace stitch
