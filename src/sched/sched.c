/* sched.c — the worker pool. Each worker loops: claim a job from the store (which applies queue
 * state, MaxConcurrent, turns between queues and JobLevel within a queue atomically, so fairness
 * between tenants needs no state here and holds across restarts and processes), run it through
 * the pipeline, record the outcome, hand it to the job_ended hook. Idle workers sleep on a
 * condition variable that submits, queue updates and finished jobs signal, with a slow poll as a
 * safety net. */
#include "sched/sched.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

struct sched {
    sched_params p;
    sched_deps d;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long wakeups;     /* bumped by sched_wake; lets a worker notice a wake it slept through */
    bool stopping;
};

sched_params sched_default_params(void)
{
    return (sched_params){.workers = fs_cpu_count(), .idle_poll_ms = 1000};
}

void sched_wake(sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->wakeups++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void finish_job(sched *s, store_job *j)
{
    j->end_ms = time_now_ms();
    store_rc rc = store_job_finish(s->d.st, j);
    if (rc != STORE_OK) {
        log_error("job %s: cannot record its end: %s", j->id, store_last_error());
        return;
    }
    log_info("job %s %s %s%s%s", j->id, job_state_name(j->state), j->code, j->message[0] ? ": " : "",
             j->message);
    if (s->d.job_ended)
        s->d.job_ended(s->d.job_ended_ud, j);
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
    sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        unsigned long seen = s->wakeups;
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        store_job *j = xmalloc(sizeof *j);
        store_job_init(j);
        store_rc rc = store_job_claim(s->d.st, time_now_ms(), j);
        if (rc == STORE_OK) {
            log_info("job %s Running (%s, %s)", j->id, j->params.engine_model_type, j->input_object);
            pipeline_run_job(&s->d.pipeline, j);
            finish_job(s, j);
            store_job_clear(j);
            free(j);
            sched_wake(s);   /* a slot in its queue is free again */
            continue;
        }
        store_job_clear(j);
        free(j);
        if (rc != STORE_NOT_FOUND)
            log_error("claiming a job failed: %s", store_last_error());
        if (!wait_for_work(s, seen))
            break;
    }
    return NULL;
}

sched *sched_start(const sched_params *p, const sched_deps *d, char *err, size_t errlen)
{
    sched *s = xcalloc(1, sizeof *s);
    s->p = p ? *p : sched_default_params();
    if (s->p.workers < 1)
        s->p.workers = 1;
    if (s->p.idle_poll_ms < 10)
        s->p.idle_poll_ms = 10;
    s->d = *d;
    if (!s->d.pipeline.st)
        s->d.pipeline.st = d->st;   /* jobs' hot-vocabulary tables live in the same store */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->threads = xcalloc((size_t)s->p.workers, sizeof *s->threads);
    for (int i = 0; i < s->p.workers; i++) {
        if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            sched_stop(s);
            return NULL;
        }
        s->nthreads++;
    }
    return s;
}

void sched_stop(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    free(s->threads);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
