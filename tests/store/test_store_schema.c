/* test_store_schema.c — creating and upgrading the schema, and opening errors. SQLite: a version
 * from the future is refused, a directory that does not exist is an error. PostgreSQL: the version
 * lives in cicada_schema; a version from the future is refused; nodes opening a fresh database at
 * once create it once (advisory lock); a role with only read/write rights runs on a database already
 * created; an unreachable server, a refused login, a role without rights and a malformed URL are
 * errors that name the database and never show the password. Each upgrade that adds columns (prompt
 * and translate; progress) is applied to an older database, and again to one whose version was set
 * back with the columns still there. */
#include "store_fixture.h"

#include <pthread.h>

static store *try_open(const store_params *p, char *err, size_t errlen)
{
    err[0] = '\0';
    return store_open(p, err, errlen);
}

/* ---- SQLite ---- */

static void set_user_version(const char *path, int v)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    fx_exec_on(path, sql);
}

static void test_sqlite_version_from_the_future_is_refused(void **state)
{
    FX_SQLITE_ONLY();
    fixture *f = *state;
    store_close(fx_open(f)); /* create it */
    set_user_version(f->path, 99);
    store_params p = fx_params(f);
    char err[768];
    assert_null(try_open(&p, err, sizeof err));
    assert_non_null(strstr(err, "99"));
    set_user_version(f->path, 1);
    f->st = fx_open(f); /* upgrades again */
    assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);

    p.sqlite_path = "/nonexistent-dir/x/cicada.db";
    assert_null(try_open(&p, err, sizeof err));
    assert_true(strlen(err) > 0);
}

/* ---- PostgreSQL ---- */

static void test_pg_schema_version_is_recorded_and_checked(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    f->st = fx_open(f);
    assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    assert_int_equal(fx_pg_value(f, "SELECT count(*) FROM cicada_schema"), 1);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_close(f->st);
    f->st = NULL;

    PGconn *db = fx_pg_connect(f->dbname);
    fx_pg_exec(db, "UPDATE cicada_schema SET version = 99");
    store_params p = fx_params(f);
    char err[768];
    assert_null(try_open(&p, err, sizeof err));
    assert_non_null(strstr(err, "99"));
    assert_non_null(strstr(err, f->dbname));
    char current[64];
    snprintf(current, sizeof current, "UPDATE cicada_schema SET version = %d", FX_PG_SCHEMA_VERSION);
    fx_pg_exec(db, current);
    PQfinish(db);
    f->st = fx_open(f); /* reopening an up-to-date database changes nothing */
    assert_int_equal(fx_state_of(f->st, BUCKET_A, id), JOB_SUBMITTED);
}

/* A version-1 database (jobs counted by a row trigger on insert) is upgraded in place: the jobs it
 * holds and its queue counters stay right, and inserts after the upgrade count once each. */
