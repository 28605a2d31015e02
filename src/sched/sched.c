/* sched.c — the worker pool. Each worker loops: claim a job from the store with a lease (the store
 * applies queue state, MaxConcurrent, turns between queues and JobLevel within a queue atomically,
 * and hands out first the jobs whose node stopped renewing them, so fairness and recovery need no
 * state here and hold across restarts and nodes), run it through the pipeline, stage the result,
 * publish the output objects from it, and finish the job with its callback in one transaction.
 *
 * Leases: one keeper thread renews the lease of every job this node runs, every renew_ms. When a
 * renewal is refused (the node was paused or cut off past its lease and another node took the job
 * over), the job is marked lost; the worker then drops it, and the fences in the store refuse its
 * stage and finish anyway, so a stale attempt can never overwrite the attempt that replaced it.
 * Output objects are written only from a staged record, so whichever attempt publishes (the one
 * that staged, or one that took a staged job over) writes the same bytes.
 *
 * Wake-ups: idle workers sleep on a condition variable that local submits, queue updates and
 * finished jobs signal (one worker at a time; a worker that gets a job passes the signal on); with a
 * store that carries wake-ups between nodes (PostgreSQL LISTEN/NOTIFY) a listener thread turns
 * those into the same signal; a slow poll is the safety net. */
#include "sched/sched.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/util.h"

/* Jobs of one queue and EngineModelType as /metrics shows them (the API admits only the known
 * types, and queues are few per bucket, so the table stays small; past SCHED_MAX_TYPES rows the
 * rest count in the last row, labelled "other"). */
#define SCHED_MAX_TYPES 256
typedef struct type_metrics {
    char type[32];
    char queue[40];
    uint64_t started;          /* attempts begun */
    uint64_t succeeded, failed;
    double audio_seconds;      /* audio recognised by successful attempts */
    metrics_hist duration;     /* an attempt's run, claim to end, seconds */
    metrics_hist rtf;          /* run time over audio time, successful attempts */
} type_metrics;

/* What the keeper needs to renew one running job's lease. */
typedef struct lease_slot {
    bool active;
    bool lost;
    store_job *job;            /* the worker's job; the keeper renews through a copy of its fence */
} lease_slot;

struct sched {
    sched_params p;
    sched_deps d;
    char node[64];
    pthread_t *threads;
    int nthreads;
    pthread_t keeper, listener;
    bool keeper_started, listener_started;
    lease_slot *slots;         /* one per worker */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* idle workers wait here (sched_wake signals one) */
    pthread_cond_t stop_cv;    /* the keeper and the listener pause here (stopping broadcasts) */
    unsigned long wakeups;     /* bumped by sched_wake; lets a worker notice a wake it slept through */
    int claiming;              /* workers inside a claim (each will look again if woken meanwhile) */
    bool stopping;             /* workers and the listener stop */
    bool keeper_stopping;      /* set once the workers are gone: their leases are kept to the end */
    struct {
        uint64_t taken_over;   /* jobs run again after their node's lease ran out */
        uint64_t lost;         /* attempts dropped because their lease was lost (fenced out) */
    } stats;                   /* under mu */
    type_metrics types[SCHED_MAX_TYPES];   /* under mu */
    size_t ntypes;
};

/* Least time between two claims of this node that found nothing: bounds the claims a stream of
 * submits causes while nothing can start, and is the most a job waits for a worker meanwhile. */
#define SCHED_CLAIM_QUIET_MS 20

typedef struct worker_arg {
    sched *s;
    int index;
} worker_arg;

sched_params sched_default_params(void)
{
    return (sched_params){.workers = fs_cpu_count(), .idle_poll_ms = 1000, .node = NULL, .lease_ms = 30000};
}

/* Wakes ONE idle worker: it claims, and when it gets a job it wakes the next one (see worker_main),
 * so a burst of work spreads over the idle workers while a wake-up that finds nothing costs one
 * claim, not one per worker (on PostgreSQL every node hears every submit). While a worker is inside
 * a claim nobody else is woken: that worker sees the wake-up when its claim ends and claims again,
 * so a stream of submits costs at most one claim at a time, however fast they come. */
