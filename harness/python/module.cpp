// posbench._core — the Python module (pybind11): the command line's list, describe, validate,
// run and --plugin as functions, and the Encoder interface as a class (encoder.cpp). It calls
// the same harness functions the CLI does (harness/run/load_plan.h, runner.h, report/json.h,
// report/registry_json.h), so validate() returns the CLI's messages and run() the document the
// CLI writes. `import posbench` re-exports all of it (python/posbench/__init__.py).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "encoders/files.h"
#include "harness/python/convert.h"
#include "harness/report/json.h"
#include "harness/report/registry_json.h"
#include "harness/run/load_plan.h"
#include "harness/run/plugins.h"
#include "harness/run/runner.h"
#include "harness/run/timing_fields.h"

namespace posbench::python {

namespace fs = std::filesystem;
using nlohmann::json;

json to_json(const py::handle& v, const std::string& path) {
  if (v.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) {
    try {
      return v.cast<int64_t>();
    } catch (const py::cast_error&) {
      return v.cast<double>();  // beyond int64: as the JSON number it is
    }
  }
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::dict>(v)) {
    json out = json::object();
    for (const auto& [key, value] : v.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key))
        throw UserError(path, "got the key " + std::string(py::repr(key)) +
                                  ", expected string keys (a JSON object)");
      const auto k = key.cast<std::string>();
      out[k] = to_json(value, join_path(path, k));
    }
    return out;
  }
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    json out = json::array();
    size_t i = 0;
    for (const auto& item : v) out.push_back(to_json(item, index_path(path, i++)));
    return out;
  }
  // numpy scalars (np.int64(3), np.float32(0.5)) and 0-d arrays: their Python value.
  if (py::hasattr(v, "item") && py::hasattr(v, "dtype") &&
      py::getattr(v, "ndim", py::int_(1)).cast<int>() == 0)
    return to_json(v.attr("item")(), path);
  throw UserError(path, "got a " + std::string(py::str(py::type::of(v).attr("__name__"))) +
                            ", expected a JSON value (dict, list, str, int, float, bool, None)");
}

py::object from_json(const json& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

namespace {

// A config given as a dict, or as the path of a JSON file (str or os.PathLike): the JSON and
// the directory relative hf_config paths are taken from, as the CLI does for a file.
std::pair<json, fs::path> config_arg(const py::object& config) {
  if (py::isinstance<py::dict>(config)) return {to_json(config, ""), fs::path()};
  if (py::isinstance<py::str>(config) || py::hasattr(config, "__fspath__")) {
    const auto file = py::module_::import("os").attr("fspath")(config).cast<std::string>();
    require_utf8_path(file, "config");
    return {read_json_file(file), fs::path(file).parent_path()};
  }
  throw UserError("config", "got a " + std::string(py::str(py::type::of(config).attr("__name__"))) +
                                ", expected a dict or the path of a JSON config file");
}

uint64_t max_memory_arg(std::optional<int64_t> bytes) {
  if (!bytes) return 0;
  if (*bytes < 1) throw UserError("max_memory", got_expected(*bytes, "a number of bytes >= 1"));
  return uint64_t(*bytes);
}

py::list validate(const py::object& config, std::optional<int64_t> max_memory) {
  const auto [j, base_dir] = config_arg(config);
  py::list out;
  for (const auto& p : validate_config(j, base_dir, max_memory_arg(max_memory)))
    out.append(p.str());
  return out;
}

py::object run(const py::object& config, std::optional<int> threads,
               std::optional<int64_t> max_memory) {
  const auto [j, base_dir] = config_arg(config);
  if (threads && (*threads < 1 || *threads > 4096))
    throw UserError("threads", got_expected(*threads, "a whole number from 1 to 4096, or None"));
  const Plan plan = load_plan(j, base_dir);
  RunOptions options;
  options.threads = threads.value_or(0);
  options.max_memory = max_memory_arg(max_memory);
  // No artifact_prefix: Google Benchmark's side file is not written; the document has the rest.
  json doc;
  {
    py::gil_scoped_release release;
    doc = results_document(run_plan(plan, options));
  }
  return from_json(doc);
}

}  // namespace

}  // namespace posbench::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  using namespace posbench;
  using namespace posbench::python;
  m.doc() = "posbench's C++ core: schemes, experiments, validate, run, plugins, Encoder.";
  // One ValueError per UserError: the CLI's lines "path: message", one per problem.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UserError& e) {
      std::string text;
      for (const auto& problem : e.problems()) text += (text.empty() ? "" : "\n") + problem.str();
      PyErr_SetString(PyExc_ValueError, text.c_str());
    } catch (const UnsupportedPosition& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def(
      "schemes", [] { return from_json(registry_json()["encoders"]); },
      "Every registered scheme (plugins' too) as `posbench list --json` gives it: a list of "
      "dicts with name, kind, family, version, description, params, source.");
  m.def(
      "experiments", [] { return from_json(registry_json()["experiments"]); },
      "Every registered experiment type as `posbench list --json` gives it: name, kind, "
      "description, params, metrics, source.");
  m.def(
      "describe", [](const std::string& name) { return from_json(describe_json(name)); },
      py::arg("name"),
      "One scheme or experiment as `posbench describe NAME --json` gives it; an unknown name "
      "raises ValueError with a did-you-mean.");
  m.def("validate", &validate, py::arg("config"), py::kw_only(), py::arg("max_memory") = py::none(),
        "Every problem of a config (a dict, or the path of a JSON file), as the lines `posbench "
        "validate` prints: 'experiments[0].encoders[1].params.base: got -1, expected ...'. [] "
        "when it is valid. An unreadable file or a plugin that cannot load raises ValueError. "
        "max_memory: bytes (None: half of RAM).");
  m.def("run", &run, py::arg("config"), py::arg("threads") = py::none(), py::kw_only(),
        py::arg("max_memory") = py::none(),
        "Runs a config (a dict, or the path of a JSON file) and returns the results document "
        "`posbench run` writes, as a dict (schema: results/README.md). threads: OpenMP threads "
        "(None: all cores). A bad config raises ValueError with every problem. The GIL is "
        "released during the run; Google Benchmark's side file of a speed experiment is not "
        "written.");
  m.def(
      "load_plugin", [](const std::string& path) { load_plugin(path); }, py::arg("path"),
      "Loads a scheme / experiment plugin (a shared library built against posbench::sdk), as "
      "`posbench --plugin PATH`; loading the same file again does nothing. A bad plugin raises "
      "ValueError ('plugin PATH: ...').");
  m.def(
      "non_timing_differences",
      [](const py::object& a, const py::object& b, size_t max) {
        return non_timing_differences(to_json(a, ""), to_json(b, ""), max);
      },
      py::arg("a"), py::arg("b"), py::arg("max") = 20,
      "Where two results documents (dicts) differ outside their timing and provenance fields "
      "(results/README.md#timing-and-provenance-fields), as 'path: A vs B' lines, at most `max`; "
      "[] when every other value is equal (numbers compared exactly). The same rule as "
      "`posbench compare --exact` and `merge`'s tests.");
  bind_encoder(m);
}
