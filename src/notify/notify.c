/* notify.c — callback delivery (see notify.h). A pending list ordered by nothing in particular (it
 * is short) holds deliveries with their next attempt time; the thread moves due ones into a curl
 * multi handle, polls, and reschedules failures with back-off. 2xx counts as delivered. Each
 * delivery carries its own fetch_guard, which records the address it refused, if any. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"
#include "util/util.h"

typedef struct delivery {
    struct delivery *next;
    char *url, *content_type, *body;
    int attempts;
    int64_t due_ms;
    CURL *easy;
    struct curl_slist *headers;
    fetch_guard guard;         /* the address policy for this delivery's connections */
} delivery;

struct notifier {
    notify_params p;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stopping;
    int64_t stop_deadline;
    delivery *pending;         /* waiting for their due time */
    int npending;
    CURLM *multi;
    delivery *flying;          /* inside the multi handle */
    int in_flight;
    notify_stats stats;
};

notify_params notify_default_params(void)
{
    return (notify_params){.max_attempts = 5, .first_backoff_ms = 1000, .timeout_ms = 10000,
                           .max_in_flight = 64, .max_pending = 100000, .allow_private = false};
}

static void delivery_free(delivery *d)
{
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->url);
    free(d->content_type);
    free(d->body);
    free(d);
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void start_transfer(notifier *n, delivery *d)
{
    d->easy = curl_easy_init();
    char ct[160];
    snprintf(ct, sizeof ct, "Content-Type: %s", d->content_type);
    d->headers = curl_slist_append(NULL, ct);
    curl_easy_setopt(d->easy, CURLOPT_URL, d->url);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
    curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, n->p.timeout_ms);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    d->guard.allow_private = n->p.allow_private;
    fetch_guard_apply(d->easy, &d->guard, 0);           /* callbacks follow no redirects */
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "cicada-notify");
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
    curl_multi_add_handle(n->multi, d->easy);
    d->next = n->flying;
    n->flying = d;
    n->in_flight++;
}

/* Moves due deliveries into the multi handle. Called with the mutex held. */
static void start_due(notifier *n, int64_t now)
{
    delivery **pp = &n->pending;
    while (*pp && n->in_flight < n->p.max_in_flight) {
        delivery *d = *pp;
        if (d->due_ms <= now || n->stopping) {
            *pp = d->next;
            n->npending--;
            start_transfer(n, d);
        } else {
            pp = &d->next;
        }
    }
}

/* Called with the mutex held. */
static void unlink_flying(notifier *n, delivery *d)
{
    for (delivery **pp = &n->flying; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    n->in_flight--;
}

static void reschedule_or_drop(notifier *n, delivery *d, const char *why)
{
    d->attempts++;
    if (d->attempts >= n->p.max_attempts || n->stopping) {
        log_warn("callback to %s given up after %d attempts: %s", d->url, d->attempts, why);
        n->stats.given_up++;
        delivery_free(d);
        return;
    }
    n->stats.failed_attempts++;
    log_info("callback to %s failed (%s); retry %d", d->url, why, d->attempts);
    d->due_ms = time_mono_ms() + (n->p.first_backoff_ms << (d->attempts - 1));
    d->next = n->pending;
    n->pending = d;
    n->npending++;
}

/* A refusal by the address policy, or a redirect, would be the same next time. Called with the
 * mutex held. */
static void give_up_at_once(notifier *n, delivery *d, long status)
{
    char why[256];
    if (d->guard.refused[0])
        fetch_guard_refusal(&d->guard, why, sizeof why);
    else
        snprintf(why, sizeof why, "it answered HTTP %ld, a redirect, and callbacks follow no redirects", status);
    log_warn("callback to %s refused: %s; not retried", d->url, why);
    n->stats.given_up++;
    n->stats.refused++;
    delivery_free(d);
}

static void collect_finished(notifier *n)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        delivery *d;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(n->multi, d->easy);
        curl_easy_cleanup(d->easy);
        d->easy = NULL;
        curl_slist_free_all(d->headers);
        d->headers = NULL;
        pthread_mutex_lock(&n->mu);
        unlink_flying(n, d);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            n->stats.delivered++;
            delivery_free(d);
        } else if (d->guard.refused[0] || rc == CURLE_TOO_MANY_REDIRECTS || (status >= 300 && status < 400)) {
            give_up_at_once(n, d, status);
        } else {
            char why[96];
            if (rc != CURLE_OK)
                snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
            else
                snprintf(why, sizeof why, "HTTP %ld", status);
            reschedule_or_drop(n, d, why);
        }
        pthread_mutex_unlock(&n->mu);
    }
}

