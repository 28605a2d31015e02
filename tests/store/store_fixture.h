/* store_fixture.h — what the store tests share. One suite, two backends: CICADA_TEST_STORE picks
 * the backend ("sqlite", the default, or "pg"). SQLite: a fresh file in a mkdtemp directory per
 * test. PostgreSQL: a fresh database (CREATE DATABASE ... TEMPLATE template0) per test on the
 * server CICADA_TEST_PG names (tests/support/pg.sh starts one), dropped at teardown. "Restart" is
 * close + reopen either way; "another node" is a second store handle on the same database.
 * Header-only, included by each test file; each test's main() starts with FX_MAIN_CHECK(). */
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

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/util.h"

#define APPID "1250000000"
#define BUCKET_A "alpha-" APPID
#define BUCKET_B "beta-" APPID
/* The schema versions this build writes (store_sqlite.c's and store_pg.c's migrations[]). */
#define FX_SCHEMA_VERSION 7
#define FX_PG_SCHEMA_VERSION 4
/* A node id and lease for the claims of tests that are not about leases. */
#define FX_NODE "node-a"
#define FX_LEASE_MS (100LL * 365 * 24 * 3600 * 1000) /* never runs out, whatever now_ms a test uses */

typedef struct fixture {
    bool pg;
    char dir[64];       /* sqlite: the temporary directory */
    char path[128];     /* sqlite: the database file */
    char dbname[64];    /* pg: this test's database */
    char url[1024];     /* pg: the connection string of this test's database */
    store *st;
    store_queue qa, qb; /* default queues of BUCKET_A and BUCKET_B */
} fixture;

static inline bool fx_is_pg(void)
{
    const char *e = getenv("CICADA_TEST_STORE");
    return e && strcmp(e, "pg") == 0;
}

/* Skips a test that only makes sense on SQLite (or on PostgreSQL). */
#define FX_SQLITE_ONLY()                                                                                    \
    do {                                                                                                    \
        if (fx_is_pg())                                                                                     \
            skip();                                                                                         \
    } while (0)
#define FX_PG_ONLY()                                                                                        \
    do {                                                                                                    \
        if (!fx_is_pg())                                                                                    \
            skip();                                                                                         \
    } while (0)

/* ---- PostgreSQL plumbing ---- */

/* Appends key='value' (libpq quoting) to a connection string. */
static inline void fx_conninfo_add(char *out, size_t size, const char *key, const char *val)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s='", n ? " " : "", key);
    for (const char *p = val; *p && n + 3 < size; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    if (n + 2 < size) {
        out[n++] = '\'';
        out[n] = '\0';
    }
}

/* CICADA_TEST_PG with dbname replaced (or kept when dbname is NULL), as key='value' pairs. */
static inline void fx_pg_url(const char *dbname, char *out, size_t size)
{
    const char *base = getenv("CICADA_TEST_PG");
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(base ? base : "", &msg);
    if (!opts)
        fail_msg("CICADA_TEST_PG is not a connection string: %s", msg ? msg : "?");
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "dbname") == 0 && dbname)
            continue;
        if (o->val && o->val[0])
            fx_conninfo_add(out, size, o->keyword, o->val);
    }
    if (dbname)
        fx_conninfo_add(out, size, "dbname", dbname);
    PQconninfoFree(opts);
}

/* A connection to dbname (NULL: the server's maintenance database of CICADA_TEST_PG). */
static inline PGconn *fx_pg_connect(const char *dbname)
{
    char url[1024];
    fx_pg_url(dbname, url, sizeof url);
    PGconn *db = PQconnectdb(url);
    if (PQstatus(db) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(db));
    return db;
}

/* Runs SQL; returns the result (caller PQclears) or fails the test. */
static inline PGresult *fx_pg_query(PGconn *db, const char *sql)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    return r;
}

static inline void fx_pg_exec(PGconn *db, const char *sql)
{
    PQclear(fx_pg_query(db, sql));
}

/* The first column of the first row of a query on the test's database, as an integer. */
static inline int64_t fx_pg_value(const fixture *f, const char *sql)
{
    PGconn *db = fx_pg_connect(f->dbname);
    PGresult *r = fx_pg_query(db, sql);
    assert_true(PQntuples(r) >= 1);
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(db);
    return v;
}

