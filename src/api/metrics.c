/* metrics.c — what /metrics and /readyz say about the service behind the HTTP layer: jobs and
 * workers (the scheduler's own counters), callbacks (the notifier's), queues (their waiting and
 * running jobs, read from the store at scrape time), the engine types and their models, and the
 * shared cores. Each part is written by the module that owns it; this file only gathers them.
 * Readiness is judged on what the store and the object store answer now and on whether a
 * configured model failed to load. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

#define METRICS_MAX_QUEUES 1000   /* queues listed per scrape (each costs two counts) */
#define METRICS_MAX_COUNTS 256    /* (queue, EngineModelType) rows; the last one takes the rest as "other" */

void api_count_job(api *a, const store_job *j, bool cancelled)
{
    const char *q = j->queue_id, *t = j->params.engine_model_type;
    pthread_mutex_lock(&a->metrics_mu);
    size_t i = 0;
    while (i < a->ncounts && (strcmp(a->counts[i].queue, q) != 0 || strcmp(a->counts[i].engine, t) != 0))
        i++;
    if (i == a->ncounts && a->ncounts == METRICS_MAX_COUNTS)
        i = METRICS_MAX_COUNTS - 1;
    else if (i == a->ncounts) {
        if (!a->counts)
            a->counts = xcalloc(METRICS_MAX_COUNTS, sizeof *a->counts);
        bool last = a->ncounts == METRICS_MAX_COUNTS - 1;
        snprintf(a->counts[i].queue, sizeof a->counts[i].queue, "%s", last ? "other" : q);
        snprintf(a->counts[i].engine, sizeof a->counts[i].engine, "%s", last ? "other" : t);
        a->ncounts++;
    }
    if (cancelled)
        a->counts[i].cancelled++;
    else
        a->counts[i].submitted++;
    pthread_mutex_unlock(&a->metrics_mu);
}

static void write_counts(api *a, buf *out)
{
    buf l;
    buf_init(&l);
    pthread_mutex_lock(&a->metrics_mu);
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "cicada_jobs_cancelled_total" : "cicada_jobs_submitted_total";
        metrics_family(out, name, "counter",
                       k ? "Jobs cancelled through this node (before they started), by queue and EngineModelType."
                         : "Jobs submitted through this node, by queue and EngineModelType.");
        for (size_t i = 0; i < a->ncounts; i++) {
            buf_reset(&l);
            metrics_label(&l, "queue", a->counts[i].queue);
            metrics_label(&l, "engine", a->counts[i].engine);
            metrics_sample(out, name, l.data, (double)(k ? a->counts[i].cancelled : a->counts[i].submitted));
        }
    }
    pthread_mutex_unlock(&a->metrics_mu);
    buf_free(&l);
}
#define METRICS_MAX_APPIDS 64     /* tenants looked at (the keyring's distinct appids) */

/* One queue's samples into jobs and paused. */
static void queue_samples(api *a, const store_queue *q, buf *jobs, buf *paused)
{
    int64_t waiting = 0, running = 0;
    store_job_count(a->d.st, q->id, JOB_SUBMITTED, &waiting);
    store_job_count(a->d.st, q->id, JOB_RUNNING, &running);
    buf l;
    buf_init(&l);
    metrics_label(&l, "bucket", q->bucket);
    metrics_label(&l, "queue", q->id);
    metrics_sample(paused, "cicada_queue_paused", l.data, strcmp(q->state, "Paused") == 0);
    size_t base = l.len;
    metrics_label(&l, "state", "Submitted");
    metrics_sample(jobs, "cicada_queue_jobs", l.data, (double)waiting);
    l.len = base;
    l.data[base] = '\0';
    metrics_label(&l, "state", "Running");
    metrics_sample(jobs, "cicada_queue_jobs", l.data, (double)running);
    buf_free(&l);
}

/* Every queue of every bucket of the appids the keyring holds. */
static void write_queues(api *a, buf *out)
{
    buf jobs, paused;
    buf_init(&jobs);
    buf_init(&paused);
    char seen[METRICS_MAX_APPIDS][32];
    size_t nseen = 0, listed = 0;
    const auth_key *key;
    for (size_t k = 0; a->d.keys && (key = auth_keyring_at(a->d.keys, k)) && nseen < METRICS_MAX_APPIDS; k++) {
        bool dup = false;
        for (size_t i = 0; i < nseen; i++)
            dup = dup || strcmp(seen[i], key->appid) == 0;
        if (dup)
            continue;
        snprintf(seen[nseen++], sizeof seen[0], "%s", key->appid);
        store_bucket *b = xcalloc(100, sizeof *b);
        for (int page = 1; listed < METRICS_MAX_QUEUES; page++) {
            size_t nb = 0;
            int64_t total = 0;
            store_bucket_filter bf = {.appid = key->appid, .page_number = page, .page_size = 100};
            if (store_bucket_list(a->d.st, &bf, b, &nb, &total) != STORE_OK || nb == 0)
                break;
            for (size_t i = 0; i < nb; i++) {
                store_queue q[10];
                size_t nq = 0;
                int64_t qt = 0;
                store_queue_filter qf = {.bucket = b[i].name, .page_number = 1, .page_size = 10};
                if (store_queue_list(a->d.st, &qf, q, &nq, &qt) != STORE_OK)
                    continue;
                for (size_t j = 0; j < nq && listed < METRICS_MAX_QUEUES; j++, listed++)
                    queue_samples(a, &q[j], &jobs, &paused);
            }
            if ((int64_t)page * 100 >= total)
                break;
        }
        free(b);
    }
    metrics_family(out, "cicada_queue_jobs", "gauge", "Jobs of each queue by state: Submitted (waiting) or Running.");
    buf_append(out, jobs.data ? jobs.data : "", jobs.len);
    metrics_family(out, "cicada_queue_paused", "gauge", "1 when the queue is Paused (it starts no new job).");
    buf_append(out, paused.data ? paused.data : "", paused.len);
    buf_free(&jobs);
    buf_free(&paused);
}

