/* job.c — submitting, describing, listing and cancelling jobs (spec sections 2-4); a cancel queues
 * the job's callback, which src/notify renders and sends. Submission validates everything a worker
 * would trip over later (engine installed, input object present, queue exists and has room), so a
 * bad request is a 4xx that creates nothing, and a job that is accepted can only fail on its audio. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"

#define JOB_PAGE_MAX 100   /* most jobs one list page returns (size) */
#define DESCRIBE_MAX 100   /* most ids one describe names */

#define USER_DATA_MAX_CHARS 1024   /* UserData, in characters (code points), as the spec's "at most 1024" */

/* UserData: echoed back byte for byte, so it must be text XML and JSON carry as it is: UTF-8 without
 * control characters (tab and line breaks included), at most USER_DATA_MAX_CHARS characters.
 * Anything else is a 400 saying where it goes wrong. */
static bool parse_user_data(api_response *r, const api_request *q, const xml_node *op, store_job *j)
{
    const char *ud = xml_path_raw_text(op, "UserData");   /* echoed byte for byte: spaces at the ends too */
    if (!ud)
        return true;
    size_t n = strlen(ud), chars, bad;
    bool malformed;
    if (!utf8_text_valid(ud, n, &chars, &bad, &malformed)) {
        api_error(r, q, 400, "InvalidArgument", "UserData must be UTF-8 text without control characters (tab and "
                  "line breaks included): %s at character %zu", malformed ? "malformed UTF-8" : "a control character",
                  chars + 1);
        return false;
    }
    if (chars > USER_DATA_MAX_CHARS || n >= sizeof j->user_data) {
        api_error(r, q, 400, "InvalidArgument", "UserData is %zu characters long; at most %d are kept", chars,
                  USER_DATA_MAX_CHARS);
        return false;
    }
    memcpy(j->user_data, ud, n + 1);
    return true;
}

/* JobLevel 0, 1 or 2 written plainly ("01" or "+1" would not echo as sent); empty = absent = 0. */
static bool parse_job_level(api_response *r, const api_request *q, const xml_node *op, store_job *j)
{
    const char *lvl = xml_path_text(op, "JobLevel");
    if (lvl && lvl[0] && !api_canonical_int(lvl, 0, 2, &j->job_level)) {
        api_error(r, q, 400, "InvalidArgument", "JobLevel must be 0, 1 or 2 (got \"%s\")", lvl);
        return false;
    }
    return true;
}

/* The keys a job names are object keys: the record must hold the longest the object store takes. */
_Static_assert(sizeof(((store_job *)0)->input_object) >= BLOB_MAX_KEY + 1, "store_job.input_object holds a key");
_Static_assert(sizeof(((store_job *)0)->output_object) >= BLOB_MAX_KEY - 7, "store_job.output_object holds a key");

static bool parse_input(api *a, api_response *r, const api_request *q, const xml_node *root, store_job *j)
{
    if (!api_take_text(r, q, root, "Input/Object", j->input_object, BLOB_MAX_KEY + 1) ||
        !api_take_text(r, q, root, "Input/Url", j->input_url, sizeof j->input_url))
        return false;
    if (j->input_object[0]) {            /* Object wins over Url */
        j->input_url[0] = '\0';
        blob_info info;
        blob_rc rc = blob_head(a->d.blobs, q->bucket, j->input_object, strlen(j->input_object), &info);
        if (rc != BLOB_OK) {
            api_error(r, q, 404, "NoSuchKey", "the input object %s does not exist in bucket %s", j->input_object,
                      q->bucket);
            return false;
        }
        return true;
    }
    if (!j->input_url[0]) {
        api_error(r, q, 400, "InvalidArgument", "Input/Object (or Input/Url) is required");
        return false;
    }
    char why[256];
    if (!fetch_url_valid(j->input_url, why, sizeof why)) {
        api_error(r, q, 400, "InvalidArgument", "Input/Url: %s", why);
        return false;
    }
    return true;
}

