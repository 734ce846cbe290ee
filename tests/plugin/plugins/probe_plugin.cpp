// A test plugin compiled with -fvisibility=hidden -fvisibility-inlines-hidden that registers
// one scheme and one experiment. Its registrations must reach the executable's registries.
//   scheme  constant_bias : b_h(i, j) = -value (any h, i, j)
//   experiment  bias_probe : metric "bias" = b_head(i, j) of each bias scheme, from `heads`
//                            heads; other families are not_applicable.
#include <string>
#include <vector>

#include "encoders/experiment.h"

namespace {

using namespace posbench;

class ConstantBias final : public Encoder {
 public:
  explicit ConstantBias(const Params& p) : value_(p.number("value")) {}
  Family family() const override { return Family::bias; }
  void check_shape(int64_t, int64_t) const override {}
  void bias(std::span<const int64_t> q, std::span<const int64_t> k, int64_t heads,
            double* out) const override {
    for (size_t n = 0; n < size_t(heads) * q.size() * k.size(); ++n) out[n] = -value_;
  }

 private:
  double value_;
};

const EncoderRegistration kScheme{{
    .name = "constant_bias",
    .family = Family::bias,
    .description = "test plugin: the same bias -value everywhere",
    .version = 1,
    .params = {ParamSpec::number("value", 1.0, "the constant")},
    .factory = [](const Params& p) { return std::make_unique<ConstantBias>(p); },
}};

class BiasProbe final : public Experiment {
 public:
  explicit BiasProbe(const Params& p)
      : heads_(p.integer("heads")),
        head_(p.integer("head")),
        i_(p.integer("i")),
        j_(p.integer("j")) {
    if (head_ >= heads_)
      throw UserError("head", "got " + std::to_string(head_) + ", expected < heads (" +
                                  std::to_string(heads_) + ")");
  }
  // Only bias schemes are probed; the others are reported not_applicable.
  void check(const EncoderInstance& enc) const override {
    if (enc.family == Family::bias) enc.encoder->check_shape(0, heads_);
  }
  uint64_t memory_bytes(const EncoderInstance&) const override { return 8 * uint64_t(heads_); }
  EncoderOutcome run(const EncoderInstance& enc, const RunContext&) const override {
    EncoderOutcome o;
    o.label = enc.label;
    if (enc.family != Family::bias) {
      o.status = Status::not_applicable;
      o.note = "not a bias scheme";
      return o;
    }
    const int64_t q[] = {i_}, k[] = {j_};
    std::vector<double> b(heads_);
    enc.encoder->bias(q, k, heads_, b.data());
    o.metrics.push_back({"bias", b[head_], "1"});
    return o;
  }

 private:
  int64_t heads_, head_, i_, j_;
};

const ExperimentRegistration kExperiment{{
    .name = "bias_probe",
    .description = "test plugin: one bias value b_head(i, j) per scheme",
    .params =
        {
            ParamSpec::integer("heads", 2, "heads").at_least(1).at_most(64),
            ParamSpec::integer("head", 0, "the head probed").at_least(0),
            ParamSpec::integer("i", 1, "query position").at_least(0),
            ParamSpec::integer("j", 0, "key position").at_least(0),
        },
    .factory = [](const Params& p) { return std::make_unique<BiasProbe>(p); },
}};

}  // namespace

POSBENCH_PLUGIN();
