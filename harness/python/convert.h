#pragma once
// What the Python module's two files share: JSON <-> Python values, and how errors cross.
//
// A UserError (encoders/error.h) becomes a Python ValueError whose text is the CLI's: one line
// "path: message" per problem (harness/python/module.cpp registers the translation).

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>
#include <string>

namespace posbench::python {

namespace py = pybind11;

// A Python value (dict, list, tuple, str, int, float, bool, None, numpy scalars) as JSON;
// anything else is a UserError at `path`, e.g. "params.base: got a set, expected a JSON value".
nlohmann::json to_json(const py::handle& value, const std::string& path);

// A JSON value as Python objects (through the json module: the same numbers the CLI's files
// hold, read back by Python's own parser).
py::object from_json(const nlohmann::json& value);

// Registers the Encoder class (harness/python/encoder.cpp).
void bind_encoder(py::module_& m);

}  // namespace posbench::python
