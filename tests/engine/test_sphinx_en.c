/* test_sphinx_en.c — the pocketsphinx engine on English: jfk.wav against its reference, exact
 * parity with pocketsphinx_batch on the same audio and model, segment/word invariants, and
 * degenerate inputs (empty, silence, a few samples). */
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

static engine *g_engine;
static engine_result g_jfk;      /* jfk.wav, transcribed once in setup */
static int64_t g_jfk_ms;
static char g_jfk_path[1024];
static batch_run g_batch;        /* pocketsphinx_batch on jfk.wav, running while we decode */
static bool g_batch_started;

static void assert_well_formed(const engine_result *r, int64_t audio_ms, bool spaced)
{
    int64_t prev_end = 0;
    for (size_t s = 0; s < r->nsegs; s++) {
        const engine_segment *seg = &r->segs[s];
        assert_true(seg->nwords > 0);
        assert_int_equal(seg->start_ms, seg->words[0].start_ms);
        assert_int_equal(seg->end_ms, seg->words[seg->nwords - 1].end_ms);
        if (s > 0)   /* segments are split only at gaps of at least 500 ms */
            assert_true(seg->start_ms - prev_end >= 500);
        buf joined;
        buf_init(&joined);
        for (size_t w = 0; w < seg->nwords; w++) {
            const engine_word *word = &seg->words[w];
            assert_true(strlen(word->text) > 0);
            assert_null(strpbrk(word->text, "()<>[]+ "));
            assert_true(word->start_ms <= word->end_ms);
            assert_true(word->start_ms >= prev_end);
            assert_true(word->end_ms <= audio_ms + 20);
            if (w > 0)
                assert_true(word->start_ms - seg->words[w - 1].end_ms < 500);
            if (w > 0 && spaced)
                buf_putc(&joined, ' ');
            buf_puts(&joined, word->text);
            prev_end = word->end_ms;
        }
        assert_string_equal(seg->text, joined.data);
        buf_free(&joined);
    }
}

static void test_jfk_shares_words_with_reference(void **state)
{
    (void)state;
    char refs[1024];
    testdata_path(refs, sizeof refs, "en/jfk/refs.tsv");
    char *ref = reference_text(refs, "jfk.wav");
    assert_non_null(ref);
    char *hyp = result_words_joined(&g_jfk);
    printf("reference:  %s\nhypothesis: %s\n", ref, hyp);
    assert_true(shared_word_count(ref, hyp) >= 8);
    assert_true(g_jfk.nsegs >= 1);
    assert_well_formed(&g_jfk, g_jfk_ms, true);
    free(ref);
    free(hyp);
}

static void test_jfk_parity_with_pocketsphinx_batch(void **state)
{
    (void)state;
    if (!g_batch_started) {
        printf("pocketsphinx_batch or ffmpeg missing\n");
        skip();
    }
    char *batch = sphinx_batch_finish(&g_batch);
    assert_non_null(batch);
    char *ours = result_words_joined(&g_jfk);
    printf("pocketsphinx_batch: %s\ncicada:             %s\n", batch, ours);
    assert_true(strlen(batch) > 0);
    assert_string_equal(ours, batch);
    free(batch);
    free(ours);
}

static void test_empty_silent_and_tiny_inputs(void **state)
{
    (void)state;
    engine_result r;
    char err[256];
    assert_int_equal(engine_transcribe(g_engine, NULL, 0, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r.nsegs, 0);

    float *zeros = calloc(16000, sizeof *zeros);
    assert_int_equal(engine_transcribe(g_engine, zeros, 16000, NULL, &r, err, sizeof err), 0);
    assert_well_formed(&r, 1000, true);
    engine_result_free(&r);

    assert_int_equal(engine_transcribe(g_engine, zeros, 100, NULL, &r, err, sizeof err), 0);
    assert_well_formed(&r, 10, true);
    engine_result_free(&r);
    free(zeros);
}

static void test_out_of_range_samples_are_clamped(void **state)
{
    (void)state;
    /* A full-scale square wave beyond [-1,1] must not wrap around when converted to 16 bits. */
    size_t n = 8000;
    float *loud = malloc(n * sizeof *loud);
    for (size_t i = 0; i < n; i++)
        loud[i] = (i / 40) % 2 ? 3.0f : -3.0f;
    engine_result r;
    char err[256];
    assert_int_equal(engine_transcribe(g_engine, loud, n, NULL, &r, err, sizeof err), 0);
    assert_well_formed(&r, 500, true);
    engine_result_free(&r);
    free(loud);
}

static void test_incomplete_model_is_refused(void **state)
{
    (void)state;
    sphinx_params p = sphinx_default_params();
    p.dict = "/nonexistent/cmudict.dict";
    char err[512];
    assert_null(engine_sphinx_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "dictionary /nonexistent/cmudict.dict"));

    p = sphinx_default_params();
    p.hmm = "/nonexistent-hmm";
    assert_null(engine_sphinx_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-hmm does not exist"));
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    int64_t t0 = time_mono_ms();
    g_engine = engine_sphinx_new(NULL, err, sizeof err);
    if (!g_engine) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    printf("model load: %lld ms\n", (long long)(time_mono_ms() - t0));
    assert_string_equal(g_engine->name, "sphinx:en-us");
    assert_int_equal(engine_sample_rate(g_engine), 16000);

    if (tool_available("pocketsphinx_batch") && tool_available("ffmpeg")) {
        sphinx_params p = sphinx_default_params();
        g_batch_started = sphinx_batch_start(&g_batch, g_jfk_path, 16000, p.hmm, p.lm, p.dict);
    }
    audio_params ap = audio_default_params();
    audio_pcm pcm;
    if (audio_decode_file(g_jfk_path, &ap, &pcm, err, sizeof err) != AUDIO_OK)
        return -1;
    g_jfk_ms = pcm.duration_ms;
    t0 = time_mono_ms();
    engine_opts o = {.language = "en"};
    int rc = engine_transcribe(g_engine, pcm.samples, pcm.n, &o, &g_jfk, err, sizeof err);
    printf("jfk.wav (%lld ms of audio) transcribed in %lld ms\n", (long long)pcm.duration_ms,
           (long long)(time_mono_ms() - t0));
    audio_pcm_free(&pcm);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    free(sphinx_batch_finish(&g_batch));   /* reaps it if the parity test did not run */
    engine_result_free(&g_jfk);
    engine_destroy(g_engine);
    return 0;
}

int main(void)
{
    sphinx_params p = sphinx_default_params();
    testdata_path(g_jfk_path, sizeof g_jfk_path, "en/jfk/jfk.wav");
    if (!path_exists(g_jfk_path) || !path_exists(p.hmm)) {
        printf("skipping: need %s and the pocketsphinx en-us model at %s\n", g_jfk_path, p.hmm);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jfk_shares_words_with_reference),
        cmocka_unit_test(test_jfk_parity_with_pocketsphinx_batch),
        cmocka_unit_test(test_empty_silent_and_tiny_inputs),
        cmocka_unit_test(test_out_of_range_samples_are_clamped),
        cmocka_unit_test(test_incomplete_model_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
