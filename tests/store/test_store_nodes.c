/* test_store_nodes.c — several nodes on one database (either backend): each node is its own store
 * handle, so its own connections and transactions. MaxConcurrent holds cluster-wide while nodes
 * claim and finish at once (sampled throughout); every job is claimed once per attempt and ends once
 * even when nodes die mid-job and others take over; two nodes opening a new bucket at once get one
 * queue; group commit (many submits, few commits); wake-ups across nodes (PostgreSQL LISTEN/NOTIFY;
 * SQLite has none and just sleeps). */
#include "store_fixture.h"

#include <pthread.h>
#include <time.h>

/* ---- MaxConcurrent across nodes ---- */

enum { NODES = 6, MAXC = 3, JOBS_A = 90, JOBS_B = 30 };

typedef struct cluster {
    const fixture *f;
    const char *qa, *qb;
    int total;                 /* jobs inserted */
    int done;                  /* jobs finished (atomic) */
    int over;                  /* samples that saw more than MAXC Running in queue A */
    int max_seen;
    int errors;
    int claims[JOBS_A + JOBS_B + 1]; /* by seq: successful claims (attempt 1 each: leases never run out) */
    pthread_mutex_t mu;
} cluster;

typedef struct node_arg {
    cluster *c;
    char name[24];
} node_arg;

static void *node_worker(void *arg)
{
    node_arg *na = arg;
    cluster *c = na->c;
    store *st = fx_open(c->f);
    int64_t deadline = time_mono_ms() + 60000;
    while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) < c->total && time_mono_ms() < deadline) {
        store_claim cl = {.node = na->name, .now_ms = time_now_ms(), .lease_ms = FX_LEASE_MS};
        store_job j;
        store_rc rc = store_job_claim(st, &cl, &j);
        if (rc == STORE_NOT_FOUND) {
            nanosleep(&(struct timespec){0, 1000000}, NULL);
            continue;
        }
        if (rc != STORE_OK) {
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
            break;
        }
        pthread_mutex_lock(&c->mu);
        if (j.seq >= 1 && j.seq <= c->total && j.attempts == 1)
            c->claims[j.seq]++;
        else
            c->errors++;
        pthread_mutex_unlock(&c->mu);
        nanosleep(&(struct timespec){0, 2000000}, NULL); /* "work" */
        if (store_job_stage(st, &j) != STORE_OK)
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
        j.state = JOB_SUCCESS;
        if (store_job_finish(st, &j, NULL) != STORE_OK)
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
        store_job_clear(&j);
        __atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
    }
    store_close(st);
    return NULL;
}

/* Samples the Running jobs of queue A from its own handle until the work is done. */
static void *sampler(void *arg)
{
    cluster *c = arg;
    store *st = fx_open(c->f);
    while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) < c->total) {
        int64_t n = 0;
        if (store_job_count(st, c->qa, JOB_RUNNING, &n) != STORE_OK) {
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
            break;
        }
        if (n > MAXC)
            __atomic_add_fetch(&c->over, 1, __ATOMIC_RELAXED);
        if (n > c->max_seen)
            c->max_seen = (int)n;
    }
    store_close(st);
    return NULL;
}

