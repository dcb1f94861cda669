#include "stitch/runner/stitch_config.h"

#include <fmt/format.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/runner/methods.h"
#include "stitch/util/error.h"

namespace stitch {

void stitch_settings_parse(YamlReader& r, StitchConfig& c) {
  c.name = r.str("name", c.name);
  c.out_dir = r.str("out_dir", c.out_dir);
  c.methods = r.list<std::string>("methods", c.methods);
  c.seeds = r.list<int64_t>("seeds", c.seeds);
  YamlReader d = r.child("data");
  c.data_dir = d.str("dir", c.data_dir);
  c.train_samples = d.integer("train_samples", c.train_samples, 1, 60000);
  c.test_samples = d.integer("test_samples", c.test_samples, 1, 10000);
  c.init_samples = d.integer("init_samples", c.init_samples, 1, 60000);
  d.finish();
  YamlReader t = r.child("train");
  c.epochs = t.integer("epochs", c.epochs, 1, 10000);
  c.batch_size = t.integer("batch_size", c.batch_size, 1, 100000);
  c.lr = t.real("lr", c.lr, 1e-12, 10);
  c.weight_decay = t.real("weight_decay", c.weight_decay, 0, 1);
  c.schedule = t.str("schedule", c.schedule, {"step", "cosine", "constant"});
  c.init = t.str("init", c.init, {"rand", "eye", "lstsq", "procrustes"});
  c.ridge = t.real("ridge", c.ridge, 0, 1e12);
  c.bn_mode = t.str("bn_mode", c.bn_mode, {"eval", "train"});
  c.iso_lambda = t.real("iso_lambda", c.iso_lambda, 0, 1e6);
  t.finish();
  YamlReader s = r.child("stitch");
  c.bn_before = s.boolean("bn_before", c.bn_before);
  c.bn_after = s.boolean("bn_after", c.bn_after);
  c.rank = s.integer("rank", c.rank, 0, 1 << 20);
  s.finish();
  YamlReader f = r.child("fula");
  c.fula_points = f.list<std::string>("points", c.fula_points);
  c.fula_weights = f.list<double>("weights", c.fula_weights);
  c.fula_cutoff = f.integer("cutoff", c.fula_cutoff, -1, 10000);
  c.fula_soft = f.boolean("soft", c.fula_soft);
  f.finish();
  YamlReader p = r.child("procrustes");
  c.procrustes_center = p.boolean("center", c.procrustes_center);
  c.procrustes_scale = p.boolean("scale", c.procrustes_scale);
  c.procrustes_kabsch = p.boolean("kabsch", c.procrustes_kabsch);
  p.finish();
  YamlReader e = r.child("eval");
  c.robust_samples = e.integer("robust_samples", c.robust_samples, 0, 10000);
  c.robust_steps = e.integer("robust_steps", c.robust_steps, 1, 10000);
  c.robust_epsilon = e.real("robust_epsilon", c.robust_epsilon, 0, 1);
  c.robust_alpha = e.real("robust_alpha", c.robust_alpha, 1e-9, 1);
  c.markers = e.str("markers", c.markers, {"none", "pixel", "pixel_loc", "rand"});
  e.finish();
  c.device = r.str("device", c.device);
  c.threads = r.integer("threads", c.threads, 0, 1024);
}

void stitch_settings_check(const StitchConfig& c) {
  if (c.methods.empty()) throw StitchError("config key 'methods' is empty");
  for (const auto& m : c.methods) method_get(m);
  if (c.seeds.empty()) throw StitchError("config key 'seeds' is empty");
}

StitchConfig stitch_config_parse(const YAML::Node& node) {
  StitchConfig c;
  YamlReader r(node);
  stitch_settings_parse(r, c);
  c.front = r.str("front", c.front);
  c.end = r.str("end", c.end);
  c.front_point = r.str("front_point", c.front_point);
  c.end_point = r.str("end_point", c.end_point);
  r.finish();
  if (c.front.empty() || c.end.empty())
    throw StitchError("config needs 'front' and 'end' model files");
  if (c.front_point.empty() || c.end_point.empty())
    throw StitchError(
        "config needs 'front_point' and 'end_point' (stitch layers MODEL.pt lists them)");
  stitch_settings_check(c);
  return c;
}

YAML::Node stitch_config_dump(const StitchConfig& c) {
  YAML::Node n = stitch_settings_dump(c);
  n["front"] = c.front;
  n["end"] = c.end;
  n["front_point"] = c.front_point;
  n["end_point"] = c.end_point;
  return n;
}

YAML::Node stitch_settings_dump(const StitchConfig& c) {
  YAML::Node n;
  n["name"] = c.name;
  n["out_dir"] = c.out_dir;
  n["methods"] = c.methods;
  n["seeds"] = c.seeds;
  n["data"]["dir"] = c.data_dir;
  n["data"]["train_samples"] = c.train_samples;
  n["data"]["test_samples"] = c.test_samples;
  n["data"]["init_samples"] = c.init_samples;
  n["train"]["epochs"] = c.epochs;
  n["train"]["batch_size"] = c.batch_size;
  n["train"]["lr"] = c.lr;
  n["train"]["weight_decay"] = c.weight_decay;
  n["train"]["schedule"] = c.schedule;
  n["train"]["init"] = c.init;
  n["train"]["ridge"] = c.ridge;
  n["train"]["bn_mode"] = c.bn_mode;
  n["train"]["iso_lambda"] = c.iso_lambda;
  n["stitch"]["bn_before"] = c.bn_before;
  n["stitch"]["bn_after"] = c.bn_after;
  n["stitch"]["rank"] = c.rank;
  n["fula"]["points"] = c.fula_points;
  n["fula"]["weights"] = c.fula_weights;
  n["fula"]["cutoff"] = c.fula_cutoff;
  n["fula"]["soft"] = c.fula_soft;
  n["procrustes"]["center"] = c.procrustes_center;
  n["procrustes"]["scale"] = c.procrustes_scale;
  n["procrustes"]["kabsch"] = c.procrustes_kabsch;
  n["eval"]["robust_samples"] = c.robust_samples;
  n["eval"]["robust_steps"] = c.robust_steps;
  n["eval"]["robust_epsilon"] = c.robust_epsilon;
  n["eval"]["robust_alpha"] = c.robust_alpha;
  n["eval"]["markers"] = c.markers;
  n["device"] = c.device;
  n["threads"] = c.threads;
  return n;
}

}  // namespace stitch
