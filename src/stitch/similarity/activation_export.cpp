#include "stitch/similarity/activation_export.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "stitch/cache/activation_cache.h"
#include "stitch/data/data_source.h"
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

const ConfigTable<ActivationExportConfig>& activation_export_table() {
  using C = ActivationExportConfig;
  static const ConfigTable<C> t = [] {
    ConfigTable<C> t;
    t.add("model", &C::model, "TorchScript model").flag("model");
    t.add("out", &C::out, "HDF5 file to write (datasets /<point> [N, ...])").flag("--out");
    t.add("points", &C::points, "points (default: the model's recommended ones)").flag("--points");
    t.add("split", &C::split, "data split").choices({"test", "train"}).flag("--split");
    t.add("samples", &C::samples, "first N images of the split").range(1, 1e9).flag("--samples");
    t.add("batch", &C::batch, "batch size").range(1, 1e9).flag("--batch");
    t.include(data_config_table(), &C::data, "data.");
    add_device_threads(t);
    return t;
  }();
  return t;
}

ActivationExportResult activations_export(const ActivationExportConfig& c) {
  if (c.split != "test" && c.split != "train")
    throw StitchError(fmt::format("activations: split must be test or train, got '{}'", c.split));
  if (c.model.empty() || c.out.empty())
    throw StitchError("activations: give a model and --out FILE.h5 (the file to write)");
  if (c.samples < 1 || c.batch < 1)
    throw StitchError("activations: samples and batch must be positive");
  file_check_writable(c.out);
  interrupt_install();  // Ctrl-C: stop between batches, no file written
  threads_set(static_cast<int>(c.threads));
  tf32_set(false);  // float32 on CUDA as on the CPU
  data_config_check(c.data);
  const Dataset d = data_load(c.data, c.split, c.samples);
  StagedModel m = StagedModel::load(c.model, device_parse(c.device));
  m.bind_data(d.images.sizes().slice(1).vec(), c.data.mean, c.data.std);
  std::vector<std::string> points = c.points;
  if (points.empty()) points = m.meta().stitch_points;
  if (points.empty())
    throw StitchError(fmt::format(
        "'{}' recommends no stitch points; name them with --points (see `stitch layers`)",
        c.model));
  for (const auto& p : points) m.point(p);
  ActivationFile meta;
  meta.model = c.model;
  meta.model_sha256 = file_sha256(c.model);
  meta.split = c.split;
  meta.git_commit = git_stamp();
  meta.torch_version = torch_version();
  meta.points = points;
  meta.indices = d.index;
  meta.labels = d.labels;
  activations_write(c.out, meta, activations_collect(m, points, d.images, c.batch));
  return {points, d.size()};
}

}  // namespace stitch
