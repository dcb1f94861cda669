// `stitch similarity` end to end through the real binary: every point pair, zip pairs, token
// layouts, resuming, and the one-line errors for bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "stitch/results/results.h"
#include "test_util.h"

using stitch::test::expect_one_line_error;
using stitch::test::run_cli;

TEST(Cli, SimilarityOfAModelWithItself) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cnn = stitch::test::arch_file("cnn");
  auto r = run_cli("similarity " + cnn + " " + cnn +
                   " --points-a block3,head --points-b head --samples 400 --batch 100 --k 5 "
                   "--device cpu --out-dir " +
                   dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto rows = stitch::results_read(dir + "/similarity");
  ASSERT_EQ(rows.size(), 2u);
  const auto& same = rows[1];  // head vs head: identical representations
  EXPECT_EQ(same["front_point"], "head");
  for (const char* m :
       {"linear_cka", "unbiased_cka", "minibatch_cka", "svcca", "pwcca", "mutual_knn"})
    EXPECT_NEAR(same[m].get<double>(), 1.0, 1e-6) << m;
  // platonic-rep's CKNNA divides by sqrt(sim_kk sim_ll) + 1e-6: just under 1 for equal inputs.
  EXPECT_EQ(same["cknna_features"], "platonic");
  EXPECT_NEAR(same["cknna"].get<double>(), 1.0, 1e-3);
  EXPECT_LE(same["cknna"].get<double>(), 1.0);
  EXPECT_LT(rows[0]["linear_cka"].get<double>(), 1.0 - 1e-6) << "block3 vs head differ";
  // block3 has 3136 features for 400 samples: PWCCA is undefined there and recorded as skipped.
  EXPECT_FALSE(rows[0].contains("pwcca"));
  EXPECT_NE(rows[0]["pwcca_skipped"].get<std::string>().find("more samples"), std::string::npos);
  EXPECT_EQ(same["svcca_dims_front"], same["svcca_dims_end"]);
  EXPECT_LT(same["svcca_dims_front"].get<int>(), 128) << "99 % of the variance, not every unit";
  EXPECT_EQ(same["front_sha256"], same["end_sha256"]);
  expect_one_line_error(run_cli("similarity " + cnn + " " + cnn +
                                " --points-a block1 --points-b block2 --metrics cka2"),
                        "unknown similarity metric 'cka2'");
  expect_one_line_error(run_cli("similarity " + cnn + " " + cnn +
                                " --points-a block1 --points-b block2 --k 500 --samples 100 "
                                "--metrics mutual_knn --out-dir " +
                                dir),
                        "k must be in [1, n-1]");
}

