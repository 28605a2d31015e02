/* fuzz_diarize.c — libFuzzer target for the diarizer (src/diarize), which reads the samples of any
 * uploaded recording. Byte 0 chooses the parameters (speakers 0-10 from byte 0 % 11; bit 7: 8 kHz
 * samples, else 16 kHz; bit 6: recorded at 8 kHz), byte 1 the feed size (1 + byte * 37 samples),
 * byte 2 the reading: odd, the rest is raw 32-bit floats (NaN, infinities, huge values included);
 * even, 16-bit samples tiled to 20 s with a gain that changes every 1.7 s, so that short inputs
 * still reach the clustering with many segments. Besides crashes, leaks and undefined behaviour it
 * aborts when the diarizer breaks a promise: turns in order, not overlapping, not empty, inside the
 * audio, speakers numbered 0.. by first appearance, no more than asked for.
 *
 * Run:      build-fuzz/fuzz/fuzz_diarize -max_len=65536 -max_total_time=300 WORK fuzz/corpus/diarize
 * Replay:   build/fuzz/fuzz_diarize_replay fuzz/corpus/diarize (CTest: fuzz_diarize_replay) */
#include "diarize/diarize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_diarize: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    diarize_params p = diarize_default_params();
    p.speakers = data[0] % 11;
    p.sample_rate = data[0] & 0x80 ? 8000 : 16000;
    p.input_rate = data[0] & 0x40 ? 8000 : 0;
    size_t feed = 1 + (size_t)data[1] * 37;
    bool raw = data[2] & 1;
    data += 3;
    size -= 3;
    size_t n = raw ? size / 4 : (size >= 2 ? (size_t)p.sample_rate * 20 : 0);
    float *pcm = malloc(sizeof(float) * (n ? n : 1));
    if (!pcm)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (raw) {
            memcpy(&pcm[i], data + 4 * i, 4);
        } else {
            size_t at = (2 * i) % (size & ~(size_t)1);
            int16_t v = (int16_t)(data[at] | data[at + 1] << 8);
            size_t piece = i / (size_t)(p.sample_rate * 17 / 10);
            float gain = (float)(1 + (data[piece % size] & 7)) / 8.0f;
            pcm[i] = gain * (float)v / 32768.0f;
        }
    }
    diarizer *d;
    check(diarize_new(&p, &d) == DIARIZE_OK, "valid parameters refused");
    for (size_t at = 0; at < n; at += feed)
        check(diarize_feed(d, pcm + at, n - at < feed ? n - at : feed) == DIARIZE_OK, "feed failed");
    diarize_result r;
    diarize_rc rc = diarize_finish(d, &r);
    check(rc == DIARIZE_OK || rc == DIARIZE_FAILED, "finish: unexpected error");
    if (rc == DIARIZE_OK) {
        int64_t audio_ms = (int64_t)n * 1000 / p.sample_rate;
        int next = 0;
        for (size_t t = 0; t < r.nturns; t++) {
            const diarize_turn *u = &r.turns[t];
            check(u->start_ms >= 0 && u->start_ms < u->end_ms && u->end_ms <= audio_ms + 30, "turn outside the audio");
            check(t == 0 || u->start_ms >= r.turns[t - 1].end_ms, "turns out of order or overlapping");
            check(u->speaker >= 0 && u->speaker <= next, "speakers not numbered by first appearance");
            if (u->speaker == next)
                next++;
        }
        check(next == r.speakers, "speaker count differs from the turns'");
        check(r.speakers <= (p.speakers ? p.speakers : DIARIZE_MAX_SPEAKERS), "more speakers than asked for");
        check((r.nturns == 0) == (r.speakers == 0), "turns without speakers");
        char line[64];
        size_t need = diarize_rttm(&r, "f", NULL, 0);
        check(diarize_rttm(&r, "f", line, sizeof line) == need, "rttm sizes differ");
        check(strlen(line) == (need < sizeof line ? need : sizeof line - 1), "rttm not terminated");
    }
    diarize_result_free(&r);
    diarize_free(d);
    free(pcm);
    return 0;
}
