/* test_store_outbox.c — the callback outbox on a real database (either backend): finish and cancel
 * queue their callback in the same transaction (and nothing without one, or when they are refused);
 * rows are leased (claim), settled as delivered, retried after a back-off or given up, fenced by
 * owner and attempt, and taken over when a sender's lease runs out. */
#include "store_fixture.h"

static const store_callback CB = {.url = "http://127.0.0.1:9/cb?x=1", .format = "JSON"};

static store_rc ob_claim(store *st, const char *node, int64_t now_ms, int64_t lease_ms, store_outbox *out)
{
    store_claim c = {.node = node, .now_ms = now_ms, .lease_ms = lease_ms};
    return store_outbox_claim(st, &c, out);
}

static void counts(store *st, int64_t pending, int64_t given_up)
{
    int64_t p = -1, g = -1;
    assert_int_equal(store_outbox_count(st, &p, &g), STORE_OK);
    assert_int_equal(p, pending);
    assert_int_equal(g, given_up);
}

static size_t rows_of(store *st, const char *job_id, store_outbox *out)
{
    size_t n = 99;
    assert_int_equal(store_outbox_of_job(st, job_id, out, 4, &n), STORE_OK);
    return n;
}

/* Claims and finishes one job of queue A with the given end. */
static void run_and_end(fixture *f, const char *expect_id, job_state end, const store_callback *cb)
{
    store_job j;
    assert_int_equal(fx_claim(f->st, 1000, &j), STORE_OK);
    assert_string_equal(j.id, expect_id);
    if (end == JOB_SUCCESS)
        assert_int_equal(store_job_stage(f->st, &j), STORE_OK);
    j.state = end;
    j.end_ms = 5000;
    assert_int_equal(store_job_finish(f->st, &j, cb), STORE_OK);
    store_job_clear(&j);
}

static void test_finish_and_cancel_queue_callbacks(void **state)
{
    fixture *f = *state;
    char ok[40], failed[40], quiet[40], cancelled[40], cancelled_quiet[40];
    fx_insert(f->st, &f->qa, 0, 0, ok);
    fx_insert(f->st, &f->qa, 0, 0, failed);
    fx_insert(f->st, &f->qa, 0, 0, quiet);
    fx_insert(f->st, &f->qa, 0, 0, cancelled);
    fx_insert(f->st, &f->qa, 0, 0, cancelled_quiet);
    counts(f->st, 0, 0);

    run_and_end(f, ok, JOB_SUCCESS, &CB);
    run_and_end(f, failed, JOB_FAILED, &(store_callback){.url = "http://127.0.0.1:9/q", .format = ""});
    store_callback none = {.url = "", .format = "XML"}; /* url "" is no callback */
    run_and_end(f, quiet, JOB_FAILED, &none);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, cancelled, 6000, &CB), STORE_OK);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, cancelled_quiet, 6000, NULL), STORE_OK);
    /* refused: the job is Cancel already, so no second callback */
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, cancelled, 6000, &CB), STORE_CONFLICT);
    counts(f->st, 3, 0);

    store_outbox o[4];
    assert_int_equal(rows_of(f->st, ok, o), 1);
    assert_string_equal(o[0].job_id, ok);
    assert_string_equal(o[0].bucket, BUCKET_A);
    assert_string_equal(o[0].url, CB.url);
    assert_string_equal(o[0].format, "JSON");
    assert_int_equal(o[0].attempts, 0);
    assert_string_equal(o[0].owner, "");
    assert_int_equal(o[0].create_ms, 5000);
    assert_int_equal(rows_of(f->st, failed, o), 1);
    assert_string_equal(o[0].format, "XML"); /* the default */
    assert_int_equal(rows_of(f->st, quiet, o), 0);
    assert_int_equal(rows_of(f->st, cancelled, o), 1);
    assert_int_equal(o[0].create_ms, 6000);
    assert_int_equal(rows_of(f->st, cancelled_quiet, o), 0);
    /* the rows survive a restart */
    fx_restart(f);
    counts(f->st, 3, 0);
}

