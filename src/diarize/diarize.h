/* diarize.h — who spoke when, in a mono recording, with no trained model: a classical weight-free
 * speaker diarizer. It knows audio samples and times only (nothing of jobs, HTTP, XML or storage),
 * sits beside the engine below the pipeline, and is fed the same PCM the recogniser gets.
 *
 * Method (diarize.c holds the design notes):
 *   1. MFCC 1-19 (25 ms / 10 ms) on the frames an energy gate calls speech (mfcc.c);
 *   2. summaries only: per 100 ms block a diagonal Gaussian's statistics, per segment (a run of
 *      speech cut at pauses and at 1.5 s) a full-covariance one, so a 5-hour file costs tens of MB,
 *      never its frames;
 *   3. segment distances by the Gaussian likelihood ratio (GLR); spectral clustering of their
 *      nearest-neighbour graph, the graph chosen by the normalised maximum eigengap (NME-SC);
 *      LAPACK does the eigen-solving (cluster.c);
 *   4. the count, when not given: the partition into 2..max_speakers whose closest clusters stand
 *      furthest apart, kept only if they stand far enough apart; otherwise one speaker.
 *
 * Thread safety: a diarizer is used by one thread at a time; separate diarizers are independent.
 *
 * Usage:
 *     diarize_params p = diarize_default_params();
 *     p.speakers = 0;                                  // estimate the count
 *     diarizer *d;
 *     if (diarize_new(&p, &d) != DIARIZE_OK) ...
 *     while (more audio) diarize_feed(d, pcm, n);      // mono float at p.sample_rate
 *     diarize_result r;
 *     diarize_finish(d, &r);                           // r.turns: speaker 0, 1, ... by first turn
 *     ... diarize_speaker_of(&r, start_ms, end_ms) ...
 *     diarize_result_free(&r);
 *     diarize_free(d);
 */
#ifndef CICADA_DIARIZE_H
#define CICADA_DIARIZE_H

#include <stddef.h>
#include <stdint.h>

#define DIARIZE_MAX_SPEAKERS 10   /* the contract's SpeakerNumber range is 1-10 */

typedef struct diarize_params {
    int sample_rate;    /* of the samples fed: 8000-48000; default 16000 */
    int input_rate;     /* the recording's own rate before any resampling (an 8 kHz call upsampled
                           to 16 kHz has no band above 4 kHz to listen to); 0 = sample_rate (default) */
    int speakers;       /* 1-10: exactly that many; 0 (default): estimated, 1-max_speakers */
    int max_speakers;   /* the estimate's ceiling, 1-10; default 10 */
} diarize_params;
diarize_params diarize_default_params(void);

typedef enum diarize_rc {
    DIARIZE_OK = 0,
    DIARIZE_BAD_PARAMS,     /* a rate or a count out of range */
    DIARIZE_NO_MEMORY,
    DIARIZE_FAILED,         /* the linear algebra did not converge (never seen on real audio) */
} diarize_rc;
const char *diarize_rc_message(diarize_rc rc);

/* One speaker's stretch of speech. Turns are in time order and never overlap. */
typedef struct diarize_turn {
    int64_t start_ms, end_ms;
    int speaker;        /* 0, 1, ... in order of first appearance */
} diarize_turn;

typedef struct diarize_result {
    diarize_turn *turns;
    size_t nturns;
    int speakers;       /* distinct speakers in turns; 0 when no speech was found */
} diarize_result;
void diarize_result_free(diarize_result *r);

/* The speaker who holds most of [start_ms, end_ms), or, when no turn overlaps it, the speaker of the
 * nearest turn; -1 when there are no turns at all. Turns naming a speaker outside 0-9 are skipped. */
int diarize_speaker_of(const diarize_result *r, int64_t start_ms, int64_t end_ms);

typedef struct diarizer diarizer;
diarize_rc diarize_new(const diarize_params *p, diarizer **out);
/* Any number of samples per call; the result does not depend on how they are cut. Samples are
 * taken as [-1, 1]: larger ones are clipped, NaN and infinities read as silence. Memory grows
 * by about 3 KB per second of audio (summaries, not frames). */
diarize_rc diarize_feed(diarizer *d, const float *pcm, size_t n);
/* Clusters everything fed so far and returns the turns. Call once; *out is owned by the caller. */
diarize_rc diarize_finish(diarizer *d, diarize_result *out);
void diarize_free(diarizer *d);

/* Writes r as RTTM lines ("SPEAKER <file> 1 <onset> <dur> <NA> <NA> <spk> <NA> <NA>"), the format
 * md-eval.pl and other scorers read; speakers are named spk0, spk1, ... Returns bytes written into
 * buf (NUL-terminated, truncated to cap); call with cap 0 to learn the size. */
size_t diarize_rttm(const diarize_result *r, const char *file_id, char *buf, size_t cap);

#endif