static bool parse_output(api *a, api_response *r, const api_request *q, const xml_node *op, store_job *j)
{
    if (!api_take_text(r, q, op, "Output/Region", j->output_region, sizeof j->output_region) ||
        !api_take_text(r, q, op, "Output/Bucket", j->output_bucket, sizeof j->output_bucket) ||
        !api_take_text(r, q, op, "Output/Object", j->output_object, BLOB_MAX_KEY - 7))   /* room for ".detail" */
        return false;
    if (xml_child(op, "Output") && !j->output_object[0]) {   /* else the job would succeed and write nothing */
        api_error(r, q, 400, "InvalidArgument", "Output/Object is required when Output is given (leave Output out "
                  "to have the result only in the job's SpeechRecognitionResult)");
        return false;
    }
    if (!j->output_bucket[0])
        return true;
    char appid[32];
    if (!auth_bucket_name_valid(j->output_bucket, appid)) {
        api_error(r, q, 400, "InvalidArgument", "Output/Bucket %s is not a valid bucket name", j->output_bucket);
        return false;
    }
    if (strcmp(appid, q->appid) != 0) {
        api_error(r, q, 403, "AccessDenied", "Output/Bucket %s belongs to another appid", j->output_bucket);
        return false;
    }
    if (!blob_bucket_exists(a->d.blobs, j->output_bucket)) {
        api_error(r, q, 404, "NoSuchBucket", "Output/Bucket %s does not exist", j->output_bucket);
        return false;
    }
    return true;
}

static bool parse_operation(api *a, api_response *r, const api_request *q, const xml_node *root, store_job *j)
{
    const xml_node *op = xml_child(root, "Operation");
    if (!op) {
        api_error(r, q, 400, "InvalidArgument", "Operation is required");
        return false;
    }
    if (!api_take_text(r, q, op, "TemplateId", j->template_id, sizeof j->template_id))
        return false;
    const xml_node *sr = xml_child(op, "SpeechRecognition");
    if (!j->template_id[0] && !sr) {
        api_error(r, q, 400, "InvalidArgument", "Operation/SpeechRecognition (or Operation/TemplateId) is required");
        return false;
    }
    /* TemplateId wins: its template's parameters as they are now (an inline SpeechRecognition is not read) */
    bool params_ok = j->template_id[0] ? api_template_resolve(a, r, q, j) : api_speech_parse(a, r, q, sr, &j->params);
    return params_ok && parse_output(a, r, q, op, j) &&
           parse_user_data(r, q, op, j) && parse_job_level(r, q, op, j);
}

/* The CallBack URL is one the notifier would deliver to (notify_url_valid: http or https, a host,
 * no user name, no control bytes, and no internal address unless the operator allows them).
 * Delivery is an HTTP POST only: another CallBackType or a CallBackMqConfig is a 400. */
static bool parse_callback(const api *a, api_response *r, const api_request *q, const xml_node *root, store_job *j)
{
    if (!api_take_text(r, q, root, "CallBack", j->callback, sizeof j->callback) ||
        !api_take_text(r, q, root, "CallBackFormat", j->callback_format, sizeof j->callback_format) ||
        !api_take_text(r, q, root, "CallBackType", j->callback_type, sizeof j->callback_type))
        return false;
    char why[300];
    if (j->callback[0] && strcmp(j->callback, "no") != 0 &&
        !notify_url_valid(a->d.notify, j->callback, why, sizeof why)) {
        api_error(r, q, 400, "InvalidArgument", "CallBack must be an http or https URL, or \"no\": %s", why);
        return false;
    }
    if (!j->callback_format[0])
        snprintf(j->callback_format, sizeof j->callback_format, "XML");
    if (strcmp(j->callback_format, "XML") != 0 && strcmp(j->callback_format, "JSON") != 0) {
        api_error(r, q, 400, "InvalidArgument", "CallBackFormat must be XML or JSON");
        return false;
    }
    if (!j->callback_type[0])
        snprintf(j->callback_type, sizeof j->callback_type, "Url");
    if (strcmp(j->callback_type, "Url") != 0) {
        api_error(r, q, 400, "InvalidArgument", "CallBackType must be Url (got \"%s\"): this server delivers "
                  "callbacks only as an HTTP POST to CallBack or to the queue's NotifyConfig Url, not to a message "
                  "queue", j->callback_type);
        return false;
    }
    if (xml_child(root, "CallBackMqConfig")) {
        api_error(r, q, 400, "InvalidArgument", "CallBackMqConfig: delivery to a message queue is not available on "
                  "this server; use CallBack (an http or https URL) with CallBackType Url");
        return false;
    }
    return true;
}

