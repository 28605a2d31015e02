/* ops.c — what load balancers, orchestrators and Prometheus ask of a node, unauthenticated and
 * cheap: /healthz (the process serves), /readyz (the store, the object store and the models are
 * usable now: 503 with the reason otherwise), /metrics (Prometheus text: this file's HTTP counters,
 * then the service's from api_write_metrics). Metrics are open to loopback peers and need
 * `Authorization: Bearer <CICADA_METRICS_TOKEN>` from anywhere else.
 *
 * HTTP metrics are kept per route label (the API operation, or the endpoint's name: a bounded set)
 * and status, under one mutex: a request's end costs one lock and a few additions. */
#include "http/ops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics/metrics.h"
#include "util/util.h"

#define MAX_ROUTES 64     /* route labels: the API's operations and the endpoints (about 40) */
#define MAX_STATUSES 24   /* distinct statuses per route */

typedef struct route_stats {
    const char *route;    /* a string literal */
    int status[MAX_STATUSES];
    uint64_t count[MAX_STATUSES];
    size_t nstatus;
    metrics_hist latency;
} route_stats;

struct http_stats {
    pthread_mutex_t mu;
    route_stats routes[MAX_ROUTES];
    size_t nroutes;
};

http_stats *http_stats_new(void)
{
    http_stats *st = xcalloc(1, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    return st;
}

void http_stats_free(http_stats *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void http_stats_record(http_stats *st, const char *route, int status, double seconds)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    size_t i = 0;
    while (i < st->nroutes && strcmp(st->routes[i].route, route) != 0)
        i++;
    if (i == st->nroutes && st->nroutes < MAX_ROUTES) {
        st->routes[i].route = route;
        metrics_hist_init(&st->routes[i].latency, METRICS_SECONDS_BUCKETS);
        st->nroutes++;
    }
    if (i < st->nroutes) {
        route_stats *r = &st->routes[i];
        size_t k = 0;
        while (k < r->nstatus && r->status[k] != status)
            k++;
        if (k == r->nstatus && r->nstatus < MAX_STATUSES)
            r->status[r->nstatus++] = status;
        if (k < r->nstatus)
            r->count[k]++;
        metrics_hist_observe(&r->latency, seconds);
    }
    pthread_mutex_unlock(&st->mu);
}

static void write_http(http_stats *st, buf *out)
{
    buf l;
    buf_init(&l);
    pthread_mutex_lock(&st->mu);
    metrics_family(out, "cicada_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (size_t i = 0; i < st->nroutes; i++)
        for (size_t k = 0; k < st->routes[i].nstatus; k++) {
            char code[8];
            snprintf(code, sizeof code, "%d", st->routes[i].status[k]);
            buf_reset(&l);
            metrics_label(&l, "route", st->routes[i].route);
            metrics_label(&l, "status", code);
            metrics_sample(out, "cicada_http_requests_total", l.data, (double)st->routes[i].count[k]);
        }
    metrics_family(out, "cicada_http_request_duration_seconds", "histogram",
                   "Time from a request's first byte to its answer being queued, by route.");
    for (size_t i = 0; i < st->nroutes; i++) {
        buf_reset(&l);
        metrics_label(&l, "route", st->routes[i].route);
        metrics_hist_write(out, "cicada_http_request_duration_seconds", l.data, &st->routes[i].latency);
    }
    pthread_mutex_unlock(&st->mu);
    buf_free(&l);
}

static void text_answer(api_response *r, int status, const char *text)
{
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    buf_printf(&r->body, "%s\n", text);
}

/* The bearer token, compared in time independent of its contents. */
static bool token_ok(const api_request *q, const char *token)
{
    const char *h = api_header(q, "Authorization");
    if (!token || !token[0] || !h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t n = strlen(token), m = strlen(given);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(token[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}

bool http_ops_request(http_stats *st, api *a, const http_params *p, const api_request *q, const char *method,
                      const char *path, bool loopback, api_response *r)
{
    bool healthz = strcmp(path, "/healthz") == 0, readyz = strcmp(path, "/readyz") == 0,
         metrics = strcmp(path, "/metrics") == 0;
    if (!healthz && !readyz && !metrics)
        return false;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        text_answer(r, 405, "use GET");
        api_response_header(r, "Allow", "GET, HEAD");
        return true;
    }
    api_response_header(r, "Cache-Control", "no-store");
    if (healthz) {
        text_answer(r, 200, "ok");
        return true;
    }
    if (readyz) {
        char why[600];
        if (a && !api_ready(a, why, sizeof why)) {
            text_answer(r, 503, why);
            log_warn("not ready: %s", why);
        } else
            text_answer(r, 200, "ready");
        return true;
    }
    if (!loopback && !token_ok(q, p->metrics_token)) {
        bool have = p->metrics_token && p->metrics_token[0];
        text_answer(r, have ? 401 : 403,
                    have ? "metrics need Authorization: Bearer <CICADA_METRICS_TOKEN>"
                         : "metrics are served to this machine only; set CICADA_METRICS_TOKEN to serve them to others");
        return true;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_family(&r->body, "cicada_build_info", "gauge", "The running build: always 1, its version as a label.");
    buf l;
    buf_init(&l);
    metrics_label(&l, "version", p->version ? p->version : "");
    metrics_sample(&r->body, "cicada_build_info", l.data, 1);
    buf_free(&l);
    metrics_family(&r->body, "cicada_up_since_seconds", "gauge", "When this process started serving, Unix time.");
    metrics_sample(&r->body, "cicada_up_since_seconds", "", (double)p->started_ms / 1000.0);
    write_http(st, &r->body);
    if (a)
        api_write_metrics(a, &r->body);
    return true;
}
