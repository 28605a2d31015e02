/* The core budget (src/engine/cores.c) with real threads: a lone call gets every core, open seats
 * share them, a survivor takes freed cores back inside its call, a newcomer makes a call granted
 * more than its share pause or begin again, a call steps aside at most once per unit of work, and
 * under a random load of many seats the granted threads never exceed the cores and every call is
 * served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/engine.h"

#define WORK 60000   /* a call's audio (ms) where its length does not matter */

static engine_cores *budget(int cores, int cap)
{
    engine_cores_params p = engine_cores_default_params();
    p.cores = cores;
    p.per_call_max = cap;
    return engine_cores_new(&p);
}

/* Polls until pred holds on the stats (another thread has reached the expected point): 5 s. */
static engine_cores_stats wait_for(engine_cores *c, int (*pred)(const engine_cores_stats *, int), int arg)
{
    for (int i = 0; i < 5000; i++) {
        engine_cores_stats st = engine_cores_get_stats(c);
        if (pred(&st, arg))
            return st;
        usleep(1000);
    }
    fail_msg("the budget never reached the expected state");
    return (engine_cores_stats){0};
}

static int waiting_is(const engine_cores_stats *st, int n)
{
    return st->waiting == n;
}

/* A call begun on another thread (it blocks until granted): its grant, 0 until then. */
typedef struct caller {
    engine_seat *seat;
    int max;
    int64_t work_ms;
    pthread_t th;
    atomic_int grant;
} caller;

static void *begin_call(void *arg)
{
    caller *c = arg;
    atomic_store(&c->grant, engine_seat_begin(c->seat, c->max, true, c->work_ms));
    return NULL;
}

static void start_work(caller *c, engine_seat *seat, int max, int64_t work_ms)
{
    *c = (caller){.seat = seat, .max = max, .work_ms = work_ms};
    atomic_store(&c->grant, 0);
    assert_int_equal(pthread_create(&c->th, NULL, begin_call, c), 0);
}

static void start(caller *c, engine_seat *seat, int max)
{
    start_work(c, seat, max, WORK);
}

static void test_lone_call_gets_every_core_up_to_the_cap(void **state)
{
    (void)state;
    engine_cores *c = budget(4, 0);
    engine_seat *s = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(s, INT_MAX, true, WORK), 4);
    assert_int_equal(engine_cores_get_stats(c).busy, 4);
    engine_seat_end(s);
    assert_int_equal(engine_seat_begin(s, 1, false, WORK), 1);   /* a one-thread engine takes one */
    engine_seat_end(s);
    engine_seat_close(s);
    engine_cores_free(c);

    c = budget(4, 3);   /* CICADA_WHISPER_THREADS=3 */
    s = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(s, INT_MAX, true, WORK), 3);
    engine_seat_end(s);
    engine_seat_close(s);
    assert_int_equal(engine_cores_get_stats(c).peak_busy, 3);
    engine_cores_free(c);
}

/* Two jobs claimed together: the first call leaves the other open seat its share. */
static void test_open_seats_share_the_cores(void **state)
{
    (void)state;
    engine_cores *c = budget(4, 0);
    engine_seat *a = engine_seat_open(c), *b = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 2);
    assert_int_equal(engine_seat_begin(b, INT_MAX, true, WORK), 2);
    engine_seat_end(a);
    engine_seat_close(a);
    engine_seat_end(b);
    /* b alone now: its next call takes every core back */
    assert_int_equal(engine_seat_begin(b, INT_MAX, true, WORK), 4);
    engine_seat_end(b);
    engine_seat_close(b);

    /* a job about to make its only call still has its share kept; once that call ended, not */
    a = engine_seat_open(c);
    b = engine_seat_open(c);
    engine_seat_finishing(b);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 2);
    assert_int_equal(engine_seat_begin(b, INT_MAX, true, WORK), 2);
    engine_seat_end(b);
    engine_seat_end(a);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 4);
    engine_seat_end(a);
    engine_seat_close(a);
    engine_seat_close(b);

    engine_seat *s[3];
    for (int i = 0; i < 3; i++)
        s[i] = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(s[0], INT_MAX, true, WORK), 2);   /* 4 / 3 seats: the first takes the remainder */
    assert_int_equal(engine_seat_begin(s[1], INT_MAX, true, WORK), 1);
    assert_int_equal(engine_seat_begin(s[2], INT_MAX, true, WORK), 1);
    for (int i = 0; i < 3; i++) {
        engine_seat_end(s[i]);
        engine_seat_close(s[i]);
    }
    engine_cores_free(c);
}

