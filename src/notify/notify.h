/* notify.h — delivers job-finished callbacks. notify_post() returns at once; one thread drives all
 * deliveries concurrently through libcurl's multi interface, retrying failures with exponential
 * back-off, so a callback URL that never answers delays nothing but itself. */
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
} notify_params;
notify_params notify_default_params(void);

notifier *notify_start(const notify_params *p, char *err, size_t errlen);
/* Queues a POST of body to url (copies both). Only http and https URLs are accepted. */
bool notify_post(notifier *n, const char *url, const char *content_type, const char *body);
/* Stops the thread; deliveries still pending get up to grace_ms to finish. */
void notify_stop(notifier *n, int64_t grace_ms);

typedef struct notify_stats {
    uint64_t delivered, failed_attempts, given_up, pending;
} notify_stats;
notify_stats notify_get_stats(notifier *n);

#endif
