/* test_registry.c — EngineModelType -> engine mapping: every spec type is known, English and
 * Mandarin types reach the loaded models with their language, the rest answer NOT_INSTALLED with
 * an install hint, and incomplete model directories fail registry creation with a clear reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_testutil.h"

static const char *const k_spec_types[] = {
    "16k_zh", "16k_zh_video", "16k_en", "16k_ca", "16k_ja", "16k_zh_edu", "16k_en_edu", "16k_zh_medical",
    "16k_th", "16k_zh_dialect", "16k_zh-PY", "16k_ms", "8k_zh", "8k_zh_s", "8k_en",
};
static const char *const k_en_types[] = {"16k_en", "16k_en_edu", "8k_en"};
static const char *const k_zh_types[] = {"16k_zh", "16k_zh_video", "16k_zh_edu", "16k_zh_medical",
                                         "16k_zh_dialect", "8k_zh", "8k_zh_s", "16k_zh-PY"};
static const char *const k_whisper_types[] = {"16k_ca", "16k_ja", "16k_th", "16k_ms"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char g_zh_dir[1024];
static char g_tmp[64];

static void test_every_spec_type_is_known(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(k_spec_types); i++)
        assert_true(engine_type_known(k_spec_types[i]));
    assert_false(engine_type_known("16k_fr"));
    assert_false(engine_type_known("16K_ZH"));
    assert_false(engine_type_known("16k_zh "));
    assert_false(engine_type_known(""));
    assert_false(engine_type_known(NULL));
}

static void test_english_only_registry(void **state)
{
    (void)state;
    char err[512], hint[512];
    engine_registry *r = engine_registry_new(NULL, err, sizeof err);   /* defaults: en-us, no zh */
    assert_non_null(r);
    engine *first = NULL;
    for (size_t i = 0; i < COUNT(k_en_types); i++) {
        engine *e = NULL;
        engine_opts o = {.hotwords = "stale"};
        assert_int_equal(engine_registry_get(r, k_en_types[i], &e, &o, hint, sizeof hint), ENGINE_FOUND);
        assert_non_null(e);
        assert_string_equal(o.language, "en");
        assert_null(o.hotwords);
        assert_string_equal(e->name, "sphinx:en-us");
        assert_string_equal(e->vt->kind, "sphinx");
        assert_int_equal(engine_sample_rate(e), 16000);
        if (first)
            assert_ptr_equal(e, first);   /* one model per process, shared by all English types */
        first = e;
    }
    for (size_t i = 0; i < COUNT(k_zh_types); i++) {
        engine *e = (engine *)1;
        engine_opts o;
        assert_int_equal(engine_registry_get(r, k_zh_types[i], &e, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
        assert_null(e);
        assert_string_equal(o.language, "zh");
        assert_non_null(strstr(hint, k_zh_types[i]));
        assert_non_null(strstr(hint, "CICADA_SPHINX_ZH_MODEL"));
        assert_non_null(strstr(hint, "hmm dir + .dic + .lm.bin"));
    }
    for (size_t i = 0; i < COUNT(k_whisper_types); i++) {
        engine *e = NULL;
        engine_opts o;
        char expect[512];
        assert_int_equal(engine_registry_get(r, k_whisper_types[i], &e, &o, hint, sizeof hint),
                         ENGINE_NOT_INSTALLED);
        snprintf(expect, sizeof expect,
                 "EngineModelType %s needs a whisper model; none is installed on this server (install one "
                 "with `cicada models pull base` and map it in CICADA_ENGINES)", k_whisper_types[i]);
        assert_string_equal(hint, expect);
    }
    engine *e = NULL;
    engine_opts o;
    assert_int_equal(engine_registry_get(r, "16k_fr", &e, &o, hint, sizeof hint), ENGINE_UNKNOWN_TYPE);
    assert_non_null(strstr(hint, "16k_fr"));
    engine_registry_free(r);
}

static void test_mandarin_only_registry(void **state)
{
    (void)state;
    if (!path_exists(g_zh_dir))
        skip();
    engine_registry_params p = engine_registry_default_params();
    p.sphinx_en_dir = "";
    p.sphinx_zh_dir = g_zh_dir;
    char err[512], hint[512];
    engine_registry *r = engine_registry_new(&p, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    engine *first = NULL;
    for (size_t i = 0; i < COUNT(k_zh_types); i++) {
        engine *e = NULL;
        engine_opts o;
        assert_int_equal(engine_registry_get(r, k_zh_types[i], &e, &o, hint, sizeof hint), ENGINE_FOUND);
        assert_string_equal(o.language, "zh");
        assert_string_equal(e->name, "sphinx:tdt_sc_8k");
        assert_int_equal(engine_sample_rate(e), 8000);
        if (first)
            assert_ptr_equal(e, first);
        first = e;
    }
    engine *e = NULL;
    engine_opts o;
    assert_int_equal(engine_registry_get(r, "16k_en", &e, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
    assert_string_equal(o.language, "en");
    assert_non_null(strstr(hint, "16k_en"));
    assert_non_null(strstr(hint, "pocketsphinx-en-us"));
    engine_registry_free(r);
}

static void make_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

static void expect_zh_failure(const char *dir, const char *why)
{
    engine_registry_params p = engine_registry_default_params();
    p.sphinx_en_dir = "";
    p.sphinx_zh_dir = dir;
    char err[1024];
    assert_null(engine_registry_new(&p, err, sizeof err));
    if (!strstr(err, why) || !strstr(err, "CICADA_SPHINX_ZH_MODEL"))
        fail_msg("expected \"%s\" in: %s", why, err);
}

static void test_incomplete_model_directories_fail_at_creation(void **state)
{
    (void)state;
    char dir[128], hmm[160];
    snprintf(dir, sizeof dir, "%s/zh", g_tmp);
    snprintf(hmm, sizeof hmm, "%s/acoustic", dir);

    expect_zh_failure(dir, "does not exist");
    assert_int_equal(mkdir(dir, 0700), 0);
    expect_zh_failure(dir, "no acoustic model");
    assert_int_equal(mkdir(hmm, 0700), 0);
    make_file(hmm, "mdef");
    expect_zh_failure(dir, "no dictionary");
    make_file(dir, "words.dic");
    expect_zh_failure(dir, "no language model");
    make_file(dir, "words.lm.bin");
    expect_zh_failure(dir, "has no readable means");

    engine_registry_params p = engine_registry_default_params();
    p.sphinx_en_dir = "/nonexistent/en-us";
    char err[1024];
    assert_null(engine_registry_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "English model"));
    assert_non_null(strstr(err, "/nonexistent/en-us"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cicada-registry-XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    engine_registry_params p = engine_registry_default_params();
    if (!path_exists(p.sphinx_en_dir)) {
        printf("skipping: the pocketsphinx en-us model is not at %s\n", p.sphinx_en_dir);
        return 77;
    }
    assert_null(p.sphinx_zh_dir);
    shared_path(g_zh_dir, sizeof g_zh_dir, "models/sphinx-zh");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_spec_type_is_known),
        cmocka_unit_test(test_english_only_registry),
        cmocka_unit_test(test_mandarin_only_registry),
        cmocka_unit_test(test_incomplete_model_directories_fail_at_creation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
