/* test_pipeline.c — the pipeline on real audio with the real pocketsphinx engine: recognising in
 * short windows (cut at pauses, times shifted back) keeps segments ordered and inside the audio and
 * loses little against one whole window; progress is reported after every window, only growing,
 * across both passes of a ChannelNum 2 job, and never above PIPELINE_PROGRESS_MAX; failures carry
 * the audio layer's codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "sched/sched.h"
#include "util/util.h"

static char jfk[1024];
static engine_registry *reg;

static int setup(void **state)
{
    (void)state;
    engine_registry_params p = engine_registry_default_params();
    char err[512];
    reg = engine_registry_new(&p, err, sizeof err);
    if (!reg)
        fprintf(stderr, "registry: %s\n", err);
    return reg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    engine_registry_free(reg);
    return 0;
}

/* Space-separated words of all segments, in order. */
static size_t collect_words(const engine_result *r, char words[][64], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nsegs; i++)
        for (size_t w = 0; w < r->segs[i].nwords && n < max; w++)
            snprintf(words[n++], 64, "%s", r->segs[i].words[w].text);
    return n;
}

static pipeline_request request(const char *type, int64_t max_audio_ms, int64_t window_ms)
{
    pipeline_request req = pipeline_default_request(type);
    req.max_audio_ms = max_audio_ms;
    req.window_ms = window_ms;
    return req;
}

static bool recognise(const char *path, const char *type, int64_t max_audio_ms, int64_t window_ms, pipeline_result *r)
{
    pipeline_request req = request(type, max_audio_ms, window_ms);
    return pipeline_recognise(reg, path, &req, r);
}

static void test_windows_keep_order_and_words(void **state)
{
    (void)state;
    pipeline_result whole, parts;
    assert_true(recognise(jfk, "16k_en", 0, 0, &whole));
    assert_true(recognise(jfk, "16k_en", 0, 4000, &parts));   /* three windows */
    assert_int_equal(parts.audio_ms, whole.audio_ms);
    assert_true(parts.channels[0].nsegs >= 2);
    int64_t prev_end = 0;
    for (size_t i = 0; i < parts.channels[0].nsegs; i++) {
        const engine_segment *s = &parts.channels[0].segs[i];
        assert_true(s->start_ms >= prev_end);
        assert_true(s->end_ms > s->start_ms && s->end_ms <= parts.audio_ms);
        for (size_t w = 0; w < s->nwords; w++)
            assert_true(s->words[w].start_ms >= s->start_ms && s->words[w].end_ms <= s->end_ms);
        prev_end = s->end_ms;
    }
    static char a[256][64], b[256][64];
    size_t na = collect_words(&whole.channels[0], a, 256), nb = collect_words(&parts.channels[0], b, 256);
    size_t shared = 0;
    for (size_t i = 0; i < nb; i++)
        for (size_t k = 0; k < na; k++)
            if (strcmp(b[i], a[k]) == 0) {
                shared++;
                break;
            }
    print_message("whole: %zu words, 4 s windows: %zu words, %zu shared\n", na, nb, shared);
    assert_true(shared * 10 >= na * 6);   /* cutting at pauses keeps most words */
    pipeline_result_free(&whole);
    pipeline_result_free(&parts);
}

/* What a progress hook was told. */
typedef struct reports {
    double v[64];
    size_t n;
} reports;

static void note_progress(void *arg, double done)
{
    reports *rp = arg;
    if (rp->n < sizeof rp->v / sizeof rp->v[0])
        rp->v[rp->n] = done;
    rp->n++;
}

/* Each report grows (or stays) and lies in (0, PIPELINE_PROGRESS_MAX]; the last is the maximum. */
static void assert_growing(const reports *rp, size_t at_least)
{
    assert_true(rp->n >= at_least && rp->n <= sizeof rp->v / sizeof rp->v[0]);
    for (size_t i = 0; i < rp->n; i++) {
        print_message("%.3f ", rp->v[i]);
        assert_true(rp->v[i] > 0 && rp->v[i] <= PIPELINE_PROGRESS_MAX);
        assert_true(i == 0 || rp->v[i] >= rp->v[i - 1]);
    }
    print_message("\n");
    assert_true(rp->v[rp->n - 1] == PIPELINE_PROGRESS_MAX);
}