/* A call waits while the cores are held by calls that cannot step aside, and is served the moment
 * one ends; more seats than cores never run more threads than cores. */
static void test_calls_wait_for_their_share(void **state)
{
    (void)state;
    engine_cores *c = budget(2, 0);
    engine_seat *s[3];
    for (int i = 0; i < 3; i++)
        s[i] = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(s[0], 1, false, WORK), 1);
    assert_int_equal(engine_seat_begin(s[1], 1, false, WORK), 1);
    caller third;
    start(&third, s[2], INT_MAX);
    wait_for(c, waiting_is, 1);
    assert_int_equal(atomic_load(&third.grant), 0);
    engine_seat_end(s[0]);
    pthread_join(third.th, NULL);
    assert_int_equal(atomic_load(&third.grant), 1);
    engine_seat_end(s[1]);
    engine_seat_end(s[2]);
    for (int i = 0; i < 3; i++)
        engine_seat_close(s[i]);
    engine_cores_stats st = engine_cores_get_stats(c);
    assert_int_equal(st.peak_busy, 2);
    assert_int_equal(st.asked, 0);   /* nobody held more than a share */
    engine_cores_free(c);
}

/* A checkpoint made on a thread of its own (it blocks while its call is paused). */
typedef struct checker {
    engine_seat *seat;
    bool can_regrant;
    pthread_t th;
    atomic_int result;   /* -1 until the checkpoint returned */
} checker;

static void *do_checkpoint(void *arg)
{
    checker *k = arg;
    atomic_store(&k->result, (int)engine_seat_checkpoint(k->seat, k->can_regrant));
    return NULL;
}

static void start_checkpoint(checker *k, engine_seat *seat, bool can_regrant)
{
    *k = (checker){.seat = seat, .can_regrant = can_regrant};
    atomic_store(&k->result, -1);
    assert_int_equal(pthread_create(&k->th, NULL, do_checkpoint, k), 0);
}

static int paused_and_waiting(const engine_cores_stats *st, int n)
{
    return st->paused == (uint64_t)n && st->waiting == 1 && st->busy == 2;
}

/* A short job arrives while a long one decodes alone on every core: the long call pauses at its
 * next checkpoint, the newcomer gets every core (the paused call could not use fewer), and the long
 * call resumes first in line when they are free. It steps aside once per unit of work only. */
