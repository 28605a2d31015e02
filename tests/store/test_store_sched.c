/* test_store_sched.c — the scheduler's side of the store on a real database (either backend): claim
 * order (JobLevel then FIFO within a queue, turns between queues, kept across restarts), Paused
 * queues, MaxConcurrent, many workers of one handle claiming at once, MaxSize -> STORE_FULL,
 * group-committed inserts from many threads that survive a reopen, and (SQLite) the schema upgrade
 * that added the turns. Leases are in test_store_lease.c, several nodes in test_store_nodes.c. */
#include "store_fixture.h"

#include <pthread.h>
#include <time.h>

static void set_queue_state(fixture *f, store_queue *q, const char *state)
{
    strlcpy_ok(q->state, state, sizeof q->state);
    assert_int_equal(store_queue_update(f->st, q), STORE_OK);
}

static void finish_ok(store *st, store_job *j)
{
    fx_succeed(st, j);
    store_job_clear(j);
}

static void test_claim_priority_then_fifo(void **state)
{
    fixture *f = *state;
    int levels[] = {0, 2, 1, 2, 0, 1, 0};
    char ids[7][40];
    for (int i = 0; i < 7; i++)
        fx_insert(f->st, &f->qa, levels[i], 0, ids[i]);
    int expect[] = {1, 3, 2, 5, 0, 4, 6};
    for (int i = 0; i < 7; i++) {
        store_job j;
        assert_int_equal(fx_claim(f->st, 1000 + i, &j), STORE_OK);
        assert_string_equal(j.id, ids[expect[i]]);
        assert_int_equal(j.state, JOB_RUNNING);
        assert_int_equal(j.start_ms, 1000 + i);
        assert_int_equal(j.attempts, 1);
        store_job_clear(&j);
    }
    store_job j;
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
}

/* Claims one job and returns which of the given queues it came from (-1: none of them). */
static int claim_queue_of(store *st, const store_queue *const *qs, int nq, char id_out[40])
{
    store_job j;
    assert_int_equal(fx_claim(st, time_now_ms(), &j), STORE_OK);
    int which = -1;
    for (int i = 0; i < nq; i++)
        if (strcmp(j.queue_id, qs[i]->id) == 0)
            which = i;
    if (id_out)
        memcpy(id_out, j.id, sizeof j.id);
    store_job_clear(&j);
    return which;
}

/* The starvation case: B's one level-0 job was submitted before A flooded its queue with level-2
 * jobs. JobLevel orders jobs within a queue only; between queues the claims take turns, so B's job
 * runs first or second, not after all of A's. */
static void test_claims_take_turns_between_queues(void **state)
{
    fixture *f = *state;
    char b0[40], b1[40], b2[40], a[5][40];
    fx_insert(f->st, &f->qb, 0, 0, b0);
    const int alevels[] = {2, 2, 0, 2, 1};
    for (int i = 0; i < 5; i++)
        fx_insert(f->st, &f->qa, alevels[i], 0, a[i]);
    fx_insert(f->st, &f->qb, 1, 0, b1);
    fx_insert(f->st, &f->qb, 0, 0, b2);
    const store_queue *qs[] = {&f->qa, &f->qb};
    /* within a queue: highest level first, then oldest */
    const char *expect_a[] = {a[0], a[1], a[3], a[4], a[2]}, *expect_b[] = {b1, b0, b2};
    int na = 0, nb = 0, prev = -1;
    for (int i = 0; i < 8; i++) {
        char id[40];
        int q = claim_queue_of(f->st, qs, 2, id);
        assert_true(q == 0 || q == 1);
        if (na < 5 && nb < 3)
            assert_int_not_equal(q, prev); /* both have work: they alternate */
        if (q == 0)
            assert_string_equal(id, expect_a[na++]);
        else
            assert_string_equal(id, expect_b[nb++]);
        prev = q;
    }
    assert_int_equal(na, 5);
    assert_int_equal(nb, 3);
    store_job j;
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
}

/* A Paused queue and a queue at its MaxConcurrent lose their turn without holding up the others,
 * and get it back as soon as they may run again. */
