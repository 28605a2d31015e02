/* store_lease_bench.c — what leases cost and how fast a dead node's job moves on, on the store alone.
 *
 * 1. Claim -> finish overhead: NODES store handles (each its own connections: separate "nodes"),
 *    THREADS worker threads each, run JOBS pre-inserted empty jobs through claim, stage and finish
 *    (the store work of one job, no recognition); prints ms per job (p50, p99) and jobs/s.
 * 2. Takeover: one node claims a job with a LEASE_MS lease and then goes silent (never renews);
 *    another node polls for work every POLL_MS, as an idle worker does; prints how long after the
 *    silent node's last word the job was taken over (lease expiry + detection).
 *
 * Usage: store_lease_bench [nodes=3] [threads=2] [jobs=3000] [lease_ms=2000] [poll_ms=100] [dir=/tmp]
 * SQLite in a fresh directory unless CICADA_DATABASE_URL names a (fresh) PostgreSQL database. */
#include "store/store.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct node_worker {
    store *st;
    char node[32];
    int64_t *lat_us;           /* one per job this thread ran */
    size_t n, cap;
    int failed;
} node_worker;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *run_jobs(void *arg)
{
    node_worker *w = arg;
    store_job *j = xmalloc(sizeof *j);
    for (;;) {
        int64_t t0 = mono_us();
        store_claim c = {.node = w->node, .now_ms = time_now_ms(), .lease_ms = 30000};
        store_rc rc = store_job_claim(w->st, &c, j);
        if (rc == STORE_NOT_FOUND)
            break;
        if (rc != STORE_OK) {
            w->failed++;
            continue;
        }
        j->state = JOB_SUCCESS;
        j->end_ms = time_now_ms();
        if (store_job_stage(w->st, j) != STORE_OK || store_job_finish(w->st, j, NULL) != STORE_OK)
            w->failed++;
        store_job_clear(j);
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 1024;
            w->lat_us = xrealloc(w->lat_us, w->cap * sizeof *w->lat_us);
        }
        w->lat_us[w->n++] = mono_us() - t0;
    }
    free(j);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static store *open_store(const char *path, char *err, size_t errlen)
{
    store_params p = store_default_params();
    p.sqlite_path = path;
    p.database_url = getenv("CICADA_DATABASE_URL");
    return store_open(&p, err, errlen);
}

static void insert_job(store *st, const store_queue *q)
{
    store_job j;
    store_job_init(&j);
    ids_new(j.id, "s");
    strlcpy_ok(j.bucket, q->bucket, sizeof j.bucket);
    strlcpy_ok(j.queue_id, q->id, sizeof j.queue_id);
    strlcpy_ok(j.input_object, "in/a.wav", sizeof j.input_object);
    strlcpy_ok(j.params.engine_model_type, "16k_en", sizeof j.params.engine_model_type);
    j.create_ms = time_now_ms();
    if (store_job_insert(st, &j) != STORE_OK)
        fprintf(stderr, "insert: %s\n", store_last_error());
}

