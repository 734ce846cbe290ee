// Fuzz target: `posbench apply` end to end (harness/cli/apply_command.h), on files as the CLI
// runs it. Input:
//   line 1  scheme name            line 3  --offset (a whole number; anything else is skipped:
//   line 2  --params (JSON text)            the CLI refuses it before apply_command runs)
//   line 4  --role                 rest    the input .npy file's bytes
// apply_command reads the input from a scratch file and writes the output to another.
//
// Expected: a UserError. A finding: any other exception, a sanitizer report, or an output that
// apply_command wrote without complaint but that is not a readable .npy of the input's dtype and
// shape, or holds NaN/inf (the input had none: read_npy refuses them).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "encoders/error.h"
#include "encoders/npy.h"
#include "harness/cli/apply_command.h"
#include "tests/fuzz/fuzz_util.h"

using namespace posbench;

namespace {

// --max-memory: bounds what one input may make apply allocate.
constexpr uint64_t kMaxMemory = uint64_t(256) << 20;

void check_output(const ApplyArgs& args) {
  NpyArray in, out;
  try {
    in = read_npy(args.input);
    out = read_npy(args.output);  // refuses NaN/inf with a UserError naming the element
  } catch (const UserError& e) {
    fuzz::fail("apply " + args.scheme + " --params '" + args.params_json + "' --offset " +
               std::to_string(args.offset) + " --role " + args.role +
               " succeeded, but its output is not valid: " + e.what());
  }
  if (out.dtype != in.dtype || out.shape != in.shape)
    fuzz::fail("apply changed the dtype or shape of the array");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  ApplyArgs args;
  args.scheme = std::string(fuzz::take_line(rest));
  args.params_json = std::string(fuzz::take_line(rest));
  const std::string_view offset = fuzz::take_line(rest);
  const auto [end, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), args.offset);
  if (ec != std::errc() || end != offset.data() + offset.size()) return 0;
  args.role = std::string(fuzz::take_line(rest));
  args.input = fuzz::scratch_file("in.npy", rest).string();
  args.output = fuzz::fresh_scratch_path("out.npy").string();
  args.max_memory = kMaxMemory;
  if (fuzz::expect_user_errors_only([&] { apply_command(args); })) check_output(args);
  return 0;
}
