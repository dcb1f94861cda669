#include "config_cli.h"

#include <CLI/CLI.hpp>

#include "stitch/config/yaml_reader.h"

namespace stitch::cli {

void config_help_footer(CLI::App* cmd, const std::string& help) {
  cmd->footer(
      "\nSettings (YAML keys of --config FILE, or --set key=value; key = default, then the flag "
      "if one exists):\n" +
      help);
}

ConfigCli::ConfigCli(CLI::App* cmd, const ConfigTableBase& table, const std::string& help,
                     bool file_positional) {
  if (file_positional)
    cmd->add_option("config", file_, "YAML settings file (see configs/ and the keys below)");
  else
    cmd->add_option("--config", file_, "YAML settings file (keys listed below)");
  cmd->add_option("--set", sets_, "override any key below, e.g. --set train.epochs=2");
  for (const auto& row : table.rows()) {
    if (row.flag.empty()) continue;
    Flag& f = flags_.emplace_back();
    f.key = row.key;
    f.is_list = row.is_list();
    f.is_bool = row.is_bool();
    const std::string help_line = row.help + " (key " + row.key + ")";
    if (row.flag[0] != '-')
      f.option = cmd->add_option(row.flag, f.value, help_line);  // positional
    else if (f.is_bool)
      f.option = cmd->add_flag(row.flag, f.on, help_line);
    else if (f.is_list)
      f.option =
          cmd->add_option(row.flag, f.values, help_line + ", comma separated")->delimiter(',');
    else
      f.option = cmd->add_option(row.flag, f.value, help_line);
    const char* kTypes[] = {"TEXT", "INT", "NUMBER", "", "LIST", "INTS", "NUMBERS", "TEXT"};
    if (!f.is_bool) f.option->type_name(kTypes[row.kind]);
  }
  config_help_footer(cmd, help);
}

YAML::Node ConfigCli::node() const {
  YAML::Node n = file_.empty() ? YAML::Node(YAML::NodeType::Map) : yaml_load_file(file_);
  for (const auto& f : flags_) {
    if (f.option->count() == 0) continue;
    YAML::Node v;
    if (f.is_bool) {
      v = YAML::Node(f.on);
    } else if (f.is_list) {
      v = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& s : f.values) v.push_back(s);
    } else {
      v = YAML::Node(f.value);
    }
    yaml_put(n, f.key, v);
  }
  for (const auto& s : sets_) yaml_set(n, s);
  return n;
}

}  // namespace stitch::cli