static void test_claim_deliver_retry_give_up(void **state)
{
    fixture *f = *state;
    char a[40], b[40];
    fx_insert(f->st, &f->qa, 0, 0, a);
    fx_insert(f->st, &f->qa, 0, 0, b);
    run_and_end(f, a, JOB_FAILED, &CB); /* due from 5000 */
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, b, 7000, &CB), STORE_OK); /* due from 7000 */

    store_outbox o;
    assert_int_equal(ob_claim(f->st, "s1", 4999, 1000, &o), STORE_NOT_FOUND); /* nothing due yet */
    assert_int_equal(ob_claim(f->st, "s1", 8000, 1000, &o), STORE_OK);
    assert_string_equal(o.job_id, a); /* oldest first */
    assert_int_equal(o.attempts, 1);
    assert_string_equal(o.owner, "s1");
    assert_int_equal(o.lease_until_ms, 9000);

    /* a failed delivery: back to pending, not before 20000, the error kept */
    assert_int_equal(store_outbox_settle(f->st, &o, STORE_OUTBOX_RETRY, 20000, "HTTP 503"), STORE_OK);
    store_outbox rows[4];
    assert_int_equal(rows_of(f->st, a, rows), 1);
    assert_string_equal(rows[0].last_error, "HTTP 503");
    assert_string_equal(rows[0].owner, "");
    assert_int_equal(rows[0].next_ms, 20000);
    /* b is due now, a is not */
    store_outbox ob;
    assert_int_equal(ob_claim(f->st, "s1", 8000, 1000, &ob), STORE_OK);
    assert_string_equal(ob.job_id, b);
    assert_int_equal(ob_claim(f->st, "s1", 8000, 1000, &o), STORE_NOT_FOUND); /* b is leased, a waits */
    assert_int_equal(store_outbox_settle(f->st, &ob, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_OK);
    assert_int_equal(rows_of(f->st, b, rows), 0);
    counts(f->st, 1, 0);

    assert_int_equal(ob_claim(f->st, "s2", 20000, 1000, &o), STORE_OK);
    assert_string_equal(o.job_id, a);
    assert_int_equal(o.attempts, 2);
    assert_string_equal(o.last_error, "HTTP 503");
    assert_int_equal(store_outbox_settle(f->st, &o, STORE_OUTBOX_GIVE_UP, 0, "gave up after 2 tries"), STORE_OK);
    counts(f->st, 0, 1);
    assert_int_equal(ob_claim(f->st, "s2", INT64_MAX / 2, 1000, &o), STORE_NOT_FOUND); /* never again */
    assert_int_equal(rows_of(f->st, a, rows), 1);
    assert_string_equal(rows[0].last_error, "gave up after 2 tries");
    assert_int_equal(rows[0].attempts, 2);
}

/* A sender whose lease ran out is taken over; its late settle is refused and changes nothing. */
static void test_settle_is_fenced_and_leases_are_taken_over(void **state)
{
    fixture *f = *state;
    char a[40];
    fx_insert(f->st, &f->qa, 0, 0, a);
    run_and_end(f, a, JOB_FAILED, &CB);
    store_outbox s1, s2;
    assert_int_equal(ob_claim(f->st, "s1", 10000, 500, &s1), STORE_OK);
    assert_int_equal(ob_claim(f->st, "s2", 10400, 500, &s2), STORE_NOT_FOUND); /* leased */
    assert_int_equal(ob_claim(f->st, "s2", 10600, 500, &s2), STORE_OK);       /* expired: taken over */
    assert_int_equal(s2.id, s1.id);
    assert_int_equal(s2.attempts, 2);
    assert_string_equal(s2.owner, "s2");

    assert_int_equal(store_outbox_settle(f->st, &s1, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_CONFLICT);
    assert_int_equal(store_outbox_settle(f->st, &s1, STORE_OUTBOX_GIVE_UP, 0, "x"), STORE_CONFLICT);
    assert_int_equal(store_outbox_settle(f->st, &s1, STORE_OUTBOX_RETRY, 1, "x"), STORE_CONFLICT);
    store_outbox rows[4];
    assert_int_equal(rows_of(f->st, a, rows), 1);
    assert_string_equal(rows[0].owner, "s2");
    assert_int_equal(rows[0].attempts, 2);
    assert_string_equal(rows[0].last_error, "");
    counts(f->st, 1, 0);
    assert_int_equal(store_outbox_settle(f->st, &s2, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_OK);
    counts(f->st, 0, 0);
    /* a row already settled cannot be settled again */
    assert_int_equal(store_outbox_settle(f->st, &s2, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_CONFLICT);
}

/* A node that restarts releases its callback deliveries with its jobs: the row is due at once
 * (not after the dead sender's lease) and the dead sender's settle is refused. Other nodes' leases
 * stay. */
static void test_release_hands_deliveries_over(void **state)
{
    fixture *f = *state;
    char a[40], b[40];
    fx_insert(f->st, &f->qa, 0, 0, a);
    run_and_end(f, a, JOB_FAILED, &CB);
    fx_insert(f->st, &f->qa, 0, 0, b);
    run_and_end(f, b, JOB_FAILED, &CB);
    store_outbox s1, s2, again;
    assert_int_equal(ob_claim(f->st, "dead", 10000, 60000, &s1), STORE_OK);
    assert_int_equal(ob_claim(f->st, "alive", 10000, 60000, &s2), STORE_OK);
    assert_int_equal(ob_claim(f->st, "n3", 10001, 60000, &again), STORE_NOT_FOUND);
    if (store_job_release(f->st, "dead", NULL) != STORE_OK)
        fail_msg("release: %s", store_last_error());
    assert_int_equal(ob_claim(f->st, "dead", 10002, 60000, &again), STORE_OK);   /* the restarted node, at once */
    assert_int_equal(again.id, s1.id);
    assert_int_equal(again.attempts, 2);
    assert_int_equal(store_outbox_settle(f->st, &s1, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_CONFLICT);
    assert_int_equal(ob_claim(f->st, "n3", 10003, 60000, &again), STORE_NOT_FOUND);   /* alive's lease holds */
    assert_int_equal(store_outbox_settle(f->st, &s2, STORE_OUTBOX_DELIVERED, 0, NULL), STORE_OK);
    counts(f->st, 1, 0);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_finish_and_cancel_queue_callbacks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_deliver_retry_give_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_settle_is_fenced_and_leases_are_taken_over, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_release_hands_deliveries_over, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