/* jfk.wav as headerless 16-bit stereo: channel 0 the speech, channel 1 the same at half volume. */
static void stereo_pcm(char path[64])
{
    audio_params ap = audio_default_params();
    audio_pcm pcm;
    char err[256];
    assert_int_equal(audio_decode_file(jfk, &ap, &pcm, err, sizeof err), AUDIO_OK);
    int16_t *frames = xcalloc(pcm.n * 2, sizeof *frames);
    for (size_t i = 0; i < pcm.n; i++) {
        frames[2 * i] = (int16_t)(pcm.samples[i] * 32767);
        frames[2 * i + 1] = (int16_t)(pcm.samples[i] * 16383);
    }
    strlcpy_ok(path, "/tmp/cicada-stereo-XXXXXX", 64);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t bytes = pcm.n * 2 * sizeof *frames;
    assert_int_equal(write(fd, frames, bytes), (ssize_t)bytes);
    close(fd);
    free(frames);
    audio_pcm_free(&pcm);
}

static void test_progress_after_every_window(void **state)
{
    (void)state;
    reports one = {0};
    pipeline_request req = request("16k_en", 0, 4000);   /* three windows */
    req.progress = note_progress;
    req.progress_arg = &one;
    pipeline_result r;
    assert_true(pipeline_recognise(reg, jfk, &req, &r));
    pipeline_result_free(&r);
    assert_growing(&one, 3);
    assert_true(one.v[0] > 0.2 && one.v[0] < 0.5);   /* about 4 s of 11 */

    /* ChannelNum 2 reads the audio twice: the first pass ends at one half */
    char path[64];
    stereo_pcm(path);
    reports two = {0};
    req.channel_num = 2;
    req.raw_pcm = true;
    req.progress_arg = &two;
    assert_true(pipeline_recognise(reg, path, &req, &r));
    pipeline_result_free(&r);
    unlink(path);
    assert_growing(&two, 6);
    size_t half = 0;
    while (half < two.n && two.v[half] < 0.5)
        half++;
    assert_true(half >= 2 && half < two.n);
    assert_true(two.v[half] == 0.5);   /* the first pass's last window */
    assert_true(two.n - half >= 3);   /* and the second pass's windows after it */

    /* no hook: nothing told, and nothing changes */
    req.progress = NULL;
    req.channel_num = 1;
    req.raw_pcm = false;
    assert_true(pipeline_recognise(reg, jfk, &req, &r));
    pipeline_result_free(&r);
}

static void test_failures_carry_codes(void **state)
{
    (void)state;
    char path[] = "/tmp/cicada-pipe-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char junk[] = "certainly not audio\n";
    for (int i = 0; i < 100; i++)
        assert_int_equal(write(fd, junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
    close(fd);
    pipeline_result r;
    assert_false(recognise(path, "16k_en", 0, 4000, &r));
    assert_string_equal(r.code, "InputNotAudio");
    assert_true(strlen(r.message) > 0);
    pipeline_result_free(&r);
    assert_false(recognise(jfk, "16k_th", 0, 0, &r));
    assert_string_equal(r.code, "EngineNotInstalled");
    pipeline_result_free(&r);
    assert_false(recognise(jfk, "16k_en", 5000, 0, &r));   /* longer than allowed */
    assert_string_equal(r.code, "AudioTooLong");
    pipeline_result_free(&r);
    unlink(path);
}

int main(void)
{
    const char *td = getenv("CICADA_TESTDATA");
    snprintf(jfk, sizeof jfk, "%s/en/jfk/jfk.wav", td ? td : "");
    if (!td || access(jfk, R_OK) != 0) {
        printf("skipping: CICADA_TESTDATA unset or %s missing\n", jfk);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_keep_order_and_words),
        cmocka_unit_test(test_progress_after_every_window),
        cmocka_unit_test(test_failures_carry_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
