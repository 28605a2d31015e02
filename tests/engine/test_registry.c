/* test_registry.c — EngineModelType -> engine mapping: every spec type is known; English and
 * Mandarin types reach the pocketsphinx models with their language; types with no model answer
 * NOT_INSTALLED with a hint naming the missing model and the exact install command; the mapping
 * rules (CICADA_ENGINES, the automatic choice of the best installed whisper model, pocketsphinx as
 * the fallback, the default language of every type); thread budgeting; and, with generated whisper
 * models, one shared whisper engine per model file, 16 kHz for the 8k types, --model overrides, and
 * corrupt models making their types unavailable (with the reason) without stopping the registry, and
 * clear start-up failures for missing VAD models and unreadable blacklists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
#define GENERATED_MODEL "ggml-tiny-random.bin"   /* written by the whisper_models fixture */

static const char *g_en_dir;   /* the default (Debian) en-us model */
static char g_zh_dir[1024];
static char g_tmp[64];
static char g_gen_model[1024];   /* a generated whisper model (real format, random weights), or "" */

/* whisper's language for every EngineModelType */
static const char *const k_languages[][2] = {
    {"16k_zh", "zh"}, {"16k_zh_video", "zh"}, {"16k_zh_edu", "zh"}, {"16k_zh_medical", "zh"},
    {"16k_zh_dialect", "zh"}, {"8k_zh", "zh"}, {"8k_zh_s", "zh"}, {"16k_en", "en"}, {"16k_en_edu", "en"},
    {"8k_en", "en"}, {"16k_ca", "yue"}, {"16k_ja", "ja"}, {"16k_zh-PY", "auto"}, {"16k_th", "th"}, {"16k_ms", "ms"},
};

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
        assert_string_equal(o.language, strcmp(k_zh_types[i], "16k_zh-PY") == 0 ? "auto" : "zh");
        assert_non_null(strstr(hint, k_zh_types[i]));
        assert_non_null(strstr(hint, "`cicada models pull base`"));
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
                 "EngineModelType %s needs a whisper model (language %s); none is installed on this server "
                 "(install one with `cicada models pull base`)", k_whisper_types[i], o.language);
        assert_string_equal(hint, expect);
    }
    engine *e = NULL;
    engine_opts o;
    assert_int_equal(engine_registry_get(r, "16k_fr", &e, &o, hint, sizeof hint), ENGINE_UNKNOWN_TYPE);
    assert_non_null(strstr(hint, "16k_fr"));
    /* the start-up list: every type without an engine, in the spec's order, with the short remedy */
    size_t n;
    engine_unavailable *u = engine_registry_unavailable(r, &n);
    assert_int_equal(n, COUNT(k_zh_types) + COUNT(k_whisper_types));
    assert_string_equal(u[0].type, "16k_zh");
    assert_string_equal(u[0].why, "set CICADA_SPHINX_ZH_MODEL or run `cicada models pull base`");
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(u[i].type, "_en"));   /* the English types are served */
        if (strcmp(u[i].type, "16k_ca") == 0)
            assert_string_equal(u[i].why, "needs whisper (language yue): run `cicada models pull base`");
    }
    free(u);
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
    assert_non_null(strstr(hint, "`cicada models pull base.en`"));
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

/* ---- the mapping rules, worked out without loading anything ---- */

static void make_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", g_tmp, name);
    assert_int_equal(mkdir(out, 0700), 0);
}

static const engine_plan_entry *plan_for(const engine_plan_entry *plan, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(plan[i].type, type) == 0)
            return &plan[i];
    fail_msg("no plan entry for %s", type);
    return NULL;
}

static engine_plan_entry *plan_ok(const engine_registry_params *p, size_t *n)
{
    char err[1024];
    engine_plan_entry *plan = engine_registry_plan(p, n, err, sizeof err);
    if (!plan)
        fail_msg("%s", err);
    assert_int_equal(*n, COUNT(k_spec_types));
    return plan;
}

static void expect_plan(const engine_plan_entry *e, const char *engine, const char *model, const char *language)
{
    if (!e->engine)
        fail_msg("%s: not installed: %s", e->type, e->hint);
    assert_string_equal(e->engine, engine);
    assert_string_equal(e->model, model);
    assert_string_equal(e->language, language);
}

