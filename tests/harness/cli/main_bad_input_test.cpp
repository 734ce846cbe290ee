// Bad input to the real binary, table-driven: every case exits 2 (a mistake the user can fix),
// says where the mistake is (the JSON path or the argument) and what was expected, and leaves
// no file behind. Cases found by a fuzzing and bad-command-line campaign (hardening issue).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::has;

class BadInput : public test::BinaryTest {
 protected:
  BadInput() : BinaryTest("posbench-bad-input-test") {}

  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(work()))
      out.push_back(fs::relative(e.path(), work()).string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// A valid experiment whose encoder list or params a case replaces.
std::string experiment_with(const std::string& encoders) {
  return R"({"experiments": [{"type": "offset_linearity", "dim": 16, "positions": 32,
      "offsets": [1], "encoders": )" +
         encoders + "}]}";
}

struct BadInputCase {
  const char* what;
  std::string config;                       // written to bad.json ("" for none)
  std::string args;                         // the command line after `posbench`
  std::vector<std::string> expected;        // each must appear on stderr
  std::vector<std::string> forbidden = {};  // none may appear on stderr
};

TEST_F(BadInput, EveryCaseExitsTwoNamesThePlaceAndLeavesNothing) {
  const std::string yarn_huge = experiment_with(R"([{"name": "rope", "params": {"scaling":
      {"rope_type": "yarn", "factor": 4,
       "original_max_position_embeddings": 18446744073709551615}}}])");
  const std::string llama3_huge = experiment_with(R"([{"name": "rope", "params": {"scaling":
      {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
       "original_max_position_embeddings": 9223372036854775808}}}])");
  const std::vector<BadInputCase> cases = {
      {"nesting far too deep",
       std::string(100000, '['),
       "validate bad.json",
       {"nested more than 64 levels"}},
      {"nesting too deep in run",
       std::string(100000, '['),
       "run bad.json -o out.json",
       {"nested more than 64 levels"}},
      {"number overflow at the top level",
       R"({"seed": 1e400, "experiments": []})",
       "validate bad.json",
       {"bad.json:1:10", "seed: number out of range: got 1e400"}},
      {"number overflow in params",
       experiment_with(R"([{"name": "rope", "params": {"scaling": {"rope_type": "linear",
           "factor": 1e400}}}])"),
       "validate bad.json",
       {"experiments[0].encoders[0].params.scaling.factor: number out of range"}},
      {"duplicate top-level key",
       R"({"seed": 0, "seed": 1, "experiments": []})",
       "validate bad.json",
       {"seed: duplicate key 'seed'"}},
      {"duplicate param key",
       experiment_with(R"([{"name": "rope", "params": {"base": 100, "base": 200}}])"),
       "run bad.json -o out.json",
       {"experiments[0].encoders[0].params.base: duplicate key"}},
      {"yarn original length above 2^63 - 1",
       yarn_huge,
       "validate bad.json",
       {"experiments[0].encoders[0].params.scaling.original_max_position_embeddings: got "
        "18446744073709551615"}},
      {"llama3 original length of 2^63",
       llama3_huge,
       "run bad.json -o out.json",
       {"scaling.original_max_position_embeddings: got 9223372036854775808"}},
      {"output inside a file",
       experiment_with(R"([{"name": "rope"}])"),
       "run bad.json -o bad.json/r.json",
       {"-o: bad.json/r.json: bad.json is not a directory"}},
      {"config is a directory", "", "validate .", {".: is a directory"}, {"malformed"}},
      {"threads 0",
       experiment_with(R"([{"name": "rope"}])"),
       "run bad.json --threads 0",
       {"--threads", "got '0', expected a whole number from 1 to 4096"}},
      {"threads negative",
       experiment_with(R"([{"name": "rope"}])"),
       "run bad.json --threads -1",
       {"--threads"},
       {"179769313486231570"}},
      {"threads not a number",
       experiment_with(R"([{"name": "rope"}])"),
       "run bad.json --threads abc",
       {"got 'abc', expected a whole number"}},
      // Printed DBL_MAX's 309 digits as the range (CLI11's own range check).
      {"apply offset negative",
       "",
       "apply rope --input in.npy --output out.npy --offset -1",
       {"--offset", "got '-1', expected a whole number from 0 to 9223372036854775807"},
       {"179769313486231570"}},
      {"null inside a shape",
       R"({"experiments": [{"type": "speed", "shapes": [{"seq": 4,
           "dim": null}], "encoders": [{"name": "alibi"}]}]})",
       "validate bad.json",
       {"experiments[0].shapes[0]: got {\"dim\":null,\"seq\":4}"}},
      {"half a shape given as null",
       R"({"experiments": [{"type": "speed", "shapes": [{"seq": 4,
           "heads": 2, "head_dim": null}], "encoders": [{"name": "alibi"}]}]})",
       "validate bad.json",
       {"experiments[0].shapes[0].head_dim: missing"}},
      {"encoder entry without a name",
       R"({"experiments": [{"type": "speed",
           "encoders": [{"label": "x"}]}]})",
       "validate bad.json",
       {"experiments[0].encoders[0].name: missing required"}},
      {"shape whose element count overflows 64 bits",
       R"({"experiments": [{"type": "speed",
           "shapes": [{"seq": 4294967296, "heads": 1, "head_dim": 2}],
           "encoders": [{"name": "alibi"}]}]})",
       "--max-memory 100000000G validate bad.json",
       {"experiments[0].shapes[0]: shape"}},
      {"shape whose heads * seq * seq overflows int64 but not uint64, in run",
       R"({"experiments": [{"type": "speed",
           "shapes": [{"seq": 3037000500, "heads": 1, "head_dim": 1}],
           "encoders": [{"name": "alibi"}]}]})",
       "--max-memory 100000000G run bad.json -o out.json",
       {"experiments[0].shapes[0]: shape 3037000500x1x1 is too large",
        "heads * seq * seq = 9223372037000250000", "at most 2^36"}},
      {"shape whose heads * seq * seq overflows 64 bits through heads",
       R"({"experiments": [{"type": "speed",
           "shapes": [{"seq": 65536, "heads": 1099511627776, "head_dim": 1}],
           "encoders": [{"name": "rope"}]}]})",
       "validate bad.json",
       {"experiments[0].shapes[0]: shape", "heads * seq * seq = more than 2^64"}},
      {"output names a directory",
       experiment_with(R"([{"name": "rope"}])"),
       "run bad.json -o nd/",
       {"-o: nd/: names a directory"}},
      {"plugin problems and config problems in one pass",
       R"({"plugins": [5, null], "seed": "x", "experiments": [{"type": "nope"}]})",
       "validate bad.json",
       {"plugins[0]", "plugins[1]", "seed: got \"x\"", "experiments[0].type"}},
      {"max-memory below a byte",
       experiment_with(R"([{"name": "rope"}])"),
       "--max-memory 0.5 validate bad.json",
       {"--max-memory: got '0.5'"}},
      // 9e9 GiB is above 2^63 bytes: a limit the guard could accept estimates up to would no
      // longer bound the int64 counts allocated after it.
      {"max-memory of 2^63 bytes or more",
       experiment_with(R"([{"name": "rope"}])"),
       "--max-memory 9000000000G validate bad.json",
       {"--max-memory: got '9000000000G'", "below 2^63 bytes"}},
      // Found by fuzzing: text that is not UTF-8 made the message itself throw (exit 1).
      {"role that is not UTF-8",
       "",
       R"x(apply rope --input in.npy --output out.npy --role "$(printf '\377')")x",
       {"--role: got \"\xEF\xBF\xBD\", expected one of query, key"},
       {"type_error"}},
  };
  for (const BadInputCase& c : cases) {
    SCOPED_TRACE(c.what);
    if (!c.config.empty()) write("bad.json", c.config);
    const auto r = run(c.args);
    EXPECT_TRUE(r.exited);
    EXPECT_EQ(r.code, 2) << r.err;
    for (const auto& e : c.expected)
      EXPECT_TRUE(has(r.err, e)) << "lacks '" << e << "':\n" << r.err;
    for (const auto& f : c.forbidden)
      EXPECT_FALSE(has(r.err, f)) << "has '" << f << "':\n" << r.err;
    const auto left = files();
    EXPECT_TRUE(left.empty() || left == std::vector<std::string>{"bad.json"})
        << "left behind: " << left.size() << " entries, first " << left.front();
    fs::remove(work() / "bad.json");
  }
}

