// Out-of-tree plugins, with the plugins built by tests/plugin/CMakeLists.txt:
//   liblinear_decay.so     examples/plugin/linear_decay.cpp (b_h = -slope ratio^h |i-j|^p)
//   libprobe_plugin.so     hidden visibility; scheme constant_bias, experiment bias_probe
//   lib*_plugin.so         bad plugins: version 999, no version, unresolved symbol, a taken
//                          name, nothing registered
// The real binary for every subcommand (exit codes, one-line errors, results file), and
// load_plugin in this process (one shared registry, withdrawal after a failed load).
// Building examples/plugin against an installed SDK is ctest `plugin_out_of_tree`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "encoders/registry.h"
#include "harness/run/plugins.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::has;
using test::quoted;
using test::read_file;
using Result = test::BinaryResult;

fs::path plugin(const std::string& name) {
  return fs::path(POSBENCH_TEST_PLUGIN_DIR) / ("lib" + name + ".so");
}

// The example scheme's formula, written independently: -slope * ratio^h * |i - j|^power.
double linear_decay_reference(double slope, double ratio, double power, int h, double i, double j) {
  double s = slope;
  for (int k = 0; k < h; ++k) s *= ratio;
  return -s * std::exp(power * std::log(std::fabs(i - j)));
}

class PluginCli : public test::BinaryTest {
 protected:
  PluginCli() : BinaryTest("posbench-plugin-test") {}

  // A user error from a plugin: exit 2, nothing on stdout, exactly one line on stderr,
  // "posbench: error: plugin PATH: ..." containing `needle`.
  static void expect_plugin_error(const Result& r, const fs::path& path,
                                  const std::string& needle) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("posbench: error: plugin " + path.string() + ": ", 0), 0u) << r.err;
    EXPECT_TRUE(has(r.err, needle)) << "expected '" << needle << "' in: " << r.err;
  }
};

TEST_F(PluginCli, ListShowsTheSchemeOnlyWithThePlugin) {
  Result without = run("list");
  ASSERT_EQ(without.code, 0) << without.err;
  EXPECT_FALSE(has(without.out, "linear_decay"));

  Result r = run("--plugin " + quoted(plugin("linear_decay")) + " list");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "linear_decay")) << r.out;
  EXPECT_TRUE(has(r.out, "example plugin: bias -slope*ratio^h |i - j|^power")) << r.out;
  EXPECT_TRUE(has(r.out, "rope")) << r.out;  // built-ins still there
}

TEST_F(PluginCli, RepeatableAndAcceptedAfterTheSubcommand) {
  // Two plugins, one of them compiled with -fvisibility=hidden: both reach the registries.
  Result r = run("list --json --plugin " + quoted(plugin("linear_decay")) + " --plugin " +
                 quoted(plugin("probe_plugin")));
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  auto find = [](const json& list, const std::string& name) -> const json* {
    for (const auto& e : list)
      if (e["name"] == name) return &e;
    return nullptr;
  };
  const json* ld = find(j["encoders"], "linear_decay");
  const json* cb = find(j["encoders"], "constant_bias");
  const json* probe = find(j["experiments"], "bias_probe");
  ASSERT_NE(ld, nullptr);
  ASSERT_NE(cb, nullptr);
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ((*ld)["family"], "bias");
  EXPECT_EQ((*ld)["source"], plugin("linear_decay").string() + " (linear_decay.cpp)");
  EXPECT_EQ((*cb)["source"], plugin("probe_plugin").string() + " (probe_plugin.cpp)");
  EXPECT_EQ((*probe)["source"], plugin("probe_plugin").string() + " (probe_plugin.cpp)");
}

TEST_F(PluginCli, DescribeShowsDeclaredParams) {
  Result r = run("describe linear_decay --json --plugin " + quoted(plugin("linear_decay")));
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["params"].size(), 3u);
  EXPECT_EQ(j["params"][0]["name"], "slope");
  EXPECT_EQ(j["params"][0]["default"], 0.5);
  EXPECT_EQ(j["params"][1]["name"], "ratio");
  EXPECT_EQ(j["params"][2]["name"], "power");
  EXPECT_EQ(j["params"][2]["default"], 1.0);
}

// A float64 .npy of the given shape, written here by hand (format 1.0).
std::string npy_float64(const std::vector<int64_t>& shape, const std::vector<double>& data) {
  std::string dims;
  for (auto d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double));
  return out;
}

