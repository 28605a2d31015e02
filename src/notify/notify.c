/* notify.c — the callback sender (see notify.h for what it promises).
 *
 * One thread owns everything below the mutex line: the curl multi handle and the list of requests
 * in flight. Its loop: claim due outbox rows while there is room (at once when kicked or when a
 * finished request freed room for a backlog, else every poll_ms), let curl move the requests on,
 * settle each finished one in the store, and sleep in curl_multi_poll until a socket, a kick
 * (curl_multi_wakeup) or the next poll. Each request carries its own fetch_guard, which records the
 * address it refused, if any.
 *
 * A row's life here: claimed (leased to this node) -> dispatched (its job read and rendered, the
 * request added to the multi handle; or settled at once when its URL, job or store refuses) ->
 * finished (settled: delivered, retried later or given up) or, at stop, handed back for retry. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"
#include "metrics/metrics.h"
#include "render/render.h"
#include "util/util.h"

#define LOG_URL_MAX 256        /* the part of a URL a log line shows */

typedef struct delivery {
    struct delivery *next;
    store_outbox row;          /* as claimed: the settle is fenced by its id, owner and attempts */
    char *body;
    CURL *easy;
    struct curl_slist *headers;
    fetch_guard guard;         /* the address policy for this request's connections */
    char curl_err[CURL_ERROR_SIZE];
} delivery;

struct notifier {
    notify_params p;           /* p.node and p.region point into node and region below */
    char node[64];
    char region[32];
    store *st;
    pthread_t thread;
    /* Owned by the thread (no lock): */
    CURLM *multi;
    delivery *flying;          /* requests inside the multi handle */
    int nflying;
    bool claim_failing;        /* the last claim was a store error (logged once until it recovers) */
    /* Guarded by mu: */
    pthread_mutex_t mu;
    bool stopping;
    int64_t stop_deadline;     /* monotonic */
    bool kicked;
    notify_stats stats;
};

notify_params notify_default_params(void)
{
    return (notify_params){.node = NULL, .region = "ap-chongqing", .max_attempts = 10, .first_backoff_ms = 1000,
                           .max_backoff_ms = 5 * 60 * 1000, .timeout_ms = 10000, .lease_ms = 60000, .poll_ms = 250,
                           .max_in_flight = 64, .allow_private = false};
}

/* ---- where a job's end goes ---- */

/* Whether the comma list events names `name` as one of its items. */
static bool event_listed(const char *events, const char *name)
{
    const char *cur = events, *item;
    size_t len;
    while (comma_next(&cur, &item, &len))
        if (len == strlen(name) && strncmp(item, name, len) == 0)
            return true;
    return false;
}

static bool queue_fires_on_job_end(const store_queue *q)
{
    return strcmp(q->notify_state, "On") == 0 && q->notify_url[0] &&
           (event_listed(q->notify_event, "TaskFinish") || event_listed(q->notify_event, "TransCodingFinish"));
}

bool notify_target(const store_job *j, const store_queue *q, store_callback *out)
{
    memset(out, 0, sizeof *out);
    const char *url, *format;
    if (strcmp(j->callback, "no") == 0)
        return false;
    if (j->callback[0]) {
        url = j->callback;
        format = j->callback_format;
    } else if (q && queue_fires_on_job_end(q)) {
        url = q->notify_url;
        format = q->notify_format;
    } else {
        return false;
    }
    if (!strlcpy_ok(out->url, url, sizeof out->url)) {
        memset(out, 0, sizeof *out);
        return false;
    }
    snprintf(out->format, sizeof out->format, "%s", strcmp(format, "JSON") == 0 ? "JSON" : "XML");
    return true;
}

bool notify_url_valid(const notifier *n, const char *url, char *err, size_t errlen)
{
    return fetch_target_valid(url, n ? n->p.allow_private : notify_default_params().allow_private, err, errlen);
}

/* ---- settling ---- */

/* url as a log line may show it: a user name and password replaced by "***", control bytes by '?',
 * at most LOG_URL_MAX bytes. */
