/* store.c — the backend-independent half of the store: job-state names, job defaults, hot-vocabulary
 * records, the thread-local last error, dispatch to the backend, and GROUP COMMIT for
 * job inserts.
 * Group commit lives here (not in a backend) because every durable backend gains from it: callers
 * queue their job and sleep; one of them becomes the leader, hands the whole pending batch to the
 * backend as one transaction (one fsync), and wakes everybody with their own result. */
#include "store/store_internal.h"

#include "util/util.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- last error ---- */

static _Thread_local char last_error[512];

const char *store_last_error(void)
{
    return last_error;
}

void store_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

/* ---- job states ---- */

static const char *const state_names[] = {"Submitted", "Running", "Success", "Failed", "Pause", "Cancel"};
#define STATE_COUNT (sizeof state_names / sizeof state_names[0])

const char *job_state_name(job_state s)
{
    if ((unsigned)s >= STATE_COUNT)
        return "Unknown";
    return state_names[s];
}

bool job_state_parse(const char *name, job_state *out)
{
    if (!name)
        return false;
    for (size_t i = 0; i < STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (job_state)i;
            return true;
        }
    }
    return false;
}

/* ---- job records ---- */

void store_job_init(store_job *j)
{
    memset(j, 0, sizeof *j);
    strlcpy_ok(j->tag, "SpeechRecognition", sizeof j->tag);
    strlcpy_ok(j->code, "Success", sizeof j->code);
    strlcpy_ok(j->callback_format, "XML", sizeof j->callback_format);
    strlcpy_ok(j->callback_type, "Url", sizeof j->callback_type);
    strlcpy_ok(j->params.output_file_type, "txt", sizeof j->params.output_file_type);
    j->params.channel_num = 1;
    j->state = JOB_SUBMITTED;
}

void store_job_clear(store_job *j)
{
    free(j->result);
    free(j->result_detail);
    free(j->output_body);
    j->result = NULL;
    j->result_detail = NULL;
    j->output_body = NULL;
}

void store_default_queue(store_queue *q, const char *bucket, int64_t now_ms)
{
    memset(q, 0, sizeof *q);
    ids_new(q->id, "p");
    strlcpy_ok(q->bucket, bucket, sizeof q->bucket);
    strlcpy_ok(q->name, STORE_DEFAULT_QUEUE_NAME, sizeof q->name);
    strlcpy_ok(q->state, "Active", sizeof q->state);
    q->max_size = STORE_DEFAULT_MAX_SIZE;
    q->max_concurrent = STORE_DEFAULT_MAX_CONCURRENT;
    strlcpy_ok(q->notify_event, "TaskFinish", sizeof q->notify_event);
    strlcpy_ok(q->notify_type, "Url", sizeof q->notify_type);
    strlcpy_ok(q->notify_state, "Off", sizeof q->notify_state);
    strlcpy_ok(q->notify_format, "XML", sizeof q->notify_format);
    q->create_ms = now_ms;
    q->update_ms = now_ms;
}

/* ---- the job row <-> store_job mapping, one entry per column, shared by every backend so that
 * their schemas cannot drift (a column added here is read and written by both) ---- */


#define FSIZE(f) sizeof(((store_job *)0)->f)
#define CT(n, f) {n, STORE_COL_TEXT, offsetof(store_job, f), FSIZE(f), true}
#define CI(n, f) {n, STORE_COL_INT, offsetof(store_job, f), 0, true}
#define CL(n, f) {n, STORE_COL_I64, offsetof(store_job, f), 0, true}
#define CR(n, f) {n, STORE_COL_REAL, offsetof(store_job, f), 0, true}
#define CH(n, f) {n, STORE_COL_HEAP, offsetof(store_job, f), 0, true}

