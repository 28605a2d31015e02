/* test_text_words.c — the word-level API the worker uses: words that survive keep their times,
 * removed words disappear, a numeral over several words becomes one word spanning them, a
 * conversion inside one word keeps its times, punctuation attached to words is handled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

typedef struct expect_word {
    const char *text;
    int64_t start_ms, end_ms;
} expect_word;

static text_engine *engine;

static int setup(void **state)
{
    (void)state;
    text_engine_params ep = text_engine_default_params();
    ep.t2s = false;
    char err[256];
    engine = text_engine_new(&ep, err, sizeof err);
    return engine ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    text_engine_free(engine);
    return 0;
}

static text_params params(int num, int modal, int dirty, int punc)
{
    text_params p = text_default_params();
    p.convert_num_mode = num;
    p.filter_modal = modal;
    p.filter_dirty = dirty;
    p.filter_punc = punc;
    return p;
}

static void check(const text_params *p, const text_word *in, size_t n, const char *text,
                  const expect_word *want, size_t nwant)
{
    text_result r;
    char err[128];
    assert_true(text_process_words(engine, p, in, n, &r, err, sizeof err));
    assert_string_equal(r.text, text);
    if (r.nwords != nwant) {
        for (size_t i = 0; i < r.nwords; i++)
            fprintf(stderr, "  got word %zu: \"%s\" %lld-%lld\n", i, r.words[i].text,
                    (long long)r.words[i].start_ms, (long long)r.words[i].end_ms);
    }
    assert_int_equal(r.nwords, nwant);
    for (size_t i = 0; i < nwant; i++) {
        assert_string_equal(r.words[i].text, want[i].text);
        assert_int_equal(r.words[i].start_ms, want[i].start_ms);
        assert_int_equal(r.words[i].end_ms, want[i].end_ms);
    }
    text_result_free(&r);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_unchanged_words_keep_times(void **state)
{
    (void)state;
    const text_word in[] = {{"我", 0, 100}, {"们", 100, 210}, {"走", 250, 300}, {"吧。", 300, 480}};
    const expect_word want[] = {{"我", 0, 100}, {"们", 100, 210}, {"走", 250, 300}, {"吧。", 300, 480}};
    text_params p = params(1, 2, 1, 0);
    check(&p, in, N(in), "我们走吧。", want, N(want));
    const text_word en[] = {{"Hello", 0, 400}, {"there,", 400, 800}, {"friend.", 900, 1300}};
    const expect_word enw[] = {{"Hello", 0, 400}, {"there,", 400, 800}, {"friend.", 900, 1300}};
    check(&p, en, N(en), "Hello there, friend.", enw, N(enw));
}

static void test_merged_numeral_spans_its_words(void **state)
{
    (void)state;
    const text_word in[] = {{"三", 0, 100}, {"十", 100, 200}, {"五", 200, 300}, {"个", 300, 400}};
    const expect_word want[] = {{"35", 0, 300}, {"个", 300, 400}};
    text_params p = params(1, 0, 0, 0);
    check(&p, in, N(in), "35个", want, N(want));

    const text_word en[] = {{"I", 0, 100}, {"have", 100, 300}, {"twenty", 300, 700}, {"five", 700, 1000},
                            {"apples", 1000, 1500}};
    const expect_word enw[] = {{"I", 0, 100}, {"have", 100, 300}, {"25", 300, 1000}, {"apples", 1000, 1500}};
    check(&p, en, N(en), "I have 25 apples", enw, N(enw));

    /* a date: each number spans its own characters, 年 月 日 keep theirs */
    const text_word date[] = {{"二", 0, 10}, {"零", 10, 20}, {"二", 20, 30}, {"三", 30, 40}, {"年", 40, 50},
                              {"三", 50, 60}, {"月", 60, 70}, {"五", 70, 80}, {"日", 80, 90}};
    const expect_word datew[] = {{"2023", 0, 40}, {"年", 40, 50}, {"3", 50, 60}, {"月", 60, 70},
                                 {"5", 70, 80}, {"日", 80, 90}};
    check(&p, date, N(date), "2023年3月5日", datew, N(datew));
}

static void test_conversion_inside_a_word_keeps_its_times(void **state)
{
    (void)state;
    const text_word in[] = {{"增长了", 0, 500}, {"百分之六点三", 500, 1400}};
    const expect_word want[] = {{"增长了", 0, 500}, {"6.3%", 500, 1400}};
    text_params p = params(1, 0, 0, 0);
    check(&p, in, N(in), "增长了6.3%", want, N(want));
}

static void test_numeral_across_part_of_a_word(void **state)
{
    (void)state;
    /* 在三|十五|号: the number joins the two words it came from; 在 rides along */
    const text_word in[] = {{"在三", 0, 200}, {"十五", 200, 400}, {"号", 400, 500}};
    const expect_word want[] = {{"在35", 0, 400}, {"号", 400, 500}};
    text_params p = params(1, 0, 0, 0);
    check(&p, in, N(in), "在35号", want, N(want));
}

static void test_removed_words_disappear(void **state)
{
    (void)state;
    const text_word in[] = {{"嗯，", 0, 300}, {"我", 300, 400}, {"觉", 400, 500}, {"得", 500, 600},
                            {"呃", 600, 900}, {"可", 900, 1000}, {"以。", 1000, 1200}};
    const expect_word m1[] = {{"我", 300, 400}, {"觉", 400, 500}, {"得", 500, 600}, {"呃", 600, 900},
                              {"可", 900, 1000}, {"以。", 1000, 1200}};
    text_params p = params(0, 1, 0, 0);
    check(&p, in, N(in), "我觉得呃可以。", m1, N(m1));
    const expect_word m2[] = {{"我", 300, 400}, {"觉", 400, 500}, {"得", 500, 600}, {"可", 900, 1000},
                              {"以。", 1000, 1200}};
    p = params(0, 2, 0, 0);
    check(&p, in, N(in), "我觉得可以。", m2, N(m2));

    const text_word en[] = {{"Um,", 0, 300}, {"the", 300, 400}, {"plan", 400, 700}, {"works.", 700, 1100}};
    const expect_word enw[] = {{"The", 300, 400}, {"plan", 400, 700}, {"works.", 700, 1100}};
    p = params(0, 1, 0, 0);
    check(&p, en, N(en), "The plan works.", enw, N(enw));
}