static void test_automatic_mapping_uses_the_best_installed_whisper_model(void **state)
{
    (void)state;
    char dir[128], base[160], small_en[160];
    make_dir(dir, sizeof dir, "auto-models");
    make_file(dir, "ggml-base.bin");
    make_file(dir, "ggml-small.en.bin");
    make_file(dir, "ggml-silero-v6.2.0.bin");
    make_file(dir, "ggml-large-v3.bin.part");
    snprintf(base, sizeof base, "%s/ggml-base.bin", dir);
    snprintf(small_en, sizeof small_en, "%s/ggml-small.en.bin", dir);
    engine_registry_params p = engine_registry_default_params();
    p.model_dir = dir;
    p.sphinx_zh_dir = g_zh_dir;
    size_t n;
    engine_plan_entry *plan = plan_ok(&p, &n);
    for (size_t i = 0; i < COUNT(k_languages); i++) {
        const char *type = k_languages[i][0], *lang = k_languages[i][1];
        /* whisper wins over pocketsphinx; English types get the better English-only model */
        expect_plan(plan_for(plan, n, type), "whisper", strcmp(lang, "en") == 0 ? small_en : base, lang);
    }
    free(plan);

    /* nothing installed: pocketsphinx where it can, hints elsewhere */
    char empty[128];
    make_dir(empty, sizeof empty, "no-models");
    p.model_dir = empty;
    p.sphinx_zh_dir = NULL;
    plan = plan_ok(&p, &n);
    expect_plan(plan_for(plan, n, "8k_en"), "sphinx", g_en_dir, "en");
    const engine_plan_entry *ja = plan_for(plan, n, "16k_ja");
    assert_null(ja->engine);
    assert_string_equal(ja->language, "ja");
    assert_string_equal(ja->hint, "EngineModelType 16k_ja needs a whisper model (language ja); none is installed on "
                                  "this server (install one with `cicada models pull base`)");
    free(plan);
}

