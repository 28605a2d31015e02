/* test_sphinx_times.c — pocketsphinx word times stay on the audio's clock where its front end
 * removes silence: jfk.wav behind 4 s of digital silence or of faint noise, and twice with a 3 s
 * pause between, must have its words where the speech is (the front end drops the frames it judges
 * silent, and times counted over the frames it kept came out seconds early). The expected onset is
 * measured in the same run: the time of jfk.wav's first word when it is transcribed on its own. */
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

#define RATE 16000
#define PAD_MS 4000       /* silence or noise before the speech (the error was the whole pad) */
#define PAUSE_MS 3000     /* silence between two copies of the speech */
#define TOLERANCE_MS 500  /* how far a word may start from where the speech starts */
#define NOISE_AMPLITUDE 0.003f   /* faint white noise: below the front end's speech threshold */

static engine *g_engine;
static float *g_jfk;          /* jfk.wav at 16 kHz */
static size_t g_jfk_n;
static int64_t g_jfk_ms;
static int64_t g_first_ms;    /* jfk.wav's first word, transcribed on its own */

/* Appends n samples (NULL: silence) to *x of length *len. */
static void append(float **x, size_t *len, const float *src, size_t n)
{
    *x = realloc(*x, (*len + n) * sizeof **x);
    assert_non_null(*x);
    if (src)
        memcpy(*x + *len, src, n * sizeof **x);
    else
        memset(*x + *len, 0, n * sizeof **x);
    *len += n;
}

/* Uniform white noise in [-amplitude, amplitude], the same every run (xorshift32). */
static void append_noise(float **x, size_t *len, size_t n, float amplitude)
{
    size_t at = *len;
    append(x, len, NULL, n);
    uint32_t s = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (*x)[at + i] = amplitude * ((float)s / 2147483648.0f - 1.0f);
    }
}

static void transcribe(const float *x, size_t n, engine_result *r)
{
    char err[256];
    engine_opts o = {.language = "en"};
    int64_t t0 = time_mono_ms();
    if (engine_transcribe(g_engine, x, n, &o, r, err, sizeof err) != 0)
        fail_msg("transcribing: %s", err);
    char *words = result_words_joined(r);
    printf("%lld ms of audio in %lld ms: %s\n", (long long)((int64_t)n * 1000 / RATE),
           (long long)(time_mono_ms() - t0), words);
    free(words);
}

static void print_words(const engine_result *r)
{
    for (size_t s = 0; s < r->nsegs; s++)
        for (size_t w = 0; w < r->segs[s].nwords; w++)
            printf("  %6lld-%6lld %s\n", (long long)r->segs[s].words[w].start_ms,
                   (long long)r->segs[s].words[w].end_ms, r->segs[s].words[w].text);
}

/* The first word starting at or after from_ms, or NULL. */
static const engine_word *first_word_from(const engine_result *r, int64_t from_ms)
{
    for (size_t s = 0; s < r->nsegs; s++)
        for (size_t w = 0; w < r->segs[s].nwords; w++)
            if (r->segs[s].words[w].start_ms >= from_ms)
                return &r->segs[s].words[w];
    return NULL;
}

/* Times only move forward and stay inside the audio. */
static void assert_ordered(const engine_result *r, int64_t audio_ms)
{
    int64_t prev_end = 0;
    for (size_t s = 0; s < r->nsegs; s++)
        for (size_t w = 0; w < r->segs[s].nwords; w++) {
            const engine_word *word = &r->segs[s].words[w];
            assert_true(word->start_ms >= prev_end);
            assert_true(word->start_ms <= word->end_ms);
            assert_true(word->end_ms <= audio_ms + 20);
            prev_end = word->end_ms;
        }
}

static void assert_starts_near(const engine_word *w, int64_t expected_ms)
{
    assert_non_null(w);
    printf("'%s' starts at %lld ms, the speech at %lld ms\n", w->text, (long long)w->start_ms,
           (long long)expected_ms);
    assert_true(w->start_ms >= expected_ms - TOLERANCE_MS);
    assert_true(w->start_ms <= expected_ms + TOLERANCE_MS);
}

/* x (n samples) is PAD_MS of padding: jfk follows it, and its first word must start where the
 * speech does. Frees x. */