int main(int argc, char **argv)
{
    int nodes = argc > 1 ? atoi(argv[1]) : 3, threads = argc > 2 ? atoi(argv[2]) : 2;
    int jobs = argc > 3 ? atoi(argv[3]) : 3000;
    int64_t lease_ms = argc > 4 ? atoll(argv[4]) : 2000, poll_ms = argc > 5 ? atoll(argv[5]) : 100;
    const char *base = argc > 6 ? argv[6] : "/tmp";
    if (nodes < 2 || threads < 1 || jobs < 1 || lease_ms < 100 || poll_ms < 1) {
        fprintf(stderr, "usage: %s [nodes>=2] [threads] [jobs] [lease_ms] [poll_ms] [dir]\n", argv[0]);
        return 2;
    }
    char dir[1024], path[1100], err[512];
    snprintf(dir, sizeof dir, "%s/cicada-lease-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/cicada.db", dir);
    store **st = xcalloc((size_t)nodes, sizeof *st);
    for (int i = 0; i < nodes; i++)
        if (!(st[i] = open_store(path, err, sizeof err))) {
            fprintf(stderr, "store_open: %s\n", err);
            return 1;
        }
    /* four buckets, MaxConcurrent high enough for every thread */
    store_queue q[4];
    for (int b = 0; b < 4; b++) {
        store_bucket bk = {.create_ms = time_now_ms()};
        snprintf(bk.name, sizeof bk.name, "lease%d-1250000000", b);
        strlcpy_ok(bk.appid, "1250000000", sizeof bk.appid);
        if (store_bucket_open(st[0], &bk, &q[b]) != STORE_OK) {
            fprintf(stderr, "bucket: %s\n", store_last_error());
            return 1;
        }
    }
    for (int i = 0; i < jobs; i++)
        insert_job(st[0], &q[i % 4]);

    int nw = nodes * threads;
    node_worker *w = xcalloc((size_t)nw, sizeof *w);
    pthread_t *t = xcalloc((size_t)nw, sizeof *t);
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < nw; i++) {
        w[i].st = st[i / threads];
        snprintf(w[i].node, sizeof w[i].node, "bench-node-%d", i / threads);
        pthread_create(&t[i], NULL, run_jobs, &w[i]);
    }
    size_t total = 0;
    int failed = 0;
    for (int i = 0; i < nw; i++) {
        pthread_join(t[i], NULL);
        total += w[i].n;
        failed += w[i].failed;
    }
    int64_t ms = time_mono_ms() - t0;
    int64_t *all = xcalloc(total ? total : 1, sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nw; i++) {
        memcpy(all + k, w[i].lat_us, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat_us);
    }
    qsort(all, total, sizeof *all, cmp_i64);
    printf("%s: %d nodes x %d threads ran %zu jobs (claim+stage+finish) in %lld ms: %.0f jobs/s; per job p50 %.2f ms, "
           "p99 %.2f ms (%d failed)\n",
           store_backend_name(st[0]), nodes, threads, total, (long long)ms, ms ? total * 1000.0 / (double)ms : 0.0,
           total ? all[total / 2] / 1000.0 : 0.0, total ? all[total * 99 / 100] / 1000.0 : 0.0, failed);

    /* takeover: node 0 claims and goes silent; node 1 polls */
    insert_job(st[0], &q[0]);
    store_job *j = xmalloc(sizeof *j);
    store_claim dead = {.node = "silent-node", .now_ms = time_now_ms(), .lease_ms = lease_ms};
    if (store_job_claim(st[0], &dead, j) != STORE_OK) {
        fprintf(stderr, "claim: %s\n", store_last_error());
        return 1;
    }
    int64_t silent_at = time_mono_ms();
    char id[40];
    memcpy(id, j->id, sizeof id);
    store_job_clear(j);
    for (;;) {
        store_claim c = {.node = "poller", .now_ms = time_now_ms(), .lease_ms = 30000};
        store_rc rc = store_job_claim(st[1], &c, j);
        if (rc == STORE_OK && strcmp(j->id, id) == 0)
            break;
        if (rc == STORE_OK)
            store_job_clear(j);
        usleep((useconds_t)(poll_ms * 1000));
    }
    int64_t waited = time_mono_ms() - silent_at;
    printf("takeover: lease %lld ms, poll every %lld ms: the silent node's job was taken over %lld ms after its "
           "last renewal (attempt %d)\n",
           (long long)lease_ms, (long long)poll_ms, (long long)waited, j->attempts);
    store_job_clear(j);
    free(j);
    for (int i = 0; i < nodes; i++)
        store_close(st[i]);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char side[1200];
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
    }
    rmdir(dir);
    free(all);
    free(w);
    free(t);
    free(st);
    return failed ? 1 : 0;
}
