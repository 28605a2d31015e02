/* test_base64.c — base64_decode: the RFC 4648 test vectors, padding optional but only at the end,
 * whitespace anywhere, and every malformed form refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/util.h"

/* Decodes in; asserts it succeeds with want (want_len bytes). */
static void assert_decodes(const char *in, const char *want, size_t want_len)
{
    buf out;
    buf_init(&out);
    if (!base64_decode(in, &out))
        fail_msg("\"%s\" refused", in);
    assert_int_equal(out.len, want_len);
    if (want_len)
        assert_memory_equal(out.data, want, want_len);
    buf_free(&out);
}

static void assert_refused(const char *in)
{
    buf out;
    buf_init(&out);
    if (base64_decode(in, &out))
        fail_msg("\"%s\" accepted", in);
    buf_free(&out);
}

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    const char *vectors[][2] = {
        {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        assert_decodes(vectors[i][0], vectors[i][1], strlen(vectors[i][1]));
}

static void test_padding_optional(void **state)
{
    (void)state;
    assert_decodes("Zg", "f", 1);
    assert_decodes("Zm8", "fo", 2);
    assert_decodes("Zm9vYg", "foob", 4);
}

static void test_whole_alphabet_and_binary(void **state)
{
    (void)state;
    assert_decodes("+/+/", "\xfb\xff\xbf", 3);
    assert_decodes("AAEC/w==", "\x00\x01\x02\xff", 4);
    assert_decodes("YWxwaGF8NQo=", "alpha|5\n", 8);
    assert_decodes("5YWz6ZSu6K+NfDEx", "关键词|11", 12);
}

static void test_whitespace_skipped(void **state)
{
    (void)state;
    assert_decodes(" Zm9v\r\nYmFy\n", "foobar", 6);
    assert_decodes("Z m 9 v\tY g = =", "foob", 4);
    assert_decodes("Zm8=\n", "fo", 2);
    assert_decodes(" \n\t", "", 0);
}

static void test_unused_bits_not_checked(void **state)
{
    (void)state;
    assert_decodes("Zh==", "f", 1);   /* non-canonical: the low 4 bits of 'h' are dropped */
    assert_decodes("Zm9=", "fo", 2);
}

static void test_bad_padding_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "=", "==", "Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v====", "YWJj=ZGVm", "Zg==Zg==", "Z===",
        "Zm=9v",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(bad[i]);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "not*base64!", "Zm9v-YmFy", "Zm9v_YmFy", "Zm9v.", "Z",        /* url-safe alphabet, a dangling digit */
        "Zm9vY", "\xc3\xa9", "Zm9v\fYmFy", "Zm9v\vYmFy",   /* form feed and VT are not skipped */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(bad[i]);
}

static void test_appends(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    buf_puts(&out, "x");
    assert_true(base64_decode("eQ==", &out));
    assert_string_equal(out.data, "xy");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_padding_optional),
        cmocka_unit_test(test_whole_alphabet_and_binary),
        cmocka_unit_test(test_whitespace_skipped),
        cmocka_unit_test(test_unused_bits_not_checked),
        cmocka_unit_test(test_bad_padding_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
