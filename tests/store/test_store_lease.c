/* test_store_lease.c — leases on a real database (either backend): a claim leases the job to its
 * node; renew extends it; an expired lease is taken over (attempt + 1, oldest expiry first, still
 * Running, counters unchanged, staged result kept) and the old owner's renew, stage and finish are
 * then refused with STORE_CONFLICT and change nothing; release hands a restarted node's jobs over at
 * once; Success needs a staged result; leases survive a restart. Progress is recorded under the same
 * fence, never goes down (across a takeover too), and becomes 1 on Success only. */
#include "store_fixture.h"

static store_rc claim_as(store *st, const char *node, int64_t now_ms, int64_t lease_ms, store_job *out)
{
    store_claim c = {.node = node, .now_ms = now_ms, .lease_ms = lease_ms};
    return store_job_claim(st, &c, out);
}

static store_job get_job(fixture *f, const char *id)
{
    store_job j;
    assert_int_equal(store_job_get(f->st, BUCKET_A, id, &j), STORE_OK);
    return j;
}

static void test_claim_leases_and_renew_extends(void **state)
{
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_job j;
    assert_int_equal(claim_as(f->st, "n1", 1000, 500, &j), STORE_OK);
    assert_string_equal(j.id, id);
    assert_string_equal(j.owner, "n1");
    assert_int_equal(j.attempts, 1);
    assert_int_equal(j.lease_until_ms, 1500);
    assert_int_equal(j.start_ms, 1000);

    assert_int_equal(store_job_renew(f->st, &j, 1400, 500), STORE_OK);
    assert_int_equal(j.lease_until_ms, 1900);
    store_job got = get_job(f, id);
    assert_int_equal(got.lease_until_ms, 1900);
    assert_string_equal(got.owner, "n1");
    store_job_clear(&got);
    /* not expired at 1800: nobody takes it over */
    store_job other;
    assert_int_equal(claim_as(f->st, "n2", 1800, 500, &other), STORE_NOT_FOUND);
    /* a lease survives a restart of the store */
    fx_restart(f);
    assert_int_equal(store_job_renew(f->st, &j, 1850, 1000), STORE_OK);
    assert_int_equal(claim_as(f->st, "n2", 2500, 500, &other), STORE_NOT_FOUND);
    store_job_clear(&j);

    /* bad claims are refused before they reach the database */
    store_claim bad = {.node = "", .now_ms = 1, .lease_ms = 10};
    assert_int_equal(store_job_claim(f->st, &bad, &other), STORE_ERROR);
    bad.node = "n1";
    bad.lease_ms = 0;
    assert_int_equal(store_job_claim(f->st, &bad, &other), STORE_ERROR);
}

/* The core of leases: the job moves to the new owner as it is, and the old owner can change nothing. */
static void test_takeover_after_expiry_fences_the_old_owner(void **state)
{
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_job old;
    assert_int_equal(claim_as(f->st, "n1", 1000, 500, &old), STORE_OK);

    store_job nu;
    assert_int_equal(claim_as(f->st, "n2", 1499, 500, &nu), STORE_NOT_FOUND);
    assert_int_equal(claim_as(f->st, "n2", 1600, 500, &nu), STORE_OK);
    assert_string_equal(nu.id, id);
    assert_int_equal(nu.state, JOB_RUNNING);
    assert_string_equal(nu.owner, "n2");
    assert_int_equal(nu.attempts, 2);
    assert_int_equal(nu.lease_until_ms, 2100);
    assert_int_equal(nu.start_ms, 1000); /* taken over as it is */
    int64_t running = -1;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_RUNNING, &running), STORE_OK);
    assert_int_equal(running, 1);

    /* the old owner: renew, stage and finish are all refused and change nothing */
    assert_int_equal(store_job_renew(f->st, &old, 1700, 500), STORE_CONFLICT);
    assert_true(strlen(store_last_error()) > 0);
    old.result = xstrdup("stale result");
    old.audio_time = 9;
    assert_int_equal(store_job_stage(f->st, &old), STORE_CONFLICT);
    assert_false(old.staged);
    old.state = JOB_FAILED;
    strlcpy_ok(old.code, "Stale", sizeof old.code);
    store_callback cb = {.url = "http://127.0.0.1:9/cb", .format = "XML"};
    assert_int_equal(store_job_finish(f->st, &old, &cb), STORE_CONFLICT);
    store_job got = get_job(f, id);
    assert_int_equal(got.state, JOB_RUNNING);
    assert_string_equal(got.owner, "n2");
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.lease_until_ms, 2100);
    assert_false(got.staged);
    assert_null(got.result);
    assert_string_equal(got.code, "Success"); /* untouched default */
    store_job_clear(&got);
    int64_t pending = -1;
    assert_int_equal(store_outbox_count(f->st, &pending, NULL), STORE_OK);
    assert_int_equal(pending, 0); /* a refused finish queues no callback */
    store_job_clear(&old);

    /* the new owner ends it */
    nu.result = xstrdup("fresh result");
    fx_succeed(f->st, &nu);
    got = get_job(f, id);
    assert_int_equal(got.state, JOB_SUCCESS);
    assert_string_equal(got.result, "fresh result");
    store_job_clear(&got);
    store_job_clear(&nu);
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_RUNNING, &running), STORE_OK);
    assert_int_equal(running, 0);
    /* a job that ended is never taken over */
    assert_int_equal(claim_as(f->st, "n3", 1000000, 500, &nu), STORE_NOT_FOUND);
}

