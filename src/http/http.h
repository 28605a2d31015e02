/* http.h — the HTTP front door: a libmicrohttpd server that turns each connection's request into an
 * api_request, routes it (router.c) and writes the api_response back. A pool of epoll threads
 * serves all connections; the pool is larger than the core count because a handler may block
 * on the store's group commit (a submit waits for its fsync) and must not stall the others. */
#ifndef CICADA_HTTP_H
#define CICADA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

typedef struct http_server http_server;

typedef struct http_params {
    const char *listen;            /* "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses) */
    unsigned connection_limit;     /* default 1024 */
    unsigned timeout_s;            /* idle connection timeout; default 120 */
    unsigned threads;              /* epoll threads; default 128; 0 = one thread per connection */
    bool health_only;              /* a worker node: GET /health answers, everything else is 404 */
    const char *metrics_token;     /* CICADA_METRICS_TOKEN: bearer token for /metrics from other machines */
    const char *version;           /* cicada_build_info's version label */
    int64_t started_ms;            /* cicada_up_since_seconds, wall clock ms */
} http_params;
http_params http_default_params(void);

http_server *http_start(const http_params *p, api *a, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
int http_port(const http_server *s);
void http_stop(http_server *s);

/* ---- routing (router.c) ---- */
typedef enum route_id {
    ROUTE_NONE = 0,
    ROUTE_ASRBUCKET_OPEN, ROUTE_ASRBUCKET_CLOSE, ROUTE_ASRBUCKET_LIST,
    ROUTE_QUEUE_LIST, ROUTE_QUEUE_UPDATE,
    ROUTE_JOB_SUBMIT, ROUTE_JOB_LIST, ROUTE_JOB_DESCRIBE, ROUTE_JOB_CANCEL,
    ROUTE_HOTVOCAB_CREATE, ROUTE_HOTVOCAB_UPDATE, ROUTE_HOTVOCAB_GET, ROUTE_HOTVOCAB_LIST, ROUTE_HOTVOCAB_DELETE,
    ROUTE_TEMPLATE_CREATE, ROUTE_TEMPLATE_UPDATE, ROUTE_TEMPLATE_LIST, ROUTE_TEMPLATE_DELETE,
    ROUTE_BUCKET_CREATE, ROUTE_BUCKET_HEAD, ROUTE_OBJECT_LIST,
    ROUTE_OBJECT_PUT, ROUTE_OBJECT_GET, ROUTE_OBJECT_HEAD, ROUTE_OBJECT_DELETE,
    ROUTE_BAD_METHOD,
} route_id;

typedef struct route {
    route_id id;
    const char *arg;               /* points into the path: queue id, job ids, table or template id, object key */
    bool need_bucket;              /* false for service-level calls */
} route;

/* Matches a method and decoded path; has_cancel: the query names "cancel". */
route router_match(const char *method, const char *path, bool has_cancel);
/* Runs a buffered (non-streaming) route: authentication has already succeeded. */
void router_dispatch(api *a, const route *rt, api_request *q, api_response *r);

#endif
