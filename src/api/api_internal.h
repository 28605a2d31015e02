/* api_internal.h — shared between the files of src/api only: the api struct and helpers that the
 * resource files use to parse requests. The response trees are src/render's (render.h), shared with
 * the callbacks src/notify sends. */
#ifndef CICADA_API_INTERNAL_H
#define CICADA_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "api/api.h"
#include "render/render.h"
#include "xml/xml.h"

/* A bucket's default queue never changes once created (queues outlive a closed bucket), so the
 * submit path remembers it instead of asking the store each time. Slots by hash, overwritten. */
#define API_QUEUE_CACHE_SLOTS 1024
typedef struct api_queue_slot {
    char bucket[64];
    char queue_id[40];
} api_queue_slot;

#define API_OPENAI_MAX_ALIASES 32
typedef struct api_model_alias {
    char name[64];                 /* what clients send as `model` */
    char type[32];                 /* the EngineModelType it means */
} api_model_alias;

typedef struct api_job_counts {
    char queue[40];
    char engine[32];
    uint64_t submitted, cancelled;
} api_job_counts;

struct api {
    api_params p;
    api_deps d;
    char region[32];
    char default_bucket[64];
    seal_key token_key;            /* seals list page tokens (p.token_key, or drawn at start) */
    pthread_mutex_t queue_cache_mu;
    api_queue_slot queue_cache[API_QUEUE_CACHE_SLOTS];
    api_model_alias aliases[API_OPENAI_MAX_ALIASES];   /* the operator's model names (openai.c) */
    size_t naliases;
    pthread_mutex_t metrics_mu;    /* guards the counters below (metrics.c) */
    api_job_counts *counts;        /* jobs submitted and cancelled by queue and EngineModelType */
    size_t ncounts;
};

/* Counts a job submitted (cancelled false) or cancelled through this node (metrics.c). */
void api_count_job(api *a, const store_job *j, bool cancelled);

void api_xml_begin(api_response *r, xml_writer *w);
xml_node *api_parse_body(api_response *r, const api_request *q);
bool api_int_param(api_response *r, const api_request *q, const char *name, int lo, int hi, int def, int *out);
/* Copies the optional element at path under n into dst (untouched when absent); false with a 400
 * in r when it does not fit. */
bool api_take_text(api_response *r, const api_request *q, const xml_node *n, const char *path, char *dst, size_t cap);
/* Whether speech recognition is open on the request's bucket; false with 404 NoSuchBucket (or a 500
 * when the store fails) in r (bucket.c). Jobs, hot-vocabulary tables and templates need it. */
bool api_asr_open(api *a, const api_request *q, api_response *r);
/* Inserts j, its parameters and queue filled by the caller, as a new Submitted job of the request's
 * bucket (id, tag, bucket, region, creation time set here) and wakes the workers (job.c). The
 * store's answer: STORE_FULL when the queue holds its MaxSize, STORE_NOT_FOUND without the queue. */
store_rc api_job_insert(api *a, const api_request *q, store_job *j);
/* Opens <Response> with RequestId and the paging counters every list answer starts with. */
void api_list_begin(api_response *r, const api_request *q, xml_writer *w, int64_t total, int page_number,
                    int page_size);

/* ---- speech.c: the SpeechRecognition parameters of a job or a template ---- */
/* Reads the children of sr into p (which holds the defaults), checking each against spec section 2
 * and this server (the engine type is installed, a named hot-vocabulary table exists in the
 * request's bucket); false with a 400 naming the element in r. */
bool api_speech_parse(api *a, api_response *r, const api_request *q, const xml_node *sr, job_params *p);
/* An integer written canonically (digits only: no sign, space or leading zero) from lo to hi (lo >= 0)
 * into *out; false (out untouched) for anything else, so an echoed number is what was sent. */
bool api_canonical_int(const char *v, int lo, int hi, int *out);

/* ---- template.c ---- */
/* Resolves j->template_id in the request's bucket: copies the template's parameters (checked again
 * by api_speech_parse, so a template whose engine or hot-vocabulary table is gone is refused) into
 * j->params and its name into j->template_name. False with a 400 naming Operation/TemplateId (or the
 * parameter) in r. */
bool api_template_resolve(api *a, api_response *r, const api_request *q, store_job *j);
/* The rules of a template Name: 1 to 64 characters (code points) of Chinese characters, ASCII
 * letters, digits, _, - and *. False with the reason, naming Name, in why. */
bool template_name_valid(const char *name, char *why, size_t whylen);
/* Cleans the ids= list of a template list: items trimmed of spaces, empty and repeated items
 * dropped, each printable ASCII without spaces (at most 63 bytes), at most 100 of them; joined by
 * commas into out (cap bytes) and counted. False with the reason in why. */
bool template_ids_clean(const char *in, char *out, size_t cap, size_t *count, char *why, size_t whylen);

/* ---- form.c: multipart/form-data request bodies ---- */
#define API_FORM_MAX_PARTS 32
typedef struct api_form_part {
    char name[64];
    char filename[256];           /* "" when the part is not a file */
    char content_type[128];       /* "" when not given */
    const char *data;             /* points into the body */
    size_t len;
} api_form_part;
typedef struct api_form {
    api_form_part part[API_FORM_MAX_PARTS];
    size_t n;
} api_form;
/* The boundary of a "multipart/form-data; boundary=..." Content-Type (1-70 characters). */
bool api_form_boundary(const char *content_type, char out[72], char *why, size_t whylen);
/* Parses a whole multipart/form-data body; false with the reason in why. */
bool api_form_parse(const char *content_type, const char *body, size_t len, api_form *f, char *why, size_t whylen);
/* The first part named name, or NULL. */
const api_form_part *api_form_get(const api_form *f, const char *name);

#endif
