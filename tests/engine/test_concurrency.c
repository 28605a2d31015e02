/* test_concurrency.c — four threads decoding and transcribing English and Mandarin clips at once
 * (sharing the registry's two engines and their decoder pools) get exactly the results a single
 * thread gets: same segments, words and timings, whatever decoder served them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_testutil.h"
#include "util/util.h"

#define NTHREADS 4
#define NCLIPS 4

typedef struct clip {
    const char *rel;
    const char *type;
} clip;

static const clip k_clips[NCLIPS] = {
    {"en/sphinx/001.wav", "16k_en"},
    {"zh/aishell/BAC009S0150W0001.wav", "16k_zh"},
    {"en/sphinx/003.wav", "8k_en"},
    {"zh/aishell/BAC009S0150W0002.wav", "8k_zh"},
};

static engine_registry *g_reg;
static engine_result g_reference[NCLIPS];

/* Thread-safe: no cmocka asserts (they longjmp); failures are reported in err. */
static int transcribe_clip(const clip *c, engine_result *out, char *err, size_t errlen)
{
    engine *e = NULL;
    engine_opts o;
    char path[1024];
    if (engine_registry_get(g_reg, c->type, &e, &o, err, errlen) != ENGINE_FOUND)
        return -1;
    testdata_path(path, sizeof path, c->rel);
    audio_params ap = audio_default_params();
    ap.sample_rate = engine_sample_rate(e);
    audio_pcm pcm;
    if (audio_decode_file(path, &ap, &pcm, err, errlen) != AUDIO_OK)
        return -1;
    int rc = engine_transcribe(e, pcm.samples, pcm.n, &o, out, err, errlen);
    audio_pcm_free(&pcm);
    return rc;
}

typedef struct worker {
    pthread_t thread;
    int index;
    int mismatches;
    int failures;
    char first_problem[1024];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int k = 0; k < NCLIPS; k++) {
        int i = (w->index + k) % NCLIPS;   /* each thread walks the clips in its own order */
        engine_result r;
        char err[512];
        if (transcribe_clip(&k_clips[i], &r, err, sizeof err) != 0) {
            if (w->failures++ == 0)
                snprintf(w->first_problem, sizeof w->first_problem, "%s: %s", k_clips[i].rel, err);
            continue;
        }
        char *got = result_describe(&r), *want = result_describe(&g_reference[i]);
        if (strcmp(got, want) != 0 && w->mismatches++ == 0)
            snprintf(w->first_problem, sizeof w->first_problem, "%s: got %s wanted %s", k_clips[i].rel, got, want);
        free(got);
        free(want);
        engine_result_free(&r);
    }
    return NULL;
}

static void test_four_threads_match_single_thread(void **state)
{
    (void)state;
    worker workers[NTHREADS] = {0};
    int64_t t0 = time_mono_ms();
    for (int t = 0; t < NTHREADS; t++) {
        workers[t].index = t;
        assert_int_equal(pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(workers[t].thread, NULL), 0);
    printf("%d threads x %d clips in %lld ms\n", NTHREADS, NCLIPS, (long long)(time_mono_ms() - t0));
    for (int t = 0; t < NTHREADS; t++) {
        if (workers[t].failures || workers[t].mismatches)
            fail_msg("thread %d: %d failures, %d mismatches; first: %s", t, workers[t].failures,
                     workers[t].mismatches, workers[t].first_problem);
    }
}

static int setup(void **state)
{
    (void)state;
    char zh[1024], err[1024];
    shared_path(zh, sizeof zh, "models/sphinx-zh");
    engine_registry_params p = engine_registry_default_params();
    p.sphinx_zh_dir = zh;
    g_reg = engine_registry_new(&p, err, sizeof err);
    if (!g_reg) {
        fprintf(stderr, "registry: %s\n", err);
        return -1;
    }
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < NCLIPS; i++) {
        if (transcribe_clip(&k_clips[i], &g_reference[i], err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", k_clips[i].rel, err);
            return -1;
        }
        char *d = result_describe(&g_reference[i]);
        printf("%s: %s", k_clips[i].rel, d[0] ? d : "(nothing)\n");
        free(d);
    }
    printf("single thread: %d clips in %lld ms\n", NCLIPS, (long long)(time_mono_ms() - t0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NCLIPS; i++)
        engine_result_free(&g_reference[i]);
    engine_registry_free(g_reg);
    return 0;
}

int main(void)
{
    char zh[1024], en[1024];
    shared_path(zh, sizeof zh, "models/sphinx-zh");
    testdata_path(en, sizeof en, k_clips[0].rel);
    engine_registry_params p = engine_registry_default_params();
    if (!path_exists(zh) || !path_exists(en) || !path_exists(p.sphinx_en_dir)) {
        printf("skipping: need %s, %s and %s\n", zh, en, p.sphinx_en_dir);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_threads_match_single_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
