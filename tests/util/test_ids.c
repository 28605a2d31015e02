/* test_ids.c — random ids: shape, prefix, validation, uniqueness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void test_shapes(void **state)
{
    (void)state;
    char job[ID_JOB_LEN + 1], queue[ID_QUEUE_LEN + 1], tpl[ID_TEMPLATE_LEN + 1];
    ids_new(job, "s");
    ids_new(queue, "p");
    ids_new(tpl, "t1");
    assert_int_equal(strlen(job), ID_JOB_LEN);
    assert_int_equal(strlen(queue), ID_QUEUE_LEN);
    assert_int_equal(strlen(tpl), ID_TEMPLATE_LEN);
    assert_int_equal(job[0], 's');
    assert_int_equal(queue[0], 'p');
    assert_memory_equal(tpl, "t1", 2);
    assert_true(ids_valid(job, "s"));
    assert_true(ids_valid(queue, "p"));
    assert_true(ids_valid(tpl, "t1"));
    assert_false(ids_valid(job, "p"));
    assert_false(ids_valid(tpl, "s"));
    for (size_t i = 1; i < ID_JOB_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", job[i]));
}

static void test_random_hex_lengths(void **state)
{
    (void)state;
    char out[300];
    for (size_t n = 0; n < 260; n += 7) {
        memset(out, 'Z', sizeof out);
        ids_random_hex(out, n);
        assert_int_equal(strlen(out), n);
        for (size_t i = 0; i < n; i++)
            assert_non_null(strchr("0123456789abcdef", out[i]));
    }
}

static void test_validation_rejects(void **state)
{
    (void)state;
    assert_true(ids_valid("s0123456789abcdef0123456789abcdef", "s"));
    assert_false(ids_valid("s0123456789ABCDEF0123456789abcdef", "s")); /* upper case */
    assert_false(ids_valid("s0123456789abcdef0123456789abcde", "s"));  /* 31 hex */
    assert_false(ids_valid("s0123456789abcdef0123456789abcdef0", "s")); /* 33 hex */
    assert_false(ids_valid("s0123456789abcdef0123456789abcdeg", "s"));
    assert_false(ids_valid("s0980xxxxxxxxxxxxxxxxff12", "s"));
    assert_false(ids_valid("", "s"));
    assert_false(ids_valid(NULL, "s"));
    assert_false(ids_valid("t0123456789abcdef0123456789abcdef", "t1"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_unique(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*ids)[ID_JOB_LEN + 1] = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++)
        ids_new(ids[i], "s");
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Request ids: 32 hex, all distinct, and no counter showing through (consecutive ids share no
 * prefix half, unlike the "random prefix + counter" ids they replaced). */
static void test_request_ids(void **state)
{
    (void)state;
    enum { N = 20000 };
    char (*ids)[33] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    int same_half = 0;
    for (int i = 0; i < N; i++) {
        ids_request(ids[i]);
        assert_int_equal(strlen(ids[i]), 32);
        assert_true(ids_valid(ids[i], ""));
        if (i > 0 && memcmp(ids[i], ids[i - 1], 16) == 0)
            same_half++;
    }
    assert_int_equal(same_half, 0);
    qsort(ids, N, sizeof *ids, cmp_id);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i], ids[i - 1]);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_random_hex_lengths),
        cmocka_unit_test(test_validation_rejects),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_request_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
