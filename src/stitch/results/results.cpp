#include "stitch/results/results.h"

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "stitch/results/result_row.h"
#include "stitch/util/fs.h"

namespace stitch {

namespace {
std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  return s;
}

// Writes the files; the caller holds the results lock.
void results_write_locked(const std::string& dir, const std::vector<nlohmann::json>& rows) {
  std::string text;
  for (const auto& r : rows) text += r.dump() + "\n";
  const std::vector<std::string> columns = result_column_order(rows);  // result_row.h
  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i)
      csv += (i ? "," : "") + csv_cell(r.value(columns[i], nlohmann::json()));
    csv += "\n";
  }
  file_write_text(dir + "/results.jsonl", text);
  file_write_text(dir + "/results.csv", csv);
  file_write_text(dir + "/results.schema.json", result_schema().dump(1) + "\n");
}
}  // namespace

std::vector<nlohmann::json> results_read(const std::string& dir) {
  std::ifstream in(dir + "/results.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
    if (r.is_object()) rows.push_back(r);
  }
  return rows;
}

void results_append(const std::string& dir, const nlohmann::json& row) {
  file_append_line(dir + "/results.jsonl", row.dump());
}

void results_write(const std::string& dir, const std::vector<nlohmann::json>& rows) {
  FileLock lock(dir + "/results.jsonl.lock");  // the lock results_append takes
  results_write_locked(dir, rows);
}

std::vector<nlohmann::json> results_rebuild(
    const std::string& dir, const std::function<std::vector<nlohmann::json>()>& scan) {
  FileLock lock(dir + "/results.jsonl.lock");
  file_remove_stale_temps(dir);
  std::vector<nlohmann::json> rows = scan();
  results_write_locked(dir, rows);
  return rows;
}

}  // namespace stitch
