/* api.h — the CI ASR API and the embedded object API, independent of any HTTP server library.
 * The http layer parses a request into api_request, authenticates it with api_authenticate(),
 * routes it to one handler below, and sends the api_response back. Each resource has its own file:
 * bucket.c, queue.c, job.c, hotvocab.c, template.c, object.c; src/render writes the response trees as
 * XML or JSON. Callbacks are src/notify's: a cancel only queues one (in the cancel's transaction)
 * and wakes the notifier. */
#ifndef CICADA_API_H
#define CICADA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "engine/engine.h"
#include "notify/notify.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/util.h"

typedef struct api api;

/* The default longest signature window: a week, like S3's presigned URLs. The SDKs sign for
 * minutes to hours; a window of years is a credential that never expires. */
#define API_DEFAULT_SIGN_LIFETIME (7 * 24 * 3600)

typedef struct api_params {
    const char *region;            /* "ap-chongqing" */
    const char *default_bucket;    /* for IP/localhost hosts; NULL/"" = none */
    const char *server_name;       /* Server header */
    size_t max_body;               /* XML bodies; default 1 MiB */
    int64_t max_skew_s;            /* signature clock skew; default 60 */
    int64_t max_sign_lifetime_s;   /* longest q-key-time/q-sign-time window accepted; default 7 days */
    const seal_key *token_key;     /* seals nextToken; NULL = a random key (tokens die with the process) */
    size_t openai_max_upload;      /* the largest /v1/audio request body; default 25 MiB */
} api_params;
api_params api_default_params(void);

typedef struct api_deps {
    store *st;
    blob_store *blobs;
    engine_registry *engines;
    auth_keyring *keys;
    notifier *notify;              /* woken after a cancel queued a callback; may be NULL (nothing is woken) */
    sched *sched;                  /* may be NULL: nothing is woken */
    auth_keyring *bearer_keys;     /* the OpenAI-compatible endpoint's keys; NULL or empty = endpoint off */
} api_deps;

api *api_new(const api_params *p, const api_deps *d);
/* The largest buffered (XML) body this API takes: the http layer refuses longer ones unread. */
size_t api_max_body(const api *a);
void api_free(api *a);
/* The service's metrics in Prometheus text (src/metrics): jobs and workers, callbacks, queues,
 * engine types and cores; the HTTP layer adds its own. */
void api_write_metrics(api *a, buf *out);
/* Readiness for load balancers: the store answers (store_ping), the default bucket can be read,
 * and no planned model failed to load. False with the first reason in why. */
bool api_ready(api *a, char *why, size_t whylen);

typedef struct api_request {
    const char *method;            /* "GET", "PUT", ... */
    const char *path;              /* percent-decoded */
    const auth_kv *params;         /* percent-decoded query parameters, in order */
    size_t nparams;
    const auth_kv *headers;
    size_t nheaders;
    const char *host;              /* Host header ("" if none) */
    const char *body;              /* buffered body (not for object PUT) */
    size_t body_len;
    char request_id[40];
    /* set by api_authenticate: */
    const auth_key *key;
    char bucket[AUTH_BUCKET_MAX];  /* the bucket the Host names; "" at service level */
    bool bucket_is_default;        /* bucket is the default one, because the Host named none */
    char appid[32];
} api_request;

#define API_MAX_EXTRA_HEADERS 8
typedef struct api_response {
    int status;
    buf body;
    const char *content_type;      /* static string; NULL = none */
    int fd;                        /* >= 0: send [fd_offset, fd_offset+fd_length) of this file */
    int64_t fd_offset, fd_length;
    bool fd_stream;                /* fd is a pipe carrying fd_length bytes (read in order, no offset) */
    size_t nextra;
    char extra_name[API_MAX_EXTRA_HEADERS][40];
    char extra_value[API_MAX_EXTRA_HEADERS][160];
} api_response;
void api_response_init(api_response *r);
void api_response_free(api_response *r);   /* closes fd if still open */
void api_response_header(api_response *r, const char *name, const char *value);

