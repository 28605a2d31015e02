/* store_claim_bench.c — measures what one job claim costs with many jobs waiting: a fresh SQLite
 * database gets J Submitted jobs (random JobLevel 0..2) spread over Q busy queues, plus I buckets
 * whose queues have nothing to do (most buckets of a real service are idle), then one thread claims
 * C jobs, finishing each one right away so that no queue stays at its MaxConcurrent. Printed: the
 * mean time of store_job_claim (a durable write transaction: put the database on tmpfs, e.g.
 * /dev/shm, to see the query's cost rather than the disk's fsync).
 * Usage: store_claim_bench [jobs=10000] [queues=50] [idle_buckets=0] [claims=2000] [dir=/tmp] */
#include "store/store.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int arg_int(int argc, char **argv, int i, int def)
{
    return argc > i ? atoi(argv[i]) : def;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool open_bucket(store *st, int i, store_queue *q)
{
    store_bucket bk = {.create_ms = time_now_ms()};
    snprintf(bk.name, sizeof bk.name, "claim%d-1250000000", i);
    strlcpy_ok(bk.appid, "1250000000", sizeof bk.appid);
    if (store_bucket_open(st, &bk, q) != STORE_OK) {
        fprintf(stderr, "bucket: %s\n", store_last_error());
        return false;
    }
    return true;
}

static bool insert_job(store *st, const store_queue *q, int level)
{
    store_job j;
    store_job_init(&j);
    ids_new(j.id, "s");
    strlcpy_ok(j.bucket, q->bucket, sizeof j.bucket);
    strlcpy_ok(j.queue_id, q->id, sizeof j.queue_id);
    strlcpy_ok(j.input_object, "input/recording-0001.mp3", sizeof j.input_object);
    strlcpy_ok(j.params.engine_model_type, "16k_zh", sizeof j.params.engine_model_type);
    j.job_level = level;
    j.create_ms = time_now_ms();
    if (store_job_insert(st, &j) != STORE_OK) {
        fprintf(stderr, "insert: %s\n", store_last_error());
        return false;
    }
    return true;
}

/* Claims `claims` jobs, finishing each; returns the microseconds spent inside store_job_claim. */
static int64_t claim_all(store *st, int claims, int *got)
{
    int64_t spent_us = 0;
    *got = 0;
    for (int i = 0; i < claims; i++) {
        store_job j;
        int64_t t0 = mono_us();
        store_claim c = {.node = "bench", .now_ms = time_now_ms(), .lease_ms = 30000};
        store_rc rc = store_job_claim(st, &c, &j);
        spent_us += mono_us() - t0;
        if (rc != STORE_OK)
            break;
        (*got)++;
        j.state = JOB_SUCCESS;
        j.end_ms = time_now_ms();
        if (store_job_stage(st, &j) != STORE_OK || store_job_finish(st, &j, NULL) != STORE_OK)
            fprintf(stderr, "finish: %s\n", store_last_error());
        store_job_clear(&j);
    }
    return spent_us;
}

int main(int argc, char **argv)
{
    int jobs = arg_int(argc, argv, 1, 10000), nqueues = arg_int(argc, argv, 2, 50);
    int idle = arg_int(argc, argv, 3, 0), claims = arg_int(argc, argv, 4, 2000);
    const char *base = argc > 5 ? argv[5] : "/tmp";
    if (jobs < 1 || nqueues < 1 || idle < 0 || claims < 1) {
        fprintf(stderr, "usage: %s [jobs] [queues] [idle_buckets] [claims] [dir]\n", argv[0]);
        return 2;
    }
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/cicada-bench-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/cicada.db", dir);
    store_params p = store_default_params();
    p.sqlite_path = path;
    char err[256];
    store *st = store_open(&p, err, sizeof err);
    if (!st) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    store_queue *queues = xcalloc((size_t)nqueues, sizeof *queues);
    bool ok = true;
    for (int b = 0; ok && b < nqueues + idle; b++) {
        store_queue spare;
        ok = open_bucket(st, b, b < nqueues ? &queues[b] : &spare);
    }
    srand(1);
    for (int i = 0; ok && i < jobs; i++)
        ok = insert_job(st, &queues[rand() % nqueues], rand() % 3);
    int got = 0;
    int64_t us = ok ? claim_all(st, claims, &got) : 0;
    if (ok)
        printf("%d jobs over %d queues (+%d idle buckets): %d claims, %.1f us per claim\n", jobs, nqueues, idle, got,
               got ? (double)us / got : 0.0);
    store_close(st);
    char side[1200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
    }
    rmdir(dir);
    free(queues);
    return ok && got == claims ? 0 : 1;
}
