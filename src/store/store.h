/* store.h — durable state: buckets with ASR enabled, their queues, jobs, hot-vocabulary tables,
 * templates and the callback outbox.
 * One interface, two backends: SQLite (WAL, one file in the data directory) is the embedded
 * default; PostgreSQL (store_params.database_url) lets several nodes share one service. Both pass
 * the same test suite. Every function is thread-safe and returns a store_rc.
 *
 * Jobs across nodes: a node claims a job with a lease (owner node, attempt number, expiry), renews
 * it while the job runs, and any node takes over a job whose lease expired (attempt + 1). Every
 * write that ends or advances a Running job is fenced: it takes effect only while the job's owner
 * and attempt are still the caller's, so a node that lost its lease can never overwrite the work of
 * the attempt that replaced it (STORE_CONFLICT tells it). A job ends in two fenced steps: its result
 * is staged (recorded, still Running), its output objects are published from that record, then it
 * is finished; a takeover of a staged job only publishes again, from the same record, so the
 * visible output is always that of the one attempt whose result was recorded. */
#ifndef CICADA_STORE_H
#define CICADA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_queue store_queue;

typedef enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND,
    STORE_CONFLICT,     /* state did not allow the change (e.g. cancel of a Running job) */
    STORE_FULL,         /* queue already holds MaxSize waiting jobs */
    STORE_ERROR,        /* database failure; message via store_last_error() of this thread */
} store_rc;

/* Message of the last STORE_ERROR on the calling thread. */
const char *store_last_error(void);

/* ---- lifecycle ---- */
typedef struct store_params {
    const char *database_url;   /* libpq connection string or URI: PostgreSQL; NULL or "" = SQLite */
    const char *sqlite_path;    /* e.g. "<data>/cicada.db" (SQLite only) */
    int busy_timeout_ms;        /* default 5000 */
    int group_commit_max;       /* most job inserts per transaction; default 256 */
} store_params;
store_params store_default_params(void);
store *store_open(const store_params *p, char *err, size_t errlen);
void store_close(store *s);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const store *s);

/* ---- settings shared by every node ---- */
/* The value stored under name (at most 63 bytes), storing value_if_absent first when there is none:
 * the first node's choice wins and every node reads the same (e.g. the key that seals page tokens,
 * so a NextToken from one node works on any other). out gets up to outlen - 1 bytes. */
store_rc store_setting_init(store *s, const char *name, const char *value_if_absent, char *out, size_t outlen);

/* ---- wake-ups between nodes ---- */
/* Whether other processes' submits, resumed queues and finished jobs can wake this one
 * (PostgreSQL LISTEN/NOTIFY); SQLite has no such channel and callers poll. */
bool store_has_wakeups(const store *s);
/* Blocks up to timeout_ms for such a wake-up. *woken says whether one came (false on timeout).
 * Notifications are not durable: callers still poll now and then. Without wake-ups (SQLite) this
 * just sleeps. */
store_rc store_wait_wakeup(store *s, int64_t timeout_ms, bool *woken);

/* ---- buckets ---- */
typedef struct store_bucket {
    char name[64];       /* full name, "examplebucket-1250000000" */
    char appid[32];
    char region[32];
    int64_t create_ms;
} store_bucket;

/* Enables ASR on a bucket: inserts it (if absent) and creates its default queue (Active,
 * MaxSize 10000, MaxConcurrent 10, Name "asr-queue" ... ) if it has none. Idempotent.
 * *out_queue receives the default queue. */
store_rc store_bucket_open(store *s, const store_bucket *b, store_queue *out_queue);
/* Disables ASR: removes the bucket row (queues and jobs stay for history). */
store_rc store_bucket_close(store *s, const char *name);
store_rc store_bucket_get(store *s, const char *name, store_bucket *out);

typedef struct store_bucket_filter {
    const char *appid;        /* required: a key sees only its appid's buckets */
    const char *regions;      /* comma list of regions, no spaces; NULL or "" = any (regions) */
    const char *names;        /* comma list of full names, no spaces; NULL or "" = any (bucketNames) */
    const char *name_prefix;  /* NULL or "" = any (bucketName: a prefix search) */
    int page_number;          /* 1-based */
    int page_size;            /* 1..100 */
} store_bucket_filter;
/* Fills up to page_size buckets (ordered by name); *total is the count of all matches. */
store_rc store_bucket_list(store *s, const store_bucket_filter *f, store_bucket *out, size_t *n, int64_t *total);