static void test_max_concurrent_holds_across_nodes(void **state)
{
    fixture *f = *state;
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE queues SET max_concurrent = %d WHERE id = '%s'", MAXC, f->qa.id);
    fx_sql(f, sql);
    for (int i = 0; i < JOBS_A + JOBS_B; i++)
        fx_insert(f->st, i < JOBS_A ? &f->qa : &f->qb, i % 3, 0, NULL);
    cluster *c = xcalloc(1, sizeof *c);
    *c = (cluster){.f = f, .qa = f->qa.id, .qb = f->qb.id, .total = JOBS_A + JOBS_B};
    pthread_mutex_init(&c->mu, NULL);
    node_arg na[NODES];
    pthread_t t[NODES], s;
    pthread_create(&s, NULL, sampler, c);
    for (int i = 0; i < NODES; i++) {
        na[i].c = c;
        snprintf(na[i].name, sizeof na[i].name, "node-%d", i);
        pthread_create(&t[i], NULL, node_worker, &na[i]);
    }
    for (int i = 0; i < NODES; i++)
        pthread_join(t[i], NULL);
    pthread_join(s, NULL);
    assert_int_equal(c->errors, 0);
    assert_int_equal(c->done, c->total);
    assert_int_equal(c->over, 0);
    assert_true(c->max_seen <= MAXC);
    for (int i = 1; i <= c->total; i++)
        if (c->claims[i] != 1)
            fail_msg("job seq %d claimed %d times", i, c->claims[i]);
    int64_t n = -1;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUCCESS, &n), STORE_OK);
    assert_int_equal(n, JOBS_A);
    assert_int_equal(store_job_count(f->st, f->qb.id, JOB_SUCCESS, &n), STORE_OK);
    assert_int_equal(n, JOBS_B);
    /* the counters on the queue rows ended exact: nothing waiting, nothing running, so the queue
     * takes MaxConcurrent new jobs again, and not one more */
    for (int i = 0; i < MAXC + 1; i++)
        fx_insert(f->st, &f->qa, 0, 0, NULL);
    store_job j[MAXC + 1];
    for (int i = 0; i < MAXC; i++)
        assert_int_equal(fx_claim(f->st, time_now_ms(), &j[i]), STORE_OK);
    assert_int_equal(fx_claim(f->st, time_now_ms(), &j[MAXC]), STORE_NOT_FOUND);
    for (int i = 0; i < MAXC; i++)
        store_job_clear(&j[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- exactly once, with nodes dying and leases taken over ---- */

enum { CRASH_NODES = 5, CRASH_JOBS = 60, CRASH_LEASE_MS = 150, MAX_ATTEMPTS = 32 };

typedef struct crash_ctx {
    const fixture *f;
    pthread_mutex_t mu;
    int claimed[CRASH_JOBS + 1][MAX_ATTEMPTS]; /* by seq and attempt */
    int finished[CRASH_JOBS + 1];              /* successful finishes by seq */
    int stale_refused;                         /* finishes by a node whose lease was lost */
    int done, errors;
} crash_ctx;

typedef struct crash_arg {
    crash_ctx *c;
    char name[24];
    unsigned seed;
} crash_arg;

static void *crash_worker(void *arg)
{
    crash_arg *ca = arg;
    crash_ctx *c = ca->c;
    store *st = fx_open(c->f);
    int64_t deadline = time_mono_ms() + 60000;
    while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) < CRASH_JOBS && time_mono_ms() < deadline) {
        store_claim cl = {.node = ca->name, .now_ms = time_now_ms(), .lease_ms = CRASH_LEASE_MS};
        store_job j;
        store_rc rc = store_job_claim(st, &cl, &j);
        if (rc == STORE_NOT_FOUND) {
            nanosleep(&(struct timespec){0, 5000000}, NULL);
            continue;
        }
        if (rc != STORE_OK) {
            __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
            break;
        }
        pthread_mutex_lock(&c->mu);
        if (j.seq < 1 || j.seq > CRASH_JOBS || j.attempts < 1 || j.attempts >= MAX_ATTEMPTS)
            c->errors++;
        else
            c->claimed[j.seq][j.attempts]++;
        pthread_mutex_unlock(&c->mu);
        int fate = (int)(rand_r(&ca->seed) % 6);
        if (fate == 0) { /* the node dies with the job: someone takes it over later */
            store_job_clear(&j);
            continue;
        }
        if (fate == 1) /* the node stalls past its lease, then tries to finish anyway */
            nanosleep(&(struct timespec){0, (CRASH_LEASE_MS + 80) * 1000000L}, NULL);
        j.state = JOB_FAILED;
        strlcpy_ok(j.code, "Done", sizeof j.code);
        j.end_ms = time_now_ms();
        rc = store_job_finish(st, &j, NULL);
        pthread_mutex_lock(&c->mu);
        if (rc == STORE_OK) {
            c->finished[j.seq]++;
            c->done++;
        } else if (rc == STORE_CONFLICT) {
            c->stale_refused++;
        } else {
            c->errors++;
        }
        pthread_mutex_unlock(&c->mu);
        store_job_clear(&j);
    }
    store_close(st);
    return NULL;
}

