/* test_audio_stream.c — the streaming reader: reading a file in pieces of any size gives exactly the
 * samples of a whole-file decode, and a 20-minute file streams in memory bounded by the read size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audio/audio.h"
#include "util/util.h"

static char jfk[1024];

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_pieces_equal_whole(void **state)
{
    (void)state;
    audio_params p = audio_default_params();
    audio_pcm whole;
    char err[256];
    assert_int_equal(audio_decode_file(jfk, &p, &whole, err, sizeof err), AUDIO_OK);
    const size_t sizes[] = {1, 997, 16000, 1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        audio_reader *r;
        assert_int_equal(audio_open(jfk, &p, &r, err, sizeof err), AUDIO_OK);
        float *piece = xmalloc(sizes[k] * sizeof *piece);
        size_t total = 0, got;
        do {
            assert_int_equal(audio_read(r, piece, sizes[k], &got, err, sizeof err), AUDIO_OK);
            assert_true(total + got <= whole.n);
            assert_memory_equal(piece, whole.samples + total, got * sizeof *piece);
            total += got;
        } while (got > 0);
        assert_int_equal(total, whole.n);
        assert_int_equal(audio_reader_duration_ms(r), whole.duration_ms);
        free(piece);
        audio_close(r);
    }
    audio_pcm_free(&whole);
}

static void test_twenty_minutes_in_bounded_memory(void **state)
{
    (void)state;
    char dir[] = "/tmp/cicada-stream-XXXXXX", path[128], cmd[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/long.flac", dir);
    snprintf(cmd, sizeof cmd, "sox -n -r 16000 -c 1 -b 16 '%s' synth 1200 sine 440 vol 0.3 2>/dev/null", path);
    if (system(cmd) != 0) {
        skip();   /* cmocka marks it skipped: sox is missing */
    }
    audio_params p = audio_default_params();
    audio_reader *r;
    char err[256];
    assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_OK);
    long before = max_rss_kb();
    float piece[16000];
    size_t total = 0, got;
    do {
        assert_int_equal(audio_read(r, piece, 16000, &got, err, sizeof err), AUDIO_OK);
        total += got;
    } while (got > 0);
    long growth_kb = max_rss_kb() - before;
    audio_close(r);
    /* the whole file as float PCM would be 1200 s x 16000 x 4 B = 77 MB */
    assert_true(total > (size_t)1199 * 16000 && total < (size_t)1201 * 16000);
    print_message("20 min streamed: peak RSS grew by %ld kB\n", growth_kb);
    assert_true(growth_kb < 16 * 1024);
    unlink(path);
    rmdir(dir);
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
        /* first: the memory check compares against the process's peak so far */
        cmocka_unit_test(test_twenty_minutes_in_bounded_memory),
        cmocka_unit_test(test_pieces_equal_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