const store_col store_job_cols[] = {
    CT("id", id),
    CT("tag", tag),
    CT("bucket", bucket),
    CT("region", region),
    CT("queue_id", queue_id),
    {"state", STORE_COL_STATE, offsetof(store_job, state), 0, true},
    CT("code", code),
    CT("message", message),
    CL("create_ms", create_ms),
    CL("start_ms", start_ms),
    CL("end_ms", end_ms),
    CI("job_level", job_level),
    CT("input_object", input_object),
    CT("input_url", input_url),
    CT("template_id", template_id),
    CT("template_name", template_name),
    CT("p_engine_model_type", params.engine_model_type),
    CI("p_channel_num", params.channel_num),
    CI("p_res_text_format", params.res_text_format),
    CI("p_filter_dirty", params.filter_dirty),
    CI("p_filter_modal", params.filter_modal),
    CI("p_filter_punc", params.filter_punc),
    CI("p_convert_num_mode", params.convert_num_mode),
    CI("p_speaker_diarization", params.speaker_diarization),
    CI("p_speaker_number", params.speaker_number),
    CI("p_sentence_max_length", params.sentence_max_length),
    CT("p_output_file_type", params.output_file_type),
    CT("p_hot_vocabulary_table_id", params.hot_vocabulary_table_id),
    CT("p_flash_asr", params.flash_asr),
    CT("p_format", params.format),
    CT("p_first_channel_only", params.first_channel_only),
    CT("p_word_info", params.word_info),
    CT("p_prompt", params.prompt),
    CI("p_translate", params.translate),
    CT("output_region", output_region),
    CT("output_bucket", output_bucket),
    CT("output_object", output_object),
    CT("user_data", user_data),
    CT("callback", callback),
    CT("callback_format", callback_format),
    CT("callback_type", callback_type),
    CI("attempts", attempts),
    CR("audio_time", audio_time),
    CH("result", result),
    CH("result_detail", result_detail),
    CT("object_name", object_name),
    CT("detail_object_name", detail_object_name),
    {"owner", STORE_COL_TEXT, offsetof(store_job, owner), FSIZE(owner), false},
    {"lease_until", STORE_COL_I64, offsetof(store_job, lease_until_ms), 0, false},
    {"staged", STORE_COL_BOOL, offsetof(store_job, staged), 0, false},
    {"output_body", STORE_COL_HEAP, offsetof(store_job, output_body), 0, false},
    {"output_content_type", STORE_COL_TEXT, offsetof(store_job, output_content_type), FSIZE(output_content_type), false},
    {"progress", STORE_COL_REAL, offsetof(store_job, progress), 0, false},
};
const size_t store_job_ncols = sizeof store_job_cols / sizeof store_job_cols[0];

/* A template's parameters: the same p_ columns as a job's, with offsets into job_params. */
#define PSIZE(f) sizeof(((job_params *)0)->f)
#define PT(n, f) {n, STORE_COL_TEXT, offsetof(job_params, f), PSIZE(f), true}
#define PI(n, f) {n, STORE_COL_INT, offsetof(job_params, f), 0, true}
const store_col store_param_cols[] = {
    PT("p_engine_model_type", engine_model_type),
    PI("p_channel_num", channel_num),
    PI("p_res_text_format", res_text_format),
    PI("p_filter_dirty", filter_dirty),
    PI("p_filter_modal", filter_modal),
    PI("p_filter_punc", filter_punc),
    PI("p_convert_num_mode", convert_num_mode),
    PI("p_speaker_diarization", speaker_diarization),
    PI("p_speaker_number", speaker_number),
    PI("p_sentence_max_length", sentence_max_length),
    PT("p_output_file_type", output_file_type),
    PT("p_hot_vocabulary_table_id", hot_vocabulary_table_id),
    PT("p_flash_asr", flash_asr),
    PT("p_format", format),
    PT("p_first_channel_only", first_channel_only),
    PT("p_word_info", word_info),
    PT("p_prompt", prompt),
    PI("p_translate", translate),
};
const size_t store_param_ncols = sizeof store_param_cols / sizeof store_param_cols[0];

/* ---- the handle and dispatch ---- */

