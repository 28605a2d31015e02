/* audio.h — turns any audio or video container FFmpeg's libraries can read into mono float PCM at
 * the rate an engine asks for. Knows nothing of jobs, HTTP or storage: it is given a file path.
 * The first audio_open configures FFmpeg for the whole process: its log goes to ours (debug level)
 * and no single FFmpeg allocation may exceed 64 MiB (forged headers ask for gigabytes). */
#ifndef CICADA_AUDIO_H
#define CICADA_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct audio_params {
    int sample_rate;            /* output rate; default 16000 */
    int64_t max_duration_ms;    /* refuse longer inputs; default 5 h */
    int64_t max_input_bytes;    /* refuse larger files before decoding anything; default 512 MiB */
    int channel;                /* -1: all channels downmixed to mono (default); 0, 1, ...: that
                                   channel alone (a channel the input lacks is AUDIO_CHANNEL_MISSING) */
    /* Raw PCM "when declared" (the job's Format says "pcm"): the file is read as headerless signed
     * 16-bit little-endian interleaved samples at raw_rate with raw_channels, and never probed. The
     * declaration wins: a WAV file declared raw is decoded as raw, its header read as ~22 samples of
     * noise at the start. */
    bool raw_pcm;               /* default false */
    int raw_rate;               /* default 16000 */
    int raw_channels;           /* default 1 */
    /* A declared container (the job's Format other than pcm; see audio_container_known), or NULL
     * (default): found from the content. Declared, the content must agree: a file FFmpeg clearly
     * recognises as another container is AUDIO_FORMAT_MISMATCH; one it cannot place (a weak or
     * failed guess) is opened with the declared container's demuxer. */
    const char *container;
} audio_params;
audio_params audio_default_params(void);

/* The containers a job's Format may declare (case-insensitive): wav, mp3, m4a, aac (ADTS, or AAC
 * in an MP4/M4A box), ogg-opus (Ogg), amr. "pcm" is not one: it is raw_pcm. */
bool audio_container_known(const char *name);

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
    AUDIO_DECODE_FAILED,        /* corrupt stream (also: invalid audio_params) */
    AUDIO_TRUNCATED,            /* the container declares more audio than the input holds */
    AUDIO_EMPTY,                /* no samples at all */
    AUDIO_TOO_LONG,             /* more than max_duration_ms of audio */
    AUDIO_INPUT_TOO_LARGE,      /* the file is larger than max_input_bytes */
    AUDIO_CHANNEL_MISSING,      /* params.channel names a channel the input does not have */
    AUDIO_FORMAT_MISMATCH,      /* params.container declares another container than the input's */
} audio_rc;

/* Streaming: open, then read mono samples at p->sample_rate in pieces of any size. Memory stays
 * bounded by the largest read, whatever the file's length. audio_read returns AUDIO_OK with
 * *got == 0 at the end; a failure (corrupt, too long, no audio at all) can surface on any read.
 * The total handed out is exact: round(input samples * sample_rate / input rate), so
 * audio_reader_duration_ms at the end is the input's duration, rounded down to the millisecond. */
typedef struct audio_reader audio_reader;
audio_rc audio_open(const char *path, const audio_params *p, audio_reader **out, char *err, size_t errlen);
audio_rc audio_read(audio_reader *r, float *dst, size_t max, size_t *got, char *err, size_t errlen);
/* Duration of the samples handed out so far, in ms. */
int64_t audio_reader_duration_ms(const audio_reader *r);
/* The input's whole length in ms as far as it can be told before its end (for progress reports):
 * the length its header declares, else FFmpeg's estimate (from the bit rate and the file's size),
 * else the samples handed out so far scaled by the share of the file's bytes read; 0 when nothing
 * tells yet. An estimate: the audio that decodes may turn out longer or shorter. */
int64_t audio_reader_expected_ms(const audio_reader *r);
/* Channels of the input's audio stream (what params.channel may choose from); 0 when the
 * container does not say, until the first audio_read. */
int audio_reader_channels(const audio_reader *r);
/* The input's own sample rate (before resampling); 0 until the first audio_read. */
int audio_reader_input_rate(const audio_reader *r);
void audio_close(audio_reader *r);

/* Decodes the whole file (downmixed to mono or one channel, resampled). On failure err holds a
 * one-line reason. */
audio_rc audio_decode_file(const char *path, const audio_params *p, audio_pcm *out, char *err, size_t errlen);
const char *audio_rc_code(audio_rc rc);   /* a stable job failure Code, e.g. "AudioDecodeFailed" */

#endif