static void log_url(const char *url, char out[LOG_URL_MAX + 4])
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    const char *at = memchr(auth, '@', strcspn(auth, "/?#"));
    size_t o = 0;
    for (const char *p = url; *p && o < LOG_URL_MAX; p++) {
        if (at && p == auth) {
            o += (size_t)snprintf(out + o, LOG_URL_MAX + 1 - o, "***");
            o = o < LOG_URL_MAX ? o : LOG_URL_MAX;
            p = at - 1;
            continue;
        }
        out[o++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    snprintf(out + o, 4, "%s", o >= LOG_URL_MAX ? "..." : "");
}

/* The wait before try attempts + 1: first_backoff_ms doubled attempts - 1 times, at most max_backoff_ms. */
static int64_t backoff_ms(const notify_params *p, int attempts)
{
    int64_t ms = p->first_backoff_ms;
    for (int i = 1; i < attempts && ms < p->max_backoff_ms; i++)
        ms *= 2;
    return ms < p->max_backoff_ms ? ms : p->max_backoff_ms;
}

/* Records how of d's row in the store; true when the store took it. A refusal by the fence means
 * the row's lease passed to another sender, which now owns its outcome. */
static bool settle(notifier *n, delivery *d, store_outbox_outcome how, int64_t next_ms, const char *error)
{
    store_rc rc = store_outbox_settle(n->st, &d->row, how, next_ms, error);
    if (rc == STORE_OK)
        return true;
    if (rc == STORE_CONFLICT) {
        pthread_mutex_lock(&n->mu);
        n->stats.fenced++;
        pthread_mutex_unlock(&n->mu);
        log_info("callback for job %s: its lease passed to another sender before this outcome was recorded; "
                 "that sender owns it now", d->row.job_id);
    } else {
        log_warn("callback for job %s: cannot record its outcome (%s); it is sent again when its lease expires",
                 d->row.job_id, store_last_error());
    }
    return false;
}

static void delivered(notifier *n, delivery *d)
{
    if (!settle(n, d, STORE_OUTBOX_DELIVERED, 0, NULL))
        return;
    pthread_mutex_lock(&n->mu);
    n->stats.delivered++;
    pthread_mutex_unlock(&n->mu);
    log_debug("callback for job %s delivered (attempt %d)", d->row.job_id, d->row.attempts);
}

/* refused: by the address policy or a redirect (counted apart). The log lines start "callback to
 * <url>" (operators and tests search for them): "refused ... not retried" or "given up after N
 * attempts", with the error and the job. */
static void give_up(notifier *n, delivery *d, const char *why, bool refused)
{
    if (!settle(n, d, STORE_OUTBOX_GIVE_UP, 0, why))
        return;
    pthread_mutex_lock(&n->mu);
    n->stats.given_up++;
    n->stats.refused += refused;
    pthread_mutex_unlock(&n->mu);
    char url[LOG_URL_MAX + 4];
    log_url(d->row.url, url);
    if (refused)
        log_warn("callback to %s refused: %s; not retried (job %s, attempt %d)", url, why, d->row.job_id,
                 d->row.attempts);
    else
        log_warn("callback to %s given up after %d attempt%s: %s (job %s)", url, d->row.attempts,
                 d->row.attempts == 1 ? "" : "s", why, d->row.job_id);
}

/* A failure that may pass: tried again after the back-off, or given up after max_attempts. */
static void failed(notifier *n, delivery *d, const char *why)
{
    if (d->row.attempts >= n->p.max_attempts) {
        give_up(n, d, why, false);
        return;
    }
    int64_t wait = backoff_ms(&n->p, d->row.attempts);
    if (!settle(n, d, STORE_OUTBOX_RETRY, time_now_ms() + wait, why))
        return;
    pthread_mutex_lock(&n->mu);
    n->stats.failed_attempts++;
    pthread_mutex_unlock(&n->mu);
    char url[LOG_URL_MAX + 4];
    log_url(d->row.url, url);
    log_info("callback to %s failed (attempt %d of %d): %s; next try in %lld ms (job %s)", url, d->row.attempts,
             n->p.max_attempts, why, (long long)wait, d->row.job_id);
}

/* ---- requests ---- */

static void delivery_free(delivery *d)
{
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->body);
    free(d);
}

static size_t discard_body(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

static void start_transfer(notifier *n, delivery *d, const char *content_type)
{
    d->easy = curl_easy_init();
    char ct[160];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    d->headers = curl_slist_append(NULL, ct);
    curl_easy_setopt(d->easy, CURLOPT_URL, d->row.url);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
    curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, n->p.timeout_ms);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->curl_err);
    d->guard.allow_private = n->p.allow_private;
    fetch_guard_apply(d->easy, &d->guard, 0);           /* callbacks follow no redirects */
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "cicada-notify");
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
    curl_multi_add_handle(n->multi, d->easy);
    d->next = n->flying;
    n->flying = d;
    n->nflying++;
    pthread_mutex_lock(&n->mu);
    n->stats.in_flight = (uint64_t)n->nflying;
    pthread_mutex_unlock(&n->mu);
}