static size_t queue_slot_of(const char *bucket)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)bucket; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % API_QUEUE_CACHE_SLOTS;
}

static bool default_queue_cached(api *a, const char *bucket, char queue_id[40])
{
    api_queue_slot *slot = &a->queue_cache[queue_slot_of(bucket)];
    pthread_mutex_lock(&a->queue_cache_mu);
    bool hit = slot->queue_id[0] && strcmp(slot->bucket, bucket) == 0;
    if (hit)
        memcpy(queue_id, slot->queue_id, sizeof slot->queue_id);
    pthread_mutex_unlock(&a->queue_cache_mu);
    return hit;
}

static void remember_default_queue(api *a, const char *bucket, const char *queue_id)
{
    api_queue_slot *slot = &a->queue_cache[queue_slot_of(bucket)];
    pthread_mutex_lock(&a->queue_cache_mu);
    snprintf(slot->bucket, sizeof slot->bucket, "%s", bucket);
    snprintf(slot->queue_id, sizeof slot->queue_id, "%s", queue_id);
    pthread_mutex_unlock(&a->queue_cache_mu);
}

/* The job's queue: the one named, or the bucket's default (the first one created for it: it never
 * changes, so it is remembered). */
static bool resolve_queue(api *a, api_response *r, const api_request *q, const xml_node *root, store_job *j)
{
    const char *qid = xml_path_text(root, "QueueId");
    store_queue qu;
    if (qid && qid[0]) {
        if (store_queue_get(a->d.st, qid, &qu) != STORE_OK || strcmp(qu.bucket, q->bucket) != 0) {
            api_error(r, q, 400, "InvalidArgument", "queue %s does not exist in bucket %s", qid, q->bucket);
            return false;
        }
    } else {
        if (j->queue_id[0]) /* remembered: parse_submit looked it up */
            return true;
        store_queue_filter f = {.bucket = q->bucket, .page_number = 1, .page_size = 1};
        size_t n = 0;
        int64_t total;
        if (store_queue_list(a->d.st, &f, &qu, &n, &total) != STORE_OK || n == 0) {
            api_error(r, q, 500, "InternalError", "bucket %s has no ASR queue", q->bucket);
            return false;
        }
        remember_default_queue(a, q->bucket, qu.id);
    }
    snprintf(j->queue_id, sizeof j->queue_id, "%s", qu.id);
    return true;
}

static bool parse_submit(api *a, api_response *r, const api_request *q, const xml_node *root, store_job *j)
{
    /* The bucket must be open, and a closed bucket's 404 comes before any complaint about the body.
     * A bucket whose default queue is remembered was open: whether it still is, the insert checks in
     * its own transaction (a query less per submit; see api_job_submit), or, when the body is refused
     * first, a late look at the bucket. */
    const char *qid = xml_path_text(root, "QueueId");
    bool checked = !((!qid || !qid[0]) && default_queue_cached(a, q->bucket, j->queue_id));
    if (checked && !api_asr_open(a, q, r))
        return false;
    const char *tag = xml_path_text(root, "Tag");
    bool ok;
    if (tag && tag[0] && strcmp(tag, "SpeechRecognition") != 0) {
        api_error(r, q, 400, "InvalidArgument", "Tag must be SpeechRecognition (got \"%s\")", tag);
        ok = false;
    } else {
        ok = parse_input(a, r, q, root, j) && parse_operation(a, r, q, root, j) &&
             parse_callback(a, r, q, root, j) && resolve_queue(a, r, q, root, j);
    }
    if (!ok && !checked)
        api_asr_open(a, q, r); /* replaces the answer with a 404 if the bucket was closed */
    return ok;
}

static void write_jobs_response(api_response *r, const store_job *jobs, size_t n, const char *region)
{
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    tree_out *t = tree_xml(&w);
    for (size_t i = 0; i < n; i++)
        render_job(t, &jobs[i], region);
    tree_free(t);
    xw_close(&w, "Response");
}