/* Writes the spec's error body; resource is the request path. */
void api_error(api_response *r, const api_request *q, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Verifies the signature and resolves the bucket from the Host. On failure fills r with the error
 * (403/400) and returns false. need_bucket: the operation acts on a bucket (else service level). */
bool api_authenticate(api *a, api_request *q, api_response *r, bool need_bucket);

/* Query parameter by name, ignoring case as the signature check does (the http layer refuses names
 * that are equal but for case, so there is one entry to read); NULL if absent or empty ("empty
 * means not given"). */
const char *api_param(const api_request *q, const char *name);
bool api_param_present(const api_request *q, const char *name);   /* even if empty (?cancel) */
const char *api_header(const api_request *q, const char *name);   /* case-insensitive */

/* ---- CI ASR resources ---- */
void api_bucket_open(api *a, api_request *q, api_response *r);     /* POST /asrbucket */
void api_bucket_close(api *a, api_request *q, api_response *r);    /* DELETE /asrbucket */
void api_bucket_list(api *a, api_request *q, api_response *r);     /* GET /asrbucket */
void api_queue_list(api *a, api_request *q, api_response *r);      /* GET /asrqueue */
void api_queue_update(api *a, api_request *q, api_response *r, const char *queue_id); /* PUT /asrqueue/<id> */
void api_job_submit(api *a, api_request *q, api_response *r);      /* POST /asr_jobs, /jobs */
void api_job_describe(api *a, api_request *q, api_response *r, const char *ids);     /* GET /asr_jobs/<ids> */
void api_job_list(api *a, api_request *q, api_response *r);        /* GET /asr_jobs */
void api_job_cancel(api *a, api_request *q, api_response *r, const char *id);        /* PUT /jobs/<id>?cancel */
/* Hot-vocabulary tables (hotvocab.c). An update names its table by the body's TableId; path_id is
 * the id of PUT /asrhotvocabtable/<id> (NULL for the plain path the SDKs use). */
void api_hotvocab_create(api *a, api_request *q, api_response *r);  /* POST /asrhotvocabtable */
void api_hotvocab_update(api *a, api_request *q, api_response *r, const char *path_id); /* PUT /asrhotvocabtable */
void api_hotvocab_get(api *a, api_request *q, api_response *r, const char *id);  /* GET /asrhotvocabtable/<id> */
void api_hotvocab_list(api *a, api_request *q, api_response *r);    /* GET /asrhotvocabtable?offset=&limit= */
void api_hotvocab_delete(api *a, api_request *q, api_response *r, const char *id); /* DELETE /asrhotvocabtable/<id> */
/* Speech-recognition templates (template.c). */
void api_template_create(api *a, api_request *q, api_response *r);  /* POST /template */
void api_template_update(api *a, api_request *q, api_response *r, const char *id);  /* PUT /template/<id> */
void api_template_list(api *a, api_request *q, api_response *r);    /* GET /template?category=&ids=&name=&... */
void api_template_delete(api *a, api_request *q, api_response *r, const char *id);  /* DELETE /template/<id> */

/* ---- OpenAI-compatible audio API (openai.c) ---- */
/* Whether any bearer key is configured (else every /v1 request gets a 404 saying the endpoint is off). */
bool api_openai_enabled(const api *a);
/* The largest request body a /v1/audio call may have (the http layer refuses longer ones unread). */
size_t api_openai_max_upload(const api *a);
/* The bucket an appid's OpenAI requests run in: the default bucket when it is the appid's, else
 * cicada-<appid> (which the serve command opens at start-up). */
void api_openai_bucket(const api *a, const char *appid, char out[AUTH_BUCKET_MAX]);
/* The operator's model names: "NAME=TYPE,..." (TYPE an EngineModelType; NAME 1-63 characters of
 * letters, digits and -_.:/, not an EngineModelType itself). Replaces any earlier list; false with
 * err (and no change) on a malformed list. */
bool api_openai_set_models(api *a, const char *list, char *err, size_t errlen);
/* Writes OpenAI's error body {"error": {"message", "type", "param", "code"}} (param, code may be NULL). */
void api_openai_error(api_response *r, int status, const char *type, const char *code, const char *param,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "Authorization: Bearer <key>": sets q->key, q->appid and q->bucket; false with the 401/404 in r. */
bool api_openai_authenticate(api *a, api_request *q, api_response *r);
void api_openai_models(api *a, api_request *q, api_response *r);   /* GET /v1/models */

enum { OPENAI_JSON, OPENAI_TEXT, OPENAI_SRT, OPENAI_VTT, OPENAI_VERBOSE_JSON };
/* A submitted request, waited on by the http layer. */
typedef struct api_openai_wait {
    char bucket[AUTH_BUCKET_MAX];
    char job_id[40];
    char input_key[96];            /* the uploaded audio, deleted once answered */
    char output_key[96];           /* srt/vtt: the job's output object; "" otherwise */
    char language[16];
    int format;                    /* OPENAI_* */
    bool words;                    /* timestamp_granularities[] = word */
    bool translate;                /* /v1/audio/translations */
} api_openai_wait;
/* POST /v1/audio/transcriptions (translate false) or /translations: parses the buffered multipart
 * body, stores the file, inserts the job. True when the job is queued and the caller must wait
 * (w filled); false with the error answer in r. */
bool api_openai_submit(api *a, api_request *q, api_response *r, bool translate, api_openai_wait *w);
/* Whether w's job has ended; if so its answer is in r, and its objects are deleted. */
bool api_openai_poll(api *a, const api_openai_wait *w, api_response *r);
/* The client went away: a job not yet started is cancelled and its objects deleted (true); a
 * running one is left to finish (false: poll it until it ends, then drop the answer). */
bool api_openai_abandon(api *a, const api_openai_wait *w);

/* ---- embedded object store ---- */
/* GET and HEAD (the http layer sends no body for HEAD, with the same headers). */
void api_object_get(api *a, api_request *q, api_response *r, const char *key);
void api_object_delete(api *a, api_request *q, api_response *r, const char *key);
void api_object_list(api *a, api_request *q, api_response *r);     /* GET / on a bucket host */
void api_bucket_create(api *a, api_request *q, api_response *r);   /* PUT / */
void api_bucket_head(api *a, api_request *q, api_response *r);     /* HEAD / */
/* Streaming PUT: begin (after authentication; returns false with r filled on refusal),
 * feed chunks, then end. */
bool api_object_put_begin(api *a, api_request *q, api_response *r, const char *key, blob_writer **w);
blob_rc api_object_put_chunk(blob_writer *w, const void *data, size_t n);
/* Commits the upload when every chunk was written (status BLOB_OK); else aborts it and answers
 * with the error status names (EntityTooLarge for BLOB_TOO_LARGE). */
void api_object_put_end(api *a, api_request *q, api_response *r, blob_writer *w, blob_rc status);

#endif
