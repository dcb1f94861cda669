#pragma once
// The stitching methods, declared once (docs/methods.md §1.2, §1.3, §2.3, §2.5, §3): what each
// needs and how it is fitted or trained. Adding a method means adding one entry to the table in
// methods.cpp; the runner, the config validation and the job keys read everything from here.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "stitch/config/config_table.h"
#include "stitch/stitchers/fit.h"

namespace stitch {

struct Settings;

// One training batch as a method's loss sees it. z is the stitch output at the end point;
// stitched_down / clean_down hold the end model's activations at the downstream points on the
// stitched and the clean pass (filled only for methods with needs_downstream); logits are the
// stitched model's output (defined only when needs_logits(c) is true).
struct StepTensors {
  at::Tensor z, aj, labels, end_logits, logits;
  std::vector<at::Tensor> stitched_down, clean_down;
};

struct Method {
  std::string name;
  const char* summary;
  bool closed_form;       // fitted in closed form from paired rows, no training
  bool needs_downstream;  // trains against end-model activations after the end point
  bool (*needs_logits)(const Settings& c);  // the stitched logits are used by the loss
  // Closed form: the affine map from front rows X [n, p] to end rows Y [n, q].
  Affine (*fit)(const at::Tensor& x, const at::Tensor& y, const Settings& c);
  // Trained: the differentiable loss of one batch.
  at::Tensor (*loss)(const StepTensors& s, const Settings& c);
  // The kinds of settings (beyond Affects::kEveryJob) that change this method's result.
  std::vector<Affects> affects;
};

const std::vector<Method>& methods_all();
// The method called `name`; throws StitchError listing the valid names (nearest one suggested).
const Method& method_get(const std::string& name);
std::vector<std::string> method_names();
// The closed-form method a trained stitch starts from (train.init lstsq -> dm_closed, procrustes
// -> procrustes); nullptr for rand and eye.
const Method* init_method(const Settings& c);
// Every kind of setting that changes the result of a job of method m: kEveryJob, the method's
// own, and for trained methods those of the init fit. A job key holds exactly these settings.
std::vector<Affects> method_affects(const Method& m, const Settings& c);

}  // namespace stitch