static void test_each_attempt_claimed_once_and_each_job_ends_once(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < CRASH_JOBS; i++)
        fx_insert(f->st, i % 2 ? &f->qa : &f->qb, 0, 0, NULL);
    crash_ctx *c = xcalloc(1, sizeof *c);
    c->f = f;
    pthread_mutex_init(&c->mu, NULL);
    crash_arg ca[CRASH_NODES];
    pthread_t t[CRASH_NODES];
    for (int i = 0; i < CRASH_NODES; i++) {
        ca[i] = (crash_arg){.c = c, .seed = 7u + (unsigned)i};
        snprintf(ca[i].name, sizeof ca[i].name, "crashy-%d", i);
        pthread_create(&t[i], NULL, crash_worker, &ca[i]);
    }
    for (int i = 0; i < CRASH_NODES; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(c->errors, 0);
    assert_int_equal(c->done, CRASH_JOBS);
    int takeovers = 0;
    for (int s = 1; s <= CRASH_JOBS; s++) {
        assert_int_equal(c->finished[s], 1);
        for (int a = 1; a < MAX_ATTEMPTS; a++) {
            if (c->claimed[s][a] > 1)
                fail_msg("job seq %d attempt %d claimed %d times", s, a, c->claimed[s][a]);
            if (a > 1 && c->claimed[s][a])
                takeovers++;
        }
    }
    assert_true(takeovers > 0); /* the test did exercise takeovers */
    int64_t n = -1;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_FAILED, &n), STORE_OK);
    assert_int_equal(n, CRASH_JOBS / 2);
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_RUNNING, &n), STORE_OK);
    assert_int_equal(n, 0);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- two nodes open one bucket ---- */

typedef struct opener {
    const fixture *f;
    store_queue q;
    store_rc rc;
} opener;

static void *open_bucket_worker(void *arg)
{
    opener *o = arg;
    store *st = fx_open(o->f);
    store_bucket b;
    memset(&b, 0, sizeof b);
    strlcpy_ok(b.name, "gamma-" APPID, sizeof b.name);
    strlcpy_ok(b.appid, APPID, sizeof b.appid);
    o->rc = store_bucket_open(st, &b, &o->q);
    store_close(st);
    return NULL;
}

static void test_nodes_opening_one_bucket_get_one_queue(void **state)
{
    fixture *f = *state;
    enum { OPENERS = 4 };
    opener o[OPENERS];
    pthread_t t[OPENERS];
    for (int i = 0; i < OPENERS; i++) {
        o[i] = (opener){.f = f};
        pthread_create(&t[i], NULL, open_bucket_worker, &o[i]);
    }
    for (int i = 0; i < OPENERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(o[i].rc, STORE_OK);
        assert_string_equal(o[i].q.id, o[0].q.id);
    }
    store_queue_filter qf = {.bucket = "gamma-" APPID, .page_number = 1, .page_size = 10};
    store_queue list[10];
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(total, 1);
}

/* ---- group commit ---- */

typedef struct submitter {
    store *st;
    const store_queue *q;
    int count, ok;
} submitter;

static void *submit_worker(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < s->count; i++) {
        store_job j;
        fx_job(&j, s->q, 0, 0);
        if (store_job_insert(s->st, &j) == STORE_OK)
            s->ok++;
    }
    return NULL;
}

/* Many threads submitting through one node share commits: on PostgreSQL every row records the
 * transaction that inserted it (xmin), so the commits are counted exactly. */
