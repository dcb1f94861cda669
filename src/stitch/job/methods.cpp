#include "stitch/job/methods.h"

#include <ATen/ATen.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/job/settings.h"
#include "stitch/objectives/losses.h"
#include "stitch/util/error.h"

namespace stitch {
using Json = nlohmann::json;

namespace {
bool never(const Settings&) {
  return false;
}
bool always(const Settings&) {
  return true;
}
bool fula_soft(const Settings& c) {
  return c.fula_soft;
}

Affine fit_dm(const at::Tensor& x, const at::Tensor& y, const Settings& c) {
  if (x.size(0) < x.size(1) + 1)
    spdlog::warn("lstsq: {} rows for {} inputs (+bias) is underdetermined: {}", x.size(0),
                 x.size(1),
                 c.ridge > 0 ? fmt::format("using the ridge solution (ridge {})", c.ridge)
                             : "using the minimum-norm pinv solution; set train.ridge > 0 or "
                               "data.init_samples higher");
  return fit_lstsq(x, y, c.ridge);
}
Affine fit_orth(const at::Tensor& x, const at::Tensor& y, const Settings& c) {
  return procrustes_affine(
      fit_procrustes(x, y, c.procrustes_center, c.procrustes_scale, c.procrustes_kabsch));
}
Affine fit_latent(const at::Tensor& x, const at::Tensor& y, const Settings&) {
  return fit_maiorca(x, y);
}

at::Tensor loss_hint(const StepTensors& s, const Settings&) {
  return relative_distance(s.z, s.aj);
}
at::Tensor loss_task(const StepTensors& s, const Settings&) {
  return at::cross_entropy_loss(s.logits, s.labels);
}
at::Tensor loss_soft(const StepTensors& s, const Settings&) {
  return soft_label_kl(s.end_logits, s.logits);
}
at::Tensor loss_fula(const StepTensors& s, const Settings& c) {
  std::vector<at::Tensor> st{s.z}, cl{s.aj};
  st.insert(st.end(), s.stitched_down.begin(), s.stitched_down.end());
  cl.insert(cl.end(), s.clean_down.begin(), s.clean_down.end());
  at::Tensor loss = fula_loss(st, cl, c.fula_weights);
  if (!c.fula_soft) return loss;
  const double n = static_cast<double>(st.size());
  return (loss * n + soft_label_kl(s.end_logits, s.logits)) / (n + 1);
}

const std::vector<Method> kMethods{
    {"dm_closed",
     "direct matching: least squares at the stitch point",
     true,
     false,
     never,
     fit_dm,
     nullptr,
     {Affects::kFitRows, Affects::kLstsq}},
    {"procrustes",
     "orthogonal Procrustes at the stitch point",
     true,
     false,
     never,
     fit_orth,
     nullptr,
     {Affects::kFitRows, Affects::kProcrustes}},
    {"maiorca",
     "standard-scaled Procrustes (latent translation)",
     true,
     false,
     never,
     fit_latent,
     nullptr,
     {Affects::kFitRows}},
    {"dm_hint",
     "relative distance at the stitch point, trained",
     false,
     false,
     never,
     nullptr,
     loss_hint,
     {Affects::kTrained}},
    {"tlm",
     "task loss: cross-entropy of the stitched model",
     false,
     false,
     always,
     nullptr,
     loss_task,
     {Affects::kTrained}},
    {"slm",
     "soft labels: KL to the end model's output",
     false,
     false,
     always,
     nullptr,
     loss_soft,
     {Affects::kTrained}},
    {"fula",
     "relative distance at the stitch point and every later end-model point",
     false,
     true,
     fula_soft,
     nullptr,
     loss_fula,
     {Affects::kTrained, Affects::kFula}},
};
}  // namespace

const std::vector<Method>& methods_all() {
  return kMethods;
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& m : kMethods) names.push_back(m.name);
  return names;
}

const Method* init_method(const Settings& c) {
  if (c.init == StitchInit::kLstsq) return &method_get("dm_closed");
  if (c.init == StitchInit::kProcrustes) return &method_get("procrustes");
  return nullptr;
}

std::vector<Affects> method_affects(const Method& m, const Settings& c) {
  std::vector<Affects> out{Affects::kEveryJob};  // loops: vector::insert here trips a GCC 12
  for (Affects a : m.affects) out.push_back(a);  // -Warray-bounds false positive
  const Method* init = m.closed_form ? nullptr : init_method(c);
  if (init)
    for (Affects a : init->affects) out.push_back(a);
  return out;
}

const Method& method_get(const std::string& name) {
  for (const auto& m : kMethods)
    if (m.name == name) return m;
  const auto names = method_names();
  const auto [best, d] = nearest(name, names);
  throw StitchError(fmt::format("unknown method '{}'{}; valid: {}", name,
                                d <= 3 ? fmt::format(" (did you mean '{}'?)", best) : "",
                                fmt::join(names, ", ")));
}

}  // namespace stitch
