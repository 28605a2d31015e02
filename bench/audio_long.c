/* audio_long.c — the audio decoding benchmark's measuring program (run by bench/audio_long.sh):
 * streams one file through the reader the way the job pipeline does (30 s windows at 16 kHz) and
 * prints the result code, the samples and duration handed out, the wall and CPU time, and the
 * process's peak RSS before and after. Only the reader's memory is in the numbers: no engine. */
#include "audio/audio.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define WINDOW_SECONDS 30

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: audio_long FILE\n");
        return 2;
    }
    audio_params p = audio_default_params();
    size_t window = (size_t)p.sample_rate * WINDOW_SECONDS, total = 0, got = 0;
    float *buf = malloc(window * sizeof *buf);
    long rss_before = peak_rss_kb();
    double wall0 = now_s(CLOCK_MONOTONIC), cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    char err[512] = "";
    audio_reader *r = NULL;
    audio_rc rc = audio_open(argv[1], &p, &r, err, sizeof err);
    while (rc == AUDIO_OK && (rc = audio_read(r, buf, window, &got, err, sizeof err)) == AUDIO_OK && got > 0)
        total += got;
    long long duration_ms = r ? (long long)audio_reader_duration_ms(r) : 0;
    audio_close(r);
    printf("code=%s samples=%zu audio=%.3f s (%lld ms) wall=%.2f s cpu=%.2f s peak_rss_before=%ld kB "
           "peak_rss=%ld kB%s%s\n",
           audio_rc_code(rc), total, (double)total / p.sample_rate, duration_ms, now_s(CLOCK_MONOTONIC) - wall0,
           now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0, rss_before, peak_rss_kb(), err[0] ? " message=" : "", err);
    free(buf);
    return rc == AUDIO_OK ? 0 : 1;
}
