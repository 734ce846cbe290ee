# One fuzz smoke (ctest -L fuzz): every file of the checked-in corpus, then RUNS inputs in all
# from seed 1, so a run is reproducible. New inputs go to a scratch corpus in the build tree,
# emptied first (the checked-in corpus is only read); a crash leaves its input in
# WORK/artifacts/ and fails the test.
#   cmake -DFUZZER=... -DCORPUS=... -DWORK=... -DRUNS=... [-DDICT=...] -P run_smoke.cmake
foreach(var FUZZER CORPUS WORK RUNS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_smoke.cmake: -D${var}= is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
set(dict_arg "")
if(DICT)
  set(dict_arg -dict=${DICT})
endif()
execute_process(
  COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix=${WORK}/artifacts/ ${dict_arg} ${WORK}/corpus ${CORPUS}
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB crashes ${WORK}/artifacts/*)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproduce with: ${FUZZER} ${crashes}")
endif()
