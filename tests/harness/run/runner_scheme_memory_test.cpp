// The memory guard counts what a scheme keeps (Encoder::memory_bytes) at every shape an
// experiment uses it at, for every registered experiment: the shapes are the ones the
// experiment's check() passes to check_shape, so no experiment can forget to count a learned
// table of 40 million rows. Iterates ExperimentRegistry, so an experiment added later is covered.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "encoders/experiment.h"
#include "harness/experiments/trained/spec.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

constexpr uint64_t kSchemeBytes = uint64_t(1) << 40;  // 1 TiB per shape

// Stands in for a scheme with huge weights: accepts every shape, records the shapes it was
// checked at and keeps kSchemeBytes per (dim, heads).
class Heavy final : public Encoder {
 public:
  explicit Heavy(const Encoder& real) : real_(real) {}
  Family family() const override { return real_.family(); }
  void check_shape(int64_t dim, int64_t heads) const override { checked.insert({dim, heads}); }
  uint64_t memory_bytes(int64_t, int64_t) const override { return kSchemeBytes; }
  bool bias_is_relative() const override { return real_.bias_is_relative(); }
  int64_t rotary_dims(int64_t head_dim) const override { return real_.rotary_dims(head_dim); }
  RotaryPairing rotary_pairing() const override { return real_.rotary_pairing(); }
  mutable std::set<std::pair<int64_t, int64_t>> checked;

 private:
  const Encoder& real_;
};

// A build without libtorch (CI's sanitizer stage) registers trained_extrapolation as an
// unavailable stand-in that validation refuses; it has no memory to count.
bool unavailable(const ExperimentInfo& info) {
  return info.name == "trained_extrapolation" && !trained::available();
}

// Each registered experiment that this build can run, with its default params and one scheme
// per family.
Plan every_experiment() {
  json experiments = json::array();
  for (const ExperimentInfo* info : ExperimentRegistry::instance().all())
    if (!unavailable(*info))
      experiments.push_back(
          {{"type", info->name},
           {"encoders", {{{"name", "sinusoidal"}}, {{"name", "rope"}}, {{"name", "alibi"}}}}});
  Diagnostics diag;
  Plan plan = build_plan({{"experiments", experiments}}, diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return plan;
}

TEST(SchemeMemory, EveryExperimentCountsTheSchemeAtEveryShapeItUses) {
  const Plan plan = every_experiment();
  size_t runnable = 0;
  for (const ExperimentInfo* info : ExperimentRegistry::instance().all())
    runnable += unavailable(*info) ? 0 : 1;
  ASSERT_EQ(plan.experiments.size(), runnable);
  for (const auto& e : plan.experiments)
    for (const auto& enc : e.encoders) {
      SCOPED_TRACE(e.type + " / " + enc.label);
      EncoderInstance heavy = enc;
      auto scheme = std::make_shared<Heavy>(*enc.encoder);
      heavy.encoder = scheme;
      const uint64_t counted = scheme_memory_bytes(*e.experiment, heavy);
      // The experiment's own check() saw the shapes; each is counted once.
      ASSERT_FALSE(scheme->checked.empty()) << "check() never called check_shape";
      EXPECT_EQ(counted, kSchemeBytes * scheme->checked.size());
    }
}

TEST(SchemeMemory, TheGuardRefusesASchemeTooLargeAndSaysWhy) {
  Plan plan = every_experiment();
  auto& enc = plan.experiments[0].encoders[0];
  auto scheme = std::make_shared<Heavy>(*enc.encoder);
  enc.encoder = scheme;
  try {
    check_memory(plan, uint64_t(64) << 20);
    FAIL() << "a 1 TiB scheme passed a 64 MiB limit";
  } catch (const UserError& err) {
    ASSERT_FALSE(err.problems().empty());
    const Problem& p = err.problems()[0];
    EXPECT_EQ(p.path, enc.path);
    EXPECT_TRUE(test::has(p.message, "the scheme's own weights and tables 1.0 TiB")) << p.message;
    EXPECT_TRUE(test::has(p.message, "above the memory limit 64.0 MiB")) << p.message;
  }
}

}  // namespace
}  // namespace posbench
