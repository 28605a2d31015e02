/* notify.h — job-end callbacks, end to end, through the store's outbox.
 *
 * A job that ends (the scheduler's store_job_finish, the API's store_job_cancel) writes its
 * callback as an outbox row in the same transaction as its final state, so no job ends without its
 * callback and a crash loses none. Where that row goes is decided here too, without I/O:
 * notify_target. Sending is one thread per node (notify_start): it leases due rows from the store
 * (store_outbox_claim, owner = this node, a lease longer than the request timeout), loads each
 * row's job, renders its JobsDetail (src/render: XML or JSON as the row says) and POSTs it, up to
 * max_in_flight at once through libcurl's multi interface, so a receiver that never answers delays
 * nothing but its own callback. Every outcome is settled in the store, fenced by the lease:
 *   2xx                                   -> delivered (the row is removed)
 *   refused by the address policy, a 3xx  -> given up at once (trying again would not change it)
 *   the job no longer exists              -> given up at once
 *   anything else (no connection, 5xx, 4xx, timeout)
 *                                         -> retried after first_backoff_ms, doubling each time up
 *                                            to max_backoff_ms, until max_attempts deliveries were
 *                                            tried; then given up.
 * Each give-up is logged (warning) with the job id, URL, attempts and the last error, and the row
 * stays in the store as given up with that error.
 *
 * Delivery is at-least-once: a sender that dies (or is stopped past its grace) after the receiver
 * answered but before settling leaves the row to be sent again once its lease expires, by any node;
 * receivers should treat JobId + State as idempotent. A sender whose lease expired and was taken
 * over cannot settle (the store refuses it): the row belongs to whoever holds it now.
 *
 * Callback URLs come from whoever submits a job or configures a queue, so every delivery follows
 * src/fetch's address policy (fetch_guard_apply): http and https only, no proxy from the
 * environment, no connection to an internal address unless allow_private, and no redirects.
 *
 * Thread-safety: notify_kick, notify_get_stats and notify_url_valid may be called from any thread;
 * notify_start and notify_stop once each, by the owner. Call curl_global_init before notify_start.
 *
 *     notify_params p = notify_default_params();
 *     p.node = "node-a";                              // this node's id, as the scheduler's
 *     notifier *n = notify_start(&p, st, err, sizeof err);
 *     ...
 *     store_callback cb;                              // a job ends:
 *     bool any = notify_target(job, &queue, &cb);
 *     store_job_finish(st, job, any ? &cb : NULL);    // the row, in the job's transaction
 *     notify_kick(n);                                 // send it now rather than at the next poll
 *     ...
 *     notify_stop(n, 2000);
 */
#ifndef CICADA_NOTIFY_H
#define CICADA_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/util.h"

typedef struct notifier notifier;

typedef struct notify_params {
    const char *node;          /* this node's id: owner of the rows it leases (1..63 bytes); required */
    const char *region;        /* Region in a JobsDetail whose job names none; default "ap-chongqing" */
    int max_attempts;          /* deliveries tried before giving up; default 10 */
    int64_t first_backoff_ms;  /* wait after the first failure; default 1000 (1 s); doubles each retry */
    int64_t max_backoff_ms;    /* the longest wait between two tries; default 300000 (5 min) */
    long timeout_ms;           /* one whole request; default 10000 (10 s) */
    int64_t lease_ms;          /* how long a claimed row is this node's; default 60000 (60 s); should
                                * exceed timeout_ms, so a request ends before its lease does (a shorter
                                * one is logged at start: rows may then be sent twice) */
    int64_t poll_ms;           /* how often the store is asked for due rows (retries, rows of other
                                * nodes) when nothing kicks; default 250 */
    int max_in_flight;         /* requests at once; default 64 */
    bool allow_private;        /* CICADA_URL_ALLOW_PRIVATE: may reach loopback/private addresses; default false */
} notify_params;
notify_params notify_default_params(void);

/* Starts the sender thread for this node on st (which must outlive the notifier). The strings of p
 * are copied. NULL with err filled when p is invalid (no node id, a number out of range) or the
 * thread cannot start. */
notifier *notify_start(const notify_params *p, store *st, char *err, size_t errlen);
/* Wakes the sender to claim due rows at once (call after a job ended with a callback). Cheap. */
void notify_kick(notifier *n);
/* Stops claiming; requests in flight get up to grace_ms to be answered and settled. Rows not
 * settled by then stay in the store: those in flight are handed back for retry at once (they may
 * have reached their receiver: at-least-once), and a sender killed outright leaves its leases to
 * expire. Then the thread ends and n is freed. NULL is ignored. */
void notify_stop(notifier *n, int64_t grace_ms);

/* Where the end of job j goes, without I/O: j->callback "no" -> nowhere; a CallBack URL -> it, in
 * j->callback_format (XML unless "JSON"); else the queue's NotifyConfig when q is given, its State
 * is On, its Url set and its Event list names TaskFinish or TransCodingFinish (WorkflowFinish never
 * fires here) -> that Url in its ResultFormat. True with *out filled when there is a target; false
 * (out emptied) when there is none. */
bool notify_target(const store_job *j, const store_queue *q, store_callback *out);

/* Whether url is one n would deliver to, judged without the network (fetch_target_valid under n's
 * allow_private; n may be NULL, meaning the defaults). The API asks this when a callback URL is
 * given, so a URL that can never be delivered to is a 400; err says why. */
bool notify_url_valid(const notifier *n, const char *url, char *err, size_t errlen);

typedef struct notify_stats {
    uint64_t delivered;        /* rows settled as delivered by this notifier */
    uint64_t failed_attempts;  /* tries that failed and were scheduled again */
    uint64_t given_up;         /* rows settled as given up (refused ones included) */
    uint64_t refused;          /* of given_up: refused by the address policy or answered with a redirect */
    uint64_t fenced;           /* outcomes the store refused: the row's lease had passed to another sender */
    uint64_t in_flight;        /* requests under way now */
} notify_stats;
notify_stats notify_get_stats(notifier *n);
/* This node's callback metrics in Prometheus text (metrics.h): deliveries, retries, give-ups,
 * requests in flight, and the outbox rows waiting in the store (all nodes'). */
void notify_write_metrics(notifier *n, buf *out);

#endif