static void test_turns_skip_paused_and_full_queues(void **state)
{
    fixture *f = *state;
    store_queue qc;
    fx_open_bucket(f->st, "gamma-" APPID, "ap-chongqing", &qc);
    const store_queue *qs[] = {&f->qa, &f->qb, &qc};
    /* B alone has work: it fills its 10 running slots */
    store_job running[10];
    for (int i = 0; i < 11; i++)
        fx_insert(f->st, &f->qb, 2, 0, NULL);
    for (int i = 0; i < 10; i++)
        assert_int_equal(fx_claim(f->st, 1, &running[i]), STORE_OK);
    for (int i = 0; i < 4; i++) {
        fx_insert(f->st, &f->qa, 2, 0, NULL);
        fx_insert(f->st, &qc, 0, 0, NULL);
    }
    set_queue_state(f, &f->qa, "Paused");
    /* A is paused, B is full: C runs, and runs again */
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 2);
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 2);
    /* a slot frees in B: B's turn is older than C's */
    finish_ok(f->st, &running[0]);
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 1);
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 2);
    /* A resumes: it has never had a turn, so it goes next, then C (B has nothing left) */
    set_queue_state(f, &f->qa, "Active");
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 0);
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 2);
    assert_int_equal(claim_queue_of(f->st, qs, 3, NULL), 0);
    for (int i = 1; i < 10; i++)
        store_job_clear(&running[i]);
}

/* Whose turn it is lives in the database: after a restart the queue that did not get the last
 * claim gets the next one, whatever the JobLevels. */
static void test_turns_survive_a_restart(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        fx_insert(f->st, &f->qa, 2, 0, NULL);
        fx_insert(f->st, &f->qb, 0, 0, NULL);
    }
    const store_queue *qs[] = {&f->qa, &f->qb};
    int first = claim_queue_of(f->st, qs, 2, NULL);
    assert_true(first == 0 || first == 1);
    fx_restart(f);
    assert_int_equal(claim_queue_of(f->st, qs, 2, NULL), 1 - first);
    fx_restart(f);
    assert_int_equal(claim_queue_of(f->st, qs, 2, NULL), first);
}

static void test_paused_queue_starts_nothing(void **state)
{
    fixture *f = *state;
    char a[40], b[40];
    fx_insert(f->st, &f->qa, 2, 0, a);
    set_queue_state(f, &f->qa, "Paused");
    store_job j;
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
    /* another bucket's queue still runs, even with lower priority */
    fx_insert(f->st, &f->qb, 0, 0, b);
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_OK);
    assert_string_equal(j.id, b);
    store_job_clear(&j);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, a), JOB_SUBMITTED);
    set_queue_state(f, &f->qa, "Active");
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_OK);
    assert_string_equal(j.id, a);
    store_job_clear(&j);
}

static void test_max_concurrent_per_queue(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 13; i++)
        fx_insert(f->st, &f->qa, 0, 0, NULL);
    store_job running[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(fx_claim(f->st, 1, &running[i]), STORE_OK);
    store_job j;
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
    /* the other queue is not held back by A's limit */
    char b[40];
    fx_insert(f->st, &f->qb, 0, 0, b);
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_OK);
    assert_string_equal(j.id, b);
    store_job_clear(&j);

    int64_t n = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_RUNNING, &n), STORE_OK);
    assert_int_equal(n, 10);
    finish_ok(f->st, &running[0]);
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_OK);
    store_job_clear(&j);
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
    /* the limit holds across a restart (the per-queue counters are rebuilt) */
    fx_restart(f);
    assert_int_equal(fx_claim(f->st, 1, &j), STORE_NOT_FOUND);
    for (int i = 1; i < 10; i++)
        store_job_clear(&running[i]);
}

/* ---- many workers claiming at once ---- */

enum { WORKERS = 8, CLAIM_BUCKETS = 3, JOBS_PER_BUCKET = 60 };

typedef struct claim_ctx {
    store *st;
    const char **queue_ids;
    pthread_mutex_t mu;
    int claimed[CLAIM_BUCKETS * JOBS_PER_BUCKET]; /* by seq - 1 */
    int over_limit;                              /* times a queue had > 10 running */
    int errors;
} claim_ctx;