static void check_speech_after_padding(float *x, size_t n)
{
    append(&x, &n, g_jfk, g_jfk_n);
    engine_result r;
    transcribe(x, n, &r);
    print_words(&r);
    assert_ordered(&r, (int64_t)n * 1000 / RATE);
    assert_starts_near(first_word_from(&r, 0), PAD_MS + g_first_ms);
    engine_result_free(&r);
    free(x);
}

/* Digital silence (all zero samples) before the speech. */
static void test_leading_silence(void **state)
{
    (void)state;
    float *x = NULL;
    size_t n = 0;
    append(&x, &n, NULL, (size_t)PAD_MS * RATE / 1000);
    check_speech_after_padding(x, n);
}

/* Faint noise before the speech: the front end hears no speech in it and drops it too. */
static void test_leading_noise(void **state)
{
    (void)state;
    float *x = NULL;
    size_t n = 0;
    append_noise(&x, &n, (size_t)PAD_MS * RATE / 1000, NOISE_AMPLITUDE);
    check_speech_after_padding(x, n);
}

/* Speech, a pause, the same speech again, all in one window: the second copy's first word is where
 * it is in the audio, and nothing is heard in the pause. */
static void test_speech_after_pause_mid_window(void **state)
{
    (void)state;
    float *x = NULL;
    size_t n = 0;
    append(&x, &n, g_jfk, g_jfk_n);
    append(&x, &n, NULL, (size_t)PAUSE_MS * RATE / 1000);
    append(&x, &n, g_jfk, g_jfk_n);
    assert_true((int64_t)n * 1000 / RATE < engine_window_ms(g_engine));   /* one call, one window */
    engine_result r;
    transcribe(x, n, &r);
    print_words(&r);
    assert_ordered(&r, (int64_t)n * 1000 / RATE);
    int64_t second = g_jfk_ms + PAUSE_MS + g_first_ms;
    const engine_word *w = first_word_from(&r, g_jfk_ms);
    assert_starts_near(w, second);
    /* The words before it all end before the pause is half over. */
    for (size_t s = 0; s < r.nsegs; s++)
        for (size_t i = 0; i < r.segs[s].nwords; i++)
            if (&r.segs[s].words[i] != w && r.segs[s].words[i].start_ms < w->start_ms)
                assert_true(r.segs[s].words[i].end_ms <= g_jfk_ms + PAUSE_MS / 2);
    engine_result_free(&r);
    free(x);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    g_engine = engine_sphinx_new(NULL, err, sizeof err);
    if (!g_engine) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    char path[1024];
    testdata_path(path, sizeof path, "en/jfk/jfk.wav");
    audio_params ap = audio_default_params();
    ap.sample_rate = RATE;
    audio_pcm pcm;
    if (audio_decode_file(path, &ap, &pcm, err, sizeof err) != AUDIO_OK) {
        fprintf(stderr, "decoding %s: %s\n", path, err);
        return -1;
    }
    g_jfk = pcm.samples;   /* kept: freed in teardown */
    g_jfk_n = pcm.n;
    g_jfk_ms = pcm.duration_ms;

    engine_result plain;
    transcribe(g_jfk, g_jfk_n, &plain);
    const engine_word *first = first_word_from(&plain, 0);
    if (!first) {
        fprintf(stderr, "jfk.wav gave no words\n");
        engine_result_free(&plain);
        return -1;
    }
    g_first_ms = first->start_ms;
    printf("jfk.wav alone: first word '%s' at %lld ms\n", first->text, (long long)g_first_ms);
    engine_result_free(&plain);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_jfk);
    engine_destroy(g_engine);
    return 0;
}

int main(void)
{
    sphinx_params p = sphinx_default_params();
    char jfk[1024];
    testdata_path(jfk, sizeof jfk, "en/jfk/jfk.wav");
    if (!path_exists(jfk) || !path_exists(p.hmm)) {
        printf("skipping: need %s (CICADA_TESTDATA) and the pocketsphinx en-us model at %s\n", jfk, p.hmm);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leading_silence),
        cmocka_unit_test(test_leading_noise),
        cmocka_unit_test(test_speech_after_pause_mid_window),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
