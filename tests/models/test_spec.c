/* test_spec.c — the CICADA_ENGINES syntax: well-formed lists parse into their parts (spaces
 * ignored, language optional, paths kept whole), and every kind of malformed entry is refused with
 * a message that quotes the entry and says what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "models/models.h"

static models_engine_entry g_entries[MODELS_MAX_ENGINE_ENTRIES];

static size_t parse_ok(const char *spec)
{
    size_t n = 99;
    char err[512] = "";
    if (!models_engines_parse(spec, g_entries, MODELS_MAX_ENGINE_ENTRIES, &n, err, sizeof err))
        fail_msg("\"%s\" refused: %s", spec, err);
    return n;
}

static void expect_entry(size_t i, const char *type, const char *engine, const char *model, const char *language)
{
    assert_string_equal(g_entries[i].type, type);
    assert_string_equal(g_entries[i].engine, engine);
    assert_string_equal(g_entries[i].model, model);
    assert_string_equal(g_entries[i].language, language);
}

static void test_empty_specs_map_nothing(void **state)
{
    (void)state;
    assert_int_equal(parse_ok(NULL), 0);
    assert_int_equal(parse_ok(""), 0);
    assert_int_equal(parse_ok("  \t "), 0);
}

static void test_the_documented_example(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("16k_zh=whisper:ggml-base.bin:zh,16k_en=sphinx:en-us"), 2);
    expect_entry(0, "16k_zh", "whisper", "ggml-base.bin", "zh");
    expect_entry(1, "16k_en", "sphinx", "en-us", "");
}

static void test_spaces_paths_and_languages(void **state)
{
    (void)state;
    assert_int_equal(parse_ok(" 16k_zh = whisper : ggml-base.bin : zh , 16k_ja=whisper:/opt/models/ggml-small.bin,"
                              "16k_zh-PY=whisper:ggml-base.bin:auto,16k_ca=whisper:ggml-large-v3.bin:yue,"
                              "8k_zh=sphinx:/srv/sphinx zh:zh"), 5);
    expect_entry(0, "16k_zh", "whisper", "ggml-base.bin", "zh");
    expect_entry(1, "16k_ja", "whisper", "/opt/models/ggml-small.bin", "");
    expect_entry(2, "16k_zh-PY", "whisper", "ggml-base.bin", "auto");
    expect_entry(3, "16k_ca", "whisper", "ggml-large-v3.bin", "yue");
    expect_entry(4, "8k_zh", "sphinx", "/srv/sphinx zh", "zh");
}

static void expect_refusal(const char *spec, size_t max, const char *const *phrases)
{
    size_t n = 0;
    char err[512] = "";
    if (models_engines_parse(spec, g_entries, max, &n, err, sizeof err))
        fail_msg("\"%s\" was accepted", spec);
    for (const char *const *p = phrases; *p; p++)
        if (!strstr(err, *p))
            fail_msg("refusing \"%s\": expected \"%s\" in: %s", spec, *p, err);
}

#define REFUSE(spec, ...) expect_refusal(spec, MODELS_MAX_ENGINE_ENTRIES, (const char *const[]){__VA_ARGS__, NULL})

static void test_malformed_entries_are_refused_clearly(void **state)
{
    (void)state;
    REFUSE("16k_zh", "\"16k_zh\"", "expected TYPE=ENGINE:MODEL[:LANGUAGE]");
    REFUSE("16k_zh=whisper", "\"16k_zh=whisper\"", "expected TYPE=ENGINE:MODEL[:LANGUAGE]");
    REFUSE("=whisper:ggml-base.bin", "no EngineModelType before '='");
    REFUSE("16k_zh=vosk:model", "engine \"vosk\" is neither whisper nor sphinx");
    REFUSE("16k_zh=Whisper:ggml-base.bin", "engine \"Whisper\"");
    REFUSE("16k_zh=whisper:", "no model after \"whisper:\"");
    REFUSE("16k_zh=whisper: :zh", "no model");
    REFUSE("16k_zh=whisper:ggml-base.bin:ZH", "\"ZH\" is not a language code");
    REFUSE("16k_zh=whisper:ggml-base.bin:chinese", "\"chinese\" is not a language code");
    REFUSE("16k_zh=whisper:ggml-base.bin:", "\"\" is not a language code");
    REFUSE("16k_zh=whisper:a.bin:zh:x", "too many ':'");
    REFUSE("16k_zh=whisper:a.bin,16k_zh=sphinx:zh", "16k_zh is mapped twice");
    REFUSE("16k_zh=whisper:a.bin,,16k_en=sphinx:en-us", "entry 2 is empty");
    REFUSE("16k_zh=whisper:a.bin,", "entry 2 is empty");
    expect_refusal("a=whisper:x,b=whisper:y,c=whisper:z", 2, (const char *const[]){"more than 2 entries", NULL});
    char longspec[1400];
    snprintf(longspec, sizeof longspec, "16k_zh=whisper:%01100d.bin", 0);
    REFUSE(longspec, "model name too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_specs_map_nothing),
        cmocka_unit_test(test_the_documented_example),
        cmocka_unit_test(test_spaces_paths_and_languages),
        cmocka_unit_test(test_malformed_entries_are_refused_clearly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
