#pragma once
// Reading YAML into plain structs with validation: every key read is recorded, unknown keys
// are rejected with the nearest valid key suggested, and type/range errors name the key.
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace stitch {

class YamlReader {
 public:
  // `node` must be a map (or null = empty); `where` prefixes key names in messages
  // ("adversarial.").
  YamlReader(const YAML::Node& node, std::string where = "");

  std::string str(const std::string& key, const std::string& def,
                  const std::vector<std::string>& choices = {});
  int64_t integer(const std::string& key, int64_t def, int64_t min, int64_t max);
  double real(const std::string& key, double def, double min, double max);
  bool boolean(const std::string& key, bool def);
  // A list of T (a single scalar is a list of one); `def` when absent.
  template <typename T>
  std::vector<T> list(const std::string& key, std::vector<T> def) {
    YAML::Node v = get(key);
    if (!v) return def;
    try {
      if (v.IsScalar()) return {v.template as<T>()};
      return v.template as<std::vector<T>>();
    } catch (const YAML::Exception&) {
      list_error(key);
    }
  }
  YamlReader child(const std::string& key);  // nested map (absent = empty)
  bool has(const std::string& key) const;
  void allow(const std::string& key) { known_.insert(key); }  // a key read by other means (lists)
  // Throws StitchError for any key of the map that no call above asked for.
  void finish() const;

 private:
  YAML::Node node_;
  std::string where_;
  std::set<std::string> known_;
  YAML::Node get(const std::string& key);
  [[noreturn]] void list_error(const std::string& key) const;
};

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b);
// The choice closest to `word` in edit distance (first one on ties), and that distance.
std::pair<std::string, size_t> nearest(const std::string& word,
                                       const std::vector<std::string>& choices);

// Loads a YAML file; throws StitchError with file:line for syntax errors.
YAML::Node yaml_load_file(const std::string& path);

// Puts `value` at the dotted `key` of a YAML map, creating sections ("a.b" -> a: {b: value}).
void yaml_put(YAML::Node& root, const std::string& key, const YAML::Node& value);

// Copies every leaf of the map `from` into `into` (sections merged, other values replaced).
void yaml_merge(YAML::Node& into, const YAML::Node& from);

// Applies "a.b.c=value" to a map node (creating nested maps); value is parsed as YAML.
void yaml_set(YAML::Node& root, const std::string& assignment);

}  // namespace stitch
