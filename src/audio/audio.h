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

/* Decodes the whole file (downmixed to mono, resampled). On failure err holds a one-line reason. */
audio_rc audio_decode_file(const char *path, const audio_params *p, audio_pcm *out, char *err, size_t errlen);
const char *audio_rc_code(audio_rc rc);   /* a stable job failure Code, e.g. "AudioDecodeFailed" */

#endif
