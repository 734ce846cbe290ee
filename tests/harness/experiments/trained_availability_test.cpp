// trained_extrapolation is listed in every build. Without libtorch (POSBENCH_TORCH=OFF, as in
// CI's sanitizer stage) the registration (harness/experiments/trained/registration.cpp) declares
// the same parameters and refuses to build it, naming the package; `posbench validate` exits 2.
// With libtorch, the experiment builds from the same declarations, in this process without
// libtorch linked: it loads the torch module libposbench_trained.so on first use. (No torch in this
// file: it is compiled in both builds; the torch build's own tests are in trained/.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "encoders/experiment.h"
#include "harness/experiments/trained/spec.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

bool built_without_torch() { return !trained::available(); }

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
    // Built here by the torch module, loaded on first use into this process, which does not
    // link libtorch (the next test).
    std::ifstream maps("/proc/self/maps");
    std::stringstream text;
    text << maps.rdbuf();
    EXPECT_NE(text.str().find("libposbench_trained.so"), std::string::npos);
    EXPECT_NE(text.str().find("libtorch"), std::string::npos);
  }
}

// posbench starts without libtorch (which costs ~0.9 s of start-up to every process): the
// executable does not link it, in either build; only the module does.
TEST(TrainedAvailability, PosbenchDoesNotLinkLibtorch) {
  test::TempDir dir;
  const std::string cmd =
      "ldd " + std::string(POSBENCH_BINARY) + " >" + (dir / "ldd").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string ldd = test::read_file(dir / "ldd");
  EXPECT_NE(ldd.find("libc.so"), std::string::npos) << ldd;  // ldd did list the libraries
  EXPECT_EQ(ldd.find("libtorch"), std::string::npos) << ldd;
  EXPECT_EQ(ldd.find("libc10"), std::string::npos) << ldd;
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
