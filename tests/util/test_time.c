/* test_time.c — API time format (server-local offset), lenient parsing, result-line offsets. The
 * process time zone is pinned with POSIX TZ strings so results do not depend on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

/* 2020-08-20T09:43:01Z */
#define T_SAMPLE_MS 1597916581000LL

static void use_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = -1;
    if (!time_parse(s, &ms))
        fail_msg("time_parse rejected \"%s\"", s);
    return ms;
}

static void test_format_in_local_offset(void **state)
{
    (void)state;
    use_tz("CST-8");
    char out[TIME_FMT_LEN];
    time_format(T_SAMPLE_MS, out);
    assert_string_equal(out, "2020-08-20T17:43:01+0800");
    time_format(T_SAMPLE_MS + 999, out);
    assert_string_equal(out, "2020-08-20T17:43:01+0800");
    use_tz("UTC0");
    time_format(T_SAMPLE_MS, out);
    assert_string_equal(out, "2020-08-20T09:43:01+0000");
    use_tz("EST5EDT,M3.2.0,M11.1.0");
    time_format(T_SAMPLE_MS, out);
    assert_string_equal(out, "2020-08-20T05:43:01-0400");
    time_format(1579513381000LL, out); /* 2020-01-20T09:43:01Z, no DST */
    assert_string_equal(out, "2020-01-20T04:43:01-0500");
}

/* Lord Howe Island's DST moves the clock by 30 minutes, at 15:30 UTC: a time after the change in
 * the same UTC hour as one before it gets the new offset (the offset cache once held per hour). */
static void test_format_half_hour_transition(void **state)
{
    (void)state;
    use_tz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    char out[TIME_FMT_LEN];
    time_format(1791040200000LL, out); /* 2026-10-03T15:10:00Z */
    assert_string_equal(out, "2026-10-04T01:40:00+1030");
    time_format(1791042300000LL, out); /* 2026-10-03T15:45:00Z, in the same thread */
    assert_string_equal(out, "2026-10-04T02:45:00+1100");
}

static void test_format_unset_is_dash(void **state)
{
    (void)state;
    char out[TIME_FMT_LEN];
    time_format(0, out);
    assert_string_equal(out, "-");
    time_format(-5000, out);
    assert_string_equal(out, "-");
}

static void test_parse_offset_forms(void **state)
{
    (void)state;
    use_tz("CST-8");
    assert_int_equal(parse_ok("2020-08-20T17:43:01+0800"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20T17:43:01+08:00"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20T17:43:01+08"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20T09:43:01Z"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20t09:43:01z"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20T05:43:01-04:00"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20 17:43:01+0800"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20 17:43:01 +0800"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("  2020-08-20T09:43:01Z \n"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20T09:43:01.250Z"), T_SAMPLE_MS + 250);
    assert_int_equal(parse_ok("2020-08-20T09:43:01.123456Z"), T_SAMPLE_MS + 123);
    assert_int_equal(parse_ok("2020-08-20T09:43Z"), T_SAMPLE_MS - 1000);
}

static void test_parse_without_offset_is_local(void **state)
{
    (void)state;
    use_tz("CST-8");
    assert_int_equal(parse_ok("2020-08-20T17:43:01"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20 17:43:01"), T_SAMPLE_MS);
    assert_int_equal(parse_ok("2020-08-20"), T_SAMPLE_MS - (17 * 3600 + 43 * 60 + 1) * 1000LL);
    use_tz("UTC0");
    assert_int_equal(parse_ok("2020-08-20T09:43:01"), T_SAMPLE_MS);
}

/* The Python SDK's example formats "%Y-%m-%dT%H:%m:%S%z": the minutes field holds the month. Such a
 * string is a valid time as written and is taken at face value. */
static void test_parse_python_month_in_minutes_slip(void **state)
{
    (void)state;
    use_tz("CST-8");
    /* 2020-08-20 17:43:01 printed with the slip reads 17:08:01 */
    assert_int_equal(parse_ok("2020-08-20T17:08:01+0800"), T_SAMPLE_MS - 35 * 60 * 1000LL);
    /* December: minutes 12; naive datetime: %z prints nothing -> local */
    assert_int_equal(parse_ok("2020-12-01T00:12:00"), parse_ok("2020-11-30T16:12:00Z"));
    /* the list-jobs query strings captured from the SDKs */
    assert_int_equal(parse_ok("2020-08-20T00:00:00+0800"), parse_ok("2020-08-19T16:00:00Z"));
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "   ", "garbage", "2020", "2020-08", "2020-8-20T00:00:00Z", "20200820T000000Z",
        "2020-13-01T00:00:00Z", "2020-00-10T00:00:00Z", "2020-02-30T00:00:00Z",
        "2021-02-29T00:00:00Z", "2020-08-32T00:00:00Z", "2020-08-20T24:00:00Z",
        "2020-08-20T17:60:00Z", "2020-08-20T17:43:61Z", "2020-08-20T17:43:01+0800x",
        "2020-08-20T17:43:01+2500", "2020-08-20T17:43:01+08:75", "2020-08-20T17:43:01.Z",
        "2020-08-20T17", "2020-08-20T", "+020-08-20T00:00:00Z", "2020-08-20X17:43:01Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 12345;
        if (time_parse(bad[i], &ms))
            fail_msg("time_parse accepted \"%s\" as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 12345);
    }
    int64_t ms;
    assert_false(time_parse(NULL, &ms));
    assert_true(time_parse("2020-02-29T00:00:00Z", &ms)); /* leap day */
    assert_true(time_parse("2000-02-29T00:00:00Z", &ms));
}

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    static const char *zones[] = {"CST-8", "UTC0", "EST5EDT,M3.2.0,M11.1.0", "IST-5:30"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        use_tz(zones[z]);
        for (int64_t ms = 1000; ms < 4102444800000LL; ms += 86400000LL * 37 + 3601234) {
            char out[TIME_FMT_LEN];
            time_format(ms, out);
            int64_t back = 0;
            if (!time_parse(out, &back))
                fail_msg("TZ=%s: could not parse back \"%s\"", zones[z], out);
            assert_int_equal(back, ms / 1000 * 1000);
        }
    }
}

static void test_offset_format(void **state)
{
    (void)state;
    char out[32];
    struct { int64_t ms; const char *want; } cases[] = {
        {0, "0:0.000"},       {30080, "0:30.080"},   {61500, "1:1.500"},
        {59999, "0:59.999"},  {60000, "1:0.000"},    {3600000, "60:0.000"},
        {7, "0:0.007"},       {-20, "0:0.000"},      {6000123, "100:0.123"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        time_format_offset(cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = time_now_ms();
    assert_true(now > 1600000000000LL);
    assert_true(llabs(now / 1000 - (int64_t)time(NULL)) <= 1);
    int64_t a = time_mono_ms();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t b = time_mono_ms();
    assert_true(b - a >= 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_in_local_offset),
        cmocka_unit_test(test_format_half_hour_transition),
        cmocka_unit_test(test_format_unset_is_dash),
        cmocka_unit_test(test_parse_offset_forms),
        cmocka_unit_test(test_parse_without_offset_is_local),
        cmocka_unit_test(test_parse_python_month_in_minutes_slip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_offset_format),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