static void test_group_commit_shares_commits(void **state)
{
    fixture *f = *state;
    enum { THREADS = 16, PER = 60 };
    submitter s[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (submitter){.st = f->st, .q = i % 2 ? &f->qa : &f->qb, .count = PER};
        pthread_create(&t[i], NULL, submit_worker, &s[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].ok, PER);
    }
    int64_t a = 0, b = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &a), STORE_OK);
    assert_int_equal(store_job_count(f->st, f->qb.id, JOB_SUBMITTED, &b), STORE_OK);
    assert_int_equal(a + b, THREADS * PER);
    if (f->pg) {
        int64_t commits = fx_pg_value(f, "SELECT count(DISTINCT xmin::text) FROM jobs");
        print_message("group commit: %d submits in %lld commits\n", THREADS * PER, (long long)commits);
        assert_true(commits >= 1);
        assert_true(commits < THREADS * PER / 2);
    }
}

typedef struct dup_submitter {
    store *st;
    const store_queue *q;
    int ok, conflict;
} dup_submitter;

enum { DUP_IDS = 40 };

static void *dup_submit_worker(void *arg)
{
    dup_submitter *s = arg;
    for (int i = 0; i < DUP_IDS; i++) {
        store_job j;
        fx_job(&j, s->q, 0, 0);
        snprintf(j.id, sizeof j.id, "sdup%02d", i);
        store_rc rc = store_job_insert(s->st, &j);
        if (rc == STORE_OK)
            s->ok++;
        else if (rc == STORE_CONFLICT)
            s->conflict++;
    }
    return NULL;
}

/* The same ids submitted by many threads at once (so often twice in one group): each id is stored
 * once, every other attempt is a conflict, and the queue counts each stored job once. */
static void test_group_commit_duplicate_ids(void **state)
{
    fixture *f = *state;
    enum { THREADS = 8 };
    dup_submitter s[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (dup_submitter){.st = f->st, .q = &f->qa};
        pthread_create(&t[i], NULL, dup_submit_worker, &s[i]);
    }
    int ok = 0, conflict = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += s[i].ok;
        conflict += s[i].conflict;
    }
    assert_int_equal(ok, DUP_IDS);
    assert_int_equal(conflict, (THREADS - 1) * DUP_IDS);
    int64_t n = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &n), STORE_OK);
    assert_int_equal(n, DUP_IDS);
    if (f->pg)
        assert_int_equal(fx_pg_value(f, "SELECT sum(waiting) FROM queues"), DUP_IDS);
    store_job j; /* and they run: as many as the queue's MaxConcurrent, in submit order */
    for (int i = 0; i < f->qa.max_concurrent; i++) {
        assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_OK);
        char want[40];
        snprintf(want, sizeof want, "sdup%02d", i);
        assert_string_equal(j.id, want);
        store_job_clear(&j);
    }
    assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_NOT_FOUND);
}

typedef struct mixed_submitter {
    store *st;
    const store_queue *q;
    int ok, bad_rc;
} mixed_submitter;

enum { MIXED_PER = 20, MIXED_BAD_AT = 10 };

static void *mixed_submit_worker(void *arg)
{
    mixed_submitter *s = arg;
    for (int i = 0; i < MIXED_PER; i++) {
        store_job j;
        fx_job(&j, s->q, 0, 0);
        if (i == MIXED_BAD_AT)
            strlcpy_ok(j.user_data, "not UTF-8: \xff\xfe", sizeof j.user_data);
        store_rc rc = store_job_insert(s->st, &j);
        if (i == MIXED_BAD_AT)
            s->bad_rc = rc;
        else if (rc == STORE_OK)
            s->ok++;
    }
    return NULL;
}

/* A job PostgreSQL refuses (here text that is not UTF-8, which the API never lets through) fails
 * alone: the jobs that shared its group commit are stored. */
static void test_pg_a_refused_job_fails_alone(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    enum { THREADS = 8 };
    mixed_submitter s[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (mixed_submitter){.st = f->st, .q = &f->qa};
        pthread_create(&t[i], NULL, mixed_submit_worker, &s[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].ok, MIXED_PER - 1);
        assert_int_equal(s[i].bad_rc, STORE_ERROR);
    }
    int64_t n = 0;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &n), STORE_OK);
    assert_int_equal(n, THREADS * (MIXED_PER - 1));
    assert_int_equal(fx_pg_value(f, "SELECT sum(waiting) FROM queues"), THREADS * (MIXED_PER - 1));
}

