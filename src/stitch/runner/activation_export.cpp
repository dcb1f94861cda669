#include "stitch/runner/activation_export.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "stitch/cache/activation_cache.h"
#include "stitch/data/fashion_mnist.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/device.h"
#include "stitch/util/error.h"
#include "stitch/util/fs.h"
#include "stitch/util/hash.h"
#include "stitch/util/version.h"

namespace stitch {

std::vector<at::Tensor> activations_collect(StagedModel& m, const std::vector<std::string>& points,
                                            const at::Tensor& images, int64_t batch) {
  torch::NoGradGuard g;
  std::vector<std::vector<at::Tensor>> parts(points.size());
  for (int64_t s = 0; s < images.size(0); s += batch) {
    interrupt_throw_if_requested();
    const at::Tensor x = images.narrow(0, s, std::min(batch, images.size(0) - s)).to(m.device());
    const auto acts = m.forward_collect(x, points);
    for (size_t i = 0; i < points.size(); ++i) parts[i].push_back(acts[i]);
  }
  std::vector<at::Tensor> out;
  for (auto& p : parts) out.push_back(at::cat(p));
  return out;
}

std::vector<std::string> activations_export(const ActivationExportConfig& c) {
  if (c.split != "test" && c.split != "train")
    throw StitchError(fmt::format("activations: split must be test or train, got '{}'", c.split));
  if (c.samples < 1 || c.batch < 1)
    throw StitchError("activations: samples and batch must be positive");
  file_check_writable(c.out);
  interrupt_install();  // Ctrl-C: stop between batches, no file written
  threads_set(static_cast<int>(c.threads));
  StagedModel m = StagedModel::load(c.model, device_parse(c.device));
  m.probe();
  std::vector<std::string> points = c.points;
  if (points.empty()) points = m.meta().stitch_points;
  if (points.empty())
    throw StitchError(fmt::format(
        "'{}' recommends no stitch points; name them with --points (see `stitch layers`)",
        c.model));
  for (const auto& p : points) m.point(p);
  const Dataset d = dataset_first(fashion_mnist_load(c.split, c.data_dir), c.samples);
  ActivationFile meta;
  meta.model = c.model;
  meta.model_sha256 = file_sha256(c.model);
  meta.split = c.split;
  meta.git_commit = std::string(git_commit()) + (git_dirty() ? "+dirty" : "");
  meta.torch_version = torch_version();
  meta.points = points;
  meta.indices = d.index;
  meta.labels = d.labels;
  activations_write(c.out, meta, activations_collect(m, points, d.images, c.batch));
  return points;
}

}  // namespace stitch
