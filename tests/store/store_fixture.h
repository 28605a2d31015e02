/* store_fixture.h — what the store tests share: a fresh SQLite file in a mkdtemp directory per
 * test, reopening it ("restart"), and building jobs. Header-only, included by each test file. */
#ifndef CICADA_TEST_STORE_FIXTURE_H
#define CICADA_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/util.h"

#define APPID "1250000000"
#define BUCKET_A "alpha-" APPID
#define BUCKET_B "beta-" APPID
/* The schema version this build writes (store_sqlite.c's migrations[]): migration tests expect it. */
#define FX_SCHEMA_VERSION 4

typedef struct fixture {
    char dir[64];
    char path[128];
    store *st;
    store_queue qa, qb; /* default queues of BUCKET_A and BUCKET_B */
} fixture;

static inline int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline store *fx_open_store(const char *path)
{
    store_params p = store_default_params();
    p.sqlite_path = path;
    char err[256] = "";
    store *st = store_open(&p, err, sizeof err);
    if (!st)
        fail_msg("store_open(%s): %s", path, err);
    return st;
}

/* Runs SQL straight on the database file, beside the store: the migration tests build older
 * schemas this way. */
static inline void fx_exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The schema version the database file says it has (PRAGMA user_version). */
static inline int fx_user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Closes and reopens the database, as a server restart would. */
static inline void fx_restart(fixture *f)
{
    store_close(f->st);
    f->st = fx_open_store(f->path);
}

static inline void fx_open_bucket(store *st, const char *name, const char *region, store_queue *q)
{
    store_bucket b;
    memset(&b, 0, sizeof b);
    strlcpy_ok(b.name, name, sizeof b.name);
    strlcpy_ok(b.appid, APPID, sizeof b.appid);
    strlcpy_ok(b.region, region, sizeof b.region);
    b.create_ms = time_now_ms();
    assert_int_equal(store_bucket_open(st, &b, q), STORE_OK);
}

static inline int fx_setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    strlcpy_ok(f->dir, "/tmp/cicada-store-XXXXXX", sizeof f->dir);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/cicada.db", f->dir);
    f->st = fx_open_store(f->path);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    fx_open_bucket(f->st, BUCKET_B, "ap-beijing", &f->qb);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A Submitted job for a queue, with a fresh id. */
static inline void fx_job(store_job *j, const store_queue *q, int level, int64_t create_ms)
{
    store_job_init(j);
    ids_new(j->id, "s");
    strlcpy_ok(j->bucket, q->bucket, sizeof j->bucket);
    strlcpy_ok(j->region, "ap-chongqing", sizeof j->region);
    strlcpy_ok(j->queue_id, q->id, sizeof j->queue_id);
    strlcpy_ok(j->input_object, "in/a.mp3", sizeof j->input_object);
    strlcpy_ok(j->params.engine_model_type, "16k_en", sizeof j->params.engine_model_type);
    j->job_level = level;
    j->create_ms = create_ms ? create_ms : time_now_ms();
}

static inline int64_t fx_insert(store *st, const store_queue *q, int level, int64_t create_ms, char id_out[40])
{
    store_job j;
    fx_job(&j, q, level, create_ms);
    assert_int_equal(store_job_insert(st, &j), STORE_OK);
    assert_true(j.seq > 0);
    if (id_out)
        memcpy(id_out, j.id, sizeof j.id);
    return j.seq;
}

static inline job_state fx_state_of(store *st, const char *bucket, const char *id)
{
    store_job j;
    store_job_init(&j);
    assert_int_equal(store_job_get(st, bucket, id, &j), STORE_OK);
    store_job_clear(&j);
    return j.state;
}

#endif
