/* store_insert_bench.c — measures durable job inserts per second through the store's group commit:
 * N threads each insert M jobs into a fresh SQLite database (spread over a few buckets so that no
 * queue reaches its MaxSize), and the rate of fully committed inserts is printed.
 * Usage: store_insert_bench [threads=64] [jobs_per_thread=300] [buckets=8] [dir=/tmp]
 * With CICADA_DATABASE_URL set, the same runs on that PostgreSQL database instead (its buckets are
 * named bench<N>-1250000000 and reused; jobs accumulate). */
#include "store/store.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct worker {
    store *st;
    const store_queue *q;
    int jobs;
    int failed;
} worker;

static void *insert_jobs(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->jobs; i++) {
        store_job j;
        store_job_init(&j);
        ids_new(j.id, "s");
        strlcpy_ok(j.bucket, w->q->bucket, sizeof j.bucket);
        strlcpy_ok(j.region, "ap-chongqing", sizeof j.region);
        strlcpy_ok(j.queue_id, w->q->id, sizeof j.queue_id);
        strlcpy_ok(j.input_object, "input/recording-0001.mp3", sizeof j.input_object);
        strlcpy_ok(j.params.engine_model_type, "16k_zh", sizeof j.params.engine_model_type);
        strlcpy_ok(j.output_bucket, w->q->bucket, sizeof j.output_bucket);
        strlcpy_ok(j.output_object, "output/recording-0001.txt", sizeof j.output_object);
        j.create_ms = time_now_ms();
        if (store_job_insert(w->st, &j) != STORE_OK)
            w->failed++;
    }
    return NULL;
}

static int arg_int(int argc, char **argv, int i, int def)
{
    return argc > i ? atoi(argv[i]) : def;
}

int main(int argc, char **argv)
{
    int threads = arg_int(argc, argv, 1, 64), per = arg_int(argc, argv, 2, 300), nbuckets = arg_int(argc, argv, 3, 8);
    const char *base = argc > 4 ? argv[4] : "/tmp";
    if (threads < 1 || per < 1 || nbuckets < 1) {
        fprintf(stderr, "usage: %s [threads] [jobs_per_thread] [buckets] [dir]\n", argv[0]);
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
    p.database_url = getenv("CICADA_DATABASE_URL");
    char err[256];
    store *st = store_open(&p, err, sizeof err);
    if (!st) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    store_queue *queues = xcalloc((size_t)nbuckets, sizeof *queues);
    for (int b = 0; b < nbuckets; b++) {
        store_bucket bk = {.create_ms = time_now_ms()};
        snprintf(bk.name, sizeof bk.name, "bench%d-1250000000", b);
        strlcpy_ok(bk.appid, "1250000000", sizeof bk.appid);
        if (store_bucket_open(st, &bk, &queues[b]) != STORE_OK) {
            fprintf(stderr, "bucket: %s\n", store_last_error());
            return 1;
        }
    }
    worker *w = xcalloc((size_t)threads, sizeof *w);
    pthread_t *t = xcalloc((size_t)threads, sizeof *t);
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.st = st, .q = &queues[i % nbuckets], .jobs = per};
        pthread_create(&t[i], NULL, insert_jobs, &w[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed += w[i].failed;
    }
    int64_t ms = time_mono_ms() - t0;
    long total = (long)threads * per;
    printf("%s: %d threads x %d jobs = %ld durable inserts in %lld ms: %.0f jobs/s (%d failed)\n",
           store_backend_name(st), threads, per, total, (long long)ms, ms > 0 ? total * 1000.0 / (double)ms : 0.0, failed);
    store_close(st);
    char side[1200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
    }
    rmdir(dir);
    free(w);
    free(t);
    free(queues);
    return failed ? 1 : 0;
}
