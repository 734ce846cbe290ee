// A test plugin registering "taken_name_extra" (new) and "rope" (built in): the load fails,
// and "taken_name_extra" must be withdrawn with it.
#include "encoders/registry.h"

namespace {

using namespace posbench;

class Nothing final : public Encoder {
 public:
  Family family() const override { return Family::bias; }
  void check_shape(int64_t, int64_t) const override {}
};

std::unique_ptr<Encoder> make(const Params&) { return std::make_unique<Nothing>(); }

const EncoderRegistration kExtra{{.name = "taken_name_extra",
                                  .family = Family::bias,
                                  .description = "test plugin: withdrawn with its plugin",
                                  .version = 1,
                                  .params = {},
                                  .factory = make}};
const EncoderRegistration kTaken{{.name = "rope",
                                  .family = Family::bias,
                                  .description = "test plugin: a taken name",
                                  .version = 1,
                                  .params = {},
                                  .factory = make}};

}  // namespace

POSBENCH_PLUGIN();