static void *claim_worker(void *arg)
{
    claim_ctx *c = arg;
    int idle = 0;
    while (idle < 20) {
        store_job j;
        store_rc rc = fx_claim(c->st, time_now_ms(), &j);
        if (rc == STORE_NOT_FOUND) {
            idle++;
            nanosleep(&(struct timespec){0, 2000000}, NULL);
            continue;
        }
        idle = 0;
        if (rc != STORE_OK) {
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
            return NULL;
        }
        int64_t running = 0;
        if (store_job_count(c->st, j.queue_id, JOB_RUNNING, &running) != STORE_OK)
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&c->mu);
        if (j.seq >= 1 && j.seq <= CLAIM_BUCKETS * JOBS_PER_BUCKET)
            c->claimed[j.seq - 1]++;
        else
            c->errors++;
        if (running > 10)
            c->over_limit++;
        pthread_mutex_unlock(&c->mu);
        nanosleep(&(struct timespec){0, 300000}, NULL); /* "work" */
        j.state = JOB_SUCCESS;
        if (store_job_stage(c->st, &j) != STORE_OK || store_job_finish(c->st, &j, NULL) != STORE_OK)
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
        store_job_clear(&j);
    }
    return NULL;
}

static void test_concurrent_claims_each_job_once(void **state)
{
    fixture *f = *state;
    store_queue qs[CLAIM_BUCKETS];
    qs[0] = f->qa;
    qs[1] = f->qb;
    fx_open_bucket(f->st, "gamma-" APPID, "ap-chongqing", &qs[2]);
    for (int i = 0; i < JOBS_PER_BUCKET; i++)
        for (int b = 0; b < CLAIM_BUCKETS; b++)
            fx_insert(f->st, &qs[b], i % 3, 0, NULL);
    claim_ctx *c = xcalloc(1, sizeof *c);
    c->st = f->st;
    pthread_mutex_init(&c->mu, NULL);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, claim_worker, c);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(c->errors, 0);
    assert_int_equal(c->over_limit, 0);
    for (int i = 0; i < CLAIM_BUCKETS * JOBS_PER_BUCKET; i++)
        assert_int_equal(c->claimed[i], 1);
    for (int b = 0; b < CLAIM_BUCKETS; b++) {
        int64_t n = -1;
        assert_int_equal(store_job_count(f->st, qs[b].id, JOB_SUCCESS, &n), STORE_OK);
        assert_int_equal(n, JOBS_PER_BUCKET);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- inserts from many threads ---- */

typedef struct insert_ctx {
    store *st;
    const store_queue *q;
    int per_thread;
    char (*ids)[40]; /* per_thread ids of this thread */
    int64_t *seqs;
    int ok, full, other;
} insert_ctx;

static void *insert_worker(void *arg)
{
    insert_ctx *c = arg;
    for (int i = 0; i < c->per_thread; i++) {
        store_job j;
        fx_job(&j, c->q, i % 3, 0);
        store_rc rc = store_job_insert(c->st, &j);
        if (rc == STORE_OK) {
            if (c->ids)
                memcpy(c->ids[c->ok], j.id, 40);
            if (c->seqs)
                c->seqs[c->ok] = j.seq;
            c->ok++;
        } else if (rc == STORE_FULL) {
            c->full++;
        } else {
            c->other++;
        }
    }
    return NULL;
}

static void run_inserters(store *st, const store_queue *q, int threads, int per_thread, insert_ctx *ctx)
{
    pthread_t t[64];
    for (int i = 0; i < threads; i++) {
        ctx[i].st = st;
        ctx[i].q = q;
        ctx[i].per_thread = per_thread;
        pthread_create(&t[i], NULL, insert_worker, &ctx[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
}

static void test_concurrent_inserts_durable_after_reopen(void **state)
{
    fixture *f = *state;
    enum { THREADS = 16, PER = 150 };
    insert_ctx ctx[THREADS];
    memset(ctx, 0, sizeof ctx);
    for (int i = 0; i < THREADS; i++) {
        ctx[i].ids = xcalloc(PER, 40);
        ctx[i].seqs = xcalloc(PER, sizeof(int64_t));
    }
    run_inserters(f->st, &f->qa, THREADS, PER, ctx);
    int64_t *all = xcalloc(THREADS * PER, sizeof *all);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(ctx[i].ok, PER);
        memcpy(all + i * PER, ctx[i].seqs, PER * sizeof *all);
    }
    /* seqs are unique */
    for (int i = 0; i < THREADS * PER; i++)
        for (int k = i + 1; k < THREADS * PER; k++)
            if (all[i] == all[k])
                fail_msg("seq %lld given twice", (long long)all[i]);

    fx_restart(f);
    int64_t n = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &n), STORE_OK);
    assert_int_equal(n, THREADS * PER);
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < PER; k++) {
            store_job j;
            assert_int_equal(store_job_get(f->st, BUCKET_A, ctx[i].ids[k], &j), STORE_OK);
            assert_int_equal(j.seq, ctx[i].seqs[k]);
            store_job_clear(&j);
        }
        free(ctx[i].ids);
        free(ctx[i].seqs);
    }
    free(all);
}

