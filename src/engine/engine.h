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

typedef struct engine_segment {
    char *text;                 /* words joined the language's way (no spaces for Mandarin) */
    int64_t start_ms, end_ms;
    engine_word *words;
    size_t nwords;
} engine_segment;

typedef struct engine_result {
    engine_segment *segs;
    size_t nsegs;
} engine_result;
void engine_result_free(engine_result *r);
/* Appends a segment (copies strings); used by engines. */
engine_segment *engine_result_add_segment(engine_result *r, int64_t start_ms, int64_t end_ms);
void engine_segment_add_word(engine_segment *s, const char *text, int64_t start_ms, int64_t end_ms);

typedef struct engine_opts {
    const char *language;       /* "en", "zh", ...; engine-specific meaning */
    const char *hotwords;       /* optional, may be NULL */
} engine_opts;

typedef struct engine engine;
typedef struct engine_vtbl {
    const char *kind;           /* "sphinx", "whisper" */
    int (*sample_rate)(const engine *e);
    /* Returns 0 on success; non-zero with err filled on failure. */
    int (*transcribe)(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                      char *err, size_t errlen);
    void (*destroy)(engine *e);
} engine_vtbl;
struct engine {
    const engine_vtbl *vt;
    char name[64];              /* e.g. "sphinx:en-us" */
};

static inline int engine_sample_rate(const engine *e) { return e->vt->sample_rate(e); }
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
    int threads;                  /* compute threads per transcription; default 2 */
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
    int whisper_threads;        /* CICADA_WHISPER_THREADS per job; 0 = max(1, cores / max_concurrent) */
    int max_concurrent;         /* jobs at once (the workers); 0 = cores */
    const char *vad_model;      /* CICADA_VAD_MODEL; NULL/"" = <model_dir>/ggml-silero-v6.2.0.bin when present,
                                   "none" = no VAD */
    const char *blacklist_file; /* CICADA_WHISPER_BLACKLIST: junk phrases, one per line; NULL/"" = built-in */
    const char *only_type;      /* load only what this EngineModelType needs (one-off runs); NULL = all */
    const char *model_override; /* with only_type: use this model for it (a directory = pocketsphinx,
                                   a file = whisper with the type's language) */
} engine_registry_params;
engine_registry_params engine_registry_default_params(void);

/* Threads per whisper job so that max_concurrent jobs never use more than `cores` threads:
 * configured 0 = max(1, cores / max_concurrent); a larger configured value is clamped to that, and
 * note (may be NULL) says so. */
int engine_whisper_threads(int configured, int max_concurrent, int cores, char *note, size_t notelen);

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
} engine_plan_entry;
/* Returns a heap array of one entry per type (free()), n = its length; NULL with err on a bad
 * CICADA_ENGINES. */
engine_plan_entry *engine_registry_plan(const engine_registry_params *p, size_t *n, char *err, size_t errlen);

engine_registry *engine_registry_new(const engine_registry_params *p, char *err, size_t errlen);
void engine_registry_free(engine_registry *r);

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
/* True for every EngineModelType in the spec. */
bool engine_type_known(const char *engine_model_type);

#endif