typedef struct insert_waiter {
    store_insert_item item;
    bool done;
    pthread_cond_t cv;   /* its own: woken alone, when its batch is done or it is to lead the next */
    struct insert_waiter *next;
} insert_waiter;

struct store {
    const store_backend *be;
    void *impl;
    /* group commit */
    pthread_mutex_t gc_mu;
    insert_waiter *pending_head;
    insert_waiter **pending_tail;
    bool leader_busy;
    size_t batch_max;
    store_insert_item **batch; /* the leader's scratch array, batch_max long */
};

store_params store_default_params(void)
{
    store_params p = {.sqlite_path = "cicada.db", .busy_timeout_ms = 5000, .group_commit_max = 256};
    return p;
}

store *store_open(const store_params *p, char *err, size_t errlen)
{
    store_params def = store_default_params();
    if (!p)
        p = &def;
    bool pg = p->database_url && p->database_url[0];
    void *impl = pg ? store_pg_open(p, err, errlen) : store_sqlite_open(p, err, errlen);
    if (!impl)
        return NULL;
    store *s = xcalloc(1, sizeof *s);
    s->be = pg ? &store_pg_backend : &store_sqlite_backend;
    s->impl = impl;
    pthread_mutex_init(&s->gc_mu, NULL);
    s->pending_tail = &s->pending_head;
    s->batch_max = p->group_commit_max > 0 ? (size_t)p->group_commit_max : 256;
    s->batch = xcalloc(s->batch_max, sizeof *s->batch);
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    s->be->close(s->impl);
    pthread_mutex_destroy(&s->gc_mu);
    free(s->batch);
    free(s);
}

store_rc store_bucket_open(store *s, const store_bucket *b, store_queue *out_queue)
{
    return s->be->bucket_open(s->impl, b, out_queue);
}

store_rc store_bucket_close(store *s, const char *name)
{
    return s->be->bucket_close(s->impl, name);
}

store_rc store_bucket_get(store *s, const char *name, store_bucket *out)
{
    return s->be->bucket_get(s->impl, name, out);
}

store_rc store_bucket_list(store *s, const store_bucket_filter *f, store_bucket *out, size_t *n, int64_t *total)
{
    return s->be->bucket_list(s->impl, f, out, n, total);
}

store_rc store_queue_get(store *s, const char *id, store_queue *out)
{
    return s->be->queue_get(s->impl, id, out);
}

store_rc store_queue_update(store *s, const store_queue *q)
{
    return s->be->queue_update(s->impl, q);
}

store_rc store_queue_list(store *s, const store_queue_filter *f, store_queue *out, size_t *n, int64_t *total)
{
    return s->be->queue_list(s->impl, f, out, n, total);
}

store_rc store_job_get(store *s, const char *bucket, const char *id, store_job *out)
{
    return s->be->job_get(s->impl, bucket, id, out);
}

store_rc store_job_list(store *s, const store_job_filter *f, store_job *out, size_t *n, int64_t *next_seq)
{
    return s->be->job_list(s->impl, f, out, n, next_seq);
}

/* A callback with no URL is no callback: backends see NULL. */
static const store_callback *callback_or_null(const store_callback *cb)
{
    return cb && cb->url[0] ? cb : NULL;
}

store_rc store_job_cancel(store *s, const char *bucket, const char *id, int64_t now_ms, const store_callback *cb)
{
    return s->be->job_cancel(s->impl, bucket, id, now_ms, callback_or_null(cb));
}

static bool claim_valid(const store_claim *c)
{
    if (!c->node || !c->node[0] || strlen(c->node) >= sizeof ((store_job *)0)->owner || c->lease_ms <= 0) {
        store_set_error("a claim needs a node id of 1..63 bytes and a positive lease");
        return false;
    }
    return true;
}

store_rc store_job_claim(store *s, const store_claim *c, store_job *out)
{
    if (!claim_valid(c))
        return STORE_ERROR;
    return s->be->job_claim(s->impl, c, out);
}

