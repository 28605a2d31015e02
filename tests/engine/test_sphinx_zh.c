/* test_sphinx_zh.c — the pocketsphinx engine on Mandarin through the registry (the shared 8 kHz
 * tdt_sc_8k model found inside its directory): AISHELL utterances give Chinese text joined without
 * spaces, and the words equal pocketsphinx_batch's hypothesis on the same 8 kHz audio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_testutil.h"
#include "util/util.h"

static const char *const k_files[] = {"BAC009S0150W0001.wav", "BAC009S0150W0002.wav"};

static engine_registry *g_reg;
static char g_model_dir[1024];

static engine *mandarin_engine(engine_opts *o)
{
    engine *e = NULL;
    char hint[512];
    assert_int_equal(engine_registry_get(g_reg, "16k_zh", &e, o, hint, sizeof hint), ENGINE_FOUND);
    return e;
}

static void aishell_path(char *out, size_t len, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "zh/aishell/%s", file);
    testdata_path(out, len, rel);
}

/* True when s starts with a UTF-8 encoded CJK Unified Ideograph (U+4E00..U+9FFF). */
static bool starts_with_cjk(const unsigned char *s)
{
    if ((s[0] & 0xF0) != 0xE0 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
        return false;
    unsigned cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    return cp >= 0x4E00 && cp <= 0x9FFF;
}

static bool all_cjk(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    if (!*p)
        return false;
    for (; *p; p += 3)
        if (!starts_with_cjk(p))
            return false;
    return true;
}

/* Counts the characters of `ref` (3-byte UTF-8) that occur anywhere in `hyp`. */
static int shared_chars(const char *ref, const char *hyp)
{
    int n = 0;
    for (const char *p = ref; p[0] && p[1] && p[2]; p += 3) {
        char ch[4] = {p[0], p[1], p[2], 0};
        if (strstr(hyp, ch))
            n++;
    }
    return n;
}

static void test_aishell_chinese_without_spaces(void **state)
{
    (void)state;
    engine_opts o;
    engine *e = mandarin_engine(&o);
    assert_string_equal(o.language, "zh");
    assert_int_equal(engine_sample_rate(e), 8000);
    char refs[1024];
    testdata_path(refs, sizeof refs, "zh/aishell/refs.tsv");
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        aishell_path(path, sizeof path, k_files[i]);
        engine_result r;
        int64_t t0 = time_mono_ms();
        transcribe_file(e, &o, path, &r);
        printf("%s in %lld ms:", k_files[i], (long long)(time_mono_ms() - t0));
        assert_true(r.nsegs >= 1);
        char *all = xstrdup("");
        for (size_t s = 0; s < r.nsegs; s++) {
            const engine_segment *seg = &r.segs[s];
            printf(" [%lld-%lld] %s", (long long)seg->start_ms, (long long)seg->end_ms, seg->text);
            assert_null(strchr(seg->text, ' '));
            assert_true(all_cjk(seg->text));
            buf joined;
            buf_init(&joined);
            for (size_t w = 0; w < seg->nwords; w++) {
                assert_true(all_cjk(seg->words[w].text));
                assert_true(seg->words[w].start_ms <= seg->words[w].end_ms);
                buf_puts(&joined, seg->words[w].text);
            }
            assert_string_equal(seg->text, joined.data);
            buf_free(&joined);
            char *grown = xmalloc(strlen(all) + strlen(seg->text) + 1);
            strcpy(grown, all);
            strcat(grown, seg->text);
            free(all);
            all = grown;
        }
        char *ref = reference_text(refs, k_files[i]);
        printf("  (reference %s)\n", ref ? ref : "?");
        if (ref)
            assert_true(shared_chars(ref, all) >= 1);
        free(ref);
        free(all);
        engine_result_free(&r);
    }
}

static void test_aishell_parity_with_pocketsphinx_batch(void **state)
{
    (void)state;
    if (!tool_available("pocketsphinx_batch") || !tool_available("ffmpeg")) {
        printf("pocketsphinx_batch or ffmpeg missing\n");
        skip();
    }
    char hmm[1200], lm[1200], dict[1200];
    snprintf(hmm, sizeof hmm, "%s/tdt_sc_8k", g_model_dir);
    snprintf(lm, sizeof lm, "%s/gigatdt.5000.lm.bin", g_model_dir);
    snprintf(dict, sizeof dict, "%s/mandarin_notone.dic", g_model_dir);
    engine_opts o;
    engine *e = mandarin_engine(&o);
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        aishell_path(path, sizeof path, k_files[i]);
        engine_result r;
        transcribe_file(e, &o, path, &r);
        char *ours = result_words_joined(&r);
        char *batch = sphinx_batch_hypothesis(path, 8000, hmm, lm, dict);
        assert_non_null(batch);
        printf("%s: pocketsphinx_batch \"%s\", cicada \"%s\"\n", k_files[i], batch, ours);
        assert_true(strlen(batch) > 0);
        assert_string_equal(ours, batch);
        free(ours);
        free(batch);
        engine_result_free(&r);
    }
}

static int setup(void **state)
{
    (void)state;
    engine_registry_params p = engine_registry_default_params();
    p.sphinx_en_dir = "";
    p.sphinx_zh_dir = g_model_dir;
    char err[1024];
    int64_t t0 = time_mono_ms();
    g_reg = engine_registry_new(&p, err, sizeof err);
    if (!g_reg) {
        fprintf(stderr, "registry: %s\n", err);
        return -1;
    }
    printf("Mandarin model load: %lld ms\n", (long long)(time_mono_ms() - t0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    engine_registry_free(g_reg);
    return 0;
}

int main(void)
{
    char first[1024];
    shared_path(g_model_dir, sizeof g_model_dir, "models/sphinx-zh");
    aishell_path(first, sizeof first, k_files[0]);
    if (!path_exists(g_model_dir) || !path_exists(first)) {
        printf("skipping: need the Mandarin model at %s and %s\n", g_model_dir, first);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aishell_chinese_without_spaces),
        cmocka_unit_test(test_aishell_parity_with_pocketsphinx_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