static void test_mixed_batch_refusals_do_not_spoil_others(void **state)
{
    fixture *f = *state;
    enum { THREADS = 8, PER = 40 };
    store_queue bogus = f->qa;
    strlcpy_ok(bogus.id, "p0123456789abcdef0123456789abcdef", sizeof bogus.id);
    insert_ctx good[THREADS / 2], bad[THREADS / 2];
    memset(good, 0, sizeof good);
    memset(bad, 0, sizeof bad);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS / 2; i++) {
        good[i] = (insert_ctx){.st = f->st, .q = &f->qa, .per_thread = PER};
        bad[i] = (insert_ctx){.st = f->st, .q = &bogus, .per_thread = PER};
        pthread_create(&t[2 * i], NULL, insert_worker, &good[i]);
        pthread_create(&t[2 * i + 1], NULL, insert_worker, &bad[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS / 2; i++) {
        assert_int_equal(good[i].ok, PER);
        assert_int_equal(bad[i].ok, 0);
        assert_int_equal(bad[i].other, PER); /* STORE_NOT_FOUND */
    }
    int64_t n = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &n), STORE_OK);
    assert_int_equal(n, THREADS / 2 * PER);
}

/* Fills the default queue to its MaxSize of 10000 waiting jobs with 32 threads, then checks that
 * one more is refused until a job leaves the waiting state. */
static void test_max_size_gives_store_full(void **state)
{
    fixture *f = *state;
    enum { THREADS = 32, PER = 320 }; /* 10240 attempts */
    insert_ctx ctx[THREADS];
    memset(ctx, 0, sizeof ctx);
    run_inserters(f->st, &f->qa, THREADS, PER, ctx);
    int ok = 0, full = 0;
    for (int i = 0; i < THREADS; i++) {
        ok += ctx[i].ok;
        full += ctx[i].full;
        assert_int_equal(ctx[i].other, 0);
    }
    assert_int_equal(ok, 10000);
    assert_int_equal(full, THREADS * PER - 10000);

    store_job j;
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_FULL);
    assert_int_equal(j.seq, 0);
    /* other queues are unaffected */
    fx_insert(f->st, &f->qb, 0, 0, NULL);
    /* a claimed job no longer waits: room for exactly one more */
    store_job c;
    assert_int_equal(fx_claim(f->st, 1, &c), STORE_OK);
    store_job_clear(&c);
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_FULL);
    fx_restart(f);
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_FULL);
}

/* ---- schema ---- */

/* A data directory written before turns existed (schema version 2: no queues.last_turn, no turn
 * indexes) is upgraded in place: its waiting jobs are kept and claimed in turns. One whose version
 * was set back to 2 while the column exists opens too. */
static void test_version_2_database_gains_turns(void **state)
{
    FX_SQLITE_ONLY();
    fixture *f = *state;
    char a[3][40], b[40];
    for (int i = 0; i < 3; i++)
        fx_insert(f->st, &f->qa, 2, 0, a[i]);
    fx_insert(f->st, &f->qb, 0, 0, b);
    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "DROP INDEX queues_turn; DROP INDEX queues_last_turn;"
                     " ALTER TABLE queues DROP COLUMN last_turn; PRAGMA user_version = 2;");
    f->st = fx_open(f);
    assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    const store_queue *qs[] = {&f->qa, &f->qb};
    char id[40];
    assert_int_equal(claim_queue_of(f->st, qs, 2, id), 0); /* both unclaimed: the older queue */
    assert_string_equal(id, a[0]);
    assert_int_equal(claim_queue_of(f->st, qs, 2, id), 1);
    assert_string_equal(id, b);

    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "PRAGMA user_version = 2;");
    f->st = fx_open(f);
    assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    assert_int_equal(claim_queue_of(f->st, qs, 2, id), 0);
    assert_string_equal(id, a[1]);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_priority_then_fifo, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claims_take_turns_between_queues, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_turns_skip_paused_and_full_queues, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_turns_survive_a_restart, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_paused_queue_starts_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_max_concurrent_per_queue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claims_each_job_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_inserts_durable_after_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_batch_refusals_do_not_spoil_others, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_max_size_gives_store_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_2_database_gains_turns, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
