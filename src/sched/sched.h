/* sched.h — the worker pool and the job pipeline. Workers claim runnable jobs from the store with a
 * lease (the store enforces queue state, MaxConcurrent, fair turns between queues and JobLevel
 * within a queue atomically, cluster-wide, and hands out jobs whose node died), run each through
 * input -> audio -> engine -> output, stage the result, publish the output objects from it and
 * record Success or Failed together with the job's callback, which notify then delivers. Leases are
 * renewed while jobs run; a job whose lease was lost is dropped without writing anything. This
 * layer knows nothing of HTTP or XML. */
#ifndef CICADA_SCHED_H
#define CICADA_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob/blob.h"
#include "diarize/diarize.h"
#include "engine/engine.h"
#include "notify/notify.h"
#include "store/store.h"
#include "text/text.h"
#include "util/util.h"

/* ---- the pipeline, usable without a scheduler (`cicada transcribe`) ---- */

/* Audio is decoded as a stream and recognised in windows of the engine's length (engine_window_ms:
 * 10 minutes for whisper, 2 for pocketsphinx), each cut at the quietest moment of its last seconds,
 * so no more than one window of PCM is ever in memory (10 minutes is 38 MB of 16 kHz float samples)
 * per running job, whatever the file's length. */
#define PIPELINE_WINDOW_MS (2 * 60 * 1000)   /* engines without a preference */
#define PIPELINE_MAX_CHANNELS 2

/* What to recognise and how: the SpeechRecognition choices that reach the audio and engine stages. */
typedef struct pipeline_request {
    const char *engine_model_type;
    const char *hotwords;      /* NULL = none */
    int channel_num;           /* 1: all channels mixed to mono; 2: channels 0 and 1, each on its own */
    bool first_channel_only;   /* channel_num 1: channel 0 alone instead of all channels mixed (FirstChannelOnly 1) */
    bool raw_pcm;              /* Format "pcm": headerless s16le at the engine's rate, channel_num channels */
    const char *container;     /* Format naming a container (audio_container_known), NULL = from the content */
    int64_t max_audio_ms;      /* 0 = the audio layer's default (5 h) */
    int64_t max_input_bytes;   /* 0 = the audio layer's default (512 MiB) */
    int64_t window_ms;         /* 0 = the engine's (engine_window_ms), else PIPELINE_WINDOW_MS */
    /* SpeakerDiarization 1: who spoke when, from the same samples the engine gets, so that every
     * sentence carries its speaker (output.h). ChannelNum 2 ignores it: each channel is a speaker. */
    bool diarize;
    int speakers;              /* SpeakerNumber: 0 = estimated (1-10), 1-10 = exactly that many */
    bool translate;            /* whisper translates to English (the OpenAI endpoint's translations) */
    /* Told after each recognised window how much of the whole recognition is done: every pass
     * over the audio counted (ChannelNum 2 reads it twice), so the value only grows, from above 0
     * to at most PIPELINE_PROGRESS_MAX (the end of the job, not of the audio, is 1). NULL = not told. */
    void (*progress)(void *arg, double done);
    void *progress_arg;
} pipeline_request;
/* The most progress reports before the job has its result: 1 is for Success alone. */
#define PIPELINE_PROGRESS_MAX 0.99
pipeline_request pipeline_default_request(const char *engine_model_type);

typedef struct pipeline_result {
    engine_result channels[PIPELINE_MAX_CHANNELS];   /* one per recognised channel */
    int nchannels;
    const char *engine_kind;   /* "sphinx", "whisper" */
    bool punctuated;           /* the engine's text carries punctuation (engine_vtbl.punctuates) */
    const char *language;      /* the engine's language for this type ("en", "zh", ...) */
    int64_t audio_ms;
    bool diarized;             /* speakers holds who spoke when (request.diarize with one channel) */
    diarize_result speakers;
    char code[64];             /* "Success" or a failure code */
    char message[512];
} pipeline_result;
void pipeline_result_free(pipeline_result *r);

/* Decodes a local file at the engine's rate and recognises it with the engine registered for
 * req->engine_model_type. Returns true on success; else r->code/message say why. */
bool pipeline_recognise(engine_registry *engines, const char *path, const pipeline_request *req,
                        pipeline_result *r);

/* How a result becomes sentences: the job's ResTextFormat, SentenceMaxLength and text options. */
typedef struct pipeline_shape {
    int res_text_format;
    int sentence_max_length;
    text_params text;            /* ConvertNumMode, FilterModal, FilterDirty, FilterPunc */
    const text_engine *texts;    /* needed when any text option is set */
} pipeline_shape;
pipeline_shape pipeline_default_shape(void);
pipeline_shape pipeline_job_shape(const job_params *p, const text_engine *texts);

