#include "stitch/config/yaml_reader.h"

#include <fmt/format.h>

#include "stitch/util/error.h"
#include "stitch/util/fs.h"

namespace stitch {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::pair<std::string, size_t> nearest(const std::string& word,
                                       const std::vector<std::string>& choices) {
  std::string best;
  size_t best_d = 99;
  for (const auto& c : choices) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return {best, best_d};
}

YamlReader::YamlReader(const YAML::Node& node, std::string where)
    : node_(node), where_(std::move(where)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    throw StitchError(fmt::format("config section '{}' must be a map of key: value",
                                  where_.empty() ? "<top>" : where_));
}

bool YamlReader::has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key];
}

YAML::Node YamlReader::get(const std::string& key) {
  known_.insert(key);
  const YAML::Node absent(YAML::NodeType::Undefined);  // evaluates false, unlike YAML::Node()
  if (!node_ || !node_.IsMap()) return absent;
  const YAML::Node& map = node_;  // const lookup: no key is created
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return absent;
  return v;
}

std::string YamlReader::str(const std::string& key, const std::string& def,
                            const std::vector<std::string>& choices) {
  YAML::Node v = get(key);
  std::string s = def;
  if (v) {
    if (!v.IsScalar())
      throw StitchError(fmt::format("config key '{}{}': expected a string", where_, key));
    s = v.as<std::string>();
  }
  if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end()) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    throw StitchError(
        fmt::format("config key '{}{}': '{}' is not one of: {}", where_, key, s, list));
  }
  return s;
}

int64_t YamlReader::integer(const std::string& key, int64_t def, int64_t min, int64_t max) {
  YAML::Node v = get(key);
  int64_t x = def;
  if (v) {
    try {
      x = v.as<int64_t>();
    } catch (const YAML::Exception&) {
      throw StitchError(fmt::format("config key '{}{}': expected an integer, got '{}'", where_, key,
                                    v.IsScalar() ? v.Scalar() : std::string("a list or map")));
    }
  }
  if (x < min || x > max)
    throw StitchError(
        fmt::format("config key '{}{}': {} is out of range [{}, {}]", where_, key, x, min, max));
  return x;
}

double YamlReader::real(const std::string& key, double def, double min, double max) {
  YAML::Node v = get(key);
  double x = def;
  if (v) {
    try {
      x = v.as<double>();
    } catch (const YAML::Exception&) {
      throw StitchError(fmt::format("config key '{}{}': expected a number, got '{}'", where_, key,
                                    v.IsScalar() ? v.Scalar() : std::string("a list or map")));
    }
  }
  if (!(x >= min && x <= max))
    throw StitchError(
        fmt::format("config key '{}{}': {} is out of range [{}, {}]", where_, key, x, min, max));
  return x;
}

bool YamlReader::boolean(const std::string& key, bool def) {
  YAML::Node v = get(key);
  if (!v) return def;
  try {
    return v.as<bool>();
  } catch (const YAML::Exception&) {
    throw StitchError(fmt::format("config key '{}{}': expected true or false, got '{}'", where_,
                                  key, v.IsScalar() ? v.Scalar() : std::string("a list or map")));
  }
}

void YamlReader::list_error(const std::string& key) const {
  throw StitchError(fmt::format("config key '{}{}': expected a list", where_, key));
}

YamlReader YamlReader::child(const std::string& key) {
  YAML::Node v = get(key);
  return YamlReader(v ? v : YAML::Node(YAML::NodeType::Map), where_ + key + ".");
}

void YamlReader::finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string k = kv.first.as<std::string>();
    if (known_.count(k)) continue;
    const auto [best, best_d] = nearest(k, std::vector<std::string>(known_.begin(), known_.end()));
    throw StitchError(fmt::format("unknown config key '{}{}'{}", where_, k,
                                  best_d <= std::max<size_t>(2, k.size() / 3)
                                      ? fmt::format("; did you mean '{}{}'?", where_, best)
                                      : std::string()));
  }
}

YAML::Node yaml_load_file(const std::string& path) {
  file_check_readable(path, "config file");
  try {
    YAML::Node n = YAML::LoadFile(path);
    if (!n || n.IsNull()) return YAML::Node(YAML::NodeType::Map);
    return n;
  } catch (const YAML::ParserException& e) {
    throw StitchError(fmt::format("config file '{}': YAML syntax error at line {}: {}", path,
                                  e.mark.line + 1, e.msg));
  }
}

void yaml_put(YAML::Node& root, const std::string& key, const YAML::Node& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // yaml-cpp nodes are handles: walk down by reassigning (operator[] on a copy aliases).
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    if (!next.IsMap())
      throw StitchError(fmt::format("setting '{}': '{}' is not a section", key, parts[i]));
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
}

void yaml_merge(YAML::Node& into, const YAML::Node& from) {
  if (!from || !from.IsMap()) return;
  for (const auto& kv : from) {
    const std::string k = kv.first.as<std::string>();
    YAML::Node existing = into[k];
    if (kv.second.IsMap() && existing && existing.IsMap()) {
      yaml_merge(existing, kv.second);
    } else {
      into[k] = YAML::Clone(kv.second);
    }
  }
}

void yaml_set(YAML::Node& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw StitchError(fmt::format("--set '{}' is not of the form key=value", assignment));
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception&) {
    parsed = YAML::Node(value);
  }
  try {
    yaml_put(root, key, parsed);
  } catch (const StitchError&) {
    throw StitchError(fmt::format("--set '{}': a part of '{}' is not a section", assignment, key));
  }
}

}  // namespace stitch