void sched_wake(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->wakeups++;
    if (s->claiming == 0)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The row of type t in queue q (created on first use); call under s->mu. */
static type_metrics *type_row(sched *s, const char *t, const char *q)
{
    size_t i = 0;
    while (i < s->ntypes && (strcmp(s->types[i].type, t) != 0 || strcmp(s->types[i].queue, q) != 0))
        i++;
    if (i == s->ntypes) {
        if (s->ntypes == SCHED_MAX_TYPES)
            return &s->types[SCHED_MAX_TYPES - 1];
        if (s->ntypes == SCHED_MAX_TYPES - 1)
            t = q = "other";
        type_metrics *m = &s->types[s->ntypes++];
        snprintf(m->type, sizeof m->type, "%s", t);
        snprintf(m->queue, sizeof m->queue, "%s", q);
        metrics_hist_init(&m->duration, METRICS_SECONDS_BUCKETS);
        metrics_hist_init(&m->rtf, METRICS_RATIO_BUCKETS);
    }
    return &s->types[i];
}

/* An attempt began (end_state < 0) or ended as end_state after run_ms. */
static void count_attempt(sched *s, const store_job *j, int end_state, int64_t run_ms)
{
    pthread_mutex_lock(&s->mu);
    type_metrics *m = type_row(s, j->params.engine_model_type[0] ? j->params.engine_model_type : "none", j->queue_id);
    if (end_state < 0)
        m->started++;
    else {
        double secs = (double)run_ms / 1000.0;
        metrics_hist_observe(&m->duration, secs);
        if (end_state == JOB_SUCCESS) {
            m->succeeded++;
            m->audio_seconds += j->audio_time;
            if (j->audio_time > 0)
                metrics_hist_observe(&m->rtf, secs / j->audio_time);
        } else
            m->failed++;
    }
    pthread_mutex_unlock(&s->mu);
}

void sched_write_metrics(sched *s, buf *out)
{
    pthread_mutex_lock(&s->mu);
    buf l;
    buf_init(&l);
    metrics_family(out, "cicada_jobs_started_total", "counter", "Job attempts this node began, by queue and EngineModelType.");
    for (size_t i = 0; i < s->ntypes; i++) {
        buf_reset(&l);
        metrics_label(&l, "queue", s->types[i].queue);
        metrics_label(&l, "engine", s->types[i].type);
        metrics_sample(out, "cicada_jobs_started_total", l.data, (double)s->types[i].started);
    }
    metrics_family(out, "cicada_jobs_finished_total", "counter",
                   "Job attempts this node ended, by queue, EngineModelType and final state (Success or Failed).");
    for (size_t i = 0; i < s->ntypes; i++)
        for (int k = 0; k < 2; k++) {
            buf_reset(&l);
            metrics_label(&l, "queue", s->types[i].queue);
            metrics_label(&l, "engine", s->types[i].type);
            metrics_label(&l, "state", k ? "Failed" : "Success");
            metrics_sample(out, "cicada_jobs_finished_total", l.data,
                           (double)(k ? s->types[i].failed : s->types[i].succeeded));
        }
    metrics_family(out, "cicada_audio_recognised_seconds_total", "counter",
                   "Seconds of audio in jobs that ended Success on this node, by queue and EngineModelType.");
    for (size_t i = 0; i < s->ntypes; i++) {
        buf_reset(&l);
        metrics_label(&l, "queue", s->types[i].queue);
        metrics_label(&l, "engine", s->types[i].type);
        metrics_sample(out, "cicada_audio_recognised_seconds_total", l.data, s->types[i].audio_seconds);
    }
    metrics_family(out, "cicada_job_duration_seconds", "histogram",
                   "How long an attempt ran on this node, from its claim to its end, by queue and EngineModelType.");
    for (size_t i = 0; i < s->ntypes; i++) {
        buf_reset(&l);
        metrics_label(&l, "queue", s->types[i].queue);
        metrics_label(&l, "engine", s->types[i].type);
        metrics_hist_write(out, "cicada_job_duration_seconds", l.data, &s->types[i].duration);
    }
    metrics_family(out, "cicada_job_realtime_factor", "histogram",
                   "Run time over audio time of successful attempts (below 1: faster than real time).");
    for (size_t i = 0; i < s->ntypes; i++) {
        buf_reset(&l);
        metrics_label(&l, "queue", s->types[i].queue);
        metrics_label(&l, "engine", s->types[i].type);
        metrics_hist_write(out, "cicada_job_realtime_factor", l.data, &s->types[i].rtf);
    }
    metrics_family(out, "cicada_jobs_taken_over_total", "counter", "Jobs this node ran again after another node's lease expired.");
    metrics_sample(out, "cicada_jobs_taken_over_total", "", (double)s->stats.taken_over);
    metrics_family(out, "cicada_jobs_lease_lost_total", "counter", "Attempts this node dropped because its lease passed to another node.");
    metrics_sample(out, "cicada_jobs_lease_lost_total", "", (double)s->stats.lost);
    int busy = 0;
    for (int i = 0; i < s->nthreads; i++)
        busy += s->slots[i].active;
    metrics_family(out, "cicada_workers", "gauge", "Worker threads of this node.");
    metrics_sample(out, "cicada_workers", "", s->nthreads);
    metrics_family(out, "cicada_workers_busy", "gauge", "Worker threads running a job now.");
    metrics_sample(out, "cicada_workers_busy", "", busy);
    pthread_mutex_unlock(&s->mu);
    buf_free(&l);
}

static void count(sched *s, uint64_t *field)
{
    pthread_mutex_lock(&s->mu);
    (*field)++;
    pthread_mutex_unlock(&s->mu);
}

static bool slot_lost(sched *s, int i)
{
    pthread_mutex_lock(&s->mu);
    bool lost = s->slots[i].lost;
    pthread_mutex_unlock(&s->mu);
    return lost;
}

static void slot_set(sched *s, int i, store_job *j)
{
    pthread_mutex_lock(&s->mu);
    s->slots[i] = (lease_slot){.active = j != NULL, .lost = false, .job = j};
    pthread_mutex_unlock(&s->mu);
}

/* A job this node no longer owns: nothing of it is written. */
static void drop_lost(sched *s, const store_job *j, const char *when)
{
    log_warn("job %s attempt %d: lease lost %s (%s); dropped, the attempt that took it over decides", j->id,
             j->attempts, when, store_last_error());
    count(s, &s->stats.lost);
}

/* Finishes a job (with its callback in the same transaction) and kicks the notifier. Returns the
 * state it ended in, or -1 when it was dropped or its end could not be recorded. */
static int finish_job(sched *s, int slot, store_job *j)
{
    j->end_ms = time_now_ms();
    store_callback cb = {0};
    store_queue q;
    bool have_queue = store_queue_get(s->d.st, j->queue_id, &q) == STORE_OK;
    bool notify = notify_target(j, have_queue ? &q : NULL, &cb);
    if (slot_lost(s, slot)) {
        drop_lost(s, j, "before it ended");
        return -1;
    }
    store_rc rc = store_job_finish(s->d.st, j, notify ? &cb : NULL);
    if (rc == STORE_CONFLICT) {
        drop_lost(s, j, "before it ended");
        return -1;
    }
    if (rc != STORE_OK) {
        log_error("job %s: cannot record its end: %s", j->id, store_last_error());
        return -1;
    }
    char ran[32], audio[32];
    snprintf(ran, sizeof ran, "%lld", (long long)(j->end_ms - j->start_ms));
    snprintf(audio, sizeof audio, "%.3f", j->audio_time);
    const char *fields[] = {"state", job_state_name(j->state), "code", j->code, "duration_ms", ran,
                            "audio_seconds", audio, "engine", j->params.engine_model_type, NULL};
    log_fields(LOG_INFO, fields, "job %s %s %s%s%s", j->id, job_state_name(j->state), j->code,
               j->message[0] ? ": " : "", j->message);
    if (notify && s->d.notify)
        notify_kick(s->d.notify);
    return (int)j->state;
}

/* Runs a claimed job to its end: recognise (unless a staged result was taken over), stage,
 * publish, finish. Returns finish_job's answer, -1 when the attempt was dropped. */
static int run_claimed(sched *s, int slot, store_job *j)
{
    if (!j->staged) {
        char attempt[16];
        snprintf(attempt, sizeof attempt, "%d", j->attempts);
        const char *fields[] = {"state", "Running", "attempt", attempt, "engine", j->params.engine_model_type, NULL};
        log_fields(LOG_INFO, fields, "job %s Running, attempt %d (%s, %s)", j->id, j->attempts,
                   j->params.engine_model_type, j->input_object[0] ? j->input_object : j->input_url);
        pipeline_run_job(&s->d.pipeline, j);
        if (slot_lost(s, slot)) {
            drop_lost(s, j, "while it ran");
            return -1;
        }
        if (j->state == JOB_SUCCESS) {
            store_rc rc = store_job_stage(s->d.st, j);
            if (rc == STORE_CONFLICT) {
                drop_lost(s, j, "before its result was recorded");
                return -1;
            }
            if (rc != STORE_OK) {
                log_error("job %s: cannot record its result: %s", j->id, store_last_error());
                return -1;   /* the lease runs out and the job runs again */
            }
        }
    } else {
        log_info("job %s: attempt %d publishes the result staged by an earlier attempt", j->id, j->attempts);
    }
    if (j->state == JOB_SUCCESS || j->staged) {
        j->state = JOB_SUCCESS;
        snprintf(j->code, sizeof j->code, "Success");
        j->message[0] = '\0';
        if (slot_lost(s, slot)) {
            drop_lost(s, j, "before publishing");
            return -1;
        }
        pipeline_publish(&s->d.pipeline, j);   /* Failed with OutputWriteFailed when the store refuses */
    }
    return finish_job(s, slot, j);
}

/* Sleeps up to ms unless *flag (read under s->mu) is set; false when it is. */
static bool pause_unless(sched *s, const bool *flag, int64_t ms)
{
    pthread_mutex_lock(&s->mu);
    if (!*flag) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
        ts.tv_sec += ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&s->stop_cv, &s->mu, &ts);
    }
    bool go_on = !*flag;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

