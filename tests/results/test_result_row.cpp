// results/: the result row declared once drives the column order, the schema and the printed
// table; results files written from it.
#include <gtest/gtest.h>

#include <set>

#include "stitch/results/result_row.h"
#include "stitch/results/results.h"
#include "test_util.h"

using namespace stitch;
using Json = nlohmann::json;

// The declaration drives the CSV order, the schema and the printed table.
TEST(ResultRow, DeclarationDrivesColumnsSchemaAndTable) {
  std::set<std::string> names;
  for (const auto& c : result_columns()) EXPECT_TRUE(names.insert(c.name).second) << c.name;
  const Json a{{"zzz_extra", 1},         {"stitched_acc", 0.5}, {"stitched_acc_lo", 0.4},
               {"stitched_acc_hi", 0.6}, {"method", "tlm"},     {"seed", 0},
               {"front_point", "b1"},    {"end_point", "b2"}};
  const auto order = result_column_order({a});
  const std::vector<std::string> want{"method",          "seed",         "front_point",
                                      "end_point",       "stitched_acc", "stitched_acc_lo",
                                      "stitched_acc_hi", "zzz_extra"};
  EXPECT_EQ(order, want);
  EXPECT_EQ(result_undeclared(a), std::vector<std::string>{"zzz_extra"});
  const std::string table = result_table_text({a});
  EXPECT_NE(table.find("stitched%"), std::string::npos) << table;
  EXPECT_NE(table.find("50.00±10.00"), std::string::npos) << table;
  EXPECT_EQ(table.find("end%"), std::string::npos) << "columns no row has are not printed";
  const std::string dir = test::temp_dir();
  results_write(dir, {a});
  const std::string csv = test::read_file(dir + "/results.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "method,seed,front_point,end_point,stitched_acc,stitched_acc_lo,stitched_acc_hi,"
            "zzz_extra");
  const Json schema = Json::parse(test::read_file(dir + "/results.schema.json"));
  EXPECT_EQ(schema.size(), result_columns().size());
}
