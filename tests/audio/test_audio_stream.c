/* test_audio_stream.c — the streaming reader: reading a file in pieces of any size gives exactly the
 * samples of a whole-file decode (resampled or not), and a 10-minute MP3 (made by the audio_media
 * fixture by concatenation) streams in a forked child whose address space is capped with
 * setrlimit(RLIMIT_AS) well below what the whole decoded file would need, whether it is read a
 * second at a time or in one 10-minute window (the reader copies into the caller's window as it
 * decodes, and holds no second copy of it). The length expected before the end (progress reports)
 * is the declared one where a header states it and a close estimate where none does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/audio.h"
#include "util/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define LONG_SECONDS 605                 /* 55 x jfk's 11 s */
#define READ_PIECE 16000                 /* one second at 16 kHz, as the pipeline's windows */
/* Address space the streaming child may add to what it has mapped before decoding. The whole file
 * decoded at once is 605 s x 16000 x 4 B = 38.7 MB (and more while its buffer grows). */
#define STREAM_HEADROOM_MB 24

static char g_testdata[1024];
static char g_media[1024];

static void test_pieces_equal_whole(void **state)
{
    (void)state;
    const char *names[] = {"en/jfk/jfk.wav", "en/jfk/jfk.flac"};   /* 16 kHz mono; 44.1 kHz stereo */
    for (size_t f = 0; f < 2; f++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", g_testdata, names[f]);
        audio_params p = audio_default_params();
        audio_pcm whole;
        char err[256];
        assert_int_equal(audio_decode_file(path, &p, &whole, err, sizeof err), AUDIO_OK);
        const size_t sizes[] = {1, 997, 16000, 1 << 20};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            audio_reader *r;
            assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_OK);
            assert_int_equal(audio_reader_channels(r), f == 0 ? 1 : 2);
            float *piece = xmalloc(sizes[k] * sizeof *piece);
            size_t total = 0, got;
            do {
                assert_int_equal(audio_read(r, piece, sizes[k], &got, err, sizeof err), AUDIO_OK);
                assert_true(total + got <= whole.n);
                assert_memory_equal(piece, whole.samples + total, got * sizeof *piece);
                total += got;
                assert_int_equal(audio_reader_duration_ms(r), (int64_t)total * 1000 / 16000);
            } while (got > 0);
            assert_int_equal(total, whole.n);
            assert_int_equal(audio_reader_duration_ms(r), whole.duration_ms);
            free(piece);
            audio_close(r);
        }
        assert_int_equal(whole.duration_ms, 11000);
        audio_pcm_free(&whole);
    }
}

/* A copy of a WAV file with both RIFF sizes set to 0xFFFFFFFF, as a recorder that streams writes
 * it: no length is declared. */
static void streamed_wav(const char *from, char to[64])
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    static unsigned char data[1 << 20];
    size_t n = fread(data, 1, sizeof data, in);
    fclose(in);
    assert_true(n > 44 && n < sizeof data);
    memset(data + 4, 0xFF, 4);
    unsigned char *chunk = memmem(data, 256, "data", 4);
    assert_non_null(chunk);
    memset(chunk + 4, 0xFF, 4);
    strlcpy_ok(to, "/tmp/cicada-streamed-XXXXXX", 64);
    int fd = mkstemp(to);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* How far the expected length may stray from the real 11 s (MP3 encoder padding, estimates). */
#define EXPECTED_SLACK_MS 300

static void test_expected_length_before_the_end(void **state)
{
    (void)state;
    char streamed[64], jfk_wav[1200];
    snprintf(jfk_wav, sizeof jfk_wav, "%s/en/jfk/jfk.wav", g_testdata);
    streamed_wav(jfk_wav, streamed);
    const char *names[] = {"en/jfk/jfk.wav", "en/jfk/jfk.mp3", "en/jfk/jfk.flac", "en/sphinx/goforward.raw", streamed};
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        char path[1200];
        bool raw = strstr(names[f], ".raw") != NULL;
        if (names[f][0] == '/')
            snprintf(path, sizeof path, "%s", names[f]);
        else
            snprintf(path, sizeof path, "%s/%s", g_testdata, names[f]);
        audio_params p = audio_default_params();
        p.raw_pcm = raw;
        audio_reader *r;
        char err[256];
        assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_OK);
        float *piece = xmalloc(16000 * sizeof *piece);
        size_t got, reads = 0;
        int64_t first = -1, last = -1;
        do {
            assert_int_equal(audio_read(r, piece, 16000, &got, err, sizeof err), AUDIO_OK);
            if (got > 0 && reads++ == 0)
                first = audio_reader_expected_ms(r);
            if (got > 0)
                last = audio_reader_expected_ms(r);
        } while (got > 0);
        int64_t real = audio_reader_duration_ms(r);
        print_message("%s: expected %lld ms after the first second, %lld ms at the end; %lld ms decoded\n", names[f],
                      (long long)first, (long long)last, (long long)real);
        assert_true(first > 0 && llabs(first - real) <= EXPECTED_SLACK_MS);
        assert_true(last > 0 && llabs(last - real) <= EXPECTED_SLACK_MS);
        free(piece);
        audio_close(r);
    }
    unlink(streamed);
}