TEST_F(BadInput, ApplyOffsetOutOfRangeIsEchoedAsGiven) {
  const auto r = run("apply rope --input in.npy --output out.npy --offset 9223372036854775808");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "got '9223372036854775808'")) << r.err;
  EXPECT_TRUE(files().empty());
}

TEST_F(BadInput, ApplyOutputInsideAFileIsRefusedBeforeReadingInput) {
  write("plain.txt", "x");
  const auto r = run("apply rope --input missing.npy --output plain.txt/out.npy");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--output: plain.txt/out.npy: plain.txt is not a directory")) << r.err;
}

TEST_F(BadInput, InterruptedRunLeavesOnlyFinishedUnitsAndSaysSo) {
  // A quick speed experiment (which has a side file, Google Benchmark's JSON) and then a slow
  // one, interrupted with SIGINT (Ctrl-C) or SIGTERM (kill) after 3 s: the speed experiment has
  // usually finished by then, and its side file must not exist, nor any results or temporary
  // file; only the records of finished units (out/r.json.units/<id>.json, for run --resume).
  write("slow.json", R"({"experiments": [
      {"type": "speed", "operations": ["table"], "shapes": [{"seq": 8, "dim": 8}],
       "min_time": 0.001, "repetitions": 1, "probe_mib": 1, "encoders": [{"name": "rope"}]},
      {"type": "offset_linearity", "dim": 256, "positions": 8192, "offsets": [1, 2, 3, 4, 5, 6],
       "encoders": [{"name": "sinusoidal"}, {"name": "rope"}, {"name": "xpos"}]}]})");
  const fs::path err = work().parent_path() / "interrupted.err";
  for (const auto& [name, number] : {std::pair{"INT", SIGINT}, std::pair{"TERM", SIGTERM}}) {
    SCOPED_TRACE(name);
    // posbench installs its own handler, so the SIGINT a non-interactive shell ignores for
    // background jobs still reaches it.
    const std::string cmd = "cd " + test::quoted(work()) + " && { " +
                            test::quoted(POSBENCH_BINARY) + " run slow.json -o out/r.json 2>" +
                            test::quoted(err) + " & pid=$!; sleep 3; kill -" + name +
                            " $pid; wait $pid; }";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + number) << test::read_file(err);  // as a shell reports
    EXPECT_TRUE(has(test::read_file(err), "interrupted; no results were written"))
        << test::read_file(err);
    EXPECT_TRUE(has(test::read_file(err), "run again with --resume")) << test::read_file(err);
    const std::regex record(R"(out/r\.json\.units/[0-9a-f]{16}\.json)");
    for (const auto& f : files())
      EXPECT_TRUE(f == "slow.json" || f == "out" || f == "out/r.json.units" ||
                  std::regex_match(f, record))
          << "left behind: " << f;
    fs::remove_all(work() / "out");
  }
}

}  // namespace
}  // namespace posbench