/* Expired leases go before Submitted jobs, the oldest expiry first; a Paused queue's Running job is
 * taken over too (it is running, not waiting). */
static void test_takeover_order_and_paused_queues(void **state)
{
    fixture *f = *state;
    char ids[4][40];
    for (int i = 0; i < 4; i++)
        fx_insert(f->st, &f->qa, 0, 0, ids[i]);
    store_job j[3];
    assert_int_equal(claim_as(f->st, "n1", 1000, 300, &j[0]), STORE_OK); /* expires 1300 */
    assert_int_equal(claim_as(f->st, "n1", 1000, 100, &j[1]), STORE_OK); /* expires 1100 */
    assert_int_equal(claim_as(f->st, "n1", 1000, 200, &j[2]), STORE_OK); /* expires 1200 */
    store_queue q = f->qa;
    strlcpy_ok(q.state, "Paused", sizeof q.state);
    assert_int_equal(store_queue_update(f->st, &q), STORE_OK);
    const int order[] = {1, 2, 0};
    for (int i = 0; i < 3; i++) {
        store_job t;
        assert_int_equal(claim_as(f->st, "n2", 5000, 1000, &t), STORE_OK);
        assert_string_equal(t.id, ids[order[i]]);
        assert_int_equal(t.attempts, 2);
        store_job_clear(&t);
        store_job_clear(&j[i]);
    }
    /* the fourth job waits in a Paused queue: nothing to claim */
    store_job t;
    assert_int_equal(claim_as(f->st, "n2", 5000, 1000, &t), STORE_NOT_FOUND);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, ids[3]), JOB_SUBMITTED);
}

/* A staged job that changes hands keeps its recorded result: the new owner only publishes and
 * finishes; staging again is allowed (same record), finishing as Success needs no new stage. */
static void test_takeover_keeps_the_staged_result(void **state)
{
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_job old;
    assert_int_equal(claim_as(f->st, "n1", 1000, 500, &old), STORE_OK);
    old.audio_time = 12.5;
    old.result = xstrdup("[0:0.000,0:1.000]  recorded");
    old.result_detail = xstrdup("[]");
    old.output_body = xstrdup("recorded\n");
    strlcpy_ok(old.output_content_type, "text/plain", sizeof old.output_content_type);
    strlcpy_ok(old.object_name, "out/x.txt", sizeof old.object_name);
    assert_int_equal(store_job_stage(f->st, &old), STORE_OK);

    store_job nu;
    assert_int_equal(claim_as(f->st, "n2", 2000, 500, &nu), STORE_OK);
    assert_string_equal(nu.id, id);
    assert_true(nu.staged);
    assert_int_equal(nu.attempts, 2);
    assert_string_equal(nu.result, "[0:0.000,0:1.000]  recorded");
    assert_string_equal(nu.output_body, "recorded\n");
    assert_string_equal(nu.output_content_type, "text/plain");
    assert_string_equal(nu.object_name, "out/x.txt");
    assert_true(nu.audio_time == 12.5);

    /* the old owner cannot finish it any more, even though the result it staged stands */
    old.state = JOB_SUCCESS;
    assert_int_equal(store_job_finish(f->st, &old, NULL), STORE_CONFLICT);
    store_job_clear(&old);

    nu.state = JOB_SUCCESS;
    nu.end_ms = 2100;
    assert_int_equal(store_job_finish(f->st, &nu, NULL), STORE_OK);
    store_job got = get_job(f, id);
    assert_int_equal(got.state, JOB_SUCCESS);
    assert_string_equal(got.result, "[0:0.000,0:1.000]  recorded");
    assert_int_equal(got.attempts, 2);
    store_job_clear(&got);
    store_job_clear(&nu);
}