store_rc store_job_renew(store *s, store_job *j, int64_t now_ms, int64_t lease_ms)
{
    return s->be->job_renew(s->impl, j, now_ms, lease_ms);
}

store_rc store_job_progress(store *s, const store_job *j, double progress)
{
    if (!(progress >= 0))   /* NaN too */
        progress = 0;
    else if (progress > 1)
        progress = 1;
    return s->be->job_progress(s->impl, j, progress);
}

store_rc store_job_stage(store *s, store_job *j)
{
    return s->be->job_stage(s->impl, j);
}

store_rc store_job_finish(store *s, const store_job *j, const store_callback *cb)
{
    if (j->state != JOB_SUCCESS && j->state != JOB_FAILED && j->state != JOB_CANCEL) {
        store_set_error("job %s cannot finish as %s", j->id, job_state_name(j->state));
        return STORE_ERROR;
    }
    return s->be->job_finish(s->impl, j, callback_or_null(cb));
}

store_rc store_job_release(store *s, const char *node, int *count)
{
    int dummy;
    return s->be->job_release(s->impl, node, count ? count : &dummy);
}

store_rc store_job_count(store *s, const char *queue_id, job_state st, int64_t *out)
{
    return s->be->job_count(s->impl, queue_id, st, out);
}

/* ---- the callback outbox ---- */

store_rc store_outbox_claim(store *s, const store_claim *c, store_outbox *out)
{
    if (!claim_valid(c))
        return STORE_ERROR;
    return s->be->outbox_claim(s->impl, c, out);
}

store_rc store_outbox_settle(store *s, const store_outbox *o, store_outbox_outcome how, int64_t next_ms,
                             const char *error)
{
    return s->be->outbox_settle(s->impl, o, how, next_ms, error);
}

store_rc store_outbox_count(store *s, int64_t *pending, int64_t *given_up)
{
    int64_t a, b;
    return s->be->outbox_count(s->impl, pending ? pending : &a, given_up ? given_up : &b);
}

store_rc store_ping(store *s)
{
    if (s->be->ping)
        return s->be->ping(s->impl);
    int64_t a, b;
    return s->be->outbox_count(s->impl, &a, &b);
}

store_rc store_outbox_of_job(store *s, const char *job_id, store_outbox *out, size_t max, size_t *n)
{
    return s->be->outbox_of_job(s->impl, job_id, out, max, n);
}

/* ---- settings ---- */

store_rc store_setting_init(store *s, const char *name, const char *value_if_absent, char *out, size_t outlen)
{
    if (!name || !name[0] || strlen(name) > 63 || !value_if_absent || outlen == 0) {
        store_set_error("a setting needs a name of 1..63 bytes and a value");
        return STORE_ERROR;
    }
    return s->be->setting_init(s->impl, name, value_if_absent, out, outlen);
}

/* ---- wake-ups ---- */

const char *store_backend_name(const store *s)
{
    return s->be->name;
}

bool store_has_wakeups(const store *s)
{
    return s->be->wait_wakeup != NULL;
}

store_rc store_wait_wakeup(store *s, int64_t timeout_ms, bool *woken)
{
    *woken = false;
    if (s->be->wait_wakeup)
        return s->be->wait_wakeup(s->impl, timeout_ms, woken);
    if (timeout_ms > 0)
        time_sleep_ms(timeout_ms);
    return STORE_OK;
}

/* ---- hot-vocabulary tables ---- */

void store_hotvocab_init(store_hotvocab *h)
{
    memset(h, 0, sizeof *h);
}

void store_hotvocab_clear(store_hotvocab *h)
{
    free(h->words);
    h->words = NULL;
    h->nwords = 0;
}

bool store_hotvocab_add_word(store_hotvocab *h, const char *word, int weight)
{
    if (strlen(word) >= sizeof h->words[0].word)
        return false;
    h->words = xrealloc(h->words, (h->nwords + 1) * sizeof *h->words);
    store_hotword *w = &h->words[h->nwords++];
    strlcpy_ok(w->word, word, sizeof w->word);
    w->weight = weight;
    return true;
}

