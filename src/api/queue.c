/* queue.c — GET /asrqueue and PUT /asrqueue/<id>: listing a bucket's queues and updating one's
 * name, state and NotifyConfig. A queue that becomes Active wakes the scheduler.
 *
 * NotifyConfig/Event is a comma list of the events CI queues name: TaskFinish (a job ended),
 * WorkflowFinish (a workflow ended) and TransCodingFinish (older clients' name for a media job
 * ending, sent by Tencent's own examples). Jobs are the only thing that ends here, so TaskFinish and
 * TransCodingFinish make the queue's callback fire (notify_target in src/notify decides);
 * WorkflowFinish is accepted for compatibility and never fires (this server runs no workflows).
 * The list is stored and echoed as sent. */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

static bool one_of(const char *v, const char *a, const char *b)
{
    return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

#define QUEUE_PAGE_MAX 100   /* most queues one list page returns */

static const char *const QUEUE_EVENTS[] = {"TaskFinish", "WorkflowFinish", "TransCodingFinish"};
#define QUEUE_EVENTS_N (sizeof QUEUE_EVENTS / sizeof QUEUE_EVENTS[0])

/* A comma list of known events, each once, no empty items; NULL when fine, else the message. */
static const char *events_invalid(const char *events, char *why, size_t cap)
{
    if (!events[0])
        return "NotifyConfig/Event is required when NotifyConfig/State is On (TaskFinish)";
    for (const char *p = events; *p;) {
        size_t k = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < QUEUE_EVENTS_N; i++)
            known |= k == strlen(QUEUE_EVENTS[i]) && strncmp(p, QUEUE_EVENTS[i], k) == 0;
        if (!known) {
            snprintf(why, cap, "NotifyConfig/Event must be a comma list of TaskFinish, WorkflowFinish and "
                     "TransCodingFinish (got \"%.*s\" in \"%s\")", (int)k, p, events);
            return why;
        }
        p += k + (p[k] == ',');
    }
    return NULL;
}

/* Resolves a comma list of queue ids: known ones of this bucket into out, the rest as
 * <QueueID> elements into missing. */
static void find_by_ids(api *a, const api_request *q, const char *ids, store_queue *out, size_t *n,
                        buf *missing)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", ids);
    xml_writer mw = {missing};
    char *save = NULL;
    *n = 0;
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        store_queue qu;
        if (*n < QUEUE_PAGE_MAX && store_queue_get(a->d.st, id, &qu) == STORE_OK && strcmp(qu.bucket, q->bucket) == 0)
            out[(*n)++] = qu;
        else
            xw_text_elem(&mw, "QueueID", id);
    }
}

void api_queue_list(api *a, api_request *q, api_response *r)
{
    store_queue_filter f = {.bucket = q->bucket, .state = api_param(q, "state")};
    if (f.state && strcmp(f.state, "All") != 0 && !one_of(f.state, "Active", "Paused")) {
        api_error(r, q, 400, "InvalidArgument", "state must be Active, Paused or All (got \"%s\")", f.state);
        return;
    }
    if (!api_int_param(r, q, "pageNumber", 1, 1000000, 1, &f.page_number) ||
        !api_int_param(r, q, "pageSize", 1, 100, 10, &f.page_size))
        return;
    const char *ids = api_param(q, "queueIds");
    store_queue list[QUEUE_PAGE_MAX];
    size_t n = 0;
    int64_t total = 0;
    buf missing;
    buf_init(&missing);
    if (ids) {
        find_by_ids(a, q, ids, list, &n, &missing);
        total = (int64_t)n;
    } else if (store_queue_list(a->d.st, &f, list, &n, &total) != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
        return;
    }
    xml_writer w;
    api_list_begin(r, q, &w, total, f.page_number, f.page_size);
    tree_out *t = tree_xml(&w);
    for (size_t i = 0; i < n; i++)
        render_queue(t, &list[i], "QueueList");
    tree_free(t);
    if (missing.len) {
        xw_open(&w, "NonExistPIDs");
        buf_append(&r->body, missing.data, missing.len);
        xw_close(&w, "NonExistPIDs");
    }
    buf_free(&missing);
    xw_close(&w, "Response");
}