/* The sentences of a result (see output.h): the text options act on every segment and word first
 * (FilterDirty, FilterModal, ConvertNumMode, in the engine's language), then the sentences are
 * built — engines without punctuation get it from pauses — and FilterPunc acts on each sentence.
 * NULL with err filled when the options are invalid. */
struct output_doc;
struct output_doc *pipeline_output(const pipeline_result *r, const pipeline_shape *shape, char *err, size_t errlen);

/* The hot words a job's engine gets for a hot-vocabulary table: the words by weight (100 first, then
 * 11 down to 1; equal weights keep table order), joined by "，" when any word has a Chinese
 * character and by ", " otherwise. Whole words are left out from the lowest weights up so the
 * string stays within PIPELINE_HOTWORDS_MAX_BYTES: whisper keeps only the last ~223 tokens of its
 * prompt, so an overlong one would lose the first, most important words. *nused (may be NULL)
 * gets how many words made it. Heap string, "" for a table without words. */
#define PIPELINE_HOTWORDS_MAX_BYTES 400
char *pipeline_hotwords(const store_hotvocab *h, size_t *nused);

typedef struct pipeline_deps {
    store *st;                 /* hot-vocabulary tables; NULL in sched_deps = the scheduler's store */
    blob_store *blobs;
    engine_registry *engines;
    const char *tmp_dir;       /* where non-local inputs would be staged */
    int64_t max_audio_ms;      /* 5 h */
    int64_t max_input_bytes;   /* 512 MB */
    int64_t window_ms;         /* 0 = the engine's (engine_window_ms), else PIPELINE_WINDOW_MS */
    const text_engine *texts;  /* the text options' word lists; NULL = jobs with text options fail */
    bool url_allow_private;    /* Input/Url may name loopback and private addresses */
    int64_t url_timeout_ms;    /* 0 = the fetch default (10 min) */
} pipeline_deps;
/* Runs one claimed job: looks up its hot-vocabulary table (the words become the engine's hot
 * words), reads its input object or downloads its Input/Url, recognises it and fills j's result
 * fields — result, result_detail, object names, and output_body with its content type: what
 * pipeline_publish will write (state Success) — or its failure code and message (state Failed; a
 * table deleted since the submit is HotVocabularyTableNotFound). Writes no result: the caller
 * stages it first, so that only one attempt's result is ever published. The one thing it writes is
 * the job's progress (store_job_progress, fenced by j's lease), after each recognised window; a
 * failed progress write is logged and the job goes on. Never crashes on bad input. */
void pipeline_run_job(const pipeline_deps *d, store_job *j);
/* Writes a Success job's output objects from its recorded result: output_body to output_object
 * and result_detail to "<output_object>.detail", in the output bucket (nothing when the job names
 * no output object). Idempotent: publishing the same record twice writes the same bytes. False,
 * with j Failed (OutputWriteFailed and a message), when the object store refuses. */
bool pipeline_publish(const pipeline_deps *d, store_job *j);

/* ---- the scheduler ---- */
typedef struct sched sched;

typedef struct sched_params {
    int workers;               /* default: number of cores; 0 = claim nothing (an API-only node) */
    int64_t idle_poll_ms;      /* safety poll when nothing wakes the workers; default 1000 */
    const char *node;          /* this node's id, the owner of its leases (required, 1..63 bytes) */
    int64_t lease_ms;          /* a job's lease; default 30000. Another node takes over a job whose
                                * node has not renewed it for this long */
    int64_t renew_ms;          /* how often leases are renewed; default lease_ms / 3 */
} sched_params;
sched_params sched_default_params(void);

typedef struct sched_deps {
    store *st;
    pipeline_deps pipeline;
    notifier *notify;          /* kicked when a job ended with a callback; may be NULL */
} sched_deps;

/* This node's job metrics in Prometheus text (see metrics.h): attempts started and finished by
 * EngineModelType and state, their run time and real-time factor, audio recognised, take-overs,
 * lost leases, workers and busy workers. */
void sched_write_metrics(sched *s, buf *out);

/* Creates the scheduler without starting anything, so that it can be handed to those who wake it
 * (the API) before it runs; NULL with the reason in err on bad params. */
sched *sched_new(const sched_params *p, const sched_deps *d, char *err, size_t errlen);
/* Starts the workers, the lease keeper and the wake-up listener. On false (err says why) the
 * threads already started run on: sched_stop stops them and frees s, as always. */
bool sched_start(sched *s, char *err, size_t errlen);
/* Something became runnable (a submit, a queue resumed): wake an idle worker. */
void sched_wake(sched *s);
/* Stops claiming new jobs, waits for running ones to finish, and frees s (started or not). */
void sched_stop(sched *s);

#endif