/* Turns a claimed row into a request, or settles it at once when it cannot become one. */
static void dispatch(notifier *n, delivery *d)
{
    char why[256];
    /* The shape of the URL is judged here; whether its address is internal is the guard's to judge
     * when it connects (it words the refusal the same way for names that resolve inward). */
    if (!fetch_target_valid(d->row.url, true, why, sizeof why)) {
        give_up(n, d, why, true);
        delivery_free(d);
        return;
    }
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    store_rc rc = store_job_get(n->st, d->row.bucket, d->row.job_id, j);
    if (rc == STORE_OK) {
        const char *ctype;
        d->body = render_callback(j, n->region, strcmp(d->row.format, "JSON") == 0, &ctype);
        start_transfer(n, d, ctype);
    } else {
        if (rc == STORE_NOT_FOUND) {
            snprintf(why, sizeof why, "job %s no longer exists in bucket %s", d->row.job_id, d->row.bucket);
            give_up(n, d, why, false);
        } else {
            snprintf(why, sizeof why, "cannot read job %s: %s", d->row.job_id, store_last_error());
            failed(n, d, why);
        }
        delivery_free(d);
    }
    store_job_clear(j);
    free(j);
}

/* Claims and dispatches due rows while there is room. Returns true when it stopped for want of
 * room (more rows may be due), false when the store had none (or failed). */
static bool claim_due(notifier *n)
{
    while (n->nflying < n->p.max_in_flight) {
        delivery *d = xcalloc(1, sizeof *d);
        store_claim c = {.node = n->node, .now_ms = time_now_ms(), .lease_ms = n->p.lease_ms};
        store_rc rc = store_outbox_claim(n->st, &c, &d->row);
        if (rc != STORE_OK) {
            free(d);
            if (rc != STORE_NOT_FOUND && !n->claim_failing)
                log_warn("callbacks: cannot claim from the outbox: %s (retrying every %lld ms)", store_last_error(),
                         (long long)n->p.poll_ms);
            else if (rc == STORE_NOT_FOUND && n->claim_failing)
                log_info("callbacks: the outbox answers again");
            n->claim_failing = rc != STORE_NOT_FOUND;
            return false;
        }
        if (n->claim_failing)
            log_info("callbacks: the outbox answers again");
        n->claim_failing = false;
        dispatch(n, d);
    }
    return true;
}

static void unlink_flying(notifier *n, delivery *d)
{
    for (delivery **pp = &n->flying; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    n->nflying--;
    curl_multi_remove_handle(n->multi, d->easy);
    pthread_mutex_lock(&n->mu);
    n->stats.in_flight = (uint64_t)n->nflying;
    pthread_mutex_unlock(&n->mu);
}

static void finished(notifier *n, delivery *d, CURLcode rc, long status)
{
    char why[CURL_ERROR_SIZE + 64];
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        delivered(n, d);
    } else if (d->guard.refused[0]) {
        fetch_guard_refusal(&d->guard, why, sizeof why);
        give_up(n, d, why, true);
    } else if (rc == CURLE_TOO_MANY_REDIRECTS || (rc == CURLE_OK && status >= 300 && status < 400)) {
        snprintf(why, sizeof why, "it answered HTTP %ld, a redirect, and callbacks follow no redirects", status);
        give_up(n, d, why, true);
    } else if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
        failed(n, d, why);
    } else {
        snprintf(why, sizeof why, "it answered HTTP %ld", status);
        failed(n, d, why);
    }
}

/* Settles every finished request; returns how many. */
static int collect_finished(notifier *n)
{
    CURLMsg *m;
    int left, count = 0;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        delivery *d;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        CURLcode rc = m->data.result;
        unlink_flying(n, d);
        finished(n, d, rc, status);
        delivery_free(d);
        count++;
    }
    return count;
}

/* At stop, past the grace: requests still unanswered go back to the outbox, due at once, for
 * whoever sends next (this node after a restart, or another). They may have reached their
 * receiver already: at-least-once. */
static void hand_back(notifier *n)
{
    while (n->flying) {
        delivery *d = n->flying;
        unlink_flying(n, d);
        settle(n, d, STORE_OUTBOX_RETRY, time_now_ms(), "the sender stopped before the receiver answered");
        delivery_free(d);
    }
}

static void *notify_thread(void *arg)
{
    notifier *n = arg;
    int64_t next_claim = 0;    /* monotonic; 0 = now */
    bool backlog = false;      /* the last claim stopped for want of room */
    for (;;) {
        pthread_mutex_lock(&n->mu);
        bool stopping = n->stopping, kicked = n->kicked;
        int64_t deadline = n->stop_deadline;
        n->kicked = false;
        pthread_mutex_unlock(&n->mu);
        int64_t now = time_mono_ms();
        if (stopping && (!n->flying || now >= deadline))
            break;
        if (!stopping && (kicked || now >= next_claim)) {
            backlog = claim_due(n);
            next_claim = now + n->p.poll_ms;
        }
        int running = 0;
        curl_multi_perform(n->multi, &running);
        if (collect_finished(n) > 0 && backlog)
            next_claim = 0;    /* room again, and rows may be waiting for it */
        now = time_mono_ms();
        int64_t wait = stopping ? deadline - now : next_claim - now;
        if (wait > n->p.poll_ms)
            wait = n->p.poll_ms;
        if (wait > 0)
            curl_multi_poll(n->multi, NULL, 0, (int)wait, NULL);
    }
    hand_back(n);
    return NULL;
}