static void test_newcomer_makes_a_running_call_pause(void **state)
{
    (void)state;
    engine_cores *c = budget(2, 0);
    engine_seat *longj = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(longj, INT_MAX, true, WORK), 2);
    engine_seat *shortj = engine_seat_open(c);
    caller newcomer;
    start(&newcomer, shortj, INT_MAX);
    engine_cores_stats st = wait_for(c, waiting_is, 1);
    assert_int_equal(st.asked, 1);
    assert_int_equal(atomic_load(&newcomer.grant), 0);

    checker k;
    start_checkpoint(&k, longj, false);
    pthread_join(newcomer.th, NULL);
    assert_int_equal(atomic_load(&newcomer.grant), 2);
    wait_for(c, paused_and_waiting, 1);
    assert_int_equal(atomic_load(&k.result), -1);   /* still paused */

    engine_seat_end(shortj);
    pthread_join(k.th, NULL);
    assert_int_equal(atomic_load(&k.result), ENGINE_SEAT_GO);
    assert_int_equal(engine_cores_get_stats(c).busy, 2);

    /* a second newcomer in the same unit of work: the call does not step aside again, so a stream
     * of newcomers cannot hold it back; the newcomer waits for the call's next unit */
    start(&newcomer, shortj, INT_MAX);
    wait_for(c, waiting_is, 1);
    assert_int_equal(engine_seat_checkpoint(longj, false), ENGINE_SEAT_GO);
    assert_int_equal(engine_cores_get_stats(c).asked, 1);
    assert_int_equal(engine_seat_next_unit(longj), 2);   /* asks it, for the waiting newcomer */
    assert_int_equal(engine_cores_get_stats(c).asked, 2);
    start_checkpoint(&k, longj, false);
    pthread_join(newcomer.th, NULL);
    assert_int_equal(atomic_load(&newcomer.grant), 2);
    engine_seat_end(shortj);
    pthread_join(k.th, NULL);
    assert_int_equal(atomic_load(&k.result), ENGINE_SEAT_GO);
    engine_seat_end(longj);
    engine_seat_close(longj);
    engine_seat_close(shortj);
    st = engine_cores_get_stats(c);
    assert_int_equal(st.paused, 2);
    assert_int_equal(st.grown, 0);
    assert_int_equal(st.peak_busy, 2);
    engine_cores_free(c);
}

/* Two calls side by side: once one ends, the other takes its cores back inside its call, where it
 * can change its thread count (engine_seat_next_unit), unless the ended call's seat is about to begin
 * another, or the call was asked to step aside; never above the per-call cap. */
static void test_survivor_grows_inside_its_call(void **state)
{
    (void)state;
    engine_cores *c = budget(4, 3);
    engine_seat *a = engine_seat_open(c), *b = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 2);
    assert_int_equal(engine_seat_begin(b, INT_MAX, true, WORK), 2);
    assert_int_equal(engine_seat_next_unit(a), 2);   /* nothing free */
    engine_seat_end(b);
    assert_int_equal(engine_seat_next_unit(a), 2);   /* b reads its next window: its share is kept */
    engine_seat_finishing(b);
    assert_int_equal(engine_seat_begin(b, INT_MAX, true, WORK), 2);
    engine_seat_end(b);                          /* b's last call is over */
    assert_int_equal(engine_seat_next_unit(a), 3);   /* up to the cap */
    assert_int_equal(engine_cores_get_stats(c).busy, 3);
    assert_int_equal(engine_seat_next_unit(a), 3);
    engine_seat_close(b);

    /* a newcomer needs two cores, one is free: a takes nothing more, and pauses at its checkpoint */
    engine_seat *d = engine_seat_open(c);
    caller newcomer;
    start(&newcomer, d, INT_MAX);
    wait_for(c, waiting_is, 1);
    assert_int_equal(engine_seat_next_unit(a), 3);
    checker k;
    start_checkpoint(&k, a, false);
    pthread_join(newcomer.th, NULL);
    assert_int_equal(atomic_load(&newcomer.grant), 3);   /* a pauses: the newcomer may use its cores */
    engine_seat_end(d);
    pthread_join(k.th, NULL);
    assert_int_equal(atomic_load(&k.result), ENGINE_SEAT_GO);
    engine_seat_end(a);
    engine_seat_close(a);
    engine_seat_close(d);
    engine_cores_stats st = engine_cores_get_stats(c);
    assert_int_equal(st.grown, 1);
    assert_int_equal(st.paused, 1);
    assert_int_equal(st.peak_busy, 4);
    engine_cores_free(c);
}

/* Two jobs claimed a moment apart: the first call, begun alone, is asked before its first encoder
 * pass and begins again with its share instead of pausing; both then run side by side. */