TEST_F(PluginCli, ApplyUsesThePluginScheme) {
  const int heads = 2, nq = 3, nk = 4, offset = 5;
  write("logits.npy", npy_float64({heads, nq, nk}, std::vector<double>(heads * nq * nk, 1.0)));
  Result r = run("--plugin " + quoted(plugin("linear_decay")) +
                 " apply linear_decay --input logits.npy --output out.npy --offset 5 --params "
                 "'{\"slope\": 2, \"ratio\": 0.25, \"power\": 0.5}'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string bytes = read_file(work() / "out.npy");
  ASSERT_GT(bytes.size(), 10u);
  const size_t header_len = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
  ASSERT_EQ(bytes.size(), 10 + header_len + sizeof(double) * heads * nq * nk);
  EXPECT_TRUE(has(bytes.substr(10, header_len), "'<f8'"));
  std::vector<double> got(heads * nq * nk);
  std::memcpy(got.data(), bytes.data() + 10 + header_len, got.size() * sizeof(double));
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < nq; ++i)
      for (int j = 0; j < nk; ++j)
        EXPECT_NEAR(got[(h * nq + i) * nk + j],
                    1.0 + linear_decay_reference(2, 0.25, 0.5, h, offset + i, j), 1e-12)
            << h << " " << i << " " << j;
}

// bias_probe (from one plugin) over linear_decay (from the other) and built-ins.
std::string probe_config(const std::vector<std::string>& plugins) {
  json config = {{"name", "plugin_probe"},
                 {"plugins", plugins},
                 {"experiments",
                  {{{"type", "bias_probe"},
                    {"heads", 2},
                    {"head", 1},
                    {"i", 3},
                    {"j", 0},
                    {"encoders",
                     {{{"name", "linear_decay"},
                       {"label", "ld"},
                       {"params", {{"slope", 2}, {"ratio", 0.25}, {"power", 0.5}}}},
                      {{"name", "constant_bias"}, {"params", {{"value", 3}}}},
                      {{"name", "alibi"}},
                      {{"name", "rope"}}}}}}}};
  return config.dump(2);
}