static void test_pg_upgrade_from_v1(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    f->st = fx_open(f);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_close(f->st);
    f->st = NULL;

    PGconn *db = fx_pg_connect(f->dbname); /* back to version 1, as that version left it */
    fx_pg_exec(db, "DROP TRIGGER jobs_count_insert ON jobs; DROP FUNCTION cicada_count_inserted();"
                   "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION "
                   "cicada_count_jobs(); UPDATE cicada_schema SET version = 1");
    PQfinish(db);
    f->st = fx_open(f);
    assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    assert_int_equal(fx_pg_value(f, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'jobs_count_%'"), 3);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, id), JOB_SUBMITTED);
    char more[3][40];
    for (int i = 0; i < 3; i++)
        fx_insert(f->st, &f->qa, 0, 0, more[i]);
    assert_int_equal(fx_pg_value(f, "SELECT waiting FROM queues"), 4);
    store_job j;
    assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_OK);
    store_job_clear(&j);
    assert_int_equal(fx_pg_value(f, "SELECT waiting FROM queues"), 3);
    assert_int_equal(fx_pg_value(f, "SELECT running FROM queues"), 1);
}

/* A database from before the OpenAI-compatible endpoint (SQLite version 5, PostgreSQL version 2)
 * gains the prompt and translate columns, on jobs and templates: its jobs read with the defaults,
 * and a new job keeps both. */
static void test_upgrade_adds_prompt_and_translate(void **state)
{
    fixture *f = *state;
    f->st = fx_open(f);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    char old[40];
    fx_insert(f->st, &f->qa, 0, 0, old);
    store_close(f->st);
    f->st = NULL;
    if (f->pg) {
        PGconn *db = fx_pg_connect(f->dbname);
        fx_pg_exec(db, "ALTER TABLE jobs DROP COLUMN p_prompt, DROP COLUMN p_translate;"
                       "ALTER TABLE templates DROP COLUMN p_prompt, DROP COLUMN p_translate;"
                       "UPDATE cicada_schema SET version = 2");
        PQfinish(db);
    } else {
        fx_exec_on(f->path, "ALTER TABLE jobs DROP COLUMN p_prompt; ALTER TABLE jobs DROP COLUMN p_translate;"
                            "ALTER TABLE templates DROP COLUMN p_prompt; ALTER TABLE templates DROP COLUMN p_translate;"
                            "PRAGMA user_version = 5;");
    }
    f->st = fx_open(f);
    if (f->pg)
        assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    else
        assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    store_job j;
    store_job_init(&j);
    assert_int_equal(store_job_get(f->st, BUCKET_A, old, &j), STORE_OK);
    assert_string_equal(j.params.prompt, "");
    assert_int_equal(j.params.translate, 0);
    store_job_clear(&j);
    fx_job(&j, &f->qa, 0, 0);
    strlcpy_ok(j.params.prompt, "Kennedy, \xe7\xbe\x8e\xe5\x9b\xbd 'quoted' \"and\" so on", sizeof j.params.prompt);
    j.params.translate = 1;
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    store_job got;
    store_job_init(&got);
    assert_int_equal(store_job_get(f->st, BUCKET_A, j.id, &got), STORE_OK);
    assert_string_equal(got.params.prompt, j.params.prompt);
    assert_int_equal(got.params.translate, 1);
    store_job_clear(&got);
    store_job_clear(&j);
}

/* A database from before job progress (SQLite version 6, PostgreSQL version 3) gains the progress
 * column: its jobs, Running ones included, read 0 and take progress from then on. Upgrading again
 * from a version set back by hand, the column still there, changes nothing (idempotent). */
static void test_upgrade_adds_progress(void **state)
{
    fixture *f = *state;
    f->st = fx_open(f);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &f->qa);
    char old[40], waiting[40];
    fx_insert(f->st, &f->qa, 0, 0, old);
    fx_insert(f->st, &f->qa, 0, 0, waiting);
    store_job j;
    assert_int_equal(fx_claim(f->st, 1000, &j), STORE_OK);
    assert_string_equal(j.id, old);
    store_close(f->st);
    f->st = NULL;
    if (f->pg)
        fx_sql(f, "ALTER TABLE jobs DROP COLUMN progress; UPDATE cicada_schema SET version = 3");
    else
        fx_sql(f, "ALTER TABLE jobs DROP COLUMN progress; PRAGMA user_version = 6;");
    f->st = fx_open(f);
    if (f->pg)
        assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    else
        assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    store_job got;
    assert_int_equal(store_job_get(f->st, BUCKET_A, old, &got), STORE_OK);
    assert_int_equal(got.state, JOB_RUNNING);
    assert_true(got.progress == 0);
    store_job_clear(&got);
    assert_int_equal(store_job_progress(f->st, &j, 0.5), STORE_OK);   /* the claim's fence still holds */

    /* set back with the column in place: the upgrade runs again and keeps the values */
    store_close(f->st);
    f->st = NULL;
    if (f->pg)
        fx_sql(f, "UPDATE cicada_schema SET version = 3");
    else
        fx_sql(f, "PRAGMA user_version = 6;");
    f->st = fx_open(f);
    if (f->pg)
        assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    else
        assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    assert_int_equal(store_job_get(f->st, BUCKET_A, old, &got), STORE_OK);
    assert_true(got.progress == 0.5);
    store_job_clear(&got);
    assert_int_equal(store_job_get(f->st, BUCKET_A, waiting, &got), STORE_OK);
    assert_int_equal(got.state, JOB_SUBMITTED);
    assert_true(got.progress == 0);
    store_job_clear(&got);
    store_job_clear(&j);
}

typedef struct first_open {
    const fixture *f;
    store *st;
    char err[768];
} first_open;

static void *first_open_worker(void *arg)
{
    first_open *o = arg;
    store_params p = fx_params(o->f);
    o->st = store_open(&p, o->err, sizeof o->err);
    return NULL;
}

/* Four nodes start against one fresh database at the same moment: each opens it, the schema is
 * created once, and they can all work on it. */