/* Sleeps until woken, stopped, or the poll interval passes. Returns false when stopping. */
static bool wait_for_work(sched *s, unsigned long seen)
{
    pthread_mutex_lock(&s->mu);
    if (!s->stopping && s->wakeups == seen) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (s->p.idle_poll_ms % 1000) * 1000000;
        ts.tv_sec += s->p.idle_poll_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    bool go_on = !s->stopping;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    sched *s = wa->s;
    int slot = wa->index;
    free(wa);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        unsigned long seen = s->wakeups;
        bool stop = s->stopping;
        if (!stop)
            s->claiming++;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        store_job *j = xmalloc(sizeof *j);
        store_claim c = {.node = s->node, .now_ms = time_now_ms(), .lease_ms = s->p.lease_ms};
        store_rc rc = store_job_claim(s->d.st, &c, j);
        if (rc == STORE_OK) {
            pthread_mutex_lock(&s->mu);
            s->claiming--;
            pthread_mutex_unlock(&s->mu);
            sched_wake(s);   /* there may be more: let the next idle worker look */
            if (j->attempts > 1 && j->start_ms < c.now_ms)
                count(s, &s->stats.taken_over);
            slot_set(s, slot, j);
            log_context_set("job_id", j->id);
            log_context_set("queue", j->queue_id);
            count_attempt(s, j, -1, 0);
            int64_t t0 = time_mono_ms();
            int end = run_claimed(s, slot, j);
            if (end >= 0)
                count_attempt(s, j, end, time_mono_ms() - t0);
            log_context_clear();
            slot_set(s, slot, NULL);
            store_job_clear(j);
            free(j);
            sched_wake(s);   /* a slot in its queue is free again */
            continue;
        }
        free(j);
        if (rc != STORE_NOT_FOUND)
            log_error("claiming a job failed: %s", store_last_error());
        /* Nothing to start (queues paused or at MaxConcurrent, or the work went to another node).
         * Stay counted as claiming for a short quiet spell, so that the wake-ups of a stream of
         * submits meanwhile come down to one more claim by this worker when it ends, instead of a
         * claim per submit that would find nothing either. */
        int64_t quiet = c.now_ms + SCHED_CLAIM_QUIET_MS - time_now_ms();
        bool go_on = quiet <= 0 || pause_unless(s, &s->stopping, quiet);
        pthread_mutex_lock(&s->mu);
        s->claiming--;
        pthread_mutex_unlock(&s->mu);
        if (!go_on || !wait_for_work(s, seen))
            break;
    }
    return NULL;
}