// vit tokens as rows ([n*16, 64], what its per-token stitch maps), points paired i-th with i-th;
// a second identical run reuses the stored rows instead of recomputing or duplicating them.
TEST(Cli, SimilarityZipPairsTokenRowsAndResume) {
  const std::string dir = stitch::test::temp_dir();
  const std::string vit = stitch::test::arch_file("vit");
  const std::string args = "similarity " + vit + " " + vit +
                           " --points-a patch_embed,blocks.1 --points-b patch_embed,blocks.0 "
                           "--pairs zip --layout positions --metrics procrustes,linear_cka "
                           "--samples 64 --batch 32 --device cpu --out-dir " +
                           dir;
  auto r = run_cli(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto rows = stitch::results_read(dir + "/similarity");
  ASSERT_EQ(rows.size(), 2u) << "zip: 2 pairs, not the 2 x 2 grid";
  EXPECT_EQ(rows[0]["end_point"], "patch_embed");
  EXPECT_EQ(rows[1]["front_point"], "blocks.1");
  EXPECT_EQ(rows[1]["end_point"], "blocks.0");
  for (const auto& row : rows) {
    EXPECT_EQ(row["rows"], 64 * 16) << "one row per token";
    EXPECT_EQ(row["front_features"], 64);
    EXPECT_EQ(row["procrustes_fit_rows"], 32 * 16) << "fit on the first half of the images";
    EXPECT_EQ(row["procrustes_underdetermined"], false);
  }
  // The same point of the same model: the rotation is the identity and explains everything.
  EXPECT_NEAR(rows[0]["procrustes_r_minus_i_over_sqrt_2d"].get<double>(), 0.0, 1e-6);
  EXPECT_NEAR(rows[0]["procrustes_ev_before"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(rows[0]["procrustes_ev_after"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(rows[0]["linear_cka"].get<double>(), 1.0, 1e-9);
  EXPECT_LT(rows[1]["procrustes_ev_after"].get<double>(), 1.0 - 1e-6) << "different blocks";
  auto again = run_cli(args);
  ASSERT_EQ(again.rc, 0) << again.err;
  auto table = [](const std::string& out) { return out.substr(out.find("point_a")); };
  EXPECT_EQ(table(again.out), table(r.out)) << "the same table from the stored rows";
  EXPECT_NE(again.out.find("2 of 2 pairs already in"), std::string::npos) << again.out;
  EXPECT_EQ(stitch::results_read(dir + "/similarity").size(), 2u) << "nothing appended twice";
}

TEST(Cli, SimilarityBadInputIsOneLine) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cnn = stitch::test::arch_file("cnn") + " " + stitch::test::arch_file("cnn");
  const std::string out = " --device cpu --out-dir " + dir;
  expect_one_line_error(
      run_cli("similarity " + cnn + " --points-a block1,block2 --points-b head --pairs zip" + out),
      "pairs=zip needs as many points for A as for B, got 2 and 1");
  expect_one_line_error(
      run_cli("similarity " + cnn + " --points-a block1 --points-b head --layout rows" + out),
      "config key 'layout': 'rows' is not one of: flatten, pool, positions");
  expect_one_line_error(
      run_cli("similarity " + cnn + " --points-a block1 --points-b head --samples 4" + out),
      "config key 'samples': 4 is out of range [8, 1000000000]");
  expect_one_line_error(run_cli("similarity " + cnn + " --points-a '' --points-b head" + out),
                        "point");
  expect_one_line_error(run_cli("similarity " + cnn + " --points-a block9 --points-b head" + out),
                        "block9");
  for (const char* metrics : {"linear_cka", "minibatch_cka"})  // whole-data and streamed paths
    expect_one_line_error(run_cli("similarity " + cnn +
                                  " --points-a block1 --points-b block2 --layout positions "
                                  "--samples 64 --batch 32 --metrics " +
                                  metrics + out),
                          "A at block1 gives 196 rows per input but B at block2 gives 49");
  const std::string nan = stitch::test::fixture("nan_act_toy.pt");
  expect_one_line_error(run_cli("similarity " + nan + " " + nan +
                                " --points-a log --points-b a --samples 64 --batch 32" + out),
                        "activations of A at log has NaN or Inf values");
}

// `stitch activations` writes real HDF5 that h5py (an independent reader) understands, and
// similarity on the exported files gives the rows it gives on the models themselves (same
// batches, so the same float32 activations).
TEST(Cli, SimilarityFromExportedActivationFiles) {
  const std::string dir = stitch::test::temp_dir();
  const std::string a = stitch::test::arch_file("cnn"), b = stitch::test::fixture("cnn_a.pt");
  const std::string common = " --samples 120 --device cpu";
  ASSERT_EQ(run_cli("activations " + a + " --points block1,head --batch 40 --out " + dir + "/a.h5" +
                    common)
                .rc,
            0);
  ASSERT_EQ(run_cli("activations " + b + " --points block2,head --batch 40 --out " + dir + "/b.h5" +
                    common)
                .rc,
            0);
  const std::string py = dir + "/py.txt";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import h5py; f = h5py.File('" + dir +
                         "/a.h5', 'r'); print(sorted(f.keys()), f['block1'].shape, "
                         "f['head'].dtype, f['indices'][:3].tolist(), f.attrs['split'], "
                         "f.attrs['model_sha256'])\" > " +
                         py)
                            .c_str()),
            0);
  const std::string seen = stitch::test::read_file(py);
  EXPECT_NE(seen.find("['block1', 'head', 'indices', 'labels'] (120, 16, 14, 14) float32 "
                      "[0, 1, 2] test"),
            std::string::npos)
      << seen;

  const std::string pts =
      " --points-a block1,head --points-b block2,head --batch 40 --k 5 "
      "--metrics linear_cka,unbiased_cka,mutual_knn,procrustes --out-dir " +
      dir + common;
  ASSERT_EQ(run_cli("similarity " + a + " " + b + pts + " --name models").rc, 0);
  auto files = run_cli("similarity " + dir + "/a.h5 " + dir + "/b.h5" + pts + " --name files");
  ASSERT_EQ(files.rc, 0) << files.err;
  const auto m = stitch::results_read(dir + "/models"), f = stitch::results_read(dir + "/files");
  ASSERT_EQ(m.size(), 4u);
  ASSERT_EQ(f.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(f[i]["front_sha256"], m[i]["front_sha256"]) << "the file names its model";
    EXPECT_EQ(f[i]["end_point"], m[i]["end_point"]);
    for (const char* k : {"linear_cka", "unbiased_cka", "mutual_knn", "procrustes_ev_after"})
      EXPECT_NEAR(f[i][k].get<double>(), m[i][k].get<double>(), 1e-9) << k << " row " << i;
  }
  EXPECT_NE(seen.find(m[0]["front_sha256"].get<std::string>()), std::string::npos);

  const std::string files_ab = "similarity " + dir + "/a.h5 " + dir + "/b.h5 --out-dir " + dir;
  expect_one_line_error(run_cli(files_ab + " --points-a block3 --points-b head"),
                        "has no activations for point 'block3'; it has: block1, head");
  expect_one_line_error(run_cli(files_ab + " --points-a head --points-b head --samples 200"),
                        "holds 120 samples, 200 are needed; use --samples 120");
  ASSERT_EQ(
      run_cli("activations " + b + " --points head --split train --out " + dir + "/t.h5" + common)
          .rc,
      0);
  expect_one_line_error(run_cli("similarity " + dir + "/a.h5 " + dir +
                                "/t.h5 --points-a head "
                                "--points-b head --samples 120 --out-dir " +
                                dir),
                        "A holds test activations but B holds train");
  expect_one_line_error(run_cli("activations " + a + " --points block1 --out /nonexistent/x.h5"),
                        "nonexistent");
}

// Settings from a YAML file, overridden by flags and then by --set; the resolved settings are
// written next to the results; a misspelt key is one line with the nearest valid key.
TEST(Cli, SimilarityFromYamlConfigWithOverrides) {
  const std::string dir = stitch::test::temp_dir();
  const std::string cnn = stitch::test::arch_file("cnn");
  const std::string cfg = dir + "/sim.yaml";
  {
    std::ofstream f(cfg);
    f << "name: cfg\nout_dir: " << dir << "\nmodel_a: " << cnn << "\nmodel_b: " << cnn
      << "\npoints_a: [block1, block2]\npoints_b: [block3]\nmetrics: [linear_cka]\n"
         "samples: 64\nbatch: 32\ndevice: cpu\n";
  }
  auto r = run_cli("similarity --config " + cfg + " --points-b head --set samples=96");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto rows = stitch::results_read(dir + "/cfg");
  ASSERT_EQ(rows.size(), 2u) << "block1, block2 x head";
  for (const auto& row : rows) {
    EXPECT_EQ(row["end_point"], "head") << "the flag overrides the file";
    EXPECT_EQ(row["samples"], 96) << "--set overrides the file";
    EXPECT_FALSE(row.contains("unbiased_cka")) << "only the metrics asked for";
  }
  const YAML::Node resolved = YAML::LoadFile(dir + "/cfg/config.resolved.yaml");
  EXPECT_EQ(resolved["samples"].as<int>(), 96);
  EXPECT_EQ(resolved["points_b"][0].as<std::string>(), "head");
  EXPECT_EQ(resolved["layout"].as<std::string>(), "flatten") << "defaults are written out";
  expect_one_line_error(run_cli("similarity --config " + cfg + " --set layuot=pool"),
                        "unknown config key 'layuot'; did you mean 'layout'?");
  expect_one_line_error(run_cli("similarity --points-a block1 --points-b head"),
                        "give two models or activation files");
  expect_one_line_error(run_cli("similarity --config " + dir + "/missing.yaml"), "missing.yaml");
}
