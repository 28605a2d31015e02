/* test_utf8.c — strict UTF-8 decoding (every length, every malformed form refused), which code
 * points count as Chinese characters, and user text: UTF-8 without control characters, counted in
 * characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/util.h"

static void test_decodes_each_length(void **state)
{
    (void)state;
    struct { const char *s; size_t len; uint32_t cp; } cases[] = {
        {"A", 1, 0x41}, {"\x7f", 1, 0x7f}, {"é", 2, 0xe9}, {"\xdf\xbf", 2, 0x7ff}, {"腾", 3, 0x817e},
        {"\xef\xbf\xbf", 3, 0xffff}, {"😀", 4, 0x1f600}, {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        assert_int_equal(utf8_decode_strict(cases[i].s, strlen(cases[i].s), &cp), cases[i].len);
        assert_int_equal(cp, cases[i].cp);
    }
    uint32_t cp = 0;
    assert_int_equal(utf8_decode_strict("ab", 2, &cp), 1);   /* one code point at a time */
    assert_int_equal(cp, 'a');
}

static void test_refuses_malformed_sequences(void **state)
{
    (void)state;
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* lead beyond the range */
        "\xe8\x85",         /* truncated */
        "\xe8\x41\x41",     /* not a continuation */
        "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp = 12345;
        assert_int_equal(utf8_decode_strict(bad[i], strlen(bad[i]), &cp), 0);
        assert_int_equal(cp, 12345);
    }
    uint32_t cp;
    assert_int_equal(utf8_decode_strict("腾", 2, &cp), 0);   /* n cuts the sequence short */
    assert_int_equal(utf8_decode_strict("", 0, &cp), 0);
}

static void test_han_characters(void **state)
{
    (void)state;
    const char *han = "腾讯云语音识别㐀豈𠀀";
    size_t n = strlen(han), at = 0, count = 0;
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(han + at, n - at, &cp);
        assert_true(len > 0);
        assert_true(utf8_is_han(cp));
        at += len;
        count++;
    }
    assert_int_equal(count, 10);
    uint32_t not_han[] = {'a', 0xe9, 0x3002 /* 。 */, 0xff0c /* ， */, 0x3042 /* あ */, 0xac00 /* 가 */, 0x1f600};
    for (size_t i = 0; i < sizeof not_han / sizeof not_han[0]; i++)
        assert_false(utf8_is_han(not_han[i]));
}

/* User text (UserData): UTF-8 without control characters, counted in code points. */
static void test_user_text(void **state)
{
    (void)state;
    size_t chars = 99, bad = 99;
    bool malformed = true;
    const char *ok = "a&<>\"' 腾讯 😀 é\xc2\xa0";   /* NBSP (U+00A0) is the first character after C1 */
    assert_true(utf8_text_valid(ok, strlen(ok), &chars, &bad, &malformed));
    assert_int_equal(chars, 14);
    assert_int_equal(bad, 99);   /* untouched on success */
    assert_true(utf8_text_valid("", 0, &chars, &bad, &malformed));
    assert_int_equal(chars, 0);
    struct { const char *s; size_t n, chars, bad; bool malformed; } cases[] = {
        {"ab\tc", 4, 2, 2, false},          /* tab */
        {"腾\n", 4, 1, 3, false},           /* line feed after a 3-byte character */
        {"x\r", 2, 1, 1, false},
        {"\x7f", 1, 0, 0, false},           /* DEL */
        {"a\xc2\x85", 3, 1, 1, false},      /* NEL, a C1 control */
        {"a\xc2\x9f", 3, 1, 1, false},      /* the last C1 control */
        {"ab\0c", 4, 2, 2, false},          /* NUL inside the counted length */
        {"a\xff", 2, 1, 1, true},
        {"a\xe8\x85", 3, 1, 1, true},       /* truncated */
        {"\xc0\xaf", 2, 0, 0, true},        /* overlong '/' */
        {"\xed\xa0\x80", 3, 0, 0, true},    /* a surrogate */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_false(utf8_text_valid(cases[i].s, cases[i].n, &chars, &bad, &malformed));
        assert_int_equal(chars, cases[i].chars);
        assert_int_equal(bad, cases[i].bad);
        assert_int_equal(malformed, cases[i].malformed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_each_length),
        cmocka_unit_test(test_refuses_malformed_sequences),
        cmocka_unit_test(test_han_characters),
        cmocka_unit_test(test_user_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
