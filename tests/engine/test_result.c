/* test_result.c — engine_result building and freeing, and the engine_transcribe/engine_destroy
 * dispatch contract (argument checks; a failing engine leaves no partial result behind), using a
 * minimal engine written here whose transcribe adds a segment and then fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static void test_segments_and_words_are_copied_and_freed(void **state)
{
    (void)state;
    engine_result r = {0};
    char word[16] = "hello";
    engine_segment *s = engine_result_add_segment(&r, 100, 900);
    assert_non_null(s);
    assert_string_equal(s->text, "");
    engine_segment_add_word(s, word, 100, 400);
    strcpy(word, "world");
    engine_segment_add_word(s, word, 450, 900);
    for (int i = 0; i < 50; i++) {   /* growth moves the array; earlier contents survive */
        engine_segment *more = engine_result_add_segment(&r, 1000 + i, 1001 + i);
        engine_segment_add_word(more, "x", 1000 + i, 1001 + i);
    }
    assert_int_equal(r.nsegs, 51);
    assert_int_equal(r.segs[0].nwords, 2);
    assert_string_equal(r.segs[0].words[0].text, "hello");
    assert_string_equal(r.segs[0].words[1].text, "world");
    assert_int_equal(r.segs[0].words[1].start_ms, 450);
    assert_int_equal(r.segs[0].end_ms, 900);
    assert_int_equal(r.segs[50].start_ms, 1049);
    engine_result_free(&r);
    assert_null(r.segs);
    assert_int_equal(r.nsegs, 0);
    engine_result_free(&r);    /* idempotent */
    engine_result_free(NULL);
}

/* ---- a minimal engine that fails half-way, to exercise the dispatch contract ---- */

typedef struct failing_engine {
    engine base;
    int calls;
    int destroyed;
} failing_engine;

static int failing_rate(const engine *e)
{
    (void)e;
    return 16000;
}

static int failing_transcribe(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                              char *err, size_t errlen)
{
    (void)pcm;
    (void)n;
    (void)err;
    (void)errlen;
    failing_engine *fe = (failing_engine *)e;
    fe->calls++;
    assert_non_null(o);   /* dispatch never passes NULL options */
    engine_segment *s = engine_result_add_segment(out, 0, 10);
    engine_segment_add_word(s, "partial", 0, 10);
    return -1;            /* and gives no reason */
}

static void failing_destroy(engine *e)
{
    ((failing_engine *)e)->destroyed++;
}

static const engine_vtbl failing_vtbl = {
    .kind = "failing", .sample_rate = failing_rate, .transcribe = failing_transcribe, .destroy = failing_destroy};

static void test_dispatch_cleans_up_and_explains_failures(void **state)
{
    (void)state;
    failing_engine fe = {.base = {.vt = &failing_vtbl, .name = "failing:test"}};
    float pcm[4] = {0};
    engine_result r = {(engine_segment *)1, 7};   /* garbage in: dispatch resets it */
    char err[128];
    assert_int_not_equal(engine_transcribe(&fe.base, pcm, 4, NULL, &r, err, sizeof err), 0);
    assert_int_equal(fe.calls, 1);
    assert_null(r.segs);
    assert_int_equal(r.nsegs, 0);
    assert_string_equal(err, "failing:test failed without giving a reason");

    assert_int_not_equal(engine_transcribe(&fe.base, NULL, 4, NULL, &r, err, sizeof err), 0);
    assert_int_equal(fe.calls, 1);   /* refused before reaching the engine */
    assert_non_null(strstr(err, "audio"));
    assert_int_not_equal(engine_transcribe(NULL, pcm, 4, NULL, &r, err, sizeof err), 0);
    assert_non_null(strstr(err, "engine"));

    assert_int_equal(engine_sample_rate(&fe.base), 16000);
    engine_destroy(&fe.base);
    engine_destroy(NULL);
    assert_int_equal(fe.destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_and_words_are_copied_and_freed),
        cmocka_unit_test(test_dispatch_cleans_up_and_explains_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
