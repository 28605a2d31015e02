/* notify.h — delivers job-finished callbacks. notify_post() returns at once; one thread drives all
 * deliveries concurrently through libcurl's multi interface, retrying failures with exponential
 * back-off, so a callback URL that never answers delays nothing but itself. Callback URLs come from
 * whoever submits a job or configures a queue, so every delivery follows src/fetch's address policy
 * (fetch_guard_apply): http and https only, no proxy from the environment, no connection to an
 * internal address unless allow_private, and no redirects. A delivery the policy refuses, or one
 * answered with a redirect, is logged and given up at once: trying again would not change it. */
#ifndef CICADA_NOTIFY_H
#define CICADA_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct notifier notifier;

typedef struct notify_params {
    int max_attempts;          /* default 5 */
    int64_t first_backoff_ms;  /* default 1000; doubles each retry */
    long timeout_ms;           /* whole request; default 10000 */
    int max_in_flight;         /* default 64 */
    int max_pending;           /* deliveries held in memory; default 100000 (older ones dropped) */
    bool allow_private;        /* CICADA_URL_ALLOW_PRIVATE: may reach loopback/private addresses; default false */
} notify_params;
notify_params notify_default_params(void);

notifier *notify_start(const notify_params *p, char *err, size_t errlen);
/* Whether url is one n would deliver to, judged without the network (fetch_target_valid under n's
 * allow_private; n may be NULL, meaning the defaults). The API asks this when a callback URL is
 * given, so a URL that can never be delivered to is a 400; err says why. */
bool notify_url_valid(const notifier *n, const char *url, char *err, size_t errlen);
/* Queues a POST of body to url (copies both). Returns false, having logged why, for a URL that is
 * not http or https, names no host, or carries a user name or control bytes; internal addresses
 * are refused when the connection is made. */
bool notify_post(notifier *n, const char *url, const char *content_type, const char *body);
/* Stops the thread; deliveries still pending get up to grace_ms to finish. */
void notify_stop(notifier *n, int64_t grace_ms);

typedef struct notify_stats {
    uint64_t delivered, failed_attempts, given_up, pending;
    uint64_t refused;          /* of given_up: refused by the address policy or answered with a redirect */
} notify_stats;
notify_stats notify_get_stats(notifier *n);

#endif