/* Each EngineModelType: served here or not, and whether a model planned for it failed to load. */
static void write_engines(api *a, buf *out)
{
    size_t nu = 0;
    engine_unavailable *u = a->d.engines ? engine_registry_unavailable(a->d.engines, &nu) : NULL;
    buf avail, failed, l;
    buf_init(&avail);
    buf_init(&failed);
    buf_init(&l);
    for (size_t i = 0; engine_type_name(i); i++) {
        const char *t = engine_type_name(i);
        const engine_unavailable *why = NULL;
        for (size_t k = 0; k < nu; k++)
            if (strcmp(u[k].type, t) == 0)
                why = &u[k];
        buf_reset(&l);
        metrics_label(&l, "engine", t);
        metrics_sample(&avail, "cicada_engine_available", l.data, a->d.engines && !why);
        char model[512];
        metrics_sample(&failed, "cicada_engine_model_failed", l.data,
                       a->d.engines && !engine_registry_model_ok(a->d.engines, t, model, sizeof model));
    }
    free(u);
    metrics_family(out, "cicada_engine_available", "gauge", "1 when this node has an engine for the EngineModelType.");
    buf_append(out, avail.data ? avail.data : "", avail.len);
    metrics_family(out, "cicada_engine_model_failed", "gauge",
                   "1 when the model configured for the EngineModelType is not in use: missing, or it did not load.");
    buf_append(out, failed.data ? failed.data : "", failed.len);
    buf_free(&avail);
    buf_free(&failed);
    buf_free(&l);
    if (!a->d.engines)
        return;
    engine_cores_stats cs = engine_cores_get_stats(engine_registry_cores(a->d.engines));
    metrics_family(out, "cicada_cores", "gauge", "Cores the recognitions of this node share.");
    metrics_sample(out, "cicada_cores", "", cs.cores);
    metrics_family(out, "cicada_cores_busy", "gauge", "Cores granted to engine calls now.");
    metrics_sample(out, "cicada_cores_busy", "", cs.busy);
    metrics_family(out, "cicada_engine_calls_waiting", "gauge", "Engine calls waiting for cores, or paused for a newcomer.");
    metrics_sample(out, "cicada_engine_calls_waiting", "", cs.waiting);
    metrics_family(out, "cicada_engine_calls_total", "counter", "Engine calls granted cores.");
    metrics_sample(out, "cicada_engine_calls_total", "", (double)cs.calls);
    metrics_family(out, "cicada_engine_calls_paused_total", "counter", "Engine calls that stepped aside for a newcomer.");
    metrics_sample(out, "cicada_engine_calls_paused_total", "", (double)cs.paused);
}

void api_write_metrics(api *a, buf *out)
{
    write_counts(a, out);
    if (a->d.sched)
        sched_write_metrics(a->d.sched, out);
    if (a->d.notify)
        notify_write_metrics(a->d.notify, out);
    write_queues(a, out);
    write_engines(a, out);
}

bool api_ready(api *a, char *why, size_t whylen)
{
    if (store_ping(a->d.st) != STORE_OK) {
        err_printf(why, whylen, "store: %s", store_last_error());
        return false;
    }
    char blob_why[400];
    if (a->default_bucket[0] && blob_bucket_check(a->d.blobs, a->default_bucket, blob_why, sizeof blob_why) != BLOB_OK) {
        err_printf(why, whylen, "object store: %s", blob_why);
        return false;
    }
    if (!a->d.engines)
        return true;
    for (size_t i = 0; engine_type_name(i); i++) {
        char model[512];
        if (!engine_registry_model_ok(a->d.engines, engine_type_name(i), model, sizeof model)) {
            err_printf(why, whylen, "engine: EngineModelType %s: %s", engine_type_name(i), model);
            return false;
        }
    }
    size_t nu = 0, ntypes = 0;
    free(engine_registry_unavailable(a->d.engines, &nu));
    while (engine_type_name(ntypes))
        ntypes++;
    if (nu >= ntypes) {
        err_printf(why, whylen, "engine: no EngineModelType has an engine");
        return false;
    }
    return true;
}