/* ---- lifecycle ---- */

static bool params_valid(const notify_params *p, const store *st, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!st)
        why = "no store to take callbacks from";
    else if (!p->node || !p->node[0] || strlen(p->node) >= sizeof ((store_outbox *)0)->owner)
        why = "a node id of 1 to 63 bytes is required";
    else if (p->region && strlen(p->region) >= sizeof ((notifier *)0)->region)
        why = "the region is longer than 31 bytes";
    else if (p->max_attempts < 1 || p->max_in_flight < 1 || p->poll_ms < 1 || p->timeout_ms < 1)
        why = "max_attempts, max_in_flight, poll_ms and timeout_ms must be positive";
    else if (p->first_backoff_ms < 1 || p->max_backoff_ms < p->first_backoff_ms)
        why = "the back-off must be positive and max_backoff_ms at least first_backoff_ms";
    else if (p->lease_ms < 1)
        why = "lease_ms must be positive";
    if (why)
        snprintf(err, errlen, "callbacks: %s", why);
    return why == NULL;
}

notifier *notify_start(const notify_params *p, store *st, char *err, size_t errlen)
{
    notify_params def = notify_default_params();
    if (!p)
        p = &def;
    if (!params_valid(p, st, err, errlen))
        return NULL;
    if (p->lease_ms <= p->timeout_ms)
        log_warn("callbacks: the lease (%lld ms) does not exceed the request timeout (%ld ms): another node may "
                 "send a callback again while this one's request is still under way", (long long)p->lease_ms,
                 p->timeout_ms);
    notifier *n = xcalloc(1, sizeof *n);
    n->p = *p;
    n->st = st;
    snprintf(n->node, sizeof n->node, "%s", p->node);
    snprintf(n->region, sizeof n->region, "%s", p->region ? p->region : def.region);
    n->p.node = n->node;
    n->p.region = n->region;
    pthread_mutex_init(&n->mu, NULL);
    n->multi = curl_multi_init();
    if (!n->multi || pthread_create(&n->thread, NULL, notify_thread, n) != 0) {
        snprintf(err, errlen, "callbacks: cannot start the sender thread");
        if (n->multi)
            curl_multi_cleanup(n->multi);
        pthread_mutex_destroy(&n->mu);
        free(n);
        return NULL;
    }
    return n;
}

void notify_kick(notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->kicked = true;
    pthread_mutex_unlock(&n->mu);
    curl_multi_wakeup(n->multi);
}

void notify_write_metrics(notifier *n, buf *out)
{
    notify_stats st = notify_get_stats(n);
    metrics_family(out, "cicada_callbacks_delivered_total", "counter", "Callbacks this node delivered (a 2xx answer).");
    metrics_sample(out, "cicada_callbacks_delivered_total", "", (double)st.delivered);
    metrics_family(out, "cicada_callbacks_retried_total", "counter", "Callback tries that failed and were scheduled again.");
    metrics_sample(out, "cicada_callbacks_retried_total", "", (double)st.failed_attempts);
    metrics_family(out, "cicada_callbacks_failed_total", "counter",
                   "Callbacks given up (retries exhausted, refused by the address policy, or redirected).");
    metrics_sample(out, "cicada_callbacks_failed_total", "", (double)st.given_up);
    metrics_family(out, "cicada_callbacks_in_flight", "gauge", "Callback requests under way on this node.");
    metrics_sample(out, "cicada_callbacks_in_flight", "", (double)st.in_flight);
    int64_t pending = 0, given_up = 0;
    if (store_outbox_count(n->st, &pending, &given_up) == STORE_OK) {
        metrics_family(out, "cicada_callbacks_pending", "gauge", "Callbacks waiting in the outbox to be sent (every node's).");
        metrics_sample(out, "cicada_callbacks_pending", "", (double)pending);
    }
}

notify_stats notify_get_stats(notifier *n)
{
    pthread_mutex_lock(&n->mu);
    notify_stats s = n->stats;
    pthread_mutex_unlock(&n->mu);
    return s;
}

void notify_stop(notifier *n, int64_t grace_ms)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    n->stop_deadline = time_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
    pthread_mutex_unlock(&n->mu);
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
    curl_multi_cleanup(n->multi);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