/* ---- queues ---- */
struct store_queue {
    char id[40];             /* "p" + 32 hex */
    char bucket[64];
    char name[128];
    char state[16];          /* "Active" | "Paused" */
    int max_size;            /* 10000 */
    int max_concurrent;      /* 10 */
    char notify_url[1024];
    char notify_event[128];  /* comma list: "TaskFinish", "TaskFinish,WorkflowFinish", ... */
    char notify_type[16];    /* "Url" */
    char notify_state[8];    /* "On" | "Off" */
    char notify_format[8];   /* "XML" | "JSON" */
    int64_t create_ms;
    int64_t update_ms;
};

store_rc store_queue_get(store *s, const char *id, store_queue *out);
/* Replaces name, state, notify_* and update_ms of an existing queue (matched by id AND bucket). */
store_rc store_queue_update(store *s, const store_queue *q);
typedef struct store_queue_filter {
    const char *bucket;       /* required */
    const char *state;        /* NULL, "" or "All" = any; else "Active" / "Paused" */
    int page_number, page_size;
} store_queue_filter;
store_rc store_queue_list(store *s, const store_queue_filter *f, store_queue *out, size_t *n, int64_t *total);

/* ---- jobs ---- */
typedef enum job_state {
    JOB_SUBMITTED = 0, JOB_RUNNING, JOB_SUCCESS, JOB_FAILED, JOB_PAUSE, JOB_CANCEL
} job_state;
const char *job_state_name(job_state s);          /* "Submitted", ... */
bool job_state_parse(const char *name, job_state *out);

/* A template name: at most 64 characters of at most 4 UTF-8 bytes each (see the templates section). */
#define STORE_TEMPLATE_NAME_SIZE 257

/* The SpeechRecognition parameters, echoed back with defaults filled in. Strings that were not
 * given are "" (and not echoed). */
typedef struct job_params {
    char engine_model_type[32];
    int channel_num;            /* 1 */
    int res_text_format;        /* 0 */
    int filter_dirty, filter_modal, filter_punc, convert_num_mode;  /* 0 */
    int speaker_diarization, speaker_number;                        /* 0 */
    int sentence_max_length;    /* 0 */
    char output_file_type[8];   /* "txt" */
    char hot_vocabulary_table_id[64];
    char flash_asr[16], format[16], first_channel_only[8], word_info[8];
    /* Not CI API parameters: set by the OpenAI-compatible endpoint only (never rendered). */
    char prompt[1024];          /* whisper's initial prompt ("" = none); hot words follow it */
    int translate;              /* 1: whisper translates to English */
} job_params;

typedef struct store_job {
    int64_t seq;                /* insertion order; assigned by store_job_insert */
    char id[40];
    char tag[32];               /* "SpeechRecognition" */
    char bucket[64];            /* BucketId of Input */
    char region[32];
    char queue_id[40];
    job_state state;
    char code[64];              /* "Success" or a failure code */
    char message[512];
    int64_t create_ms, start_ms, end_ms;   /* 0 = unset */
    int job_level;              /* 0..2 */
    char input_object[1024];
    char input_url[2048];
    char template_id[64];
    char template_name[STORE_TEMPLATE_NAME_SIZE];   /* the template's name when the job was submitted */
    job_params params;
    char output_region[32];
    char output_bucket[64];
    char output_object[1024];
    char user_data[4097];       /* UserData: up to 1024 characters of UTF-8, 4 bytes each at most */
    char callback[2048];        /* "" = queue's NotifyConfig, "no" = none */
    char callback_format[8];    /* "XML" | "JSON" */
    char callback_type[16];     /* "Url" */
    int attempts;               /* the attempt number: times the job was claimed (taken over included) */
    /* The lease of a Running job (see store_job_claim); "" / 0 otherwise. */
    char owner[64];             /* node id of the attempt that holds it */
    int64_t lease_until_ms;
    bool staged;                /* Running with its result recorded (store_job_stage): only publishing is left */
    /* How much of its audio the job has recognised, 0..1 (store_job_progress): 0 until it runs, 1
     * once it ends as Success; a Failed or cancelled job keeps the last value recorded. Success jobs
     * finished before schema v7 (SQLite) / v4 (PostgreSQL) read 0. */
    double progress;
    char *output_body;          /* staged: the output object's content (OutputFileType); heap, may be NULL */
    char output_content_type[64];
    /* Result, present once State is Success: */
    double audio_time;          /* seconds */
    char *result;               /* Result lines; heap, freed by store_job_clear */
    char *result_detail;        /* JSON array of sentences (ResultDetail); heap */
    char object_name[1024];
    char detail_object_name[1100];
} store_job;