/* ---- wake-ups ---- */

typedef struct waiter {
    store *st;
    int64_t timeout_ms;
    bool woken;
    store_rc rc;
    int64_t woke_at; /* time_mono_ms() */
} waiter;

static void *wait_worker(void *arg)
{
    waiter *w = arg;
    w->rc = store_wait_wakeup(w->st, w->timeout_ms, &w->woken);
    w->woke_at = time_mono_ms();
    return NULL;
}

static void test_sqlite_has_no_wakeups_and_sleeps(void **state)
{
    FX_SQLITE_ONLY();
    fixture *f = *state;
    assert_false(store_has_wakeups(f->st));
    assert_string_equal(store_backend_name(f->st), "sqlite");
    bool woken = true;
    int64_t t0 = time_mono_ms();
    assert_int_equal(store_wait_wakeup(f->st, 80, &woken), STORE_OK);
    assert_false(woken);
    assert_true(time_mono_ms() - t0 >= 75);
}

/* Starts `n` waiters on st, gives them time to block, runs act on another node, and checks every
 * waiter woke within 100 ms of act's return. */
static void wake_check(store *st, int n, void (*act)(fixture *f, store *other), fixture *f, store *other)
{
    waiter w[4];
    pthread_t t[4];
    for (int i = 0; i < n; i++) {
        w[i] = (waiter){.st = st, .timeout_ms = 5000};
        pthread_create(&t[i], NULL, wait_worker, &w[i]);
    }
    time_sleep_ms(300);
    act(f, other);
    int64_t acted = time_mono_ms();
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, STORE_OK);
        assert_true(w[i].woken);
        int64_t late = w[i].woke_at - acted;
        print_message("woke %lld ms after the other node's commit returned\n", (long long)late);
        assert_true(late < 100);
    }
}

static void act_insert(fixture *f, store *other)
{
    fx_insert(other, &f->qa, 0, 0, NULL);
}

static void act_resume(fixture *f, store *other)
{
    store_queue q = f->qa;
    strlcpy_ok(q.state, "Active", sizeof q.state);
    assert_int_equal(store_queue_update(other, &q), STORE_OK);
}

static void act_finish(fixture *f, store *other)
{
    (void)f;
    store_job j;
    assert_int_equal(fx_claim(other, time_now_ms(), &j), STORE_OK);
    j.state = JOB_FAILED;
    assert_int_equal(store_job_finish(other, &j, NULL), STORE_OK);
    store_job_clear(&j);
}

static void test_pg_wakeups_cross_nodes_within_100ms(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    assert_true(store_has_wakeups(f->st));
    assert_string_equal(store_backend_name(f->st), "postgresql");
    store *other = fx_open(f);
    /* nothing happens: the wait times out, not woken */
    bool woken = true;
    int64_t t0 = time_mono_ms();
    assert_int_equal(store_wait_wakeup(f->st, 200, &woken), STORE_OK);
    assert_false(woken);
    assert_true(time_mono_ms() - t0 >= 190);

    wake_check(f->st, 1, act_insert, f, other); /* a submit on another node */
    wake_check(f->st, 3, act_insert, f, other); /* every waiter of the handle wakes */
    wake_check(f->st, 1, act_resume, f, other); /* a queue update */
    wake_check(f->st, 1, act_finish, f, other); /* a finish frees a slot */
    store_close(other);
}

/* Consumes the wake-ups already sent to st. */
static void drain_wakeups(store *st)
{
    bool woken = true;
    while (woken)
        assert_int_equal(store_wait_wakeup(st, 150, &woken), STORE_OK);
}

/* True when st is woken within ms while act runs on another node. */
static bool woken_by(store *st, int64_t ms, void (*act)(fixture *f, store *other), fixture *f, store *other)
{
    waiter w = {.st = st, .timeout_ms = ms};
    pthread_t t;
    pthread_create(&t, NULL, wait_worker, &w);
    time_sleep_ms(100);
    act(f, other);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, STORE_OK);
    return w.woken;
}

