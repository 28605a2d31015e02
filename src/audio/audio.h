/* audio.h — turns any audio or video container FFmpeg's libraries can read into mono float PCM at
 * the rate an engine asks for. Knows nothing of jobs, HTTP or storage: it is given a file path. */
#ifndef CICADA_AUDIO_H
#define CICADA_AUDIO_H

#include <stddef.h>
#include <stdint.h>

typedef struct audio_params {
    int sample_rate;            /* output rate; default 16000 */
    int64_t max_duration_ms;    /* refuse longer inputs; default 5 h */
} audio_params;
audio_params audio_default_params(void);

typedef struct audio_pcm {
    float *samples;             /* mono, [-1,1]; heap, free with audio_pcm_free */
    size_t n;
    int sample_rate;
    int64_t duration_ms;        /* n / rate, in ms */
} audio_pcm;
void audio_pcm_free(audio_pcm *p);

typedef enum audio_rc {
    AUDIO_OK = 0,
    AUDIO_OPEN_FAILED,          /* missing or unreadable file */
    AUDIO_NOT_AUDIO,            /* a readable file with no audio stream / not a media file */
    AUDIO_DECODE_FAILED,        /* corrupt or truncated stream */
    AUDIO_EMPTY,                /* no samples at all */
    AUDIO_TOO_LONG,
} audio_rc;

/* Streaming: open, then read mono samples at p->sample_rate in pieces of any size. Memory stays
 * bounded by the largest read, whatever the file's length. audio_read returns AUDIO_OK with
 * *got == 0 at the end; a failure (corrupt, too long, no audio at all) can surface on any read. */
typedef struct audio_reader audio_reader;
audio_rc audio_open(const char *path, const audio_params *p, audio_reader **out, char *err, size_t errlen);
audio_rc audio_read(audio_reader *r, float *dst, size_t max, size_t *got, char *err, size_t errlen);
/* Duration of the samples handed out so far, in ms. */
int64_t audio_reader_duration_ms(const audio_reader *r);
void audio_close(audio_reader *r);

/* Decodes the whole file (downmixed to mono, resampled). On failure err holds a one-line reason. */
audio_rc audio_decode_file(const char *path, const audio_params *p, audio_pcm *out, char *err, size_t errlen);
const char *audio_rc_code(audio_rc rc);   /* a stable job failure Code, e.g. "AudioDecodeFailed" */

#endif