store_rc store_hotvocab_insert(store *s, const store_hotvocab *h)
{
    return s->be->hotvocab_insert(s->impl, h);
}

store_rc store_hotvocab_get(store *s, const char *bucket, const char *id, store_hotvocab *out)
{
    return s->be->hotvocab_get(s->impl, bucket, id, out);
}

store_rc store_hotvocab_update(store *s, const store_hotvocab *h, unsigned fields)
{
    return s->be->hotvocab_update(s->impl, h, fields);
}

store_rc store_hotvocab_delete(store *s, const char *bucket, const char *id)
{
    return s->be->hotvocab_delete(s->impl, bucket, id);
}

store_rc store_hotvocab_list(store *s, const char *bucket, int64_t offset, int limit, store_hotvocab *out,
                             size_t *n, int64_t *total)
{
    return s->be->hotvocab_list(s->impl, bucket, offset, limit, out, n, total);
}

/* ---- templates ---- */

store_rc store_template_insert(store *s, store_template *t)
{
    return s->be->template_insert(s->impl, t);
}

store_rc store_template_get(store *s, const char *bucket, const char *id, store_template *out)
{
    return s->be->template_get(s->impl, bucket, id, out);
}

store_rc store_template_update(store *s, const store_template *t)
{
    return s->be->template_update(s->impl, t);
}

store_rc store_template_delete(store *s, const char *bucket, const char *id)
{
    return s->be->template_delete(s->impl, bucket, id);
}

store_rc store_template_list(store *s, const store_template_filter *f, store_template *out, size_t *n,
                             int64_t *total)
{
    return s->be->template_list(s->impl, f, out, n, total);
}

/* ---- group commit ---- */

/* Moves up to batch_max pending waiters into s->batch (gc_mu held). Returns how many. */
static size_t take_batch(store *s)
{
    size_t n = 0;
    insert_waiter *w = s->pending_head;
    while (w && n < s->batch_max) {
        s->batch[n++] = &w->item;
        w = w->next;
    }
    s->pending_head = w;
    if (!w)
        s->pending_tail = &s->pending_head;
    return n;
}

/* Runs one batch as the leader: gc_mu is released during the transaction so that new callers can
 * queue up behind it, which is what makes the next batch large. Then wakes exactly the callers of
 * this batch, and the first of the next, which leads it (a broadcast woke every waiting thread
 * for each batch, most of them only to sleep again). */
static void lead_one_batch(store *s, insert_waiter *self)
{
    s->leader_busy = true;
    size_t n = take_batch(s);
    pthread_mutex_unlock(&s->gc_mu);
    s->be->job_insert_batch(s->impl, s->batch, n);
    pthread_mutex_lock(&s->gc_mu);
    for (size_t i = 0; i < n; i++) {
        /* item is the first member of its waiter */
        insert_waiter *w = (insert_waiter *)s->batch[i];
        w->done = true;
        if (w != self)
            pthread_cond_signal(&w->cv);
    }
    s->leader_busy = false;
    if (s->pending_head)
        pthread_cond_signal(&s->pending_head->cv);
}

store_rc store_job_insert(store *s, store_job *j)
{
    insert_waiter w = {.item = {.job = j, .rc = STORE_ERROR}};
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&s->gc_mu);
    *s->pending_tail = &w;
    s->pending_tail = &w.next;
    while (!w.done) {
        if (!s->leader_busy)
            lead_one_batch(s, &w);
        else
            pthread_cond_wait(&w.cv, &s->gc_mu);
    }
    pthread_mutex_unlock(&s->gc_mu);
    pthread_cond_destroy(&w.cv);
    if (w.item.rc != STORE_OK && w.item.err[0])   /* the leader's thread kept its own error: pass ours on */
        store_set_error("%s", w.item.err);
    return w.item.rc;
}
