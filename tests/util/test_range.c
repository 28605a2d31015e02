/* test_range.c — the Range header against an object's size: each RFC 9110 form, what is ignored
 * (the whole object is sent) and what is unsatisfiable (416), pinned to what the object store has
 * always answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/util.h"

typedef struct range_case {
    const char *header;
    int64_t size;
    range_result want;
    int64_t off, len;   /* when want is RANGE_OK */
} range_case;

static void check_cases(const range_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t off = -7, len = -7;
        range_result got = range_parse(cases[i].header, cases[i].size, &off, &len);
        if (got != cases[i].want)
            fail_msg("\"%s\" of %lld: got %d, want %d", cases[i].header ? cases[i].header : "(null)",
                     (long long)cases[i].size, got, cases[i].want);
        if (got == RANGE_OK) {
            assert_int_equal(off, cases[i].off);
            assert_int_equal(len, cases[i].len);
        } else {
            assert_int_equal(off, -7);   /* untouched */
            assert_int_equal(len, -7);
        }
    }
}

#define CHECK(cases) check_cases(cases, sizeof cases / sizeof cases[0])

static void test_rfc_forms(void **state)
{
    (void)state;
    const range_case cases[] = {
        {"bytes=0-499", 10000, RANGE_OK, 0, 500},
        {"bytes=500-999", 10000, RANGE_OK, 500, 500},
        {"bytes=9500-", 10000, RANGE_OK, 9500, 500},
        {"bytes=-500", 10000, RANGE_OK, 9500, 500},
        {"bytes=0-0", 1, RANGE_OK, 0, 1},
        {"bytes=-1", 1, RANGE_OK, 0, 1},
        {"bytes=0-", 1, RANGE_OK, 0, 1},
        {"bytes=7-7", 10, RANGE_OK, 7, 1},
    };
    CHECK(cases);
}

static void test_clipped_to_size(void **state)
{
    (void)state;
    const range_case cases[] = {
        {"bytes=0-999", 100, RANGE_OK, 0, 100},      /* last position past the end */
        {"bytes=-500", 100, RANGE_OK, 0, 100},       /* suffix longer than the object */
        {"bytes=-100", 100, RANGE_OK, 0, 100},
        {"bytes=90-99999999999999999999", 100, RANGE_OK, 90, 10},   /* overflow saturates: to the end */
        {"bytes=-99999999999999999999", 100, RANGE_OK, 0, 100},
        {"bytes=0-9223372036854775807", 100, RANGE_OK, 0, 100},
    };
    CHECK(cases);
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    const range_case cases[] = {
        {"bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0},    /* first position at the end */
        {"bytes=200-300", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=5-4", 100, RANGE_UNSATISFIABLE, 0, 0},     /* a > b */
        {"bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0},      /* empty suffix */
        {"bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0},        /* nothing to select in an empty object */
        {"bytes=-5", 0, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=99999999999999999999-", 100, RANGE_UNSATISFIABLE, 0, 0},   /* saturates to INT64_MAX */
        {"bytes=9223372036854775807-", INT64_MAX, RANGE_UNSATISFIABLE, 0, 0},
        /* today's answers for malformed suffixes: unsatisfiable rather than ignored */
        {"bytes=-", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=--5", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5x", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5 ", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5-6", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-1-5", 100, RANGE_UNSATISFIABLE, 0, 0},
        {"bytes= -5-6", 100, RANGE_UNSATISFIABLE, 0, 0},   /* strtoll reads " -5": a < 0 */
        {"bytes=5--6", 100, RANGE_UNSATISFIABLE, 0, 0},    /* b = -6 < a */
    };
    CHECK(cases);
}

static void test_ignored(void **state)
{
    (void)state;
    const range_case cases[] = {
        {NULL, 100, RANGE_NONE, 0, 0},
        {"", 100, RANGE_NONE, 0, 0},
        {"bytes=", 100, RANGE_NONE, 0, 0},
        {"items=0-5", 100, RANGE_NONE, 0, 0},          /* another unit */
        {"Bytes=0-5", 100, RANGE_NONE, 0, 0},          /* the unit is matched case-sensitively */
        {"bytes =0-5", 100, RANGE_NONE, 0, 0},
        {"bytes=0-5,10-20", 100, RANGE_NONE, 0, 0},    /* multi-range: the whole object, as S3 does */
        {"bytes=-5,-1", 100, RANGE_NONE, 0, 0},
        {"bytes=0-5, 200-300", 100, RANGE_NONE, 0, 0},
        {"bytes=a-5", 100, RANGE_NONE, 0, 0},
        {"bytes=5", 100, RANGE_NONE, 0, 0},
        {"bytes=5-x", 100, RANGE_NONE, 0, 0},
        {"bytes=0-5 ", 100, RANGE_NONE, 0, 0},         /* trailing whitespace */
        {"bytes=0 -5", 100, RANGE_NONE, 0, 0},
    };
    CHECK(cases);
}

static void test_whitespace_and_signs(void **state)
{
    (void)state;
    /* strtoll skips leading whitespace and takes a sign before each number */
    const range_case cases[] = {
        {"bytes= 5-10", 100, RANGE_OK, 5, 6},
        {"bytes=5- 10", 100, RANGE_OK, 5, 6},
        {"bytes=+5-+10", 100, RANGE_OK, 5, 6},
        {"bytes=- 5", 100, RANGE_OK, 95, 5},
        {"bytes=\t0-1", 100, RANGE_OK, 0, 2},
    };
    CHECK(cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_forms),
        cmocka_unit_test(test_clipped_to_size),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_ignored),
        cmocka_unit_test(test_whitespace_and_signs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