/* Renews every running job's lease; a refused renewal marks the job lost. The store call runs
 * without s->mu held, on a copy of the job's fence (id, bucket, owner, attempt). */
static void *keeper_main(void *arg)
{
    sched *s = arg;
    store_job *fence = xmalloc(sizeof *fence);
    while (pause_unless(s, &s->keeper_stopping, s->p.renew_ms)) {
        for (int i = 0; i < s->nthreads; i++) {
            pthread_mutex_lock(&s->mu);
            bool active = s->slots[i].active && !s->slots[i].lost;
            if (active) {
                store_job_init(fence);
                const store_job *j = s->slots[i].job;
                memcpy(fence->id, j->id, sizeof fence->id);
                memcpy(fence->bucket, j->bucket, sizeof fence->bucket);
                memcpy(fence->owner, j->owner, sizeof fence->owner);
                fence->attempts = j->attempts;
            }
            pthread_mutex_unlock(&s->mu);
            if (!active)
                continue;
            store_rc rc = store_job_renew(s->d.st, fence, time_now_ms(), s->p.lease_ms);
            if (rc == STORE_OK || rc == STORE_ERROR) {
                if (rc == STORE_ERROR)   /* the database is unreachable: try again next round */
                    log_warn("job %s: cannot renew its lease: %s", fence->id, store_last_error());
                continue;
            }
            pthread_mutex_lock(&s->mu);
            if (s->slots[i].active && strcmp(s->slots[i].job->id, fence->id) == 0 &&
                s->slots[i].job->attempts == fence->attempts)
                s->slots[i].lost = true;
            pthread_mutex_unlock(&s->mu);
            log_warn("job %s attempt %d: lease renewal refused: %s", fence->id, fence->attempts, store_last_error());
        }
    }
    free(fence);
    return NULL;
}

