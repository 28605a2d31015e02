/* fuzz_audio.c — libFuzzer target for the decoder's entry point. The first input byte chooses the
 * audio_params (output rate, channel, raw PCM declaration, whole-file or streaming reads); the rest
 * is the file, handed to the decoder as /proc/self/fd/N of a memfd, the way the job pipeline hands
 * it a stored object. Besides crashes, leaks and UB, it checks the decoder's promises: a success has
 * samples in [-1,1] and a duration matching its length; a failure has a one-line reason and no
 * samples. Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus. */
#include "audio/audio.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MAX_DURATION_MS 30000   /* keeps each run short and its memory small */
#define STREAM_PIECE 997             /* an odd read size, so pieces never align with frames */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bit 0: 8 kHz output; bits 1-2: channel -1..2; bit 3: raw PCM declared; bit 4: raw stereo;
 * bit 5: raw at 8 kHz (else 44.1 kHz); bit 6: streaming reads instead of the whole file. */
static audio_params params_from(uint8_t flags)
{
    audio_params p = audio_default_params();
    p.sample_rate = flags & 0x01 ? 8000 : 16000;
    p.channel = (int)((flags >> 1) & 3) - 1;
    p.raw_pcm = (flags & 0x08) != 0;
    p.raw_channels = flags & 0x10 ? 2 : 1;
    p.raw_rate = flags & 0x20 ? 8000 : 44100;
    p.max_duration_ms = FUZZ_MAX_DURATION_MS;
    return p;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_audio: broken promise: %s\n", what);
        abort();
    }
}

static void check_failure(audio_rc rc, const char *err)
{
    check(rc != AUDIO_OK, "failure code");
    check(err[0] != '\0', "a failure has a reason");
    check(strchr(err, '\n') == NULL, "the reason is one line");
    check(strcmp(audio_rc_code(rc), "Success") != 0, "a failure has a failure Code");
}

static void check_samples(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check(isfinite(x[i]) && x[i] >= -1.0f && x[i] <= 1.0f, "samples lie in [-1,1]");
}

static void decode_whole(const char *path, const audio_params *p)
{
    audio_pcm pcm;
    char err[512];
    audio_rc rc = audio_decode_file(path, p, &pcm, err, sizeof err);
    if (rc != AUDIO_OK) {
        check_failure(rc, err);
        check(pcm.samples == NULL && pcm.n == 0, "a failure returns no samples");
        return;
    }
    check(pcm.n > 0, "a success has samples");
    check(pcm.n <= (size_t)FUZZ_MAX_DURATION_MS * (size_t)p->sample_rate / 1000, "the length limit holds");
    check(pcm.duration_ms == (int64_t)pcm.n * 1000 / p->sample_rate, "duration matches the length");
    check_samples(pcm.samples, pcm.n);
    audio_pcm_free(&pcm);
}

static void decode_streaming(const char *path, const audio_params *p)
{
    audio_reader *r;
    char err[512];
    audio_rc rc = audio_open(path, p, &r, err, sizeof err);
    if (rc != AUDIO_OK) {
        check_failure(rc, err);
        check(r == NULL, "a failed open returns no reader");
        return;
    }
    check(audio_reader_channels(r) >= 0, "a channel count");
    float piece[STREAM_PIECE];
    size_t got, total = 0;
    while ((rc = audio_read(r, piece, STREAM_PIECE, &got, err, sizeof err)) == AUDIO_OK && got > 0) {
        check(got <= STREAM_PIECE, "a read fits its buffer");
        check_samples(piece, got);
        total += got;
        check(audio_reader_duration_ms(r) == (int64_t)total * 1000 / p->sample_rate, "duration of what was read");
    }
    if (rc != AUDIO_OK)
        check_failure(rc, err);
    audio_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    audio_params p = params_from(data[0]);
    int fd = memfd_create("fuzz-audio", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t off = 1;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (data[0] & 0x40)
        decode_streaming(path, &p);
    else
        decode_whole(path, &p);
    close(fd);
    return 0;
}
