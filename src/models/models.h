/* models.h — model files on disk: the catalog of official whisper.cpp ggml models (names, files,
 * download URLs, published checksums), checksum verification of files, the CICADA_ENGINES mapping
 * syntax, and the downloader behind `cicada models pull` (resumable, size-limited, verified before
 * it is installed). A lower layer: files, OpenSSL digests and libcurl only. */
#ifndef CICADA_MODELS_H
#define CICADA_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the official catalog ---- */
typedef enum model_kind { MODEL_WHISPER, MODEL_VAD } model_kind;

typedef struct model_info {
    const char *name;        /* what `cicada models pull` takes: "base", "large-v3-turbo-q5_0", "silero-v6.2.0" */
    const char *file;        /* its file name in the model directory: "ggml-base.bin" */
    model_kind kind;
    const char *url;         /* the official download URL */
    const char *sha1;        /* published SHA-1 (hex), or NULL */
    const char *sha256;      /* published SHA-256 (hex), or NULL */
    int64_t bytes;           /* exact size where published, else 0 */
    const char *disk;        /* approximate size for listings ("142 MiB") */
    bool english_only;       /* the ".en" models */
    int rank;                /* accuracy order among whisper models, higher is better */
} model_info;

size_t models_catalog_count(void);
const model_info *models_catalog_at(size_t i);
/* By name ("base"), file name ("ggml-base.bin") or a path ending in that file name; NULL if none. */
const model_info *models_find(const char *name_or_file);
/* True when m publishes an exact size and `bytes` is not it: a partial copy, or another file under
 * the official name (false when the size is unpublished: nothing to compare with). */
bool models_size_differs(const model_info *m, int64_t bytes);
/* The catalog entry whose published SHA-1 or SHA-256 equals the digest's, or NULL. */
typedef struct model_digest model_digest;
const model_info *models_find_by_digest(const model_digest *d);

/* A model name without '/' lies in dir; anything else is used as given. False if it does not fit. */
bool models_resolve_path(const char *dir, const char *name, char *out, size_t outlen);
/* The most accurate official whisper model present in dir (by file name) that can serve a language:
 * English-only models serve only "en", and win a tie there. NULL if none. */
const model_info *models_best_installed(const char *dir, const char *language);

/* ---- checksums ---- */
struct model_digest {
    char sha1[41];
    char sha256[65];
    int64_t bytes;
};
/* Reads the whole file once, computing both digests. */
bool models_digest_file(const char *path, model_digest *out, char *err, size_t errlen);

typedef enum model_verdict {
    MODEL_VERIFIED = 0,      /* every expected checksum matches */
    MODEL_MISMATCH,          /* a checksum differs: detail says which, with both values */
    MODEL_NO_CHECKSUM,       /* nothing to compare with */
    MODEL_UNREADABLE,        /* missing or unreadable file */
} model_verdict;
/* Compares a file with the expected checksums (either may be NULL, case-insensitive hex).
 * d (optional) receives the digests; detail explains the verdict. */
model_verdict models_verify_file(const char *path, const char *sha1, const char *sha256, model_digest *d,
                                 char *detail, size_t detaillen);
/* True if s is exactly len hexadecimal digits. */
bool models_hex_valid(const char *s, size_t len);

/* ---- CICADA_ENGINES: "TYPE=ENGINE:MODEL[:LANGUAGE],..." ---- */
#define MODELS_MAX_ENGINE_ENTRIES 64
typedef struct models_engine_entry {
    char type[32];           /* EngineModelType (checked against the spec by the engine registry) */
    char engine[16];         /* "whisper" or "sphinx" */
    char model[1024];        /* as written: a file or directory name, or a path */
    char language[16];       /* "" = the type's default language */
} models_engine_entry;
/* Parses the whole spec (spaces around parts are ignored; an empty spec gives n = 0). On a bad
 * spec returns false and err quotes the offending entry and says what was expected. */
bool models_engines_parse(const char *spec, models_engine_entry *out, size_t max, size_t *n, char *err,
                          size_t errlen);

/* ---- downloading ---- */
typedef struct models_pull_params {
    const char *url;         /* http(s); redirects are followed */
    const char *dest;        /* final path; data goes to dest + ".part" until verified */
    const char *sha1;        /* expected checksums: at least one is required */
    const char *sha256;
    int64_t max_bytes;       /* refuse larger downloads; default 4 GiB */
    FILE *progress;          /* where progress goes; NULL = quiet */
    bool progress_bar;       /* a redrawn bar (a terminal) rather than a line per 10% */
    long low_speed_secs;     /* give up when nothing arrives for this long; default 60 */
    long connect_secs;       /* give up when the server does not answer a connection this soon; default 30 */
} models_pull_params;
models_pull_params models_pull_default_params(void);

typedef enum models_pull_status {
    MODELS_PULL_INSTALLED = 0,
    MODELS_PULL_ALREADY,     /* dest exists and matches */
    MODELS_PULL_INTERRUPTED, /* network failure: the .part file is kept, the same call resumes */
    MODELS_PULL_FAILED,      /* HTTP error, too large, bad checksum (nothing kept), local I/O */
} models_pull_status;
/* Downloads url into dest + ".part" (continuing an existing .part with a Range request), checks the
 * checksums and renames into place only when they match. err says what happened otherwise. Call
 * curl_global_init once before. */
models_pull_status models_pull(const models_pull_params *p, char *err, size_t errlen);

/* "141.1 MiB" */
void models_format_size(int64_t bytes, char *out, size_t outlen);

#endif
