/* ops.h — private to src/http: the operators' endpoints (/healthz, /readyz, /metrics) and the
 * HTTP layer's own request metrics. */
#ifndef CICADA_HTTP_OPS_H
#define CICADA_HTTP_OPS_H

#include <stdbool.h>

#include "http/http.h"

typedef struct http_stats http_stats;
http_stats *http_stats_new(void);
void http_stats_free(http_stats *st);
/* One answered request: its route label (a fixed name, never a path), status and latency. */
void http_stats_record(http_stats *st, const char *route, int status, double seconds);

/* Answers GET/HEAD /healthz, /readyz and /metrics (true: r holds the answer; false: not one of
 * them). loopback: the peer is on this machine (metrics are open to it; others need the bearer
 * token p->metrics_token, and without one configured they are refused). a may be NULL. */
bool http_ops_request(http_stats *st, api *a, const http_params *p, const api_request *q, const char *method,
                      const char *path, bool loopback, api_response *r);

#endif