/* Success without a staged result is a caller bug: STORE_ERROR, and the job stays as it was. Failed
 * and Cancel need no stage. */
static void test_success_without_stage_is_refused(void **state)
{
    fixture *f = *state;
    char a[40], b[40];
    fx_insert(f->st, &f->qa, 0, 0, a);
    fx_insert(f->st, &f->qa, 0, 0, b);
    store_job ja, jb;
    assert_int_equal(fx_claim(f->st, 1000, &ja), STORE_OK);
    assert_int_equal(fx_claim(f->st, 1000, &jb), STORE_OK);
    ja.state = JOB_SUCCESS;
    ja.result = xstrdup("not staged");
    assert_int_equal(store_job_finish(f->st, &ja, NULL), STORE_ERROR);
    store_job got = get_job(f, a);
    assert_int_equal(got.state, JOB_RUNNING);
    assert_null(got.result);
    store_job_clear(&got);
    ja.state = JOB_CANCEL;
    assert_int_equal(store_job_finish(f->st, &ja, NULL), STORE_OK);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, a), JOB_CANCEL);
    jb.state = JOB_FAILED;
    assert_int_equal(store_job_finish(f->st, &jb, NULL), STORE_OK);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, b), JOB_FAILED);
    store_job_clear(&ja);
    store_job_clear(&jb);
}

/* A node that restarts releases its own jobs: they are taken over at once, by any node, without
 * waiting for the leases; other nodes' jobs are left alone. */
static void test_release_hands_a_nodes_jobs_over(void **state)
{
    fixture *f = *state;
    char ids[3][40];
    for (int i = 0; i < 3; i++)
        fx_insert(f->st, &f->qa, 0, 0, ids[i]);
    store_job j[3];
    assert_int_equal(claim_as(f->st, "n1", 1000, 600000, &j[0]), STORE_OK);
    assert_int_equal(claim_as(f->st, "n2", 1000, 600000, &j[1]), STORE_OK);
    assert_int_equal(claim_as(f->st, "n1", 1000, 600000, &j[2]), STORE_OK);

    fx_restart(f); /* n1 comes back */
    int count = -1;
    assert_int_equal(store_job_release(f->st, "n1", &count), STORE_OK);
    assert_int_equal(count, 2);
    store_job t[2];
    assert_int_equal(claim_as(f->st, "n1", 2000, 1000, &t[0]), STORE_OK);
    assert_int_equal(claim_as(f->st, "n3", 2000, 1000, &t[1]), STORE_OK);
    assert_string_equal(t[0].id, ids[0]);
    assert_string_equal(t[1].id, ids[2]);
    assert_int_equal(t[0].attempts, 2);
    assert_int_equal(t[1].attempts, 2);
    store_job none;
    assert_int_equal(claim_as(f->st, "n3", 2000, 1000, &none), STORE_NOT_FOUND); /* n2's job is n2's */
    /* the old attempts are fenced off */
    assert_int_equal(store_job_renew(f->st, &j[0], 2100, 1000), STORE_CONFLICT);
    assert_int_equal(store_job_renew(f->st, &j[1], 2100, 1000), STORE_OK);
    assert_int_equal(store_job_release(f->st, "n1", &count), STORE_OK);
    assert_int_equal(count, 1); /* t[0], which n1 holds again */
    assert_int_equal(store_job_release(f->st, "nobody", &count), STORE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(store_job_release(f->st, "n1", NULL), STORE_OK);
    for (int i = 0; i < 3; i++)
        store_job_clear(&j[i]);
    store_job_clear(&t[0]);
    store_job_clear(&t[1]);
}

/* A job that was never claimed, or does not exist, cannot be renewed or staged. */
static void test_fences_on_jobs_never_claimed(void **state)
{
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    store_job j = get_job(f, id);
    strlcpy_ok(j.owner, "n1", sizeof j.owner);
    assert_int_equal(store_job_renew(f->st, &j, 1, 100), STORE_CONFLICT);
    assert_int_equal(store_job_stage(f->st, &j), STORE_CONFLICT);
    strlcpy_ok(j.id, "s-missing", sizeof j.id);
    assert_int_equal(store_job_renew(f->st, &j, 1, 100), STORE_NOT_FOUND);
    store_job_clear(&j);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, id), JOB_SUBMITTED);
}