/* Turns the store's wake-ups from other nodes into sched_wake. */
static void *listener_main(void *arg)
{
    sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        bool woken = false;
        if (store_wait_wakeup(s->d.st, 200, &woken) != STORE_OK) {
            log_warn("waiting for wake-ups from other nodes failed: %s", store_last_error());
            if (!pause_unless(s, &s->stopping, 1000))
                break;
        }
        if (woken)
            sched_wake(s);
    }
    return NULL;
}

sched *sched_new(const sched_params *p, const sched_deps *d, char *err, size_t errlen)
{
    sched *s = xcalloc(1, sizeof *s);
    s->p = p ? *p : sched_default_params();
    if (!s->p.node || !s->p.node[0] || strlen(s->p.node) >= sizeof s->node) {
        snprintf(err, errlen, "the scheduler needs a node id of 1..63 bytes");
        free(s);
        return NULL;
    }
    snprintf(s->node, sizeof s->node, "%s", s->p.node);
    s->p.node = s->node;
    if (s->p.workers < 0)
        s->p.workers = 0;
    if (s->p.idle_poll_ms < 10)
        s->p.idle_poll_ms = 10;
    if (s->p.lease_ms < 100)
        s->p.lease_ms = 100;
    if (s->p.renew_ms <= 0 || s->p.renew_ms > s->p.lease_ms / 2)
        s->p.renew_ms = s->p.lease_ms / 3;
    s->d = *d;
    if (!s->d.pipeline.st)
        s->d.pipeline.st = d->st;   /* jobs' hot-vocabulary tables live in the same store */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    s->threads = xcalloc((size_t)s->p.workers + 1, sizeof *s->threads);
    s->slots = xcalloc((size_t)s->p.workers + 1, sizeof *s->slots);
    return s;
}

bool sched_start(sched *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->p.workers; i++) {
        worker_arg *wa = xmalloc(sizeof *wa);
        *wa = (worker_arg){s, i};
        if (pthread_create(&s->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            snprintf(err, errlen, "cannot start worker thread %d", i);
            return false;
        }
        s->nthreads++;
    }
    if (s->p.workers > 0) {
        s->keeper_started = pthread_create(&s->keeper, NULL, keeper_main, s) == 0;
        s->listener_started =
            store_has_wakeups(s->d.st) && pthread_create(&s->listener, NULL, listener_main, s) == 0;
        if (!s->keeper_started) {
            snprintf(err, errlen, "cannot start the lease keeper thread");
            return false;
        }
    }
    return true;
}

void sched_stop(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    pthread_mutex_lock(&s->mu);
    s->keeper_stopping = true;
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->keeper_started)
        pthread_join(s->keeper, NULL);
    if (s->listener_started)
        pthread_join(s->listener, NULL);
    free(s->threads);
    free(s->slots);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
