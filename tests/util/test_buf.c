/* test_buf.c — growable buffer and memory helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void test_empty_buffer_steals_empty_string(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    char *s = buf_steal(&b);
    assert_string_equal(s, "");
    assert_null(b.data);
    free(s);
}

static void test_append_puts_putc_printf(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    buf_puts(&b, "abc");
    buf_putc(&b, '-');
    buf_append(&b, "xyz123", 3);
    buf_printf(&b, "[%d|%s|%05.1f]", 42, "s", 3.14159);
    assert_string_equal(b.data, "abc-xyz[42|s|003.1]");
    assert_int_equal(b.len, strlen("abc-xyz[42|s|003.1]"));
    buf_free(&b);
    assert_null(b.data);
}

static void test_binary_data_and_growth(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    for (int i = 0; i < 100000; i++) {
        char c = (char)(i % 256);
        buf_append(&b, &c, 1);
    }
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    for (int i = 0; i < 100000; i++)
        assert_int_equal((unsigned char)b.data[i], i % 256);
    buf_free(&b);
}

static void test_printf_long_output(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_puts(&b, "<");
    buf_printf(&b, "%s>%s", big, big);
    assert_int_equal(b.len, 1 + 4999 + 1 + 4999);
    assert_int_equal(b.data[5000], '>');
    assert_int_equal(b.data[b.len - 1], 'q');
    buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    buf_puts(&b, "hello world");
    char *before = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    buf_puts(&b, "x");
    assert_string_equal(b.data, "x");
    char *s = buf_steal(&b);
    assert_string_equal(s, "x");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_string_helpers(void **state)
{
    (void)state;
    char *d = xstrdup("hello");
    assert_string_equal(d, "hello");
    free(d);
    d = xstrndup("hello", 3);
    assert_string_equal(d, "hel");
    free(d);
    d = xstrndup("hi", 10);
    assert_string_equal(d, "hi");
    free(d);

    char small[4];
    assert_false(strlcpy_ok(small, "abcdef", sizeof small));
    assert_string_equal(small, "abc");
    assert_true(strlcpy_ok(small, "abc", sizeof small));
    assert_string_equal(small, "abc");
    assert_false(strlcpy_ok(small, "a", 0));

    int *z = xcalloc(16, sizeof(int));
    for (int i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    z = xrealloc(z, 1024 * sizeof(int));
    z[1023] = 7;
    assert_int_equal(z[0], 0);
    free(z);
    free(xmalloc(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buffer_steals_empty_string),
        cmocka_unit_test(test_append_puts_putc_printf),
        cmocka_unit_test(test_binary_data_and_growth),
        cmocka_unit_test(test_printf_long_output),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_string_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
