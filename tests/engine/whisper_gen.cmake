# whisper_gen.cmake — generated whisper test models. Included from tests/engine/CMakeLists.txt it
# defines the whisper_model_gen tool, the CTest fixture `whisper_models` (test whisper_models_setup
# writes the models into ${CMAKE_BINARY_DIR}/test-models/ before any test that declares
# FIXTURES_REQUIRED whisper_models; such tests find the directory in $CICADA_TEST_MODELS), the
# generator's own test and the parity test against whisper.cpp's whisper-cli.
# Run as a script (cmake -DGEN=... -DVOCAB_DIR=... -DOUT_DIR=... -P whisper_gen.cmake) it is the
# fixture itself: it writes the models, or says why not ("... is absent", which CTest reports as
# skipped; the tests that need the models then skip themselves).
#
# The models (all deterministic: same generator, same bytes):
#   ggml-tiny-random.bin      multilingual vocabulary (for-tests-ggml-tiny.bin), tiny dimensions
#   ggml-tiny.en-random.bin   English-only vocabulary (for-tests-ggml-tiny.en.bin), tiny dimensions

if(CMAKE_SCRIPT_MODE_FILE)
  # ---- the fixture: cmake -P ----
  set(models "ggml-tiny-random.bin:for-tests-ggml-tiny.bin" "ggml-tiny.en-random.bin:for-tests-ggml-tiny.en.bin")
  if(NOT EXISTS "${VOCAB_DIR}")
    message("whisper_models: ${VOCAB_DIR} is absent: no whisper test models (tests that need them skip)")
    return()
  endif()
  file(MAKE_DIRECTORY "${OUT_DIR}")
  foreach(pair ${models})
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 model)
    list(GET pair 1 header)
    if(NOT EXISTS "${VOCAB_DIR}/${header}")
      message("whisper_models: ${VOCAB_DIR}/${header} is absent: ${model} not written")
      continue()
    endif()
    execute_process(COMMAND "${GEN}" "${VOCAB_DIR}/${header}" "${OUT_DIR}/${model}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "whisper_models: whisper_model_gen failed (${rc}) for ${model}")
    endif()
  endforeach()
  return()
endif()

# ---- the build ----
set(CICADA_TEST_MODELS ${CMAKE_BINARY_DIR}/test-models)

add_executable(whisper_model_gen ${CMAKE_CURRENT_LIST_DIR}/whisper_model_gen.c)
target_link_libraries(whisper_model_gen PRIVATE m)

add_test(NAME whisper_models_setup
  COMMAND ${CMAKE_COMMAND} -DGEN=$<TARGET_FILE:whisper_model_gen>
    -DVOCAB_DIR=${CICADA_SHARED}/models/whisper-vocab -DOUT_DIR=${CICADA_TEST_MODELS}
    -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(whisper_models_setup PROPERTIES FIXTURES_SETUP whisper_models
  SKIP_REGULAR_EXPRESSION "whisper_models: [^\n]* is absent")

# cicada_needs_whisper_models(TEST...): the tests run after the fixture, with CICADA_TEST_MODELS set.
function(cicada_needs_whisper_models)
  foreach(t ${ARGN})
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED whisper_models)
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "CICADA_TEST_MODELS=${CICADA_TEST_MODELS}")
  endforeach()
endfunction()

# The generator: structure, determinism and errors of its files, and whisper.cpp loading and
# decoding them (it links whisper directly, as the loader is what the files are for).
cicada_unit_test(test_whisper_model_gen SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_whisper_model_gen.c
  LIBS whisper cicada_audio m)
add_dependencies(test_whisper_model_gen whisper_model_gen)
set_property(TEST test_whisper_model_gen APPEND PROPERTY
  ENVIRONMENT "WHISPER_MODEL_GEN=$<TARGET_FILE:whisper_model_gen>")

# Parity: Cicada's whisper engine and whisper.cpp's whisper-cli, same model, audio and parameters.
if(TARGET whisper-cli)
  cicada_unit_test(test_whisper_parity SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_whisper_parity.c
    LIBS engine_testutil PkgConfig::JANSSON m)
  add_dependencies(test_whisper_parity whisper-cli)
  # the 11 s files under the test's own name (its default), the two-window file in a test of its own
  add_test(NAME test_whisper_parity_long COMMAND test_whisper_parity long)
  get_test_property(test_whisper_parity ENVIRONMENT parity_env)
  set_tests_properties(test_whisper_parity_long PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "${parity_env}")
  cicada_needs_whisper_models(test_whisper_parity test_whisper_parity_long)
  set_property(TEST test_whisper_parity test_whisper_parity_long APPEND PROPERTY
    ENVIRONMENT "WHISPER_CLI=$<TARGET_FILE:whisper-cli>")
endif()