void store_job_init(store_job *j);   /* zero + defaults (channel_num 1, "txt", code "Success"...) */
void store_job_clear(store_job *j);  /* frees result strings and output_body, keeps the rest */

/* Inserts a Submitted job. Refuses with STORE_FULL when its queue already has MaxSize jobs waiting
 * and STORE_NOT_FOUND when the queue does not exist or its bucket is not open (checked in the
 * insert's own transaction, so a submit needs no separate look at the bucket). Durable when it returns (fsync'd; concurrent
 * callers share one commit). Sets j->seq. */
store_rc store_job_insert(store *s, store_job *j);
/* Reads a job of this bucket (other buckets' jobs are STORE_NOT_FOUND). Caller clears. */
store_rc store_job_get(store *s, const char *bucket, const char *id, store_job *out);

typedef struct store_job_filter {
    const char *bucket;         /* required */
    const char *queue_id;       /* NULL = any */
    const char *tag;            /* NULL = any */
    unsigned state_mask;        /* bit (1u << job_state); 0 = all */
    int64_t start_create_ms;    /* 0 = unbounded */
    int64_t end_create_ms;      /* 0 = unbounded */
    bool descending;            /* orderByTime=Desc (the default) */
    int64_t after_seq;          /* where the previous page ended (the API seals it in nextToken); 0 = from the start */
    int size;                   /* 1..100 */
} store_job_filter;
/* Fills up to f->size jobs (caller clears each); *next_seq is 0 when there is no further page,
 * else the seq to put in the next token. */
store_rc store_job_list(store *s, const store_job_filter *f, store_job *out, size_t *n, int64_t *next_seq);

/* Where a job's end is to be delivered (its CallBack or its queue's NotifyConfig), decided by the
 * caller; NULL or url "" = no callback. */
typedef struct store_callback {
    char url[2048];
    char format[8];             /* "XML" | "JSON" */
} store_callback;

/* Cancels a Submitted (or Pause) job: STORE_CONFLICT if it is in any other state. With cb, the
 * callback is queued in the outbox in the same transaction. */
store_rc store_job_cancel(store *s, const char *bucket, const char *id, int64_t now_ms, const store_callback *cb);

/* ---- leases: claiming, renewing, staging and finishing are fenced ---- */
typedef struct store_claim {
    const char *node;           /* the claiming node's id (at most 63 bytes) */
    int64_t now_ms;
    int64_t lease_ms;           /* the lease runs until now_ms + lease_ms unless renewed */
} store_claim;

/* Scheduler side: atomically takes the next job to run and leases it to c->node (owner, attempts+1,
 * lease_until_ms = now + lease). First a Running job whose lease has expired (its node died or was
 * cut off; the oldest expiry first): it is taken over as it is, still Running, still counted
 * against its queue, staged or not. Else the next runnable job — Submitted, its queue Active and
 * below MaxConcurrent Running cluster-wide — which becomes Running (start_ms = now).
 * STORE_NOT_FOUND when there is neither. Fair between queues (and so between buckets and tenants):
 * the queues that may start a job take turns, the one whose last claim is the oldest going first
 * (ties: the older queue); JobLevel orders jobs only within a queue (highest first, then oldest).
 * Whose turn it is is kept in the store, so it survives restarts and is shared by every node. */
store_rc store_job_claim(store *s, const store_claim *c, store_job *out);
/* Extends the lease of j (matched by id, owner and attempts) to now_ms + lease_ms and sets
 * j->lease_until_ms. STORE_CONFLICT when j is no longer Running under that owner and attempt: the
 * lease was lost, and the caller must drop the job without writing anything. */
store_rc store_job_renew(store *s, store_job *j, int64_t now_ms, int64_t lease_ms);
/* Records how far a Running job's recognition has come, progress in 0..1 (clamped), fenced like
 * renew: STORE_CONFLICT when the lease was lost (nothing changes). The stored value never goes
 * down: an attempt that took the job over shows the furthest point reached until it passes it.
 * One small UPDATE, durable like every write: callers record at most once per recognition window.
 * The lease is not extended (the keeper renews it on its own clock). */
