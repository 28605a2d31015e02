/* engine_testutil.h — helpers shared by the engine tests: test data paths, decoding a file for an
 * engine, joining result words, and running pocketsphinx_batch on the same audio for parity. */
#ifndef CICADA_TESTS_ENGINE_TESTUTIL_H
#define CICADA_TESTS_ENGINE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/audio.h"
#include "engine/engine.h"

/* $CICADA_TESTDATA/rel (or $CICADA_SHARED/rel); NULL env gives "". */
void testdata_path(char *out, size_t len, const char *rel);
void shared_path(char *out, size_t len, const char *rel);
bool path_exists(const char *path);
bool tool_available(const char *name);

/* Decodes `path` at the engine's rate with cicada_audio and transcribes it; aborts the test on failure. */
void transcribe_file(engine *e, const engine_opts *o, const char *path, engine_result *out);

/* All words of all segments joined with single spaces (the form pocketsphinx_batch -hyp prints). */
char *result_words_joined(const engine_result *r);
/* Everything a result says, timings included, as one comparable string (heap). */
char *result_describe(const engine_result *r);

/* Converts `audio` to raw s16le mono at `rate` with the ffmpeg CLI, decodes it with pocketsphinx_batch
 * (-adcin yes, whole utterance) and the given model, and returns its hypothesis text (heap) or NULL.
 * start/finish run it in the background (so it can overlap our own decoding); finish reaps it. */
typedef struct batch_run {
    int pid;               /* 0 when not running */
    char dir[64];
} batch_run;
bool sphinx_batch_start(batch_run *b, const char *audio, int rate, const char *hmm, const char *lm,
                        const char *dict);
char *sphinx_batch_finish(batch_run *b);
char *sphinx_batch_hypothesis(const char *audio, int rate, const char *hmm, const char *lm, const char *dict);

/* Reference transcript for `file` from a refs.tsv ("name<TAB>text"); heap or NULL. */
char *reference_text(const char *refs_tsv, const char *file);

/* Number of distinct words of `ref` that also occur in `hyp` (both space-separated). */
int shared_word_count(const char *ref, const char *hyp);

#endif