static void test_pg_concurrent_first_open(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    enum { NODES = 4 };
    first_open o[NODES];
    pthread_t t[NODES];
    for (int i = 0; i < NODES; i++) {
        o[i] = (first_open){.f = f};
        pthread_create(&t[i], NULL, first_open_worker, &o[i]);
    }
    for (int i = 0; i < NODES; i++) {
        pthread_join(t[i], NULL);
        if (!o[i].st)
            fail_msg("node %d: %s", i, o[i].err);
    }
    assert_int_equal(fx_pg_value(f, "SELECT count(*) FROM cicada_schema"), 1);
    assert_int_equal(fx_pg_value(f, "SELECT version FROM cicada_schema"), FX_PG_SCHEMA_VERSION);
    assert_int_equal(fx_pg_value(f, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'jobs_count_%'"), 3);
    store_queue q;
    fx_open_bucket(o[0].st, BUCKET_A, "ap-chongqing", &q);
    char id[40];
    fx_insert(o[1].st, &q, 0, 0, id);
    store_job j;
    assert_int_equal(fx_claim(o[2].st, time_now_ms(), &j), STORE_OK);
    assert_string_equal(j.id, id);
    store_job_clear(&j);
    assert_int_equal(fx_state_of(o[3].st, BUCKET_A, id), JOB_RUNNING);
    for (int i = 0; i < NODES; i++)
        store_close(o[i].st);
}

/* The URL of the test's database, logging in as role (and password, when given). */
static void url_as(const fixture *f, const char *role, const char *password, char *out, size_t size)
{
    fx_pg_url(f->dbname, out, size);
    fx_conninfo_add(out, size, "user", role);
    if (password)
        fx_conninfo_add(out, size, "password", password);
}

static void test_pg_errors_name_the_database_not_the_password(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    store_params p = store_default_params();
    char err[768];

    /* unreachable: no server at that socket */
    p.database_url = "host=/nonexistent-cicada-dir dbname=jobsdb user=cicada password=hunter2-secret";
    assert_null(try_open(&p, err, sizeof err));
    print_message("%s\n", err);
    assert_non_null(strstr(err, "server unreachable"));
    assert_non_null(strstr(err, "jobsdb"));
    assert_non_null(strstr(err, "/nonexistent-cicada-dir"));
    assert_null(strstr(err, "hunter2"));

    /* login refused: pg.sh makes role cicada_pw log in with a password */
    PGconn *admin = fx_pg_connect(NULL);
    fx_pg_exec(admin, "DO $$ BEGIN CREATE ROLE cicada_pw LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    fx_pg_exec(admin, "ALTER ROLE cicada_pw PASSWORD 'the-right-one'");
    char url[1024];
    url_as(f, "cicada_pw", "wrong-secret-pw", url, sizeof url);
    p.database_url = url;
    assert_null(try_open(&p, err, sizeof err));
    print_message("%s\n", err);
    assert_non_null(strstr(err, "login refused"));
    assert_non_null(strstr(err, f->dbname));
    assert_null(strstr(err, "wrong-secret-pw"));

    /* a role without rights: since PostgreSQL 15 only the owner may create in schema public */
    char role[40], hex[9], sql[256];
    ids_random_hex(hex, 8);
    snprintf(role, sizeof role, "cicada_nr_%s", hex);
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", role);
    fx_pg_exec(admin, sql);
    url_as(f, role, NULL, url, sizeof url);
    assert_null(try_open(&p, err, sizeof err));
    print_message("%s\n", err);
    assert_non_null(strstr(err, "lacks the rights"));
    assert_non_null(strstr(err, f->dbname));
    assert_non_null(strstr(err, role));

    /* the same role with read/write rights on a database an owner created runs fine: no DDL */
    store_close(fx_open(f));
    PGconn *db = fx_pg_connect(f->dbname);
    snprintf(sql, sizeof sql, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s", role);
    fx_pg_exec(db, sql);
    snprintf(sql, sizeof sql, "GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %s", role);
    fx_pg_exec(db, sql);
    store *st = try_open(&p, err, sizeof err);
    if (!st)
        fail_msg("a read/write role: %s", err);
    store_queue q;
    fx_open_bucket(st, BUCKET_A, "ap-chongqing", &q);
    char id[40];
    fx_insert(st, &q, 0, 0, id);
    store_job j;
    assert_int_equal(fx_claim(st, time_now_ms(), &j), STORE_OK);
    assert_string_equal(j.id, id);
    store_job_clear(&j);
    store_close(st);
    snprintf(sql, sizeof sql, "DROP OWNED BY %s", role);
    fx_pg_exec(db, sql);
    PQfinish(db);
    snprintf(sql, sizeof sql, "DROP ROLE %s", role);
    fx_pg_drop_db(f->dbname); /* the grants live in it */
    fx_pg_exec(admin, sql);
    fx_pg_create_db(f); /* for the teardown */
    PQfinish(admin);

    /* a URL libpq cannot read: said without echoing it */
    p.database_url = "postgresql://cicada:hunter2-secret@/jobsdb?nosuchoption=1";
    assert_null(try_open(&p, err, sizeof err));
    print_message("%s\n", err);
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, "hunter2"));
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sqlite_version_from_the_future_is_refused, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_schema_version_is_recorded_and_checked, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_upgrade_from_v1, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_adds_prompt_and_translate, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_adds_progress, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_concurrent_first_open, fx_setup_empty, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_errors_name_the_database_not_the_password, fx_setup_empty,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