store_rc store_job_progress(store *s, const store_job *j, double progress);
/* Records the result of a successful run while the job stays Running (fenced like renew): audio
 * time, result, result detail, object names, output_body and its content type. Sets j->staged.
 * After this only publishing the output objects (from this record) and store_job_finish remain. */
store_rc store_job_stage(store *s, store_job *j);
/* Ends a Running job (fenced like renew) as Success (its staged result; the record's result fields
 * stay as staged; progress becomes 1), Failed (code, message) or Cancel, with end_ms; the queue's
 * Running count drops in the same transaction, and with cb the callback is queued in the outbox in
 * it too, so a job never ends without its callback. STORE_CONFLICT when the lease was lost (nothing
 * changes). */
store_rc store_job_finish(store *s, const store_job *j, const store_callback *cb);
/* On start-up of a node whose id is its own (no other live process uses it): the leases of its
 * Running jobs expire at once, so they are taken over (by this node or another) without waiting,
 * and so do its leases on outbox rows (they become due at once; a settle by the dead sender is
 * refused). *count (may be NULL) gets how many jobs. */
store_rc store_job_release(store *s, const char *node, int *count);
/* Counts jobs of a queue in a state (tests, metrics). */
store_rc store_job_count(store *s, const char *queue_id, job_state st, int64_t *out);

/* ---- the callback outbox ---- */
/* One row per callback to deliver, written in the transaction that ends its job. Any node may
 * deliver it: a sender leases the row (like a job: owner, attempt, expiry; an expired lease is
 * taken over), posts it, and settles it fenced by owner and attempt. At-least-once: a sender that
 * dies after the receiver answered but before settling leaves the row to be sent again. */
typedef struct store_outbox {
    int64_t id;
    char job_id[40];
    char bucket[64];
    char url[2048];
    char format[8];             /* "XML" | "JSON" */
    int attempts;               /* deliveries tried, this one included once claimed */
    char owner[64];
    int64_t lease_until_ms;
    int64_t next_ms;            /* not sent again before this time (back-off) */
    int64_t create_ms;
    char last_error[256];
} store_outbox;

/* Leases the next due row: pending, next_ms <= now, not leased or its lease expired; oldest next_ms
 * first. Sets owner, lease and attempts + 1. STORE_NOT_FOUND when none is due. */
store_rc store_outbox_claim(store *s, const store_claim *c, store_outbox *out);
typedef enum store_outbox_outcome {
    STORE_OUTBOX_DELIVERED,     /* the row is removed */
    STORE_OUTBOX_RETRY,         /* back to pending, not before next_ms, lease cleared */
    STORE_OUTBOX_GIVE_UP,       /* kept as given up, with error, never sent again */
} store_outbox_outcome;
/* Settles a claimed row, fenced by id, owner and attempts: STORE_CONFLICT when another sender has
 * taken it over since (nothing changes). error (may be NULL) is recorded as last_error. */
store_rc store_outbox_settle(store *s, const store_outbox *o, store_outbox_outcome how, int64_t next_ms,
                             const char *error);
/* How many rows are pending (leased ones included) and given up (tests, metrics). */
store_rc store_outbox_count(store *s, int64_t *pending, int64_t *given_up);
/* Readiness: the database answers a query that touches no job row, and (SQLite) its file is still
 * the database file at its path, so a file that was removed or replaced is noticed although open
 * connections still read the old one. STORE_ERROR with the reason (store_last_error). */
store_rc store_ping(store *s);
/* Reads the rows of one job (any state), oldest first, up to max; *n gets how many (tests, audits). */
store_rc store_outbox_of_job(store *s, const char *job_id, store_outbox *out, size_t max, size_t *n);

/* ---- hot-vocabulary tables ---- */
/* A table of hot words for one bucket; jobs name it by id (SpeechRecognition/HotVocabularyTableId).
 * The store keeps what it is given: the API validates names, words and weights before calling. */
#define STORE_HOTVOCAB_MAX_WORDS 1000
typedef struct store_hotword {
    char word[128];             /* UTF-8: at most 30 code points (the API checks), so 120 bytes */
    int weight;                 /* 1..11 or 100 */
} store_hotword;

