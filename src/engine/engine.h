/* engine.h — the recogniser interface and the registry that maps each EngineModelType to a loaded
 * engine. Engines take mono float PCM at their own sample rate and return timed segments of text
 * with word timings. Models load once per process; transcribe() is safe to call from many worker
 * threads at once (each engine keeps its own per-call decoding state). */
#ifndef CICADA_ENGINE_H
#define CICADA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct engine_word {
    char *text;
    int64_t start_ms, end_ms;   /* absolute, from the start of the audio */
} engine_word;

/* What the decoder knew of a segment, where the engine says (whisper; pocketsphinx: known false).
 * The OpenAI endpoint's verbose_json shows it; owned by the segment (tokens on the heap). */
typedef struct engine_stats {
    bool known;
    float avg_logprob;          /* mean log-probability of the segment's text tokens */
    float no_speech_prob;       /* the decoder's probability that its window held no speech */
    int32_t *tokens;            /* the text tokens' ids (no timestamp or special tokens) */
    size_t ntokens;
} engine_stats;
void engine_stats_copy(engine_stats *dst, const engine_stats *src);   /* dst owns a copy; src may be NULL */
void engine_stats_free(engine_stats *s);

typedef struct engine_segment {
    char *text;                 /* words joined the language's way (no spaces for Mandarin) */
    int64_t start_ms, end_ms;
    engine_word *words;
    size_t nwords;
    engine_stats stats;
} engine_segment;

typedef struct engine_result {
    engine_segment *segs;
    size_t nsegs;
} engine_result;
void engine_result_free(engine_result *r);
/* Appends a segment (copies strings); used by engines. */
engine_segment *engine_result_add_segment(engine_result *r, int64_t start_ms, int64_t end_ms);
void engine_segment_add_word(engine_segment *s, const char *text, int64_t start_ms, int64_t end_ms);

/* ---- cores: the compute threads every recognition in the process shares (cores.c) ---- */

/* One budget per process (the registry owns it). A recognition opens a seat for its life and each
 * engine call on it is granted threads: all the cores when it runs alone, a fair share when others
 * run, never more than the cores in total. See cores.c for the policy. */
typedef struct engine_cores engine_cores;
typedef struct engine_cores_params {
    int cores;                  /* threads all calls together may run; 0 = the CPUs this process may use */
    int per_call_max;           /* the most threads one call gets (CICADA_WHISPER_THREADS); 0 = no cap */
} engine_cores_params;
engine_cores_params engine_cores_default_params(void);
engine_cores *engine_cores_new(const engine_cores_params *p);
void engine_cores_free(engine_cores *c);   /* every seat must be closed */

typedef struct engine_cores_stats {
    int cores, per_call_max;
    int busy;                   /* cores granted now */
    int seats;                  /* recognitions open now */
    int waiting;                /* calls waiting for their grant, or paused */
    int peak_busy;              /* most cores ever granted at once (never above cores) */
    uint64_t calls;             /* engine calls granted */
    uint64_t asked;             /* calls asked to step aside for a newcomer */
    uint64_t paused;            /* ... that paused (and resumed later with their grant) */
    uint64_t regranted;         /* ... that began again before decoding anything */
    uint64_t checkpoints;       /* times running calls checked in (engine_seat_checkpoint) */
    uint64_t grown;             /* times a running call took freed cores (engine_seat_next_unit) */
} engine_cores_stats;
engine_cores_stats engine_cores_get_stats(engine_cores *c);

typedef struct engine_seat engine_seat;
engine_seat *engine_seat_open(engine_cores *c);
void engine_seat_close(engine_seat *s);          /* not during a call; NULL is a no-op */

/* The recognition's next engine call will have about this much audio (its window, once read):
 * a call beginning meanwhile keeps no share of the cores for a much shorter or much longer one. */
void engine_seat_expect(engine_seat *s, int64_t work_ms);
/* The recognition's next engine call is its last: once it ends, other calls need not keep a share
 * of the cores for this seat. */
void engine_seat_finishing(engine_seat *s);

/* For engines. begin waits for and returns the call's grant (1..max_threads); preemptible calls
 * promise to call engine_seat_checkpoint often (at least every second or so of compute). work_ms:
 * the call's audio, so that much shorter calls can go first. */
int engine_seat_begin(engine_seat *s, int max_threads, bool preemptible, int64_t work_ms);

