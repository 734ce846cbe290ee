#pragma once
// The trained tests' way to name a scheme: its registry entry with `given` params resolved
// (a resolution error fails the calling test).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "harness/experiments/trained/model.h"
#include "tests/test_util.h"

namespace posbench::test {

inline trained::SchemeRef scheme(const std::string& name,
                                 const nlohmann::json& given = nlohmann::json::object()) {
  const EncoderInfo& info = EncoderRegistry::instance().get(name, "encoder");
  Diagnostics diag;
  const nlohmann::json resolved = resolve_params(info.params, given, "params", diag);
  EXPECT_TRUE(diag.ok()) << name;
  return {name, resolved, std::shared_ptr<const Encoder>(info.factory(Params(resolved)))};
}

}  // namespace posbench::test
