/* store_internal.h — what store.c (backend-independent: dispatch, group commit, errors) shares
 * with a backend (store_sqlite.c, store_pg.c). Not part of the public API. */
#ifndef CICADA_STORE_INTERNAL_H
#define CICADA_STORE_INTERNAL_H

#include "store/store.h"

#include <stdarg.h>

/* One job of a group-commit batch: the backend fills rc (and err when rc is STORE_ERROR). */
typedef struct store_insert_item {
    store_job *job;
    store_rc rc;
    char err[256];
} store_insert_item;

/* A backend: every call gets the backend's own handle. Errors go through store_set_error(). */
typedef struct store_backend {
    const char *name;
    void (*close)(void *impl);
    store_rc (*bucket_open)(void *impl, const store_bucket *b, store_queue *out_queue);
    store_rc (*bucket_close)(void *impl, const char *name);
    store_rc (*bucket_get)(void *impl, const char *name, store_bucket *out);
    store_rc (*bucket_list)(void *impl, const store_bucket_filter *f, store_bucket *out, size_t *n,
                            int64_t *total);
    store_rc (*queue_get)(void *impl, const char *id, store_queue *out);
    store_rc (*queue_update)(void *impl, const store_queue *q);
    store_rc (*queue_list)(void *impl, const store_queue_filter *f, store_queue *out, size_t *n,
                           int64_t *total);
    /* Inserts every item in ONE transaction (one durable commit); sets each item's rc and
     * job->seq. Items refused (full queue, missing queue) do not spoil the others. */
    void (*job_insert_batch)(void *impl, store_insert_item **items, size_t n);
    store_rc (*job_get)(void *impl, const char *bucket, const char *id, store_job *out);
    store_rc (*job_list)(void *impl, const store_job_filter *f, store_job *out, size_t *n,
                         int64_t *next_seq);
    store_rc (*job_cancel)(void *impl, const char *bucket, const char *id, int64_t now_ms, const store_callback *cb);
    store_rc (*job_claim)(void *impl, const store_claim *c, store_job *out);
    store_rc (*job_renew)(void *impl, store_job *j, int64_t now_ms, int64_t lease_ms);
    /* progress already clamped to 0..1 by store.c */
    store_rc (*job_progress)(void *impl, const store_job *j, double progress);
    store_rc (*job_stage)(void *impl, store_job *j);
    /* cb is NULL when there is no callback (store.c turns url "" into NULL) */
    store_rc (*job_finish)(void *impl, const store_job *j, const store_callback *cb);
    store_rc (*job_release)(void *impl, const char *node, int *count);
    store_rc (*job_count)(void *impl, const char *queue_id, job_state st, int64_t *out);
    store_rc (*outbox_claim)(void *impl, const store_claim *c, store_outbox *out);
    store_rc (*outbox_settle)(void *impl, const store_outbox *o, store_outbox_outcome how, int64_t next_ms,
                              const char *error);
    store_rc (*outbox_count)(void *impl, int64_t *pending, int64_t *given_up);
    /* Whether the database is there and answers (a cheap query, no job row); NULL = the query
     * alone. STORE_ERROR with the reason in the thread's store error. */
    store_rc (*ping)(void *impl);
    store_rc (*outbox_of_job)(void *impl, const char *job_id, store_outbox *out, size_t max, size_t *n);
    store_rc (*setting_init)(void *impl, const char *name, const char *value_if_absent, char *out, size_t outlen);
    /* NULL when the backend has no cross-process wake-ups (store_wait_wakeup then sleeps) */
    store_rc (*wait_wakeup)(void *impl, int64_t timeout_ms, bool *woken);
    store_rc (*hotvocab_insert)(void *impl, const store_hotvocab *h);
    store_rc (*hotvocab_get)(void *impl, const char *bucket, const char *id, store_hotvocab *out);
    store_rc (*hotvocab_update)(void *impl, const store_hotvocab *h, unsigned fields);
    store_rc (*hotvocab_delete)(void *impl, const char *bucket, const char *id);
    store_rc (*hotvocab_list)(void *impl, const char *bucket, int64_t offset, int limit, store_hotvocab *out,
                              size_t *n, int64_t *total);
    store_rc (*template_insert)(void *impl, store_template *t);
    store_rc (*template_get)(void *impl, const char *bucket, const char *id, store_template *out);
    store_rc (*template_update)(void *impl, const store_template *t);
    store_rc (*template_delete)(void *impl, const char *bucket, const char *id);
    store_rc (*template_list)(void *impl, const store_template_filter *f, store_template *out, size_t *n,
                              int64_t *total);
} store_backend;

/* The SQLite backend: returns its handle, or NULL with a message in err. */
void *store_sqlite_open(const store_params *p, char *err, size_t errlen);
extern const store_backend store_sqlite_backend;
/* The PostgreSQL backend (p->database_url): the same. */
void *store_pg_open(const store_params *p, char *err, size_t errlen);
extern const store_backend store_pg_backend;

/* The job row <-> store_job mapping (store.c), one entry per column, which both backends build
 * their statements from and read and bind rows with. store_param_cols are the SpeechRecognition
 * columns (p_...), offsets into job_params: a template's row carries the same ones. */
typedef enum store_col_kind {
    STORE_COL_TEXT, STORE_COL_INT, STORE_COL_I64, STORE_COL_REAL, STORE_COL_STATE, STORE_COL_HEAP, STORE_COL_BOOL
} store_col_kind;
typedef struct store_col {
    const char *name;
    store_col_kind kind;
    size_t off;
    size_t size;   /* STORE_COL_TEXT: the char array's size */
    bool insert;   /* written by an insert (the lease columns start empty) */
} store_col;
extern const store_col store_job_cols[];
extern const size_t store_job_ncols;
extern const store_col store_param_cols[];
extern const size_t store_param_ncols;

/* Sets this thread's last-error message (what store_last_error() returns). */
void store_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The connection pool of a backend handle (store_pool.c): at most max connections, opened on demand
 * with open(backend, err, errlen), closed with close(conn); first is one already open, or NULL.
 * acquire waits, first come first served, while all are in use; NULL (error set) when a new
 * connection cannot be opened. release with broken closes it and the idle ones with it (when one
 * connection died, the server most likely restarted and the others are dead too). free closes the
 * idle connections; none may be in use. */
typedef struct store_pool store_pool;
typedef void *(*store_conn_open_fn)(void *backend, char *err, size_t errlen);
typedef void (*store_conn_close_fn)(void *conn);
store_pool *store_pool_new(int max, void *backend, store_conn_open_fn open, store_conn_close_fn close, void *first);
void store_pool_free(store_pool *p);
void *store_pool_acquire(store_pool *p);
void store_pool_release(store_pool *p, void *conn, bool broken);

/* Defaults of a freshly opened bucket's queue, shared by every backend. */
#define STORE_DEFAULT_QUEUE_NAME "asr-queue"
#define STORE_DEFAULT_MAX_SIZE 10000
#define STORE_DEFAULT_MAX_CONCURRENT 10
void store_default_queue(store_queue *q, const char *bucket, int64_t now_ms);

#endif