TEST_F(PluginCli, ConfigPluginsWorkForValidateAndRun) {
  write("probe.json",
        probe_config({plugin("linear_decay").string(), plugin("probe_plugin").string()}));
  Result v = run("validate probe.json");
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_TRUE(has(v.out, "valid")) << v.out;

  Result r = run("run probe.json -o results.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "ld")) << r.out;
  const json doc = json::parse(read_file(work() / "results.json"));
  const json& encoders = doc["experiments"][0]["encoders"];
  ASSERT_EQ(encoders.size(), 4u);
  EXPECT_EQ(doc["experiments"][0]["type"], "bias_probe");
  EXPECT_EQ(encoders[0]["name"], "linear_decay");
  EXPECT_EQ(encoders[0]["label"], "ld");
  EXPECT_EQ(encoders[0]["params"]["power"], 0.5);
  EXPECT_EQ(encoders[0]["status"], "ok");
  EXPECT_NEAR(encoders[0]["metrics"]["bias"]["value"].get<double>(), -2.0 * 0.25 * std::sqrt(3.0),
              1e-12);
  EXPECT_EQ(encoders[1]["metrics"]["bias"]["value"], -3.0);
  // ALiBi with 2 heads: m_1 = 2^(-8 * 2 / 2) = 1/256.
  EXPECT_NEAR(encoders[2]["metrics"]["bias"]["value"].get<double>(), -3.0 / 256.0, 1e-15);
  EXPECT_EQ(encoders[3]["status"], "not_applicable");
  EXPECT_EQ(doc["resolved_config"]["plugins"][0], plugin("linear_decay").string());
  // A plugin experiment may declare no metrics: it still runs, with no declarations.
  EXPECT_EQ(doc["experiments"][0]["metric_declarations"], json::array());
}

TEST_F(PluginCli, PluginExperimentWithoutMetricDeclarationsIsDescribed) {
  Result r = run("describe bias_probe --plugin " + quoted(plugin("probe_plugin")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "  metrics:\n    (none declared)")) << r.out;
  Result j = run("describe bias_probe --json --plugin " + quoted(plugin("probe_plugin")));
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(json::parse(j.out)["metrics"], json::array());
}

TEST_F(PluginCli, RelativePathsAreTakenFromTheWorkingDirectory) {
  // A bare file name would send dlopen to the library search path; posbench must not.
  fs::copy_file(plugin("linear_decay"), work() / "liblinear_decay.so");
  fs::copy_file(plugin("probe_plugin"), work() / "libprobe_plugin.so");
  write("probe.json", probe_config({"liblinear_decay.so"}));
  Result r = run("--plugin libprobe_plugin.so validate probe.json");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(PluginCli, SamePluginFromOptionAndConfigLoadsOnce) {
  write("probe.json",
        probe_config({plugin("linear_decay").string(), plugin("probe_plugin").string()}));
  Result r = run("--plugin " + quoted(plugin("linear_decay")) + " --plugin " +
                 quoted(plugin("probe_plugin")) + " validate probe.json");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(PluginCli, MissingFileOnEverySubcommand) {
  write("empty.json", R"({"experiments": []})");
  write("x.npy", npy_float64({1, 1, 1}, {0.0}));
  const fs::path missing = work() / "libnothing.so";
  for (const std::string sub :
       {"list", "describe rope", "validate empty.json", "run empty.json -o r.json",
        "apply alibi --input x.npy --output y.npy"}) {
    SCOPED_TRACE(sub);
    expect_plugin_error(run("--plugin " + quoted(missing) + " " + sub), missing, "no such file");
    // And after the subcommand.
    expect_plugin_error(run(sub + " --plugin " + quoted(missing)), missing, "no such file");
  }
  EXPECT_FALSE(fs::exists(work() / "r.json"));
  EXPECT_FALSE(fs::exists(work() / "y.npy"));
}

TEST_F(PluginCli, NotASharedLibrary) {
  const fs::path text = write("libtext.so", "this is not a library\n");
  expect_plugin_error(run("--plugin " + quoted(text) + " list"), text, "is not a shared library");
  const fs::path dir = work();
  expect_plugin_error(run("--plugin " + quoted(dir) + " list"), dir, "is a directory");
}

TEST_F(PluginCli, TruncatedOr32BitElfIsCalledWhatItIs) {
  // The first 20 bytes of a 64-bit little-endian ELF header (a truncated .so): once called "a
  // 32-bit ELF file".
  std::string header(
      "\x7f"
      "ELF\x02\x01\x01",
      7);
  header.resize(20, '\0');
  const fs::path truncated = write("libtruncated.so", header);
  expect_plugin_error(run("--plugin " + quoted(truncated) + " list"), truncated,
                      "is a truncated ELF file");
  std::string header32(
      "\x7f"
      "ELF\x01\x01\x01",
      7);
  header32.resize(64, '\0');
  const fs::path elf32 = write("lib32.so", header32);
  expect_plugin_error(run("--plugin " + quoted(elf32) + " list"), elf32, "is a 32-bit ELF file");
}

TEST_F(PluginCli, UnresolvedSymbolIsNamed) {
  expect_plugin_error(run("--plugin " + quoted(plugin("unresolved_plugin")) + " list"),
                      plugin("unresolved_plugin"),
                      "needs the symbol `posbench::symbol_missing_from_posbench(int)`");
}

TEST_F(PluginCli, TakenNameIsRefused) {
  expect_plugin_error(run("--plugin " + quoted(plugin("taken_name_plugin")) + " list"),
                      plugin("taken_name_plugin"),
                      "registers the scheme name 'rope', which is already taken by ");
  Result r = run("--plugin " + quoted(plugin("taken_name_plugin")) + " list");
  EXPECT_TRUE(has(r.err, "rope.cpp; choose another name")) << r.err;
}

TEST_F(PluginCli, OtherInterfaceVersionIsRefusedBeforeItsCodeRuns) {
  Result r = run("--plugin " + quoted(plugin("bad_version_plugin")) + " list");
  expect_plugin_error(r, plugin("bad_version_plugin"),
                      "was built against plugin interface version 999, this posbench has "
                      "version " +
                          std::to_string(kInterfaceVersion) + "; rebuild it");
  EXPECT_FALSE(has(r.err, "static initialisation ran"));
}

TEST_F(PluginCli, MissingInterfaceVersionIsRefusedBeforeItsCodeRuns) {
  Result r = run("--plugin " + quoted(plugin("no_version_plugin")) + " list");
  expect_plugin_error(r, plugin("no_version_plugin"),
                      "declares no posbench interface version; add `POSBENCH_PLUGIN();`");
  EXPECT_FALSE(has(r.err, "static initialisation ran"));
}

TEST_F(PluginCli, PluginRegisteringNothingIsRefused) {
  expect_plugin_error(run("--plugin " + quoted(plugin("empty_plugin")) + " list"),
                      plugin("empty_plugin"), "registered no scheme and no experiment");
}

TEST_F(PluginCli, BadPluginInConfigFailsValidateAndRun) {
  write("bad.json", probe_config({plugin("bad_version_plugin").string()}));
  expect_plugin_error(run("validate bad.json"), plugin("bad_version_plugin"),
                      "interface version 999");
  expect_plugin_error(run("run bad.json -o r.json"), plugin("bad_version_plugin"),
                      "interface version 999");
  EXPECT_FALSE(fs::exists(work() / "r.json"));
}

// ---- in this process: the test binary exports its symbols like posbench does --------------

TEST(Plugin, LoadedSchemeSharesTheRegistryAndMatchesItsFormula) {
  load_plugin(plugin("linear_decay").string());
  load_plugin(plugin("linear_decay").string());  // again: a no-op
  const EncoderInfo* info = EncoderRegistry::instance().find("linear_decay");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->source, plugin("linear_decay").string() + " (linear_decay.cpp)");
  const auto loaded = loaded_plugins();
  EXPECT_EQ(std::count(loaded.begin(), loaded.end(), plugin("linear_decay").string()), 1);

  Diagnostics diag;
  const json params = resolve_params(info->params, {{"slope", 1.5}, {"ratio", 0.5}, {"power", 1.5}},
                                     "params", diag);
  ASSERT_TRUE(diag.ok());
  const auto enc = info->factory(Params(params));
  ASSERT_EQ(enc->family(), Family::bias);
  EXPECT_TRUE(enc->bias_is_relative());
  const std::vector<int64_t> q = {0, 7, 100}, k = {0, 3, 100, 1000};
  const int heads = 3;
  std::vector<double> b(heads * q.size() * k.size());
  enc->bias(q, k, heads, b.data());
  for (int h = 0; h < heads; ++h)
    for (size_t i = 0; i < q.size(); ++i)
      for (size_t j = 0; j < k.size(); ++j)
        EXPECT_NEAR(b[(h * q.size() + i) * k.size() + j],
                    linear_decay_reference(1.5, 0.5, 1.5, h, double(q[i]), double(k[j])),
                    1e-12 * (1 + std::fabs(b[(h * q.size() + i) * k.size() + j])));
  // A bad shape is a UserError thrown from plugin code and caught here by type.
  EXPECT_THROW(enc->check_shape(0, 0), UserError);
}

TEST(Plugin, HiddenVisibilityPluginReachesBothRegistries) {
  load_plugin(plugin("probe_plugin").string());
  EXPECT_NE(EncoderRegistry::instance().find("constant_bias"), nullptr);
  EXPECT_NE(ExperimentRegistry::instance().find("bias_probe"), nullptr);
}

TEST(Plugin, TakenNameWithdrawsEverythingThePluginRegistered) {
  const std::string rope_source = EncoderRegistry::instance().get("rope", "scheme").source;
  try {
    load_plugin(plugin("taken_name_plugin").string());
    FAIL() << "a plugin registering 'rope' was accepted";
  } catch (const UserError& e) {
    EXPECT_TRUE(has(e.what(), "'rope', which is already taken")) << e.what();
  }
  EXPECT_EQ(EncoderRegistry::instance().find("taken_name_extra"), nullptr);
  EXPECT_EQ(EncoderRegistry::instance().get("rope", "scheme").source, rope_source);
  EXPECT_EQ(EncoderRegistry::instance().get("rope", "scheme").family, Family::rotary);
  EXPECT_TRUE(EncoderRegistry::instance().duplicates().empty());
  // Loading it again gives the same error, not a silent success.
  EXPECT_THROW(load_plugin(plugin("taken_name_plugin").string()), UserError);
  EXPECT_EQ(EncoderRegistry::instance().find("taken_name_extra"), nullptr);
}

TEST(Plugin, RefusedPluginsRunNoCode) {
  unsetenv("POSBENCH_BAD_PLUGIN_RAN");
  EXPECT_THROW(load_plugin(plugin("bad_version_plugin").string()), UserError);
  EXPECT_THROW(load_plugin(plugin("no_version_plugin").string()), UserError);
  EXPECT_THROW(load_plugin(plugin("unresolved_plugin").string()), UserError);
  EXPECT_EQ(std::getenv("POSBENCH_BAD_PLUGIN_RAN"), nullptr);
}

}  // namespace
}  // namespace posbench