store_rc api_job_insert(api *a, const api_request *q, store_job *j)
{
    ids_new(j->id, "s");
    snprintf(j->tag, sizeof j->tag, "SpeechRecognition");
    snprintf(j->bucket, sizeof j->bucket, "%s", q->bucket);
    snprintf(j->region, sizeof j->region, "%s", a->region);
    j->state = JOB_SUBMITTED;
    j->create_ms = time_now_ms();
    store_rc rc = store_job_insert(a->d.st, j);
    if (rc == STORE_OK)
        api_count_job(a, j, false);
    if (rc == STORE_OK && a->d.sched)
        sched_wake(a->d.sched);
    return rc;
}

void api_job_submit(api *a, api_request *q, api_response *r)
{
    xml_node *root = api_parse_body(r, q);
    if (!root)
        return;
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    bool ok = parse_submit(a, r, q, root, j);
    xml_free(root);
    if (ok) {
        store_rc rc = api_job_insert(a, q, j);
        if (rc == STORE_OK) {
            write_jobs_response(r, j, 1, a->region);
        } else if (rc == STORE_FULL) {
            api_error(r, q, 503, "ServiceUnavailable", "queue %s already holds its MaxSize of waiting jobs; retry later",
                      j->queue_id);
        } else if (rc == STORE_NOT_FOUND) {
            if (api_asr_open(a, q, r)) /* else ASR was closed on the bucket meanwhile: a 404 */
                api_error(r, q, 400, "InvalidArgument", "queue %s does not exist", j->queue_id);
        } else {
            api_error(r, q, 500, "InternalError", "cannot store the job: %s", store_last_error());
        }
    }
    store_job_clear(j);
    free(j);
}

void api_job_describe(api *a, api_request *q, api_response *r, const char *ids)
{
    char copy[8192];
    if (!strlcpy_ok(copy, ids, sizeof copy)) {
        api_error(r, q, 400, "InvalidArgument", "too many job ids (at most %d)", DESCRIBE_MAX);
        return;
    }
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    tree_out *t = tree_xml(&w);
    buf missing;
    buf_init(&missing);
    xml_writer mw = {&missing};
    store_job job, *j = &job;
    char *save = NULL;
    int count = 0;
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        if (++count > DESCRIBE_MAX) {
            api_error(r, q, 400, "InvalidArgument", "too many job ids (at most %d)", DESCRIBE_MAX);
            break;
        }
        store_job_init(j);
        store_rc rc = store_job_get(a->d.st, q->bucket, id, j);
        if (rc == STORE_OK)
            render_job(t, j, a->region);
        else if (rc == STORE_NOT_FOUND)
            xw_text_elem(&mw, "NonExistJobIds", id);
        else
            api_error(r, q, 500, "InternalError", "%s", store_last_error());
        store_job_clear(j);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND)
            break;
    }
    tree_free(t);
    if (r->status == 200) {
        buf_append(&r->body, missing.data ? missing.data : "", missing.len);
        xw_close(&w, "Response");
    }
    buf_free(&missing);
}

static bool parse_states(const char *v, unsigned *mask)
{
    *mask = 0;
    if (!v || strcmp(v, "All") == 0)
        return true;
    char copy[256];
    if (!strlcpy_ok(copy, v, sizeof copy))
        return false;
    char *save = NULL;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        job_state st;
        if (strcmp(s, "All") == 0)
            return (*mask = 0), true;
        if (!job_state_parse(s, &st))
            return false;
        *mask |= 1u << st;
    }
    return true;
}

/* Page tokens are sealed for the bucket they list (see util/seal.c): opaque, unforgeable, and
 * useless in another bucket. */
