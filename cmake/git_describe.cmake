# Writes OUTPUT (a header with kGitDescribe) from `git describe --always --dirty --tags` of
# SOURCE_DIR, run at every build by the posbench_git_describe target. The file is rewritten
# only when the description changed, so an unchanged tree recompiles nothing.
execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --tags
                OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR describe STREQUAL "")
  set(describe "unknown (not built from a git checkout)")
endif()
set(content "#pragma once\n// Generated at build time by cmake/git_describe.cmake.\nnamespace posbench::build_info {\ninline constexpr const char* kGitDescribe = \"${describe}\";\n}  // namespace posbench::build_info\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