typedef enum engine_seat_check {
    ENGINE_SEAT_GO = 0,         /* carry on (after a pause, if one was asked for) */
    ENGINE_SEAT_REGRANT,        /* only with can_regrant: the cores are released and the call is back in
                                   line: abandon its work and call engine_seat_begin again (not end) */
} engine_seat_check;
/* Thread-safe; may block while the call is paused. can_regrant: the call has done no work worth
 * keeping, so it may begin again with a smaller grant rather than pause. */
engine_seat_check engine_seat_checkpoint(engine_seat *s, bool can_regrant);
/* Whether the call has been asked to step aside, without taking the budget's lock: for places too
 * frequent for a checkpoint (whisper polls it between the nodes of an encoder graph), which then
 * stop their work and call engine_seat_checkpoint. Only that checkpoint withdraws the request. */
bool engine_seat_asked(const engine_seat *s);
/* The running call begins a new unit of work (whisper: an encoder pass), where it can change its
 * thread count; a checkpoint should follow. It may step aside once more for a newcomer (one that
 * waits already asks it now, and the checkpoint pauses it), or it takes cores that are free and
 * that nobody waits for, as a new call would (up to its maximum, a share kept for open seats about
 * to begin). Returns the call's grant, perhaps larger than before; it never shrinks here. */
int engine_seat_next_unit(engine_seat *s);
void engine_seat_end(engine_seat *s);

typedef struct engine_opts {
    const char *language;       /* "en", "zh", ...; engine-specific meaning */
    const char *hotwords;       /* optional, may be NULL: whisper's initial prompt, ignored by pocketsphinx */
    bool translate;             /* whisper: translate to English; pocketsphinx cannot (callers check kind) */
    engine_seat *seat;          /* the recognition's seat; NULL = the engine's own thread count */
} engine_opts;

typedef struct engine engine;
typedef struct engine_vtbl {
    const char *kind;           /* "sphinx", "whisper" */
    int (*sample_rate)(const engine *e);
    /* Returns 0 on success; non-zero with err filled on failure. */
    int (*transcribe)(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                      char *err, size_t errlen);
    void (*destroy)(engine *e);
    int64_t window_ms;          /* audio per call: the pipeline cuts longer audio into windows of this
                                   length (0 = no preference: the pipeline's default) */
    bool punctuates;            /* its text carries punctuation (else sentences are cut at pauses) */
} engine_vtbl;
struct engine {
    const engine_vtbl *vt;
    char name[64];              /* e.g. "sphinx:en-us" */
};

static inline int engine_sample_rate(const engine *e) { return e->vt->sample_rate(e); }
static inline int64_t engine_window_ms(const engine *e) { return e->vt->window_ms; }
int engine_transcribe(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                      char *err, size_t errlen);
void engine_destroy(engine *e);

/* ---- pocketsphinx ---- */
typedef struct sphinx_params {
    const char *hmm;            /* acoustic model directory */
    const char *lm;             /* language model (.lm.bin / .lm) */
    const char *dict;           /* pronunciation dictionary */
    int sample_rate;            /* the acoustic model's rate: 16000 (en-us) or 8000 (tdt_sc_8k) */
    bool join_without_spaces;   /* Mandarin */
    int64_t segment_gap_ms;     /* a silence at least this long starts a new Result segment; 500 */
} sphinx_params;
sphinx_params sphinx_default_params(void);   /* the Debian en-us model */
/* Loads the model once (validating the files); err says what is missing. */
engine *engine_sphinx_new(const sphinx_params *p, char *err, size_t errlen);

/* ---- whisper.cpp ---- */
typedef struct whisper_engine_params {
    const char *model_path;       /* ggml whisper model */
    const char *vad_model_path;   /* Silero VAD in ggml form; NULL or "" = no VAD */
    int threads;                  /* compute threads of a call made without a seat; default 2 */
    int max_concurrent;           /* transcriptions at once, one whisper_state each; default cores */
    bool to_simplified;           /* Chinese output converted to Simplified (OpenCC t2s); default true */
    const char *const *blacklist; /* junk phrases never emitted (e.g. subtitle credits); NULL = built-in list */
    size_t nblacklist;
    float no_speech_thold;        /* default as whisper-cli */
    int beam_size;                /* default as whisper-cli (5); 1 or less = greedy */
} whisper_engine_params;
whisper_engine_params whisper_engine_default_params(void);
/* Loads the weights once (one whisper_context, shared); each transcribe() uses its own state.
 * A missing, truncated or corrupt file is an error with a clear message, never a crash. */
engine *engine_whisper_new(const whisper_engine_params *p, char *err, size_t errlen);

/* ---- registry: EngineModelType -> engine ---- */
typedef struct engine_registry engine_registry;

