#pragma once
// One table per config: every setting is declared once, as a row of key, member, range or
// choices, help and an optional command-line flag. The table drives YAML parsing (unknown keys
// get the nearest known key), the resolved dump, the help text that lists every key with its
// default, and the flags of the command (apps/stitch/config_cli.h).
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace stitch {

// What a setting changes. Job keys are derived from it (job_key in sweep/plan.h): a finished job
// is reused only while every setting that can change its result is the same, and a setting that
// cannot (an output folder, a thread count) never forces a re-run. tests/config/test_job_key.cpp
// fails for a row of the sweep table left kUnset.
enum class Affects : uint8_t {
  kUnset,       // not classified
  kNothing,     // where or how a job runs, not what it computes (out_dir, threads, store.dir)
  kIdentity,    // which jobs exist (models, points, methods, seeds): each key holds its own value
  kEveryJob,    // every job's result (data, stitch layer, evaluation)
  kTrained,     // trained methods (optimiser, schedule, epochs, init)
  kFitRows,     // methods fitted on the first data.init_samples rows (closed forms, their inits)
  kLstsq,       // the least-squares fit (dm_closed, init lstsq)
  kProcrustes,  // the Procrustes fit (procrustes, init procrustes)
  kFula,        // the FuLA loss
};

// The names of an enum's values, in value order (0, 1, ...): specialise for each mode enum a
// table reads, e.g. template <> struct EnumNames<BnMode> { static const std::vector<std::string>&
// names(); }. A config member of that type is then read and written as one of those names, and
// code compares the enum, never the string (typed modes at the table boundary).
template <typename E>
struct EnumNames;
template <typename E>
const std::string& enum_name(E e) {  // the name of a mode, e.g. "eval" for BnMode::kEval
  return EnumNames<E>::names()[static_cast<size_t>(e)];
}

// An enum member of a config, seen through its value index and its names.
struct EnumRef {
  std::function<size_t()> get;
  std::function<void(size_t)> set;
  const std::vector<std::string>* names = nullptr;
  const std::string& name() const { return (*names)[get()]; }
};

using ConfigRef = std::variant<std::string*, int64_t*, double*, bool*, std::vector<std::string>*,
                               std::vector<int64_t>*, std::vector<double>*, EnumRef>;
inline constexpr size_t kConfigEnumKind = 7;  // index of EnumRef in ConfigRef

struct ConfigRow {
  std::string key;                      // dotted YAML path, e.g. "train.epochs"
  std::function<ConfigRef(void*)> ref;  // the member inside a config object
  double min = 0, max = -1;             // numeric range (min > max: no range)
  std::vector<std::string> choices;     // allowed strings, also for each list element
                                        // (an enum row: its names)
  std::string help;
  std::string flag;  // "--epochs" (a CLI flag), "model" (a positional argument) or ""
  size_t kind = 0;   // index of the member's type in ConfigRef
  Affects affects = Affects::kUnset;
  bool is_bool() const { return kind == 3; }
  bool is_list() const { return kind >= 4 && kind < kConfigEnumKind; }
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
  nlohmann::json values_from(void* obj, const std::vector<Affects>& which) const;
};

template <typename T>
class ConfigTable : public ConfigTableBase {
 public:
  // `member` is a pointer to member (&T::epochs) or a callable returning a reference into T.
  template <typename M>
  ConfigTable& add(std::string key, M member, std::string help) {
    ConfigRow row;
    row.key = std::move(key);
    row.help = std::move(help);
    using V = std::remove_reference_t<decltype(std::invoke(member, std::declval<T&>()))>;
    if constexpr (std::is_enum_v<V>) {  // a mode: one of EnumNames<V>'s names
      row.ref = [member](void* o) {
        V& e = std::invoke(member, *static_cast<T*>(o));
        return ConfigRef(EnumRef{[&e] { return static_cast<size_t>(e); },
                                 [&e](size_t i) { e = static_cast<V>(i); },
                                 &EnumNames<V>::names()});
      };
      row.choices = EnumNames<V>::names();
      row.kind = kConfigEnumKind;
    } else {
      row.ref = [member](void* o) { return ConfigRef(&std::invoke(member, *static_cast<T*>(o))); };
      row.kind = ConfigRef(static_cast<V*>(nullptr)).index();
    }
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
  ConfigTable& affects(Affects a) {
    rows_.back().affects = a;
    return *this;
  }
  // Classifies every row added so far that is still kUnset.
  ConfigTable& affects_unset(Affects a) {
    for (auto& r : rows_)
      if (r.affects == Affects::kUnset) r.affects = a;
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
  // {key: value} of the rows whose `affects` is in `which` (a job key's settings).
  nlohmann::json values(const T& obj, const std::vector<Affects>& which) const {
    return values_from(const_cast<T*>(&obj), which);
  }
  std::string help() const {
    T defaults;
    return help_text(&defaults);
  }
};

// The `device` and `threads` rows of every config that computes (members of those names).
template <typename C>
void add_device_threads(ConfigTable<C>& t) {
  t.add("device", &C::device, "auto, cpu, cuda or cuda:N")
      .flag("--device")
      .affects(Affects::kNothing);
  t.add("threads", &C::threads, "CPU threads (0 = all cores)")
      .range(0, 1024)
      .flag("--threads")
      .affects(Affects::kNothing);
}

}  // namespace stitch
