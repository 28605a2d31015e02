/* test_xml_write.c — exact output of the writer, escaping of markup and of characters XML 1.0
 * forbids, and write-then-parse round trips (the parser is the real one, not a mock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "xml/xml.h"

static char *escaped(const char *s)
{
    buf b;
    buf_init(&b);
    xml_escape(&b, s);
    return buf_steal(&b);
}

static void expect_escape(const char *in, const char *want)
{
    char *got = escaped(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_decl_and_elements_exact(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    xml_writer w = {.out = &b};
    xw_decl(&w);
    assert_string_equal(b.data, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    xw_open(&w, "Response");
    xw_text_elem(&w, "Code", "Success");
    xw_text_elem(&w, "Message", NULL);
    xw_text_elem(&w, "UserData", "a<b>&\"c'");
    xw_int_elem(&w, "TotalCount", 0);
    xw_int_elem(&w, "Big", -9007199254740993LL);
    xw_fmt_elem(&w, "AudioTime", "%.2f", 30.12);
    xw_fmt_elem(&w, "Result", "[%s]  %s", "0:0.000,0:30.080", "x<y");
    xw_close(&w, "Response");
    assert_string_equal(b.data,
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Response><Code>Success</Code>"
                        "<Message></Message><UserData>a&lt;b&gt;&amp;&quot;c&apos;</UserData>"
                        "<TotalCount>0</TotalCount><Big>-9007199254740993</Big>"
                        "<AudioTime>30.12</AudioTime><Result>[0:0.000,0:30.080]  x&lt;y</Result>"
                        "</Response>");
    buf_free(&b);
}

static void test_escape_markup(void **state)
{
    (void)state;
    expect_escape("", "");
    expect_escape("plain", "plain");
    expect_escape("&", "&amp;");
    expect_escape("<>", "&lt;&gt;");
    expect_escape("\"'", "&quot;&apos;");
    expect_escape("&amp;", "&amp;amp;");
    expect_escape("]]>", "]]&gt;");
    expect_escape("tab\tnl\ncr\r", "tab\tnl\ncr&#13;");
    buf b;
    buf_init(&b);
    xml_escape(&b, NULL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_escape_drops_forbidden_characters(void **state)
{
    (void)state;
    expect_escape("\x01" "a\x08" "b\x0b" "c\x0c" "d\x1f" "e\x1b[0m", "abcde[0m");
    expect_escape("中文 😀 é", "中文 😀 é");           /* valid UTF-8 kept */
    expect_escape("\x7f\xc2\x85", "\x7f\xc2\x85");        /* DEL and C1 are legal XML 1.0 */
    expect_escape("a\xffz", "az");                        /* stray byte */
    expect_escape("a\xc3z", "az");                        /* truncated sequence */
    expect_escape("a\xc0\xafz", "az");                    /* overlong '/' */
    expect_escape("a\xed\xa0\x80z", "az");                /* UTF-16 surrogate */
    expect_escape("a\xef\xbf\xbez\xef\xbf\xbf", "az");    /* U+FFFE, U+FFFF */
    expect_escape("a\xf4\x90\x80\x80z", "az");            /* above U+10FFFF */
    expect_escape("\xef\xbf\xbd", "\xef\xbf\xbd");        /* U+FFFD is fine */
    expect_escape("\xf0\x9f\x98", "");                    /* truncated at end of string */
}

/* Writes <R><T>text</T></R>, parses it back and returns T's text (caller frees). */
static char *round_trip(const char *text)
{
    buf b;
    buf_init(&b);
    xml_writer w = {.out = &b};
    xw_decl(&w);
    xw_open(&w, "R");
    xw_text_elem(&w, "T", text);
    xw_close(&w, "R");
    char err[200];
    xml_node *r = xml_parse(b.data, b.len, NULL, err, sizeof err);
    if (!r)
        fail_msg("writer produced unparsable XML (%s): %s", err, b.data);
    char *out = xstrdup(xml_path_text(r, "T"));
    xml_free(r);
    buf_free(&b);
    return out;
}

static void test_round_trip_fixed(void **state)
{
    (void)state;
    static const char *texts[] = {
        "a&b<c>d\"e'f", "&amp;&lt;", "<![CDATA[x]]>", "line1\nline2\ttab", "cr\r\nlf",
        "这是一条语音测试信息", "emoji 😀 mixed", "in/a b+c%20.mp3?x=1&y=2", "]]>",
        "printable !#$%()*+,-./:;=?@[\\]^_`{|}~",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *back = round_trip(texts[i]);
        assert_string_equal(back, texts[i]);
        free(back);
    }
    char *back = round_trip("ctl\x01\x02x");
    assert_string_equal(back, "ctlx");
    free(back);
}

static char *trimmed(const char *s)
{
    const char *ws = " \t\r\n";
    while (*s && strchr(ws, *s))
        s++;
    size_t n = strlen(s);
    while (n && strchr(ws, s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/* Random strings of legal pieces come back unchanged (modulo the reader's trimming); random bytes
 * always produce a well-formed document. */
static void test_round_trip_random(void **state)
{
    (void)state;
    static const char *pieces[] = {"a", "Z", "0", " ", "\t", "\n", "\r", "&", "<", ">", "\"", "'",
                                   ";", "#", "中", "😀", "é", "]]>", "&#13;", "\x7f"};
    srand(7);
    for (int round = 0; round < 2000; round++) {
        buf s;
        buf_init(&s);
        int n = rand() % 40;
        for (int i = 0; i < n; i++)
            buf_puts(&s, pieces[rand() % (sizeof pieces / sizeof pieces[0])]);
        buf_putc(&s, 'x');
        char *back = round_trip(s.data);
        char *want = trimmed(s.data);
        assert_string_equal(back, want);
        free(back);
        free(want);

        buf_reset(&s);
        for (int i = 0; i < 30; i++)
            buf_putc(&s, (char)(1 + rand() % 255));
        free(round_trip(s.data)); /* fails the test if unparsable */
        buf_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decl_and_elements_exact),
        cmocka_unit_test(test_escape_markup),
        cmocka_unit_test(test_escape_drops_forbidden_characters),
        cmocka_unit_test(test_round_trip_fixed),
        cmocka_unit_test(test_round_trip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
