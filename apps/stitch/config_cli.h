#pragma once
// The command-line side of a config table (src/stitch/config/config_table.h): --config FILE,
// --set key=value, a flag for each row that names one, and a help footer listing every key with
// its default. Settings apply in that order: file, then flags, then --set (last wins).
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stitch/config/config_table.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace stitch::cli {

class ConfigCli {
 public:
  // Adds the options of `table` to `cmd`. `file_positional`: the config file is the first
  // positional argument (stitch run FILE) instead of --config FILE. `help` is table.help().
  ConfigCli(CLI::App* cmd, const ConfigTableBase& table, const std::string& help,
            bool file_positional = false);
  // The settings given: the file (or an empty map), then each flag given, then each --set.
  YAML::Node node() const;

 private:
  struct Flag {
    std::string key;
    CLI::Option* option = nullptr;
    bool is_list = false, is_bool = false;
    std::string value;
    std::vector<std::string> values;
    bool on = false;
  };
  std::string file_;
  std::vector<std::string> sets_;
  std::deque<Flag> flags_;  // stable addresses: CLI11 binds to the members
};

// `cmd`'s footer: the settings table with defaults (shared by commands without their own flags).
void config_help_footer(CLI::App* cmd, const std::string& help);

}  // namespace stitch::cli