/* This process's mapped address space (VmSize), in kB. */
static long address_space_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* In the child: caps the address space at what is mapped now plus headroom_mb (0: no cap). */
static void cap_address_space(long headroom_mb)
{
    if (headroom_mb <= 0)
        return;
    long now_kb = address_space_kb();
    if (now_kb <= 0)
        _exit(90);
    rlim_t cap = ((rlim_t)now_kb + (rlim_t)headroom_mb * 1024) * 1024;
    struct rlimit rl = {cap, cap};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        _exit(91);
}

typedef enum { READ_SECONDS, READ_ONE_WINDOW, DECODE_WHOLE } read_mode;

/* Child body: streams the file (or decodes it whole) and reports through its exit status and a
 * line on stdout. Exit 0 only when all of it was decoded. READ_ONE_WINDOW allocates its window
 * (the whole file and more) before the cap, as the pipeline does before it reads. */
static void child_decode(const char *path, long headroom_mb, read_mode mode)
{
    audio_params p = audio_default_params();
    char err[256];
    long rss_before = peak_rss_kb();
    size_t window = mode == READ_ONE_WINDOW ? (size_t)(LONG_SECONDS + 60) * (size_t)p.sample_rate : READ_PIECE;
    float *piece = xmalloc(window * sizeof *piece);
    cap_address_space(headroom_mb);
    size_t total = 0;
    if (mode == DECODE_WHOLE) {
        audio_pcm pcm;
        if (audio_decode_file(path, &p, &pcm, err, sizeof err) != AUDIO_OK)
            _exit(92);
        total = pcm.n;
        audio_pcm_free(&pcm);
    } else {
        audio_reader *r;
        if (audio_open(path, &p, &r, err, sizeof err) != AUDIO_OK)
            _exit(93);
        size_t got;
        do {
            if (audio_read(r, piece, window, &got, err, sizeof err) != AUDIO_OK)
                _exit(94);
            total += got;
        } while (got > 0);
        audio_close(r);
    }
    free(piece);
    printf("decoded %zu samples (%.3f s); peak RSS %ld kB, %ld kB more than before decoding\n", total,
           (double)total / p.sample_rate, peak_rss_kb(), peak_rss_kb() - rss_before);
    fflush(stdout);
    bool plausible = total >= (size_t)LONG_SECONDS * p.sample_rate && total <= (size_t)(LONG_SECONDS + 6) * p.sample_rate;
    _exit(plausible ? 0 : 95);
}

/* Runs child_decode in a fork; returns its wait status. */
static int run_child(const char *path, long headroom_mb, read_mode mode)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_decode(path, headroom_mb, mode);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_ten_minutes_stream_under_an_address_space_cap(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/long_10min.mp3", g_media);
    if (access(path, R_OK) != 0) {
        print_message("no %s (the audio_media fixture did not run)\n", path);
        skip();
    }
    if (UNDER_ASAN) {
        /* ASan reserves terabytes of shadow address space: RLIMIT_AS cannot be applied under it. */
        print_message("AddressSanitizer build: streaming without the RLIMIT_AS cap\n");
        for (read_mode m = READ_SECONDS; m <= READ_ONE_WINDOW; m++) {
            int status = run_child(path, 0, m);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        return;
    }
    for (read_mode m = READ_SECONDS; m <= READ_ONE_WINDOW; m++) {
        int status = run_child(path, STREAM_HEADROOM_MB, m);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("streaming 10 minutes %s under a %d MB address-space cap failed (status 0x%x)",
                     m == READ_SECONDS ? "a second at a time" : "in one window", STREAM_HEADROOM_MB, (unsigned)status);
    }
    /* The cap is real: decoding the same file whole under it runs out of memory. */
    int status = run_child(path, STREAM_HEADROOM_MB, DECODE_WHOLE);
    print_message("whole-file decode under the same cap: %s\n",
                  WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "succeeded" : "ran out of memory, as it must");
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const char *td = getenv("CICADA_TESTDATA");
    const char *media = getenv("CICADA_AUDIO_MEDIA");
    snprintf(g_testdata, sizeof g_testdata, "%s", td ? td : "");
    snprintf(g_media, sizeof g_media, "%s", media ? media : "");
    char jfk[1200];
    snprintf(jfk, sizeof jfk, "%s/en/jfk/jfk.wav", g_testdata);
    if (!td || access(jfk, R_OK) != 0) {
        printf("skipping: CICADA_TESTDATA unset or %s missing\n", jfk);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_minutes_stream_under_an_address_space_cap),
        cmocka_unit_test(test_pieces_equal_whole),
        cmocka_unit_test(test_expected_length_before_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