static double progress_of(fixture *f, const char *id)
{
    store_job j = get_job(f, id);
    store_job_clear(&j);
    return j.progress;
}

/* Progress: 0 until recorded; recorded by the lease holder only, clamped to 0..1, never lowered
 * (a takeover's first windows leave the furthest point shown); the lease itself is not extended;
 * Success makes it 1, Failed and Cancel keep the last value; a job not Running takes none. */
static void test_progress_is_fenced_and_never_goes_down(void **state)
{
    fixture *f = *state;
    char id[40], other[40], queued[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    fx_insert(f->st, &f->qa, 0, 0, other);
    store_job j;
    assert_int_equal(claim_as(f->st, "n1", 1000, 500, &j), STORE_OK);
    assert_string_equal(j.id, id);
    assert_true(j.progress == 0);
    assert_int_equal(store_job_progress(f->st, &j, 0.25), STORE_OK);
    assert_true(progress_of(f, id) == 0.25);
    assert_int_equal(store_job_progress(f->st, &j, 0.125), STORE_OK);   /* lower: kept as it was */
    assert_true(progress_of(f, id) == 0.25);
    assert_int_equal(store_job_progress(f->st, &j, 0.5), STORE_OK);
    store_job got = get_job(f, id);
    assert_true(got.progress == 0.5);
    assert_int_equal(got.lease_until_ms, 1500);   /* not a renewal */
    assert_int_equal(got.state, JOB_RUNNING);
    store_job_clear(&got);
    fx_restart(f);   /* durable */
    assert_true(progress_of(f, id) == 0.5);

    /* taken over: the old owner records nothing; the new one shows 0.5 until it passes it */
    store_job nu;
    assert_int_equal(claim_as(f->st, "n2", 1600, 500, &nu), STORE_OK);
    assert_string_equal(nu.id, id);
    assert_true(nu.progress == 0.5);
    assert_int_equal(store_job_progress(f->st, &j, 0.75), STORE_CONFLICT);
    assert_true(strlen(store_last_error()) > 0);
    assert_true(progress_of(f, id) == 0.5);
    assert_int_equal(store_job_progress(f->st, &nu, 0.1), STORE_OK);
    assert_true(progress_of(f, id) == 0.5);
    assert_int_equal(store_job_progress(f->st, &nu, 0.625), STORE_OK);
    assert_true(progress_of(f, id) == 0.625);
    assert_int_equal(store_job_progress(f->st, &nu, 7), STORE_OK);   /* clamped */
    assert_true(progress_of(f, id) == 1);
    store_job_clear(&j);

    /* Success: 1; Failed keeps the last value */
    fx_succeed(f->st, &nu);
    assert_true(progress_of(f, id) == 1);
    assert_int_equal(store_job_progress(f->st, &nu, 0.5), STORE_CONFLICT);   /* ended */
    store_job_clear(&nu);
    assert_int_equal(claim_as(f->st, "n1", 5000, 500, &j), STORE_OK);
    assert_string_equal(j.id, other);
    assert_int_equal(store_job_progress(f->st, &j, -3), STORE_OK);   /* clamped to 0 */
    assert_true(progress_of(f, other) == 0);
    assert_int_equal(store_job_progress(f->st, &j, 0.375), STORE_OK);
    j.state = JOB_FAILED;
    strlcpy_ok(j.code, "AudioDecodeFailed", sizeof j.code);
    assert_int_equal(store_job_finish(f->st, &j, NULL), STORE_OK);
    assert_true(progress_of(f, other) == 0.375);
    store_job_clear(&j);

    /* a Submitted job (never claimed) or one that does not exist takes no progress */
    fx_insert(f->st, &f->qa, 0, 0, queued);
    j = get_job(f, queued);
    strlcpy_ok(j.owner, "n1", sizeof j.owner);
    assert_int_equal(store_job_progress(f->st, &j, 0.5), STORE_CONFLICT);
    assert_true(progress_of(f, queued) == 0);
    strlcpy_ok(j.id, "s-missing", sizeof j.id);
    assert_int_equal(store_job_progress(f->st, &j, 0.5), STORE_NOT_FOUND);
    store_job_clear(&j);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_leases_and_renew_extends, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_takeover_after_expiry_fences_the_old_owner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_takeover_order_and_paused_queues, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_takeover_keeps_the_staged_result, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_success_without_stage_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_release_hands_a_nodes_jobs_over, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fences_on_jobs_never_claimed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_progress_is_fenced_and_never_goes_down, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
