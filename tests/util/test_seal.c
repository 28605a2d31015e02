/* test_seal.c — sealed page tokens: a round trip for edge values, a fresh nonce per token, and no
 * token opening under another key, another context, or with any one of its digits changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/util.h"

static void test_round_trip(void **state)
{
    (void)state;
    seal_key k;
    seal_key_random(&k);
    const uint64_t values[] = {0, 1, 255, 256, 1ULL << 32, INT64_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char tok[SEAL_TOKEN_LEN + 1], again[SEAL_TOKEN_LEN + 1];
        seal_u64(&k, "bucket-1250000000", values[i], tok);
        assert_int_equal(strlen(tok), SEAL_TOKEN_LEN);
        seal_u64(&k, "bucket-1250000000", values[i], again);
        assert_string_not_equal(tok, again);   /* random nonce: equal positions look different */
        uint64_t v = 12345;
        assert_true(unseal_u64(&k, "bucket-1250000000", tok, &v));
        assert_true(v == values[i]);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    seal_key k, other;
    seal_key_random(&k);
    seal_key_random(&other);
    char tok[SEAL_TOKEN_LEN + 1];
    seal_u64(&k, "a-1250000000", 42, tok);
    uint64_t v = 0;
    assert_false(unseal_u64(&other, "a-1250000000", tok, &v));
    assert_false(unseal_u64(&k, "b-1250000000", tok, &v));
    assert_false(unseal_u64(&k, "", tok, &v));
    for (size_t i = 0; i < SEAL_TOKEN_LEN; i++) {   /* every digit is covered by the tag */
        char bad[SEAL_TOKEN_LEN + 1];
        memcpy(bad, tok, sizeof bad);
        bad[i] = bad[i] == '0' ? '1' : '0';
        assert_false(unseal_u64(&k, "a-1250000000", bad, &v));
    }
    const char *shapes[] = {NULL, "", "42", "zz", "0000000000000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        assert_false(unseal_u64(&k, "a-1250000000", shapes[i], &v));
    char upper[SEAL_TOKEN_LEN + 1];
    for (size_t i = 0; i <= SEAL_TOKEN_LEN; i++)
        upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'f' ? tok[i] - 32 : tok[i]);
    assert_true(unseal_u64(&k, "a-1250000000", upper, &v));   /* hex digits in either case */
    assert_true(v == 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