/* NotifyConfig/Url must be one the notifier would deliver to (notify_url_valid), when the request
 * gives one and whenever notifications are On. */
static bool notify_url_ok(const api *a, api_response *r, const api_request *q, const xml_node *root,
                          const store_queue *qu)
{
    const char *given = xml_path_text(root, "NotifyConfig/Url");
    bool on = strcmp(qu->notify_state, "On") == 0;
    if (!on && !(given && given[0]))
        return true;
    char why[300];
    if (on && !qu->notify_url[0])
        snprintf(why, sizeof why, "a URL is required when NotifyConfig/State is On");
    else if (notify_url_valid(a->d.notify, qu->notify_url, why, sizeof why))
        return true;
    api_error(r, q, 400, "InvalidArgument", "NotifyConfig/Url must be an http or https URL: %s", why);
    return false;
}

static bool apply_update(const api *a, api_response *r, const api_request *q, const xml_node *root, store_queue *qu)
{
    if (!api_take_text(r, q, root, "Name", qu->name, sizeof qu->name) ||
        !api_take_text(r, q, root, "State", qu->state, sizeof qu->state) ||
        !api_take_text(r, q, root, "NotifyConfig/Url", qu->notify_url, sizeof qu->notify_url) ||
        !api_take_text(r, q, root, "NotifyConfig/Event", qu->notify_event, sizeof qu->notify_event) ||
        !api_take_text(r, q, root, "NotifyConfig/Type", qu->notify_type, sizeof qu->notify_type) ||
        !api_take_text(r, q, root, "NotifyConfig/State", qu->notify_state, sizeof qu->notify_state) ||
        !api_take_text(r, q, root, "NotifyConfig/ResultFormat", qu->notify_format, sizeof qu->notify_format))
        return false;
    const char *bad = NULL;
    char why[300];
    if (!one_of(qu->state, "Active", "Paused"))
        bad = "State must be Active or Paused";
    else if (!one_of(qu->notify_state, "On", "Off"))
        bad = "NotifyConfig/State must be On or Off";
    else if (!one_of(qu->notify_format, "XML", "JSON"))
        bad = "NotifyConfig/ResultFormat must be XML or JSON";
    else if (strcmp(qu->notify_type, "Url") != 0)
        bad = "NotifyConfig/Type must be Url";
    else if (strcmp(qu->notify_state, "On") == 0 || qu->notify_event[0])
        bad = events_invalid(qu->notify_event, why, sizeof why);
    if (bad) {
        api_error(r, q, 400, "InvalidArgument", "%s", bad);
        return false;
    }
    return notify_url_ok(a, r, q, root, qu);
}

void api_queue_update(api *a, api_request *q, api_response *r, const char *queue_id)
{
    xml_node *root = api_parse_body(r, q);
    if (!root)
        return;
    const char *body_id = xml_path_text(root, "QueueID");
    if (!body_id)
        body_id = xml_path_text(root, "QueueId");
    if (body_id && body_id[0] && strcmp(body_id, queue_id) != 0) {
        api_error(r, q, 400, "InvalidArgument", "QueueID %s in the body differs from %s in the path", body_id, queue_id);
        xml_free(root);
        return;
    }
    store_queue qu;
    if (store_queue_get(a->d.st, queue_id, &qu) != STORE_OK || strcmp(qu.bucket, q->bucket) != 0) {
        api_error(r, q, 400, "InvalidArgument", "queue %s does not exist in bucket %s", queue_id, q->bucket);
        xml_free(root);
        return;
    }
    bool was_paused = strcmp(qu.state, "Paused") == 0;
    bool ok = apply_update(a, r, q, root, &qu);
    xml_free(root);
    if (!ok)
        return;
    qu.update_ms = time_now_ms();
    if (store_queue_update(a->d.st, &qu) != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
        return;
    }
    if (was_paused && strcmp(qu.state, "Active") == 0 && a->d.sched)
        sched_wake(a->d.sched);
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    tree_out *t = tree_xml(&w);
    render_queue(t, &qu, "Queue");
    tree_free(t);
    xw_close(&w, "Response");
}