static void test_dirty_words(void **state)
{
    (void)state;
    const text_word in[] = {{"what", 0, 200}, {"the", 200, 300}, {"fuck", 300, 600}, {"man", 600, 900}};
    const expect_word removed[] = {{"what", 0, 200}, {"the", 200, 300}, {"man", 600, 900}};
    text_params p = params(0, 0, 1, 0);
    check(&p, in, N(in), "what the man", removed, N(removed));
    const expect_word masked[] = {{"what", 0, 200}, {"the", 200, 300}, {"****", 300, 600}, {"man", 600, 900}};
    p = params(0, 0, 2, 0);
    check(&p, in, N(in), "what the **** man", masked, N(masked));

    /* masked Chinese characters of two words touch: one word over both */
    const text_word zh[] = {{"你", 0, 100}, {"傻", 100, 200}, {"逼", 200, 300}};
    const expect_word zhw[] = {{"你", 0, 100}, {"**", 100, 300}};
    check(&p, zh, N(zh), "你**", zhw, N(zhw));
}

static void test_punctuation_attached_to_words(void **state)
{
    (void)state;
    const text_word in[] = {{"你好，", 0, 500}, {"世界", 500, 900}, {"。", 900, 950}};
    const expect_word p1w[] = {{"你好，", 0, 500}, {"世界", 500, 900}};
    text_params p = params(0, 0, 0, 1);
    check(&p, in, N(in), "你好，世界", p1w, N(p1w));
    const expect_word p2w[] = {{"你好", 0, 500}, {"世界", 500, 900}};
    p = params(0, 0, 0, 2);
    check(&p, in, N(in), "你好世界", p2w, N(p2w));
    const text_word en[] = {{"Hello,", 0, 400}, {"world!", 400, 900}, {"--", 900, 950}};
    const expect_word enw[] = {{"Hello", 0, 400}, {"world", 400, 900}};
    check(&p, en, N(en), "Hello world", enw, N(enw));
}

static void test_math_words_become_one_word(void **state)
{
    (void)state;
    const text_word in[] = {{"二", 0, 100}, {"加", 100, 200}, {"三", 200, 300}, {"等", 300, 400},
                            {"于", 400, 500}, {"五", 500, 600}};
    const expect_word want[] = {{"2+3=5", 0, 600}};
    text_params p = params(3, 0, 0, 0);
    check(&p, in, N(in), "2+3=5", want, N(want));
}

static void test_times_use_min_start_and_max_end(void **state)
{
    (void)state;
    /* engines can give overlapping or unordered times: the span is their hull */
    const text_word in[] = {{"twenty", 500, 900}, {"five", 300, 1200}};
    const expect_word want[] = {{"25", 300, 1200}};
    text_params p = params(1, 0, 0, 0);
    check(&p, in, N(in), "25", want, N(want));
}

static void test_empty_and_odd_words(void **state)
{
    (void)state;
    const text_word in[] = {{"", 0, 10}, {"  ", 10, 20}, {NULL, 20, 30}, {"a\xff" "b", 30, 40}, {" c ", 40, 50}};
    const expect_word want[] = {{"a\xEF\xBF\xBD" "b", 30, 40}, {"c", 40, 50}};
    text_params p = params(1, 1, 1, 1);
    check(&p, in, N(in), "a\xEF\xBF\xBD" "b c", want, N(want));
    check(&p, NULL, 0, "", NULL, 0);
}

static void test_bad_params(void **state)
{
    (void)state;
    const text_word in[] = {{"三十", 0, 10}};
    text_params p = params(2, 0, 0, 0);
    text_result r;
    char err[128];
    assert_false(text_process_words(engine, &p, in, 1, &r, err, sizeof err));
    assert_non_null(strstr(err, "ConvertNumMode"));
    assert_string_equal(r.text, "");
    assert_int_equal(r.nwords, 0);
    text_result_free(&r);
    p = params(0, 3, 0, 0);
    assert_false(text_params_valid(&p, err, sizeof err));
    assert_non_null(strstr(err, "FilterModal"));
    p = params(0, 0, -1, 0);
    assert_false(text_params_valid(&p, err, sizeof err));
    p = params(0, 0, 0, 7);
    assert_null(text_process_line(engine, &p, "x"));
    p = params(3, 2, 2, 2);
    assert_true(text_params_valid(&p, err, sizeof err));
    assert_false(text_params_noop(&p));
    p = text_default_params();
    assert_true(text_params_noop(&p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_words_keep_times),
        cmocka_unit_test(test_merged_numeral_spans_its_words),
        cmocka_unit_test(test_conversion_inside_a_word_keeps_its_times),
        cmocka_unit_test(test_numeral_across_part_of_a_word),
        cmocka_unit_test(test_removed_words_disappear),
        cmocka_unit_test(test_dirty_words),
        cmocka_unit_test(test_punctuation_attached_to_words),
        cmocka_unit_test(test_math_words_become_one_word),
        cmocka_unit_test(test_times_use_min_start_and_max_end),
        cmocka_unit_test(test_empty_and_odd_words),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