static inline void fx_pg_create_db(fixture *f)
{
    char hex[17];
    ids_random_hex(hex, 16);
    snprintf(f->dbname, sizeof f->dbname, "cicada_test_%s", hex);
    PGconn *db = fx_pg_connect(NULL);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
             f->dbname);
    fx_pg_exec(db, sql);
    PQfinish(db);
    fx_pg_url(f->dbname, f->url, sizeof f->url);
}

static inline void fx_pg_drop_db(const char *dbname)
{
    PGconn *db = fx_pg_connect(NULL);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    fx_pg_exec(db, sql);
    PQfinish(db);
}

/* At the start of main(): on PostgreSQL, skip the whole test (exit 77) when no server is there. */
#define FX_MAIN_CHECK()                                                                                     \
    do {                                                                                                    \
        if (fx_is_pg()) {                                                                                   \
            const char *u = getenv("CICADA_TEST_PG");                                                       \
            PGconn *probe = u ? PQconnectdb(u) : NULL;                                                      \
            if (!probe || PQstatus(probe) != CONNECTION_OK) {                                               \
                fprintf(stderr, "skip: no PostgreSQL test server (CICADA_TEST_PG=%s): %s\n", u ? u : "unset", \
                        probe ? PQerrorMessage(probe) : "");                                                \
                PQfinish(probe);                                                                            \
                return 77;                                                                                  \
            }                                                                                               \
            PQfinish(probe);                                                                                \
        }                                                                                                   \
    } while (0)

/* ---- opening stores ---- */

static inline int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The parameters that open this test's database. */
static inline store_params fx_params(const fixture *f)
{
    store_params p = store_default_params();
    if (f->pg)
        p.database_url = f->url;
    else
        p.sqlite_path = f->path;
    return p;
}

/* Opens another handle on the test's database: after a restart, or as another node. */
static inline store *fx_open(const fixture *f)
{
    store_params p = fx_params(f);
    char err[768] = "";
    store *st = store_open(&p, err, sizeof err);
    if (!st)
        fail_msg("store_open(%s): %s", f->pg ? f->dbname : f->path, err);
    return st;
}

/* Runs SQL straight on the SQLite file, beside the store: the migration tests build older schemas
 * this way. */
static inline void fx_exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The schema version the SQLite file says it has (PRAGMA user_version). */
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

/* Runs SQL beside the store on either backend (tests change what the API cannot: MaxConcurrent,
 * a second queue in a bucket). */
static inline void fx_sql(const fixture *f, const char *sql)
{
    if (f->pg) {
        PGconn *db = fx_pg_connect(f->dbname);
        fx_pg_exec(db, sql);
        PQfinish(db);
    } else {
        fx_exec_on(f->path, sql);
    }
}

/* Closes and reopens the database, as a server restart would. */
static inline void fx_restart(fixture *f)
{
    store_close(f->st);
    f->st = fx_open(f);
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

/* A fixture with an empty database and nothing open (the schema tests open it themselves). */
static inline int fx_setup_empty(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    f->pg = fx_is_pg();
    if (f->pg) {
        fx_pg_create_db(f);
    } else {
        strlcpy_ok(f->dir, "/tmp/cicada-store-XXXXXX", sizeof f->dir);
        if (!mkdtemp(f->dir))
            return -1;
        snprintf(f->path, sizeof f->path, "%s/cicada.db", f->dir);
    }
    *state = f;
    return 0;
}

static inline int fx_setup(void **state)
{
    if (fx_setup_empty(state) != 0)
        return -1;
    fixture *f = *state;
    f->st = fx_open(f);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    fx_open_bucket(f->st, BUCKET_B, "ap-beijing", &f->qb);
    return 0;
}

static inline int fx_teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    if (f->pg)
        fx_pg_drop_db(f->dbname);
    else
        nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- jobs ---- */

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

/* Claims for node FX_NODE at now_ms with a long lease. */
static inline store_rc fx_claim(store *st, int64_t now_ms, store_job *out)
{
    store_claim c = {.node = FX_NODE, .now_ms = now_ms, .lease_ms = FX_LEASE_MS};
    return store_job_claim(st, &c, out);
}

/* Ends a claimed job as Success the way a worker does: stage, then finish (no callback). */
static inline void fx_succeed(store *st, store_job *j)
{
    assert_int_equal(store_job_stage(st, j), STORE_OK);
    j->state = JOB_SUCCESS;
    if (!j->end_ms)
        j->end_ms = time_now_ms();
    assert_int_equal(store_job_finish(st, j, NULL), STORE_OK);
}

#endif