static void test_call_without_work_begins_again_with_its_share(void **state)
{
    (void)state;
    engine_cores *c = budget(2, 0);
    engine_seat *a = engine_seat_open(c);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 2);
    engine_seat *b = engine_seat_open(c);
    caller second;
    start(&second, b, INT_MAX);
    wait_for(c, waiting_is, 1);
    assert_int_equal(engine_seat_checkpoint(a, true), ENGINE_SEAT_REGRANT);
    pthread_join(second.th, NULL);
    assert_int_equal(atomic_load(&second.grant), 1);
    assert_int_equal(engine_seat_begin(a, INT_MAX, true, WORK), 1);
    engine_cores_stats st = engine_cores_get_stats(c);
    assert_int_equal(st.busy, 2);
    assert_int_equal(st.regranted, 1);
    assert_int_equal(st.paused, 0);
    assert_int_equal(st.checkpoints, 1);
    engine_seat_end(a);
    engine_seat_end(b);
    engine_seat_close(a);
    engine_seat_close(b);
    engine_cores_free(c);
}

/* Shortest first. A long job and a short one claimed together: no share is kept for the other when
 * one is much shorter (half a window of the long one would run on half the cores once the short one
 * ended). The short one goes first on every core — although the long call's share would fit beside
 * it — and the long call, which never asks it back, then runs alone on every core too. */
static void test_long_and_short_claimed_together_go_one_after_the_other(void **state)
{
    (void)state;
    engine_cores *c = budget(2, 0);
    /* the long one begins first and is asked to step aside before its first encoder pass */
    engine_seat *longj = engine_seat_open(c), *shortj = engine_seat_open(c);
    engine_seat_expect(shortj, 3000);
    engine_seat_finishing(shortj);
    assert_int_equal(engine_seat_begin(longj, INT_MAX, true, 200000), 2);   /* no share kept for the short one */
    caller s;
    start_work(&s, shortj, INT_MAX, 3000);
    wait_for(c, waiting_is, 1);
    assert_int_equal(engine_seat_checkpoint(longj, true), ENGINE_SEAT_REGRANT);
    pthread_join(s.th, NULL);
    assert_int_equal(atomic_load(&s.grant), 2);
    caller l;
    start_work(&l, longj, INT_MAX, 200000);
    wait_for(c, waiting_is, 1);
    engine_seat_end(shortj);
    pthread_join(l.th, NULL);
    assert_int_equal(atomic_load(&l.grant), 2);
    engine_seat_end(longj);
    engine_seat_close(shortj);
    engine_seat_close(longj);

    /* the short one begins first: the long one waits for it without asking */
    longj = engine_seat_open(c);
    shortj = engine_seat_open(c);
    engine_seat_expect(longj, 200000);
    engine_seat_finishing(shortj);
    assert_int_equal(engine_seat_begin(shortj, INT_MAX, true, 3000), 2);
    start_work(&l, longj, INT_MAX, 200000);
    wait_for(c, waiting_is, 1);
    engine_seat_end(shortj);
    pthread_join(l.th, NULL);
    assert_int_equal(atomic_load(&l.grant), 2);
    engine_seat_end(longj);
    engine_seat_close(shortj);
    engine_seat_close(longj);
    assert_int_equal(engine_cores_get_stats(c).asked, 1);   /* only the first long call was asked */
    engine_cores_free(c);
}

/* ---- many seats, random calls ---- */

#define STRESS_CORES 3
#define STRESS_SEATS 4
#define STRESS_CALLS 300

static atomic_int g_running;     /* threads of calls that are running (not waiting, not paused) */
static atomic_int g_overbooked;  /* times g_running exceeded the cores */

static void run_threads(int n)
{
    if (atomic_fetch_add(&g_running, n) + n > STRESS_CORES)
        atomic_fetch_add(&g_overbooked, 1);
}

