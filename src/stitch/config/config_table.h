#pragma once
// One table per config: every setting is declared once, as a row of key, member, range or
// choices, help and an optional command-line flag. The table drives YAML parsing (unknown keys
// get the nearest known key), the resolved dump, the help text that lists every key with its
// default, and the flags of the command (apps/stitch/config_cli.h).
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace stitch {

using ConfigRef = std::variant<std::string*, int64_t*, double*, bool*, std::vector<std::string>*,
                               std::vector<int64_t>*, std::vector<double>*>;

struct ConfigRow {
  std::string key;                      // dotted YAML path, e.g. "train.epochs"
  std::function<ConfigRef(void*)> ref;  // the member inside a config object
  double min = 0, max = -1;             // numeric range (min > max: no range)
  std::vector<std::string> choices;     // allowed strings, also for each list element
  std::string help;
  std::string flag;  // "--epochs" (a CLI flag), "model" (a positional argument) or ""
  size_t kind = 0;   // index of the member's type in ConfigRef
  bool is_bool() const { return kind == 3; }
  bool is_list() const { return kind >= 4; }
};

class ConfigTableBase {
 public:
  const std::vector<ConfigRow>& rows() const { return rows_; }
  // The help text: one line per row, "key = default  [range | choices]  help (--flag)".
  std::string help_text(const void* defaults) const;

 protected:
  std::vector<ConfigRow> rows_;
  std::set<std::string> extra_;  // top-level keys the owner reads by hand (e.g. a list of maps)
  void parse_into(const YAML::Node& root, void* obj) const;
  YAML::Node dump_from(void* obj) const;
};

template <typename T>
class ConfigTable : public ConfigTableBase {
 public:
  // `member` is a pointer to member (&T::epochs) or a callable returning a reference into T.
  template <typename M>
  ConfigTable& add(std::string key, M member, std::string help) {
    ConfigRow row;
    row.key = std::move(key);
    row.ref = [member](void* o) { return ConfigRef(&std::invoke(member, *static_cast<T*>(o))); };
    row.help = std::move(help);
    using V = std::remove_reference_t<decltype(std::invoke(member, std::declval<T&>()))>;
    row.kind = ConfigRef(static_cast<V*>(nullptr)).index();
    rows_.push_back(std::move(row));
    return *this;
  }
  ConfigTable& range(double lo, double hi) {
    rows_.back().min = lo;
    rows_.back().max = hi;
    return *this;
  }
  ConfigTable& choices(std::vector<std::string> c) {
    rows_.back().choices = std::move(c);
    return *this;
  }
  ConfigTable& flag(std::string f) {
    rows_.back().flag = std::move(f);
    return *this;
  }
  // A top-level key that the owner parses itself (allowed here, not dumped).
  ConfigTable& extra(std::string key) {
    extra_.insert(std::move(key));
    return *this;
  }
  // The rows of a sub-config S reached through `part`, with keys under `prefix` ("data.").
  template <typename S, typename P>
  ConfigTable& include(const ConfigTable<S>& sub, P part, const std::string& prefix = "") {
    for (ConfigRow row : sub.rows()) {
      row.key = prefix + row.key;
      auto inner = row.ref;
      row.ref = [inner, part](void* o) {
        return inner(static_cast<void*>(&std::invoke(part, *static_cast<T*>(o))));
      };
      rows_.push_back(std::move(row));
    }
    return *this;
  }

  // Reads every row present in `root` (a YAML map) into obj, checking types, ranges and
  // choices; any unknown key throws StitchError with the nearest known key.
  void parse(const YAML::Node& root, T& obj) const { parse_into(root, &obj); }
  YAML::Node dump(const T& obj) const { return dump_from(const_cast<T*>(&obj)); }
  std::string help() const {
    T defaults;
    return help_text(&defaults);
  }
};

// The `device` and `threads` rows of every config that computes (members of those names).
template <typename C>
void add_device_threads(ConfigTable<C>& t) {
  t.add("device", &C::device, "auto, cpu, cuda or cuda:N").flag("--device");
  t.add("threads", &C::threads, "CPU threads (0 = all cores)").range(0, 1024).flag("--threads");
}

}  // namespace stitch
