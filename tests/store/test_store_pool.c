/* test_store_pool.c — the connection pool both store backends draw from (store_pool.c), with
 * connections that are plain counters: never more open than the limit however many threads ask,
 * waiters served in arrival order, a caller not held up by a slow open while another connection
 * comes free, an open failure with no connection left reported to every waiter (and the next call
 * trying again), and a broken connection closing the idle ones with it. The backends' own use of it
 * is covered by every other store test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/util.h"

typedef struct fake_db {
    atomic_int open_now, opened, closed, peak;
    atomic_int open_delay_ms;
    atomic_bool fail;
} fake_db;

static void *fake_open(void *backend, char *err, size_t errlen)
{
    fake_db *db = backend;
    if (atomic_load(&db->open_delay_ms) > 0)
        time_sleep_ms(atomic_load(&db->open_delay_ms));
    if (atomic_load(&db->fail)) {
        snprintf(err, errlen, "the fake server is down");
        return NULL;
    }
    int now = atomic_fetch_add(&db->open_now, 1) + 1;
    atomic_fetch_add(&db->opened, 1);
    int peak = atomic_load(&db->peak);
    while (now > peak && !atomic_compare_exchange_weak(&db->peak, &peak, now))
        ;
    int *conn = xmalloc(sizeof *conn);
    *conn = atomic_load(&db->opened);
    return conn;
}

static void fake_close(void *conn)
{
    free(conn);
}

typedef struct user {
    store_pool *pool;
    fake_db *db;
    int rounds;
    int got;
} user;

static void *use_worker(void *arg)
{
    user *u = arg;
    for (int i = 0; i < u->rounds; i++) {
        int *c = store_pool_acquire(u->pool);
        if (!c)
            continue;
        u->got++;
        store_pool_release(u->pool, c, false);
    }
    return NULL;
}

static void test_never_more_than_the_limit(void **state)
{
    (void)state;
    fake_db db = {0};
    store_pool *p = store_pool_new(3, &db, fake_open, fake_close, NULL);
    enum { THREADS = 12, ROUNDS = 2000 };
    user u[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        u[i] = (user){.pool = p, .db = &db, .rounds = ROUNDS};
        pthread_create(&t[i], NULL, use_worker, &u[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(u[i].got, ROUNDS);
    }
    assert_true(atomic_load(&db.peak) <= 3);
    assert_true(atomic_load(&db.opened) <= 3);
    store_pool_free(p);
}

typedef struct ordered {
    store_pool *pool;
    int id;
    int *order;
    atomic_int *next;
} ordered;

static void *ordered_worker(void *arg)
{
    ordered *o = arg;
    void *c = store_pool_acquire(o->pool);
    o->order[atomic_fetch_add(o->next, 1)] = o->id;
    store_pool_release(o->pool, c, false);
    return NULL;
}

/* Both connections held; three callers arrive one after another; releasing one connection at a
 * time serves them in their order of arrival. */
static void test_waiters_are_served_in_arrival_order(void **state)
{
    (void)state;
    fake_db db = {0};
    store_pool *p = store_pool_new(2, &db, fake_open, fake_close, NULL);
    void *a = store_pool_acquire(p), *b = store_pool_acquire(p);
    assert_non_null(a);
    assert_non_null(b);
    int order[3] = {0};
    atomic_int next = 0;
    ordered o[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        o[i] = (ordered){.pool = p, .id = i + 1, .order = order, .next = &next};
        pthread_create(&t[i], NULL, ordered_worker, &o[i]);
        time_sleep_ms(50);
    }
    store_pool_release(p, a, false);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    store_pool_release(p, b, false);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    store_pool_free(p);
}

typedef struct timed {
    store_pool *pool;
    int64_t waited_ms;
    void *conn;
} timed;

static void *timed_worker(void *arg)
{
    timed *w = arg;
    int64_t t0 = time_mono_ms();
    w->conn = store_pool_acquire(w->pool);
    w->waited_ms = time_mono_ms() - t0;
    return NULL;
}

/* Opening takes a second; a caller that finds no idle connection gets the one released 100 ms
 * later instead of waiting for its own open. */
static void test_a_slow_open_holds_nobody_up(void **state)
{
    (void)state;
    fake_db db = {0};
    store_pool *p = store_pool_new(4, &db, fake_open, fake_close, NULL);
    void *a = store_pool_acquire(p);
    atomic_store(&db.open_delay_ms, 1000);
    timed w = {.pool = p};
    pthread_t t;
    pthread_create(&t, NULL, timed_worker, &w);
    time_sleep_ms(100);
    store_pool_release(p, a, false);
    pthread_join(t, NULL);
    assert_ptr_equal(w.conn, a);
    assert_true(w.waited_ms < 600);
    store_pool_release(p, w.conn, false);
    store_pool_free(p); /* waits for the opener, whose connection then goes idle and is closed */
    assert_int_equal(atomic_load(&db.opened), 2);
}

static void *failing_worker(void *arg)
{
    timed *w = arg;
    w->conn = store_pool_acquire(w->pool);
    return NULL;
}

/* With no connection left, a failed open answers every waiter with its error; once the server is
 * back the next call gets a connection. */
static void test_an_open_failure_reaches_every_waiter(void **state)
{
    (void)state;
    fake_db db = {0};
    store_pool *p = store_pool_new(2, &db, fake_open, fake_close, NULL);
    atomic_store(&db.fail, true);
    atomic_store(&db.open_delay_ms, 100);
    timed w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (timed){.pool = p};
        pthread_create(&t[i], NULL, failing_worker, &w[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_null(w[i].conn);
    }
    assert_null(store_pool_acquire(p));
    assert_non_null(strstr(store_last_error(), "the fake server is down"));
    atomic_store(&db.fail, false);
    void *c = store_pool_acquire(p);
    assert_non_null(c);
    store_pool_release(p, c, false);
    store_pool_free(p);
}

/* A broken connection is closed with the idle ones; the next call opens a fresh one. */
static void test_a_broken_connection_takes_the_idle_ones_with_it(void **state)
{
    (void)state;
    fake_db db = {0};
    int *first = xmalloc(sizeof *first);
    *first = 0;
    store_pool *p = store_pool_new(3, &db, fake_open, fake_close, first);
    void *a = store_pool_acquire(p);
    void *b = store_pool_acquire(p);
    void *c = store_pool_acquire(p);
    assert_ptr_equal(a, first); /* the one given at creation */
    store_pool_release(p, b, false);
    store_pool_release(p, c, false);
    store_pool_release(p, a, true);
    int opened = atomic_load(&db.opened);
    void *d = store_pool_acquire(p);
    assert_non_null(d);
    assert_int_equal(atomic_load(&db.opened), opened + 1); /* none of the old ones came back */
    store_pool_release(p, d, false);
    store_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_more_than_the_limit),
        cmocka_unit_test(test_waiters_are_served_in_arrival_order),
        cmocka_unit_test(test_a_slow_open_holds_nobody_up),
        cmocka_unit_test(test_an_open_failure_reaches_every_waiter),
        cmocka_unit_test(test_a_broken_connection_takes_the_idle_ones_with_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