typedef struct store_hotvocab {
    char id[40];                /* "h" + 32 hex */
    char bucket[64];
    char name[256];             /* 1..255 bytes */
    char description[1001];     /* at most 1000 bytes */
    store_hotword *words;       /* heap, in table order; freed by store_hotvocab_clear */
    size_t nwords;
    int64_t create_ms, update_ms;
} store_hotvocab;

void store_hotvocab_init(store_hotvocab *h);    /* zero, no words */
void store_hotvocab_clear(store_hotvocab *h);   /* frees the words, keeps the rest */
/* Appends a word (copied); false when it does not fit store_hotword.word. */
bool store_hotvocab_add_word(store_hotvocab *h, const char *word, int weight);

/* Inserts a table with its words (h->id and h->bucket set by the caller). STORE_CONFLICT when the
 * id exists or a word appears twice. */
store_rc store_hotvocab_insert(store *s, const store_hotvocab *h);
/* Reads a table of this bucket with its words (other buckets' tables are STORE_NOT_FOUND). Caller
 * clears. */
store_rc store_hotvocab_get(store *s, const char *bucket, const char *id, store_hotvocab *out);
/* What store_hotvocab_update replaces; fields not named stay as stored. */
enum {
    STORE_HOTVOCAB_NAME = 1u << 0,
    STORE_HOTVOCAB_DESCRIPTION = 1u << 1,
    STORE_HOTVOCAB_WORDS = 1u << 2,
};
/* Replaces the named fields (a mask of STORE_HOTVOCAB_*) and update_ms of the table matched by id
 * AND bucket, in one transaction. STORE_NOT_FOUND when there is none, STORE_CONFLICT on a word
 * given twice (nothing changes then). */
store_rc store_hotvocab_update(store *s, const store_hotvocab *h, unsigned fields);
/* Deletes a table of this bucket and its words. */
store_rc store_hotvocab_delete(store *s, const char *bucket, const char *id);
/* Fills up to limit (1..100) tables of a bucket, oldest first, skipping the first offset; each
 * with its words (caller clears each). *total counts all the bucket's tables. */
store_rc store_hotvocab_list(store *s, const char *bucket, int64_t offset, int limit, store_hotvocab *out,
                             size_t *n, int64_t *total);

/* ---- templates ---- */
/* A named set of SpeechRecognition parameters of one bucket; a job names it by id
 * (Operation/TemplateId) and copies its parameters when it is submitted, so later edits and
 * deletion never reach an accepted job. The store keeps what it is given: the API checks the name
 * and the parameters before calling. Names are unique within a bucket (compared byte for byte). */
typedef struct store_template {
    int64_t seq;                /* insertion order (newest first in lists); set by store_template_insert */
    char id[40];                /* "t1" + 32 hex */
    char bucket[64];
    char name[STORE_TEMPLATE_NAME_SIZE];
    job_params params;
    int64_t create_ms, update_ms;
} store_template;

/* Inserts a template (t->id, t->bucket set by the caller) and sets t->seq. STORE_CONFLICT, with a
 * message naming it, when the bucket already has a template of that name (or the id exists). */
store_rc store_template_insert(store *s, store_template *t);
/* Reads a template of this bucket (other buckets' templates are STORE_NOT_FOUND). */
store_rc store_template_get(store *s, const char *bucket, const char *id, store_template *out);
/* Replaces name, params and update_ms of the template matched by id AND bucket, keeping its id,
 * seq and create_ms: STORE_NOT_FOUND when there is none, STORE_CONFLICT when another template of
 * the bucket has the new name (nothing changes then). */
store_rc store_template_update(store *s, const store_template *t);
/* Deletes a template of this bucket; STORE_NOT_FOUND when there is none. */
store_rc store_template_delete(store *s, const char *bucket, const char *id);

typedef struct store_template_filter {
    const char *bucket;         /* required */
    const char *ids;            /* comma list of ids, no spaces or empty items; NULL or "" = any */
    const char *name_prefix;    /* NULL or "" = any; compared byte for byte */
    int page_number;            /* 1-based */
    int page_size;              /* 1..100 */
} store_template_filter;
/* Fills up to page_size templates of a bucket, newest first (by seq); *total counts every match
 * before paging. */
store_rc store_template_list(store *s, const store_template_filter *f, store_template *out, size_t *n,
                             int64_t *total);

#endif