typedef struct stress_arg {
    engine_cores *c;
    unsigned seed;
    int calls;
} stress_arg;

static void *stress_worker(void *arg)
{
    stress_arg *a = arg;
    engine_seat *s = engine_seat_open(a->c);
    for (int i = 0; i < STRESS_CALLS; i++) {
        bool whisper_like = rand_r(&a->seed) % 3 != 0;
        int grant;
        engine_seat_check first;
        do {
            grant = engine_seat_begin(s, whisper_like ? INT_MAX : 1, whisper_like, 1000 + rand_r(&a->seed) % 100000);
            run_threads(grant);
            first = ENGINE_SEAT_GO;
            if (whisper_like) {
                usleep((useconds_t)(rand_r(&a->seed) % 300));   /* the spectrogram */
                atomic_fetch_sub(&g_running, grant);   /* a checkpoint may pause: not running inside it */
                first = engine_seat_checkpoint(s, true);
                if (first == ENGINE_SEAT_GO)
                    run_threads(grant);
            }
        } while (first == ENGINE_SEAT_REGRANT);   /* begin again, without end */
        for (int k = 0; k < 3; k++) {
            usleep((useconds_t)(rand_r(&a->seed) % 300));
            if (whisper_like) {
                atomic_fetch_sub(&g_running, grant);
                engine_seat_checkpoint(s, false);
                grant = engine_seat_next_unit(s);   /* (between passes) */
                run_threads(grant);
            }
        }
        atomic_fetch_sub(&g_running, grant);
        engine_seat_end(s);
        a->calls++;
        if (rand_r(&a->seed) % 4 == 0) {   /* a job ends; the next one is claimed a moment later */
            engine_seat_close(s);
            usleep((useconds_t)(rand_r(&a->seed) % 2000));
            s = engine_seat_open(a->c);
        }
    }
    engine_seat_close(s);
    return NULL;
}

static void test_random_load_never_overbooks(void **state)
{
    (void)state;
    engine_cores *c = budget(STRESS_CORES, 0);
    atomic_store(&g_running, 0);
    atomic_store(&g_overbooked, 0);
    pthread_t th[STRESS_SEATS];
    stress_arg args[STRESS_SEATS];
    for (int i = 0; i < STRESS_SEATS; i++) {
        args[i] = (stress_arg){.c = c, .seed = 1000u + (unsigned)i};
        assert_int_equal(pthread_create(&th[i], NULL, stress_worker, &args[i]), 0);
    }
    for (int i = 0; i < STRESS_SEATS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].calls, STRESS_CALLS);
    }
    engine_cores_stats st = engine_cores_get_stats(c);
    assert_int_equal(atomic_load(&g_overbooked), 0);
    assert_true(st.peak_busy <= STRESS_CORES);
    assert_int_equal(st.busy, 0);
    assert_int_equal(st.seats, 0);
    assert_true(st.paused > 0 && st.regranted > 0);   /* the load did exercise both ways of stepping aside */
    assert_true(st.grown > 0);                         /* ... and calls taking freed cores */
    print_message("calls %llu, asked %llu, paused %llu, regranted %llu, grown %llu\n", (unsigned long long)st.calls,
                  (unsigned long long)st.asked, (unsigned long long)st.paused, (unsigned long long)st.regranted,
                  (unsigned long long)st.grown);
    engine_cores_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_call_gets_every_core_up_to_the_cap),
        cmocka_unit_test(test_open_seats_share_the_cores),
        cmocka_unit_test(test_survivor_grows_inside_its_call),
        cmocka_unit_test(test_calls_wait_for_their_share),
        cmocka_unit_test(test_newcomer_makes_a_running_call_pause),
        cmocka_unit_test(test_call_without_work_begins_again_with_its_share),
        cmocka_unit_test(test_long_and_short_claimed_together_go_one_after_the_other),
        cmocka_unit_test(test_random_load_never_overbooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
