// The folders are layers, lowest first:
//
//   encoders (SDK + schemes) < harness/kernels < harness/analysis < harness/experiments
//     < harness/run < harness/report < harness/cli < harness/python
//
// harness/python (the Python module posbench._core) sits on top, beside the command line: it
// calls what the CLI calls (and may use the CLI's reusable parts), and nothing includes it.
// A file may include headers of its own layer and of the layers below it, never above. The
// CMake targets (one per layer, PRIVATE links) keep a layer from seeing the third-party
// libraries of a higher one; this test keeps it from seeing posbench's own higher headers.
// The SDK headers (installed with posbench::sdk) may include only each other, the standard
// library and nlohmann/json.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kLayers = {
    "encoders/",    "harness/kernels/", "harness/analysis/", "harness/experiments/",
    "harness/run/", "harness/report/",  "harness/cli/",      "harness/python/"};

// The headers `cmake --install` puts in include/posbench/encoders: CMake's
// POSBENCH_SDK_HEADERS, passed in as "encoder.h,error.h,...".
std::set<std::string> sdk_headers() {
  std::set<std::string> out;
  std::stringstream list(POSBENCH_SDK_HEADER_LIST);
  std::string name;
  while (std::getline(list, name, ','))
    if (!name.empty()) out.insert("encoders/" + name);
  return out;
}
const std::set<std::string> kSdkHeaders = sdk_headers();

// Index of the layer a source-relative path belongs to; nullopt for a file in no layer.
std::optional<size_t> layer_of(const std::string& path) {
  for (size_t i = kLayers.size(); i-- > 0;)
    if (path.rfind(kLayers[i], 0) == 0) return i;
  return std::nullopt;
}

struct Violation {
  std::string file, include, why;
};

// Checks the quoted includes of one file (its text) against the layer rules.
std::vector<Violation> check_file(const std::string& file, const std::string& text) {
  std::vector<Violation> out;
  const auto own = layer_of(file);
  if (!own) {
    out.push_back({file, "", "is in no layer (expected under one of the layer folders)"});
    return out;
  }
  static const std::regex include_re(R"re(^\s*#\s*include\s*([<"])([^">]+)[">])re");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, include_re)) continue;
    const bool quoted = m[1] == "\"";
    const std::string inc = m[2];
    if (kSdkHeaders.count(file)) {
      const bool allowed =
          quoted ? kSdkHeaders.count(inc) > 0
                 : inc.find('/') == std::string::npos || inc.rfind("nlohmann/", 0) == 0;
      if (!allowed) out.push_back({file, inc, "an SDK header includes a non-SDK header"});
    }
    if (!quoted) continue;
    const auto target = layer_of(inc);
    if (!target) {
      // Generated build facts are the run layer's own.
      if (inc == "build_info.h" || inc == "git_describe.h") {
        if (*own != 4) out.push_back({file, inc, "generated build facts belong to harness/run"});
        continue;
      }
      out.push_back({file, inc, "includes a header that is in no layer"});
    } else if (*target > *own) {
      out.push_back({file, inc,
                     "includes a header of a higher layer (" + kLayers[*target] + " above " +
                         kLayers[*own] + ")"});
    }
  }
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Layers, CheckerCatchesAnUpwardInclude) {
  // The checker itself, on crafted files: each rule must be able to fail.
  EXPECT_TRUE(check_file("harness/run/config.cpp", "#include \"encoders/params.h\"\n").empty());
  EXPECT_TRUE(
      check_file("harness/analysis/apply.cpp", "#include \"harness/kernels/simd.h\"\n").empty());
  auto v = check_file("encoders/rope.cpp", "#include <cmath>\n#include \"harness/run/config.h\"\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].include, "harness/run/config.h");
  EXPECT_EQ(
      check_file("harness/kernels/ops.cpp", "  #  include \"harness/analysis/apply.h\"").size(),
      1u);
  EXPECT_EQ(check_file("harness/npy.cpp", "").size(), 1u);  // a file outside every layer
  EXPECT_EQ(check_file("encoders/npy.h", "#include <Eigen/Core>\n").size(), 1u);
  EXPECT_EQ(check_file("encoders/npy.h", "#include \"encoders/weight_init.h\"\n").size(), 1u);
  EXPECT_TRUE(
      check_file("encoders/npy.h", "#include <nlohmann/json.hpp>\n#include <vector>\n").empty());
  EXPECT_EQ(check_file("harness/cli/main.cpp", "#include \"build_info.h\"\n").size(), 1u);
  // The Python module is the top layer: it may include the CLI's headers, nothing includes it.
  EXPECT_TRUE(check_file("harness/python/module.cpp", "#include \"harness/cli/apply_command.h\"\n")
                  .empty());
  EXPECT_EQ(check_file("harness/cli/main.cpp", "#include \"harness/python/convert.h\"\n").size(),
            1u);
}

TEST(Layers, NoFileIncludesAHigherLayer) {
  const fs::path root = POSBENCH_SOURCE_DIR;
  size_t files = 0;
  std::vector<Violation> all;
  for (const char* top : {"encoders", "harness"})
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      for (auto& v : check_file(rel, read_text(entry.path()))) all.push_back(std::move(v));
      ++files;
    }
  EXPECT_GT(files, 50u);
  for (const auto& v : all) ADD_FAILURE() << v.file << ": " << v.include << ": " << v.why;
}

TEST(Layers, EverySdkHeaderExists) {
  const fs::path root = POSBENCH_SOURCE_DIR;
  EXPECT_GE(kSdkHeaders.size(), 8u);
  for (const auto& h : kSdkHeaders) EXPECT_TRUE(fs::exists(root / h)) << h;
}

}  // namespace