static void test_configured_mapping(void **state)
{
    (void)state;
    char dir[128], path[256];
    make_dir(dir, sizeof dir, "mapped-models");
    make_file(dir, "ggml-base.bin");
    make_file(dir, "ggml-large-v3.bin");   /* present, but CICADA_ENGINES decides */
    engine_registry_params p = engine_registry_default_params();
    p.model_dir = dir;
    p.engines = "16k_zh=whisper:ggml-base.bin:zh, 16k_ja=whisper:ggml-small.bin, 16k_en=sphinx:en-us,"
                "8k_en=whisper:/elsewhere/ggml-tiny.en.bin, 16k_th=whisper:custom.bin, 16k_zh_video=sphinx:zh,"
                "16k_ms=whisper:ggml-base.bin:id";
    size_t n;
    engine_plan_entry *plan = plan_ok(&p, &n);
    snprintf(path, sizeof path, "%s/ggml-base.bin", dir);
    expect_plan(plan_for(plan, n, "16k_zh"), "whisper", path, "zh");
    expect_plan(plan_for(plan, n, "16k_ms"), "whisper", path, "id");   /* the mapping's language wins */
    expect_plan(plan_for(plan, n, "16k_en"), "sphinx", g_en_dir, "en");
    expect_plan(plan_for(plan, n, "16k_en_edu"), "sphinx", g_en_dir, "en");   /* not mapped */

    char expect[768];
    const engine_plan_entry *e = plan_for(plan, n, "16k_ja");
    assert_null(e->engine);
    snprintf(expect, sizeof expect, "EngineModelType 16k_ja is mapped to whisper model %s/ggml-small.bin, which is "
             "not installed: run `cicada models pull small`", dir);
    assert_string_equal(e->hint, expect);

    /* a missing whisper model falls back to pocketsphinx, with a note on how to install it */
    e = plan_for(plan, n, "8k_en");
    expect_plan(e, "sphinx", g_en_dir, "en");
    assert_string_equal(e->hint, "EngineModelType 8k_en is mapped to whisper model /elsewhere/ggml-tiny.en.bin, "
                                 "which is not installed: run `cicada models pull tiny.en --model-dir /elsewhere`; "
                                 "pocketsphinx serves it meanwhile");

    e = plan_for(plan, n, "16k_th");
    assert_null(e->engine);
    assert_non_null(strstr(e->hint, "custom.bin, which does not exist"));
    e = plan_for(plan, n, "16k_zh_video");
    assert_null(e->engine);
    assert_non_null(strstr(e->hint, "sphinx:zh, but CICADA_SPHINX_ZH_MODEL"));
    /* unmapped types do not pick up installed whisper models when CICADA_ENGINES is set */
    e = plan_for(plan, n, "16k_zh_edu");
    assert_null(e->engine);
    assert_non_null(strstr(e->hint, "`cicada models pull base` and map it in CICADA_ENGINES"));
    e = plan_for(plan, n, "16k_ca");
    assert_null(e->engine);
    assert_non_null(strstr(e->hint, "(language yue)"));
    assert_non_null(strstr(e->hint, "and map it in CICADA_ENGINES"));
    free(plan);

    /* the registry answers with the same hint; nothing was loaded for the missing model */
    p.engines = "16k_ja=whisper:ggml-small.bin";
    char err[1024], hint[768];
    engine_registry *r = engine_registry_new(&p, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    engine *eng = NULL;
    engine_opts o;
    assert_int_equal(engine_registry_get(r, "16k_ja", &eng, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
    assert_string_equal(o.language, "ja");
    assert_non_null(strstr(hint, "`cicada models pull small`"));
    assert_int_equal(engine_registry_get(r, "16k_en", &eng, &o, hint, sizeof hint), ENGINE_FOUND);
    engine_registry_free(r);
}

static void expect_bad_spec(const char *spec, const char *why)
{
    engine_registry_params p = engine_registry_default_params();
    p.engines = spec;
    char err[1024];
    size_t n;
    assert_null(engine_registry_plan(&p, &n, err, sizeof err));
    if (!strstr(err, "CICADA_ENGINES: ") || !strstr(err, why))
        fail_msg("expected \"%s\" in: %s", why, err);
    assert_null(engine_registry_new(&p, err, sizeof err));
    assert_non_null(strstr(err, why));
}

static void test_bad_engine_specs_fail_clearly(void **state)
{
    (void)state;
    expect_bad_spec("16k_fr=whisper:ggml-base.bin", "16k_fr is not an EngineModelType (known: 16k_zh, 16k_zh_video,");
    expect_bad_spec("16k_zh=whisper:ggml-base.bin,16K_EN=sphinx:en-us", "16K_EN is not an EngineModelType");
    expect_bad_spec("16k_zh:whisper:ggml-base.bin", "expected TYPE=ENGINE:MODEL[:LANGUAGE]");
    expect_bad_spec("16k_zh=kaldi:x", "neither whisper nor sphinx");
}

/* One budget per registry: CICADA_WHISPER_THREADS caps a call, never the budget; 0 = every core. */
static void test_registry_owns_one_core_budget(void **state)
{
    (void)state;
    int cases[][3] = {{8, 0, 8}, {8, 3, 3}, {8, 20, 8}, {2, 0, 2}, {1, 4, 1}};   /* cores, cap, per call */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        engine_registry_params p = engine_registry_default_params();
        p.cores = cases[i][0];
        p.whisper_threads = cases[i][1];
        char err[512];
        engine_registry *r = engine_registry_new(&p, err, sizeof err);
        assert_non_null(r);
        engine_cores_stats st = engine_cores_get_stats(engine_registry_cores(r));
        assert_int_equal(st.cores, cases[i][0]);
        assert_int_equal(st.per_call_max, cases[i][2]);
        assert_int_equal(st.busy, 0);
        engine_registry_free(r);
    }
}

/* ---- real whisper engines (generated models) ---- */

static bool have_generated_model(void)
{
    if (g_gen_model[0] && path_exists(g_gen_model))
        return true;
    print_message("skipping: no generated whisper model (CICADA_TEST_MODELS from the whisper_models fixture)\n");
    return false;
}

static engine_registry *registry_ok(const engine_registry_params *p)
{
    char err[1024];
    engine_registry *r = engine_registry_new(p, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    return r;
}

static engine *get_ok(engine_registry *r, const char *type, const char *language)
{
    engine *e = NULL;
    engine_opts o;
    char hint[768];
    if (engine_registry_get(r, type, &e, &o, hint, sizeof hint) != ENGINE_FOUND)
        fail_msg("%s: %s", type, hint);
    assert_string_equal(o.language, language);
    return e;
}

static void test_one_whisper_engine_per_model_file(void **state)
{
    (void)state;
    if (!have_generated_model())
        skip();
    char spec[4400];
    snprintf(spec, sizeof spec, "16k_zh=whisper:%s:zh,16k_ca=whisper:%s,8k_zh=whisper:%s,16k_zh-PY=whisper:%s",
             g_gen_model, g_gen_model, g_gen_model, g_gen_model);
    engine_registry_params p = engine_registry_default_params();
    p.engines = spec;
    p.max_concurrent = 2;
    engine_registry *r = registry_ok(&p);
    engine *zh = get_ok(r, "16k_zh", "zh");
    assert_string_equal(zh->vt->kind, "whisper");
    assert_int_equal(engine_sample_rate(zh), 16000);
    assert_ptr_equal(get_ok(r, "16k_ca", "yue"), zh);
    engine *tel = get_ok(r, "8k_zh", "zh");
    assert_ptr_equal(tel, zh);                     /* 8 kHz audio is resampled to whisper's 16 kHz */
    assert_int_equal(engine_sample_rate(tel), 16000);
    assert_ptr_equal(get_ok(r, "16k_zh-PY", "auto"), zh);
    assert_string_equal(get_ok(r, "16k_en", "en")->vt->kind, "sphinx");
    engine_registry_free(r);
}

static void test_automatic_mapping_loads_the_installed_model_once(void **state)
{
    (void)state;
    if (!have_generated_model())
        skip();
    char dir[128], link[200];
    make_dir(dir, sizeof dir, "auto-real");
    snprintf(link, sizeof link, "%s/ggml-tiny.bin", dir);
    assert_int_equal(symlink(g_gen_model, link), 0);
    engine_registry_params p = engine_registry_default_params();
    p.model_dir = dir;
    p.max_concurrent = 1;
    engine_registry *r = registry_ok(&p);
    engine *first = NULL;
    for (size_t i = 0; i < COUNT(k_languages); i++) {
        engine *e = get_ok(r, k_languages[i][0], k_languages[i][1]);
        assert_string_equal(e->vt->kind, "whisper");
        if (first)
            assert_ptr_equal(e, first);
        first = e;
    }
    engine_registry_free(r);
}

static void test_model_override_for_one_type(void **state)
{
    (void)state;
    if (!have_generated_model())
        skip();
    engine_registry_params p = engine_registry_default_params();
    p.only_type = "16k_ja";
    p.model_override = g_gen_model;
    engine_registry *r = registry_ok(&p);
    assert_string_equal(get_ok(r, "16k_ja", "ja")->vt->kind, "whisper");
    engine *e = NULL;
    engine_opts o;
    char hint[768];
    assert_int_equal(engine_registry_get(r, "16k_en", &e, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
    assert_string_equal(hint, "EngineModelType 16k_en is not loaded in this run");
    engine_registry_free(r);

    p.only_type = "8k_en";   /* a directory means pocketsphinx */
    p.model_override = g_en_dir;
    r = registry_ok(&p);
    assert_string_equal(get_ok(r, "8k_en", "en")->name, "sphinx:en-us");
    engine_registry_free(r);

    p.model_override = "/nonexistent/model.bin";
    r = registry_ok(&p);
    assert_int_equal(engine_registry_get(r, "8k_en", &e, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
    assert_string_equal(hint, "model /nonexistent/model.bin does not exist");
    engine_registry_free(r);
}

static void expect_creation_failure(const engine_registry_params *p, const char *a, const char *b)
{
    char err[1024];
    engine_registry *r = engine_registry_new(p, err, sizeof err);
    if (r) {
        engine_registry_free(r);
        fail_msg("registry created; expected a failure mentioning \"%s\"", a);
    }
    if (!strstr(err, a) || (b && !strstr(err, b)))
        fail_msg("expected \"%s\" and \"%s\" in: %s", a, b ? b : "", err);
}

static void test_whisper_start_up_failures_are_clear(void **state)
{
    (void)state;
    char dir[128], corrupt[200], spec[1100];
    make_dir(dir, sizeof dir, "broken");
    make_file(dir, "ggml-base.bin");   /* "x\n": not a model */
    snprintf(corrupt, sizeof corrupt, "%s/ggml-base.bin", dir);
    engine_registry_params p = engine_registry_default_params();
    p.model_dir = dir;
    /* a corrupt model is not a start-up failure: its types become unavailable, with the reason */
    engine_registry *broken = registry_ok(&p);
    engine *e;
    engine_opts o;
    char hint[1024];
    assert_int_equal(engine_registry_get(broken, "16k_ja", &e, &o, hint, sizeof hint), ENGINE_NOT_INSTALLED);
    if (!strstr(hint, "whisper model ") || !strstr(hint, corrupt) || !strstr(hint, "unavailable"))
        fail_msg("unclear hint: %s", hint);
    size_t n;
    engine_unavailable *u = engine_registry_unavailable(broken, &n);
    bool listed = false;
    for (size_t i = 0; i < n; i++) {
        listed = listed || strcmp(u[i].type, "16k_ja") == 0;
        const char *at = strstr(u[i].why, corrupt);
        if (!at || strstr(at + 1, corrupt))   /* the path named once, not "whisper model X: whisper model X" */
            fail_msg("%s: %s", u[i].type, u[i].why);
    }
    assert_true(listed);
    free(u);
    engine_registry_free(broken);

    if (!have_generated_model())
        skip();
    snprintf(spec, sizeof spec, "16k_ja=whisper:%s", g_gen_model);
    p.engines = spec;
    p.sphinx_en_dir = "";   /* nothing but the whisper model to load */
    p.vad_model = "ggml-silero-missing.bin";
    expect_creation_failure(&p, "CICADA_VAD_MODEL", "ggml-silero-missing.bin");
    char vad[1024];
    shared_path(vad, sizeof vad, "models/vad/ggml-silero-v6.2.0.bin");
    p.vad_model = path_exists(vad) ? vad : "none";
    p.blacklist_file = "/nonexistent/blacklist.txt";
    expect_creation_failure(&p, "CICADA_WHISPER_BLACKLIST", "/nonexistent/blacklist.txt");
    char list[200];
    snprintf(list, sizeof list, "%s/blacklist.txt", g_tmp);
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fputs("# junk phrases\n字幕由Amara.org社区提供\r\n\n  Thanks for watching!  \n", f);
    fclose(f);
    p.blacklist_file = list;
    engine_registry *r = registry_ok(&p);
    assert_string_equal(get_ok(r, "16k_ja", "ja")->vt->kind, "whisper");
    engine_registry_free(r);
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
    g_en_dir = p.sphinx_en_dir;
    shared_path(g_zh_dir, sizeof g_zh_dir, "models/sphinx-zh");
    const char *gen = getenv("CICADA_TEST_MODELS");
    if (gen && gen[0])
        snprintf(g_gen_model, sizeof g_gen_model, "%s/" GENERATED_MODEL, gen);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_spec_type_is_known),
        cmocka_unit_test(test_english_only_registry),
        cmocka_unit_test(test_mandarin_only_registry),
        cmocka_unit_test(test_incomplete_model_directories_fail_at_creation),
        cmocka_unit_test(test_automatic_mapping_uses_the_best_installed_whisper_model),
        cmocka_unit_test(test_configured_mapping),
        cmocka_unit_test(test_bad_engine_specs_fail_clearly),
        cmocka_unit_test(test_registry_owns_one_core_budget),
        cmocka_unit_test(test_one_whisper_engine_per_model_file),
        cmocka_unit_test(test_automatic_mapping_loads_the_installed_model_once),
        cmocka_unit_test(test_model_override_for_one_type),
        cmocka_unit_test(test_whisper_start_up_failures_are_clear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
