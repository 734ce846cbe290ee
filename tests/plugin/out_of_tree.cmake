# ctest plugin_out_of_tree: the acceptance path of an out-of-tree scheme, as a user runs it.
#   1. cmake --install <posbench build> --prefix WORK/prefix
#   2. configure + build examples/plugin against it (find_package(posbench), posbench::sdk)
#   3. the installed posbench loads the plugin: list, describe, validate, run; the results
#      file has the plugin's scheme with its resolved params and status ok.
# Inputs (-D): POSBENCH_BUILD_DIR, POSBENCH_SOURCE_DIR, WORK_DIR, CXX_COMPILER, GENERATOR.
cmake_minimum_required(VERSION 3.20)

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_contains what text needle)
  string(FIND "${text}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${what}: expected to find '${needle}' in:\n${text}")
  endif()
endfunction()

function(expect_equal what got want)
  if(NOT "${got}" STREQUAL "${want}")
    message(FATAL_ERROR "${what}: got '${got}', expected '${want}'")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

step("install" ${CMAKE_COMMAND} --install "${POSBENCH_BUILD_DIR}" --prefix "${prefix}")
foreach(f bin/posbench include/posbench/encoders/registry.h include/posbench/encoders/encoder.h
          include/posbench/encoders/experiment.h include/posbench/encoders/npy.h
          lib/cmake/posbench/posbenchConfig.cmake lib/cmake/posbench/posbenchTargets.cmake)
  # GNUInstallDirs may choose lib64 or lib/<multiarch>; look for the config anywhere.
  if(f MATCHES "^lib/cmake/posbench/(.*)")
    file(GLOB_RECURSE found "${prefix}/*/cmake/posbench/${CMAKE_MATCH_1}")
    if(NOT found)
      message(FATAL_ERROR "install: no ${CMAKE_MATCH_1} under ${prefix}")
    endif()
  elseif(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install: ${prefix}/${f} is missing")
  endif()
endforeach()

# Only the SDK is installed: no harness header (kernels need xsimd/Eigen, which posbench::sdk
# does not provide) and no helper private to the built-in schemes.
file(GLOB_RECURSE installed_headers RELATIVE "${prefix}/include/posbench" "${prefix}/include/posbench/*")
list(SORT installed_headers)
set(sdk_headers encoders/checked_size.h encoders/encoder.h encoders/error.h encoders/experiment.h encoders/files.h
    encoders/npy.h encoders/params.h encoders/registry.h encoders/rng.h)
expect_equal("installed headers" "${installed_headers}" "${sdk_headers}")

set(build "${WORK_DIR}/build")
step("configure examples/plugin" ${CMAKE_COMMAND} -S "${POSBENCH_SOURCE_DIR}/examples/plugin"
     -B "${build}" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_PREFIX_PATH=${prefix}"
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
step("build examples/plugin" ${CMAKE_COMMAND} --build "${build}")
set(plugin "${build}/liblinear_decay.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "build examples/plugin: ${plugin} was not produced")
endif()

set(posbench "${prefix}/bin/posbench")
step("posbench --plugin list" "${posbench}" --plugin "${plugin}" list)
expect_contains("list" "${step_output}" "linear_decay")
expect_contains("list" "${step_output}" "example plugin: bias")
step("posbench describe --plugin" "${posbench}" describe linear_decay --plugin "${plugin}")
expect_contains("describe" "${step_output}" "liblinear_decay.so (linear_decay.cpp)")

set(config "${WORK_DIR}/linear_decay.json")
file(WRITE "${config}" "{
  \"name\": \"out_of_tree\",
  \"plugins\": [\"${plugin}\"],
  \"experiments\": [{
    \"type\": \"offset_linearity\", \"heads\": 2, \"positions\": 32, \"offsets\": [1, 2],
    \"encoders\": [{\"name\": \"linear_decay\", \"label\": \"ld\", \"params\": {\"power\": 0.5}},
                   {\"name\": \"alibi\"}]
  }]
}
")
step("posbench validate" "${posbench}" validate "${config}")
expect_contains("validate" "${step_output}" "valid")
set(results "${WORK_DIR}/results.json")
step("posbench run" "${posbench}" run "${config}" -o "${results}")
expect_contains("run summary" "${step_output}" "ld")

file(READ "${results}" doc)
string(JSON name GET "${doc}" experiments 0 encoders 0 name)
string(JSON label GET "${doc}" experiments 0 encoders 0 label)
string(JSON status GET "${doc}" experiments 0 encoders 0 status)
string(JSON power GET "${doc}" experiments 0 encoders 0 params power)
string(JSON slope GET "${doc}" experiments 0 encoders 0 params slope)
string(JSON loaded GET "${doc}" resolved_config plugins 0)
expect_equal("results: scheme" "${name}" "linear_decay")
expect_equal("results: label" "${label}" "ld")
expect_equal("results: status" "${status}" "ok")
expect_equal("results: given power" "${power}" "0.5")
expect_equal("results: default slope" "${slope}" "0.5")
expect_equal("results: plugins" "${loaded}" "${plugin}")
message(STATUS "plugin_out_of_tree: built ${plugin} against ${prefix}; list, describe, "
               "validate and run found linear_decay")
