// trained_extrapolation is listed in every build. Without libtorch (POSBENCH_TORCH=OFF, as in
// CI's sanitizer stage) its stand-in (harness/experiments/trained/unavailable.cpp) declares the
// same parameters and refuses to be built, naming the package; `posbench validate` exits 2. With
// libtorch, the real experiment builds from the same declarations. (No torch in this file: it is
// compiled in both builds; the torch build's own tests are in trained/.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "encoders/experiment.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

bool built_without_torch() {
  const ExperimentInfo& info = ExperimentRegistry::instance().get("trained_extrapolation", "");
  return info.source.find("unavailable.cpp") != std::string::npos;
}

TEST(TrainedAvailability, ListedWithItsParamsAndRefusedWithoutTorch) {
  const ExperimentInfo& info = ExperimentRegistry::instance().get("trained_extrapolation", "");
  ASSERT_NE(find_param(info.params, "train_length"), nullptr);
  ASSERT_NE(find_param(info.params, "position_sampling"), nullptr);
  Diagnostics diag;
  const nlohmann::json resolved = resolve_params(info.params, nlohmann::json::object(), "", diag);
  ASSERT_TRUE(diag.ok());
  if (built_without_torch()) {
    EXPECT_NE(info.description.find("UNAVAILABLE"), std::string::npos);
    try {
      info.factory(Params(resolved));
      ADD_FAILURE() << "the stand-in was built";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("apt-get install libtorch-dev"), std::string::npos)
          << e.what();
    }
  } else {
    EXPECT_EQ(info.description.find("UNAVAILABLE"), std::string::npos);
    EXPECT_NE(info.factory(Params(resolved)), nullptr);
  }
}

TEST(TrainedAvailability, ValidateExitCodeSaysWhetherThisBuildHasTorch) {
  test::TempDir dir;
  const auto cfg = dir / "c.json";
  std::ofstream(cfg) << R"({"experiments": [{"type": "trained_extrapolation", "train_length": 4,
                           "encoders": [{"name": "rope"}]}]})";
  const std::string cmd = std::string(POSBENCH_BINARY) + " validate " + cfg.string() + " >" +
                          (dir / "out").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  const std::string out = test::read_file(dir / "out");
  if (built_without_torch()) {
    EXPECT_EQ(WEXITSTATUS(rc), 2) << out;
    EXPECT_NE(out.find("experiments[0]"), std::string::npos) << out;
    EXPECT_NE(out.find("apt-get install libtorch-dev"), std::string::npos) << out;
  } else {
    EXPECT_EQ(WEXITSTATUS(rc), 0) << out;
  }
}

}  // namespace
}  // namespace posbench
