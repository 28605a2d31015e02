/* test_render.c — JobsDetail as the API and the callbacks write it, on jobs built by hand: the
 * Progress element (this server's addition) sits right after EndTime with three decimals — 0.000
 * while Submitted, the recorded value while Running (never 1.000 before Success), 1.000 on
 * Success, the last value for Failed and Cancel — and JSON callbacks carry it as a string leaf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/util.h"

static void job_in(store_job *j, job_state state, double progress)
{
    store_job_init(j);
    strlcpy_ok(j->id, "s0123456789abcdef0123456789abcdef", sizeof j->id);
    strlcpy_ok(j->bucket, "examplebucket-1250000000", sizeof j->bucket);
    strlcpy_ok(j->queue_id, "p0123456789abcdef0123456789abcdef", sizeof j->queue_id);
    strlcpy_ok(j->input_object, "in/a.wav", sizeof j->input_object);
    strlcpy_ok(j->params.engine_model_type, "16k_en", sizeof j->params.engine_model_type);
    j->state = state;
    j->progress = progress;
    j->create_ms = 1700000000000;
}

/* The JobsDetail of a describe answer, as XML (heap). */
static char *job_xml(const store_job *j)
{
    buf b;
    buf_init(&b);
    xml_writer w = {&b};
    xw_open(&w, "Response");
    tree_out *t = tree_xml(&w);
    render_job(t, j, "ap-chongqing");
    tree_free(t);
    xw_close(&w, "Response");
    return buf_steal(&b);
}

/* The text of <Progress> in the XML, and that it comes right after </EndTime>. */
static void assert_progress(const store_job *j, const char *want)
{
    char *xml = job_xml(j);
    char expect[64];
    snprintf(expect, sizeof expect, "</EndTime><Progress>%s</Progress><QueueId>", want);
    if (!strstr(xml, expect))
        fail_msg("%s not in %s", expect, xml);
    const char *first = strstr(xml, "<Progress>");
    assert_ptr_equal(first, strstr(xml, expect) + strlen("</EndTime>"));
    assert_null(strstr(first + 1, "<Progress>"));   /* once, directly in JobsDetail */
    free(xml);
}

static void test_progress_by_state(void **state)
{
    (void)state;
    store_job j;
    job_in(&j, JOB_SUBMITTED, 0);
    assert_progress(&j, "0.000");
    job_in(&j, JOB_SUBMITTED, 0.5);   /* whatever the row says, a waiting job has done nothing */
    assert_progress(&j, "0.000");
    job_in(&j, JOB_RUNNING, 0);
    assert_progress(&j, "0.000");
    job_in(&j, JOB_RUNNING, 0.4567);
    assert_progress(&j, "0.457");
    job_in(&j, JOB_RUNNING, 0.99);
    assert_progress(&j, "0.990");
    job_in(&j, JOB_RUNNING, 0.9999);   /* 1.000 is for Success alone */
    assert_progress(&j, "0.999");
    job_in(&j, JOB_RUNNING, NAN);
    assert_progress(&j, "0.000");
    job_in(&j, JOB_SUCCESS, 1);
    assert_progress(&j, "1.000");
    job_in(&j, JOB_SUCCESS, 0);   /* a row from before progress was kept */
    assert_progress(&j, "1.000");
    job_in(&j, JOB_FAILED, 0.25);
    strlcpy_ok(j.code, "AudioDecodeFailed", sizeof j.code);
    assert_progress(&j, "0.250");
    job_in(&j, JOB_CANCEL, 0);
    assert_progress(&j, "0.000");
}

static void test_callbacks_carry_progress(void **state)
{
    (void)state;
    store_job j;
    job_in(&j, JOB_SUCCESS, 1);
    j.end_ms = j.create_ms + 5000;
    j.result = xstrdup("[0:0.000,0:1.000]  hello");
    const char *ctype;
    char *xml = render_callback(&j, "ap-chongqing", false, &ctype);
    assert_string_equal(ctype, "application/xml");
    assert_non_null(strstr(xml, "</EndTime><Progress>1.000</Progress><QueueId>"));
    free(xml);
    char *body = render_callback(&j, "ap-chongqing", true, &ctype);
    assert_string_equal(ctype, "application/json");
    json_t *o = json_loads(body, 0, NULL);
    assert_non_null(o);
    json_t *p = json_object_get(json_object_get(o, "JobsDetail"), "Progress");
    assert_true(json_is_string(p));   /* every leaf a string, as XML-to-JSON gives */
    assert_string_equal(json_string_value(p), "1.000");
    json_decref(o);
    free(body);
    store_job_clear(&j);

    job_in(&j, JOB_FAILED, 0.6);
    body = render_callback(&j, "ap-chongqing", true, &ctype);
    o = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "JobsDetail"), "Progress")), "0.600");
    json_decref(o);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_by_state),
        cmocka_unit_test(test_callbacks_carry_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
