/* test_url.c — percent-decoding: escapes in either case, "%00" kept and reported, broken escapes
 * kept as they are, and decoding undoes auth's RFC 3986 encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/util.h"

static void test_cases(void **state)
{
    (void)state;
    static const struct { const char *in, *out; bool nul; } cases[] = {
        {"", "", false},
        {"plain", "plain", false},
        {"a%20b", "a b", false},
        {"%e8%85%BE", "\xe8\x85\xbe", false},
        {"a+b", "a+b", false},
        {"%", "%", false},
        {"%4", "%4", false},
        {"%4g%41", "%4gA", false},
        {"%%41", "%A", false},
        {"%2541", "%41", false},          /* decoded once only */
        {"a%00b", "a%00b", true},
        {"%00%00", "%00%00", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[64];
        strcpy(s, cases[i].in);
        bool nul = false;
        size_t n = url_unescape(s, &nul);
        assert_string_equal(s, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        assert_int_equal(nul, cases[i].nul);
    }
    char s[] = "%00";
    assert_int_equal(url_unescape(s, NULL), 3);   /* no report wanted */
}

/* comma_next yields each item without its spaces, skipping empty ones; comma_append rebuilds a list
 * and refuses, unchanged, what does not fit. */
static void test_comma_list(void **state)
{
    (void)state;
    const char *p = " a, b c ,,  ,d,", *item;
    size_t k;
    const char *want[] = {"a", "b c", "d"};
    char out[8];
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        assert_true(comma_next(&p, &item, &k));
        assert_int_equal(k, strlen(want[i]));
        assert_memory_equal(item, want[i], k);
        assert_true(comma_append(out, &used, sizeof out, item, k));
    }
    assert_false(comma_next(&p, &item, &k));
    assert_false(comma_next(&p, &item, &k));
    assert_string_equal(out, "a,b c,d");
    assert_int_equal(used, 7);
    assert_false(comma_append(out, &used, sizeof out, "e", 1));   /* "a,b c,d,e" needs 10 bytes */
    assert_string_equal(out, "a,b c,d");
    assert_int_equal(used, 7);
    const char *empty = " , ,";
    assert_false(comma_next(&empty, &item, &k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cases), cmocka_unit_test(test_comma_list)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