static store_job *finishing; /* the job act_finish_this ends */

static void act_finish_this(fixture *f, store *other)
{
    (void)f;
    finishing->state = JOB_FAILED;
    assert_int_equal(store_job_finish(other, finishing, NULL), STORE_OK);
}

static void act_pause(fixture *f, store *other)
{
    store_queue q = f->qa;
    strlcpy_ok(q.state, "Paused", sizeof q.state);
    assert_int_equal(store_queue_update(other, &q), STORE_OK);
}

/* A submit wakes the other nodes only when its job can start now: not into a paused queue (its
 * resume wakes them), not into a queue running MaxConcurrent jobs (a finish wakes them). */
static void test_pg_submits_that_cannot_start_wake_nobody(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    store *other = fx_open(f);
    assert_int_equal(store_wait_wakeup(f->st, 10, &(bool){false}), STORE_OK); /* listening */
    act_pause(f, other);
    drain_wakeups(f->st);
    assert_false(woken_by(f->st, 400, act_insert, f, other));
    assert_true(woken_by(f->st, 2000, act_resume, f, other));
    drain_wakeups(f->st);

    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE queues SET max_concurrent = 1 WHERE id = '%s' RETURNING 1", f->qa.id);
    assert_int_equal(fx_pg_value(f, sql), 1);
    store_job running;
    assert_int_equal(fx_claim(other, time_now_ms(), &running), STORE_OK);
    drain_wakeups(f->st);
    assert_false(woken_by(f->st, 400, act_insert, f, other)); /* its one slot is taken */
    finishing = &running;
    assert_true(woken_by(f->st, 2000, act_finish_this, f, other)); /* and now free */
    store_job_clear(&running);
    store_close(other);
}

/* The LISTEN connection dies (server restart, idle kill): the wait reports a wake-up (news may have
 * been lost), and the next wait listens again. */
static void test_pg_wakeups_survive_a_dropped_connection(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    store *other = fx_open(f);
    bool woken = false;
    assert_int_equal(store_wait_wakeup(f->st, 10, &woken), STORE_OK); /* now listening */
    waiter w = {.st = f->st, .timeout_ms = 5000};
    pthread_t t;
    pthread_create(&t, NULL, wait_worker, &w);
    time_sleep_ms(200);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = '%s'"
             " AND query LIKE 'LISTEN%%'",
             f->dbname);
    assert_int_equal(fx_pg_value(f, sql), 1);
    pthread_join(t, NULL);
    assert_true(w.woken);
    wake_check(f->st, 1, act_insert, f, other);
    store_close(other);
}

/* Every pooled connection dies (a server restart): the next transactions (a group of submits, a
 * claim) run on fresh connections without an error, as the first statement finds the old one dead
 * before anything was done. Each kill waits (up to 5 s) for the backend to exit: a killed backend
 * still listed in pg_stat_activity would be counted by the next kill as a second connection. */
static void test_pg_transactions_survive_dead_connections(void **state)
{
    FX_PG_ONLY();
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id); /* the pool holds a connection */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = '%s'"
             " AND pid <> pg_backend_pid()",
             f->dbname);
    assert_true(fx_pg_value(f, sql) >= 1);
    time_sleep_ms(100);
    store_job j;
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    assert_int_equal(fx_pg_value(f, sql), 1);
    time_sleep_ms(100);
    store_job got;
    assert_int_equal(fx_claim(f->st, time_now_ms(), &got), STORE_OK);
    assert_string_equal(got.id, id);
    store_job_clear(&got);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, j.id), JOB_SUBMITTED);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_max_concurrent_holds_across_nodes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_each_attempt_claimed_once_and_each_job_ends_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_nodes_opening_one_bucket_get_one_queue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_shares_commits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_duplicate_ids, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_a_refused_job_fails_alone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_has_no_wakeups_and_sleeps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_wakeups_cross_nodes_within_100ms, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_wakeups_survive_a_dropped_connection, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_submits_that_cannot_start_wake_nobody, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pg_transactions_survive_dead_connections, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