static bool parse_list_filter(const api *a, api_response *r, const api_request *q, store_job_filter *f)
{
    const char *tag = api_param(q, "tag");
    if (tag && strcmp(tag, "SpeechRecognition") != 0) {
        api_error(r, q, 400, "InvalidArgument", "tag must be SpeechRecognition (got \"%s\")", tag);
        return false;
    }
    const char *order = api_param(q, "orderByTime");
    if (order && strcmp(order, "Desc") != 0 && strcmp(order, "Asc") != 0) {
        api_error(r, q, 400, "InvalidArgument", "orderByTime must be Desc or Asc (got \"%s\")", order);
        return false;
    }
    f->descending = !order || strcmp(order, "Desc") == 0;
    if (!parse_states(api_param(q, "states"), &f->state_mask)) {
        api_error(r, q, 400, "InvalidArgument", "states must be a comma list of Submitted, Running, Success, "
                  "Failed, Pause, Cancel or All (got \"%s\")", api_param(q, "states"));
        return false;
    }
    const char *tok = api_param(q, "nextToken");
    uint64_t after = 0;
    if (tok && (!unseal_u64(&a->token_key, q->bucket, tok, &after) || after > INT64_MAX)) {
        api_error(r, q, 400, "InvalidArgument", "nextToken \"%s\" is not a token this server issued for bucket %s",
                  tok, q->bucket);
        return false;
    }
    f->after_seq = (int64_t)after;
    const char *names[2] = {"startCreationTime", "endCreationTime"};
    int64_t *dst[2] = {&f->start_create_ms, &f->end_create_ms};
    for (int i = 0; i < 2; i++) {
        const char *v = api_param(q, names[i]);
        if (v && !time_parse(v, dst[i])) {
            api_error(r, q, 400, "InvalidArgument", "%s \"%s\" is not a time like 2020-08-20T00:00:00+0800",
                      names[i], v);
            return false;
        }
    }
    f->queue_id = api_param(q, "queueId");
    return api_int_param(r, q, "size", 1, JOB_PAGE_MAX, 10, &f->size);
}

void api_job_list(api *a, api_request *q, api_response *r)
{
    store_job_filter f = {.bucket = q->bucket};
    if (!parse_list_filter(a, r, q, &f))
        return;
    store_job *jobs = xcalloc((size_t)f.size, sizeof *jobs);
    size_t n = 0;
    int64_t next = 0;
    store_rc rc = store_job_list(a->d.st, &f, jobs, &n, &next);
    if (rc != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    } else {
        xml_writer w;
        api_xml_begin(r, &w);
        xw_open(&w, "Response");
        tree_out *t = tree_xml(&w);
        for (size_t i = 0; i < n; i++)
            render_job(t, &jobs[i], a->region);
        tree_free(t);
        char tok[SEAL_TOKEN_LEN + 1] = "";
        if (next)
            seal_u64(&a->token_key, q->bucket, (uint64_t)next, tok);
        xw_text_elem(&w, "NextToken", tok);
        xw_close(&w, "Response");
    }
    for (size_t i = 0; i < n; i++)
        store_job_clear(&jobs[i]);
    free(jobs);
}

/* A cancel ends the job: its callback (notify_target: the job's own CallBack or its queue's
 * NotifyConfig) is queued in the outbox in the cancel's own transaction, then the notifier is woken
 * to send it. */
void api_job_cancel(api *a, api_request *q, api_response *r, const char *id)
{
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    store_rc rc = store_job_get(a->d.st, q->bucket, id, j);
    bool any = false;
    if (rc == STORE_OK) {
        store_queue qu;
        bool have_queue = store_queue_get(a->d.st, j->queue_id, &qu) == STORE_OK;
        store_callback cb;
        any = notify_target(j, have_queue ? &qu : NULL, &cb);
        rc = store_job_cancel(a->d.st, q->bucket, id, time_now_ms(), any ? &cb : NULL);
    }
    if (rc == STORE_NOT_FOUND) {
        api_error(r, q, 400, "InvalidArgument", "job %s does not exist in bucket %s", id, q->bucket);
    } else if (rc == STORE_CONFLICT) {
        store_job_clear(j);   /* read again: the state that refused the cancel */
        const char *state = store_job_get(a->d.st, q->bucket, id, j) == STORE_OK ? job_state_name(j->state) : "?";
        api_error(r, q, 400, "InvalidRequest", "job %s is %s; only a Submitted job can be cancelled", id, state);
    } else if (rc != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    } else {
        r->status = 200;
        r->content_type = NULL;
        api_count_job(a, j, true);
        if (any)
            notify_kick(a->d.notify);
    }
    store_job_clear(j);
    free(j);
}
