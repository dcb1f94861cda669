#include "stitch/config/config_table.h"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/config/yaml_reader.h"
#include "stitch/util/error.h"

namespace stitch {

namespace {
// ("train", "epochs") from "train.epochs"; ("", "seed") from "seed".
std::pair<std::string, std::string> key_split(const std::string& key) {
  const size_t dot = key.rfind('.');
  if (dot == std::string::npos) return {"", key};
  return {key.substr(0, dot), key.substr(dot + 1)};
}

template <typename V>
void choices_check(const std::vector<V>&, const ConfigRow&) {}

// Every element of a numeric list row within the row's range (when it has one).
template <typename V>
void range_check(const std::vector<V>& v, const ConfigRow& row) {
  if (row.min > row.max) return;
  for (V x : v)
    if (!(x >= row.min && x <= row.max))
      throw StitchError(fmt::format("config key '{}': {} is out of range [{}, {}]", row.key, x,
                                    row.min, row.max));
}
void choices_check(const std::vector<std::string>& v, const ConfigRow& row) {
  if (row.choices.empty()) return;
  for (const auto& s : v)
    if (std::find(row.choices.begin(), row.choices.end(), s) == row.choices.end())
      throw StitchError(fmt::format("config key '{}': '{}' is not one of: {}", row.key, s,
                                    fmt::join(row.choices, ", ")));
}

struct ShowValue {
  std::string operator()(std::string* s) const { return s->empty() ? "\"\"" : *s; }
  std::string operator()(bool* b) const { return *b ? "true" : "false"; }
  std::string operator()(int64_t* x) const { return std::to_string(*x); }
  std::string operator()(double* x) const { return fmt::format("{}", *x); }
  std::string operator()(const EnumRef& e) const { return e.name(); }
  template <typename V>
  std::string operator()(std::vector<V>* v) const {
    return fmt::format("[{}]", fmt::join(*v, ", "));
  }
};
}  // namespace

void ConfigTableBase::parse_into(const YAML::Node& root, void* obj) const {
  if (root && !root.IsNull() && !root.IsMap())
    throw StitchError("a config must be a YAML map of key: value settings");
  std::map<std::string, YamlReader> readers;  // section path -> its reader (stable references)
  readers.emplace("", YamlReader(root));
  std::function<YamlReader&(const std::string&)> reader =
      [&](const std::string& section) -> YamlReader& {
    auto it = readers.find(section);
    if (it != readers.end()) return it->second;
    const auto [parent, leaf] = key_split(section);
    YamlReader child = reader(parent).child(leaf);
    return readers.emplace(section, std::move(child)).first->second;
  };
  for (const auto& k : extra_) readers.at("").allow(k);
  constexpr double kBig = 9.2e18;
  for (const auto& row : rows_) {
    const auto [section, leaf] = key_split(row.key);
    YamlReader& r = reader(section);
    const bool ranged = row.min <= row.max;
    const ConfigRef ref = row.ref(obj);
    if (auto* s = std::get_if<std::string*>(&ref)) {
      **s = r.str(leaf, **s, row.choices);
    } else if (auto* i = std::get_if<int64_t*>(&ref)) {
      **i = r.integer(leaf, **i, ranged ? static_cast<int64_t>(row.min) : INT64_MIN,
                      ranged ? static_cast<int64_t>(row.max) : INT64_MAX);
    } else if (auto* d = std::get_if<double*>(&ref)) {
      **d = r.real(leaf, **d, ranged ? row.min : -kBig, ranged ? row.max : kBig);
    } else if (auto* b = std::get_if<bool*>(&ref)) {
      **b = r.boolean(leaf, **b);
    } else if (auto* vs = std::get_if<std::vector<std::string>*>(&ref)) {
      **vs = r.list<std::string>(leaf, **vs);
      choices_check(**vs, row);
    } else if (auto* vi = std::get_if<std::vector<int64_t>*>(&ref)) {
      **vi = r.list<int64_t>(leaf, **vi);
      range_check(**vi, row);
    } else if (auto* vd = std::get_if<std::vector<double>*>(&ref)) {
      **vd = r.list<double>(leaf, **vd);
      range_check(**vd, row);
    } else if (auto* e = std::get_if<EnumRef>(&ref)) {
      const std::string name = r.str(leaf, e->name(), *e->names);
      e->set(static_cast<size_t>(std::find(e->names->begin(), e->names->end(), name) -
                                 e->names->begin()));
    }
  }
  // Deepest sections first, so a typo inside a section is named with its full path.
  for (auto it = readers.rbegin(); it != readers.rend(); ++it) it->second.finish();
}

YAML::Node ConfigTableBase::dump_from(void* obj) const {
  YAML::Node n(YAML::NodeType::Map);
  for (const auto& row : rows_) {
    YAML::Node v;
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, EnumRef>) {
            v = YAML::Node(p.name());
          } else {
            v = YAML::Node(*p);
            if constexpr (!std::is_same_v<std::decay_t<decltype(*p)>, std::string> &&
                          !std::is_arithmetic_v<std::decay_t<decltype(*p)>>)
              v.SetStyle(YAML::EmitterStyle::Flow);
          }
        },
        row.ref(obj));
    yaml_put(n, row.key, v);
  }
  return n;
}

nlohmann::json ConfigTableBase::values_from(void* obj, const std::vector<Affects>& which) const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& row : rows_)
    if (std::find(which.begin(), which.end(), row.affects) != which.end())
      std::visit(
          [&](const auto& p) {
            if constexpr (std::is_same_v<std::decay_t<decltype(p)>, EnumRef>)
              out[row.key] = p.name();  // the name, as when the mode was a string: keys unchanged
            else
              out[row.key] = *p;
          },
          row.ref(obj));
  return out;
}

std::string ConfigTableBase::help_text(const void* defaults) const {
  std::vector<std::pair<std::string, std::string>> lines;
  size_t width = 0;
  for (const auto& row : rows_) {
    std::string left =
        row.key + " = " + std::visit(ShowValue{}, row.ref(const_cast<void*>(defaults)));
    width = std::max(width, left.size());
    std::string right = row.help;
    if (!row.choices.empty()) right += fmt::format(" [{}]", fmt::join(row.choices, "|"));
    if (row.min <= row.max) right += fmt::format(" [{}, {}]", row.min, row.max);
    if (!row.flag.empty() && row.flag[0] == '-') right += " (" + row.flag + ")";
    lines.emplace_back(std::move(left), std::move(right));
  }
  width = std::min<size_t>(width, 44);
  std::string out;
  for (const auto& [l, r] : lines) out += fmt::format("  {:<{}}  {}\n", l, width, r);
  return out;
}

}  // namespace stitch
