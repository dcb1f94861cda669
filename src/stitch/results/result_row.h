#pragma once
// The result row, declared once: every column a stitching job or a similarity pair writes (the
// summary of result.json, one line of results.jsonl, one row of results.csv), in results.csv's
// order, with its unit, meaning and interval. The CSV column order, `stitch run`'s printed
// table and results.schema.json (what scripts/report.py reads for labels, units and intervals)
// all come from this table; tests fail for a row key that is not declared here.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stitch {

enum class Interval { kNone, kWilson, kBootstrap };

struct ResultColumn {
  const char* name;
  const char* unit;   // "share" (0..1, shown in %), "points" (difference of shares), "" (other)
  Interval interval;  // kWilson / kBootstrap: <name>_lo and <name>_hi hold its 95 % interval
  const char* help;
  const char* print;  // header in `stitch run`'s table ("" = not printed)
};

const std::vector<ResultColumn>& result_columns();
const ResultColumn* result_column(const std::string& name);  // nullptr when not declared

// The keys of `row` that are not declared (an interval's _lo/_hi count as declared).
std::vector<std::string> result_undeclared(const nlohmann::json& row);
// results.csv's columns for `rows`: declared ones in declared order (with _lo/_hi after their
// metric), then any undeclared key alphabetically; only columns some row has.
std::vector<std::string> result_column_order(const std::vector<nlohmann::json>& rows);
// `stitch run`'s table: the printed columns that some row has, one line per row.
std::string result_table_text(const std::vector<nlohmann::json>& rows);
// The declaration as JSON (results.schema.json): [{name, unit, interval, help}, ...].
nlohmann::json result_schema();

}  // namespace stitch