typedef struct engine_registry_params {
    const char *sphinx_en_dir;  /* default: the Debian pocketsphinx-en-us model; "" disables */
    const char *sphinx_zh_dir;  /* CICADA_SPHINX_ZH_MODEL; NULL/"" = Mandarin not installed */
    const char *model_dir;      /* CICADA_MODEL_DIR: whisper models, the VAD model; names without '/' lie here */
    const char *engines;        /* CICADA_ENGINES "TYPE=ENGINE:MODEL[:LANG],..."; NULL/"" = automatic:
                                   the best official whisper model in model_dir, else pocketsphinx */
    int whisper_threads;        /* CICADA_WHISPER_THREADS: the most threads one call gets; 0 = every core */
    int cores;                  /* the budget all calls share; 0 = the CPUs this process may use */
    int max_concurrent;         /* jobs at once (the workers): decoding states kept; 0 = cores */
    const char *vad_model;      /* CICADA_VAD_MODEL; NULL/"" = <model_dir>/ggml-silero-v6.2.0.bin when present,
                                   "none" = no VAD */
    const char *blacklist_file; /* CICADA_WHISPER_BLACKLIST: junk phrases, one per line; NULL/"" = built-in */
    const char *only_type;      /* load only what this EngineModelType needs (one-off runs); NULL = all */
    const char *model_override; /* with only_type: use this model for it (a directory = pocketsphinx,
                                   a file = whisper with the type's language) */
} engine_registry_params;
engine_registry_params engine_registry_default_params(void);

/* Where each EngineModelType goes with these params, worked out without loading anything (for
 * `cicada models list` and start-up logs). */
typedef struct engine_plan_entry {
    const char *type;           /* the EngineModelType */
    const char *engine;         /* "whisper", "sphinx", or NULL: not installed */
    char model[1024];           /* model file (whisper) or directory (sphinx) */
    char language[16];
    char hint[768];             /* not installed: what is missing and how to install it */
    char remedy[256];           /* the same in a few words, for start-up lists: "set CICADA_SPHINX_ZH_MODEL or
                                   run `cicada models pull base`" */
    char missing[512];          /* CICADA_ENGINES maps the type to a model that is not there (the type runs
                                   on a fallback, or not at all): which and how to get it; "" otherwise */
} engine_plan_entry;
/* Returns a heap array of one entry per type (free()), n = its length; NULL with err on a bad
 * CICADA_ENGINES. */
engine_plan_entry *engine_registry_plan(const engine_registry_params *p, size_t *n, char *err, size_t errlen);

engine_registry *engine_registry_new(const engine_registry_params *p, char *err, size_t errlen);
void engine_registry_free(engine_registry *r);
/* The registry's core budget: every recognition opens its seat here. */
engine_cores *engine_registry_cores(engine_registry *r);

typedef enum engine_lookup {
    ENGINE_FOUND = 0,
    ENGINE_UNKNOWN_TYPE,        /* not an EngineModelType the API defines */
    ENGINE_NOT_INSTALLED,       /* valid type, no engine configured for it here */
} engine_lookup;
/* Finds the engine for a type. On ENGINE_NOT_INSTALLED, hint says which model is missing and how
 * to install it. opts->language is set for the type. Models are loaded eagerly, once, by
 * engine_registry_new (which fails with the reason when a configured model is incomplete), so a
 * lookup never loads anything. */
engine_lookup engine_registry_get(engine_registry *r, const char *engine_model_type, engine **out,
                                  engine_opts *opts, char *hint, size_t hintlen);
/* An EngineModelType this registry cannot serve, and why in a few words: what to set or run, or
 * why its model failed to load. */
typedef struct engine_unavailable {
    const char *type;
    const char *why;            /* points into the registry: valid until engine_registry_free */
} engine_unavailable;
/* Every EngineModelType without an engine here, in the spec's order (types left out by only_type are
 * not listed): a heap array (free()), n = its length; NULL with n = 0 when every type is served. */
engine_unavailable *engine_registry_unavailable(const engine_registry *r, size_t *n);
/* Whether the model the configuration asks for is the one in use for the type: false, with why,
 * when it did not load (broken) or CICADA_ENGINES maps the type to a file that is not there. Types
 * nobody configured a model for (served by a fallback or not at all) are fine. */
bool engine_registry_model_ok(const engine_registry *r, const char *engine_model_type, char *why, size_t whylen);
/* True for every EngineModelType in the spec. */
bool engine_type_known(const char *engine_model_type);
/* The spec's EngineModelTypes in its order: the i-th, NULL past the last. */
const char *engine_type_name(size_t i);

#endif