static void *notify_thread(void *arg)
{
    notifier *n = arg;
    for (;;) {
        pthread_mutex_lock(&n->mu);
        int64_t now = time_mono_ms();
        bool done = n->stopping && ((n->pending == NULL && n->in_flight == 0) || now >= n->stop_deadline);
        if (!done)
            start_due(n, now);
        pthread_mutex_unlock(&n->mu);
        if (done)
            break;
        int running = 0;
        curl_multi_perform(n->multi, &running);
        collect_finished(n);
        curl_multi_poll(n->multi, NULL, 0, 200, NULL);
    }
    return NULL;
}

notifier *notify_start(const notify_params *p, char *err, size_t errlen)
{
    notifier *n = xcalloc(1, sizeof *n);
    n->p = p ? *p : notify_default_params();
    pthread_mutex_init(&n->mu, NULL);
    n->multi = curl_multi_init();
    if (!n->multi || pthread_create(&n->thread, NULL, notify_thread, n) != 0) {
        snprintf(err, errlen, "cannot start the callback thread");
        if (n->multi)
            curl_multi_cleanup(n->multi);
        free(n);
        return NULL;
    }
    return n;
}

bool notify_url_valid(const notifier *n, const char *url, char *err, size_t errlen)
{
    return fetch_target_valid(url, n ? n->p.allow_private : notify_default_params().allow_private, err, errlen);
}

bool notify_post(notifier *n, const char *url, const char *content_type, const char *body)
{
    char why[256];
    /* the address is the guard's to judge, when it connects: it logs the refusal in the same words */
    if (!fetch_target_valid(url, true, why, sizeof why)) {
        log_warn("a callback was not sent: %s", why);   /* not the URL itself: it may hold control bytes */
        return false;
    }
    delivery *d = xcalloc(1, sizeof *d);
    d->url = xstrdup(url);
    d->content_type = xstrdup(content_type);
    d->body = xstrdup(body);
    d->due_ms = 0;
    pthread_mutex_lock(&n->mu);
    if (n->npending >= n->p.max_pending) {
        pthread_mutex_unlock(&n->mu);
        log_warn("callback queue full (%d); dropping callback to %s", n->npending, url);
        delivery_free(d);
        return false;
    }
    d->next = n->pending;
    n->pending = d;
    n->npending++;
    pthread_mutex_unlock(&n->mu);
    curl_multi_wakeup(n->multi);
    return true;
}

notify_stats notify_get_stats(notifier *n)
{
    pthread_mutex_lock(&n->mu);
    notify_stats s = n->stats;
    s.pending = (uint64_t)n->npending + (uint64_t)n->in_flight;
    pthread_mutex_unlock(&n->mu);
    return s;
}

void notify_stop(notifier *n, int64_t grace_ms)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    n->stop_deadline = time_mono_ms() + grace_ms;
    pthread_mutex_unlock(&n->mu);
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
    while (n->pending) {
        delivery *d = n->pending;
        n->pending = d->next;
        delivery_free(d);
    }
    /* transfers still in flight after the grace period are abandoned */
    while (n->flying) {
        delivery *d = n->flying;
        n->flying = d->next;
        curl_multi_remove_handle(n->multi, d->easy);
        delivery_free(d);
    }
    curl_multi_cleanup(n->multi);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
