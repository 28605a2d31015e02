# whisper_gen.cmake — the generated whisper test models: the whisper_model_gen tool, a CTest fixture
# that writes the models into ${CMAKE_BINARY_DIR}/test-models/ before any test that declares
# FIXTURES_REQUIRED whisper_models (they find them through CICADA_TEST_MODELS), and the tests of the
# generator and of parity with whisper.cpp's own whisper-cli.
add_executable(whisper_model_gen ${CMAKE_CURRENT_LIST_DIR}/whisper_model_gen.c)
target_link_libraries(whisper_model_gen PRIVATE m)
