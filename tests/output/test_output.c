/* test_output.c — the sentence model and renderers of output.h on hand-made engine results:
 * every ResTextFormat on English and Mandarin, punctuation removal, re-segmentation and
 * SentenceMaxLength, punctuation from pauses, two channels, timestamps, JSON, empty results, and
 * speakers (sentences cut where the speaker changes, short flips smoothed, subtitle tags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "output/output_testutil.h"

#define ADD_SEG(r, text, s, e, ...)                                                      \
    do {                                                                                 \
        const test_word ws_[] = {__VA_ARGS__};                                           \
        test_add_segment((r), (text), (s), (e), ws_, sizeof ws_ / sizeof ws_[0]);        \
    } while (0)
#define ADD_SEG_NO_WORDS(r, text, s, e) test_add_segment((r), (text), (s), (e), NULL, 0)

/* whisper-like English: punctuation inside the words */
static void english(engine_result *r)
{
    ADD_SEG(r, "Hello, world. How are you?", 0, 2500, {"Hello,", 0, 400}, {"world.", 500, 1000},
            {"How", 1200, 1400}, {"are", 1400, 1600}, {"you?", 1600, 2400});
    ADD_SEG(r, "Fine.", 3000, 4000, {"Fine.", 3100, 3900});
}

/* whisper-like Mandarin: one character per word, punctuation stuck to the character before */
static void mandarin(engine_result *r)
{
    ADD_SEG(r, "你好，世界。今天天气很好！", 0, 3000, {"你", 0, 200}, {"好，", 200, 500}, {"世", 600, 800},
            {"界。", 800, 1100}, {"今", 1300, 1500}, {"天", 1500, 1700}, {"天", 1700, 1900}, {"气", 1900, 2100},
            {"很", 2100, 2400}, {"好！", 2400, 2900});
}

static output_doc *build_with(const engine_result *r, const output_params *p)
{
    output_channel ch = {.r = r, .speaker_id = 0};
    char err[256] = "";
    output_doc *d = output_build(&ch, 1, p, err, sizeof err);
    if (!d)
        fail_msg("output_build: %s", err);
    return d;
}

static output_doc *build(const engine_result *r, int format, int max_length)
{
    output_params p = output_default_params();
    p.res_text_format = format;
    p.sentence_max_length = max_length;
    return build_with(r, &p);
}

static void assert_lines(const output_doc *d, const char *expected)
{
    char *s = output_doc_result_lines(d);
    assert_string_equal(s, expected);
    free(s);
}

static void assert_words(const output_sentence *s, const test_word *w, size_t n)
{
    assert_int_equal(s->nwords, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(s->words[i].text, w[i].text);
        assert_int_equal(s->words[i].start_ms, w[i].start_ms);
        assert_int_equal(s->words[i].end_ms, w[i].end_ms);
    }
}
#define ASSERT_WORDS(s, ...)                                                 \
    do {                                                                     \
        const test_word ws_[] = {__VA_ARGS__};                               \
        assert_words((s), ws_, sizeof ws_ / sizeof ws_[0]);                  \
    } while (0)

static const output_sentence *sentence(const output_doc *d, size_t i)
{
    const output_sentence *s = output_doc_sentence(d, i);
    assert_non_null(s);
    return s;
}

/* ---- format 0 ---- */

static void test_format0_english_lines_and_detail(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_doc *d = build(&r, 0, 0);
    assert_int_equal(output_doc_count(d), 2);
    assert_lines(d, "[0:0.000,0:2.500]  Hello, world. How are you?\n[0:3.000,0:4.000]  Fine.");
    const output_sentence *s = sentence(d, 0);
    assert_string_equal(s->final_sentence, "Hello, world. How are you?");
    assert_string_equal(s->slice_sentence, "Hello, world. How are you?");
    assert_int_equal(s->start_ms, 0);
    assert_int_equal(s->end_ms, 2500);
    ASSERT_WORDS(s, {"Hello,", 0, 400}, {"world.", 500, 1000}, {"How", 1200, 1400}, {"are", 1400, 1600},
                 {"you?", 1600, 2400});
    assert_true(output_sentence_speed(s) == 2.0);
    assert_int_equal(sentence(d, 1)->start_ms, 3000);   /* the segment's span, not the word's */
    assert_null(output_doc_sentence(d, 2));
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format0_mandarin_keeps_engine_text(void **state)
{
    (void)state;
    engine_result r = {0};
    mandarin(&r);
    output_doc *d = build(&r, 0, 0);
    assert_lines(d, "[0:0.000,0:3.000]  你好，世界。今天天气很好！");
    assert_string_equal(sentence(d, 0)->slice_sentence, "你 好， 世 界。 今 天 天 气 很 好！");
    assert_int_equal(sentence(d, 0)->nwords, 10);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_old_functions_match_format0(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_doc *d = build(&r, 0, 0);
    char *a = output_result_lines(&r), *b = output_doc_result_lines(d);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = output_srt(&r);
    b = output_doc_srt(d);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = output_detail_json(&r, 7);
    json_t *arr = json_loads(a, 0, NULL);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "SpeakerId")), 7);
    json_decref(arr);
    free(a);
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- format 1 ---- */

static void test_format1_removes_punctuation_keeps_times(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_doc *d = build(&r, 1, 0);
    assert_lines(d, "[0:0.000,0:2.500]  Hello world How are you\n[0:3.000,0:4.000]  Fine");
    const output_sentence *s = sentence(d, 0);
    assert_string_equal(s->slice_sentence, "Hello world How are you");
    ASSERT_WORDS(s, {"Hello", 0, 400}, {"world", 500, 1000}, {"How", 1200, 1400}, {"are", 1400, 1600},
                 {"you", 1600, 2400});
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format1_inner_marks_and_punctuation_only_words(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "I don't - know 3.5 U.S. (laughs) “1,000”", 0, 5000, {"I", 0, 100}, {"don't", 100, 400},
            {"-", 400, 500}, {"know", 500, 900}, {"3.5", 1000, 1500}, {"U.S.", 1600, 2000},
            {"(laughs)", 2000, 3000}, {"“1,000”", 3000, 4000}, {"?!", 4000, 4100});
    output_doc *d = build(&r, 1, 0);
    const output_sentence *s = sentence(d, 0);
    assert_string_equal(s->final_sentence, "I don't know 3.5 U.S laughs 1,000");
    ASSERT_WORDS(s, {"I", 0, 100}, {"don't", 100, 400}, {"know", 500, 900}, {"3.5", 1000, 1500},
                 {"U.S", 1600, 2000}, {"laughs", 2000, 3000}, {"1,000", 3000, 4000});
    assert_int_equal(s->start_ms, 0);
    assert_int_equal(s->end_ms, 5000);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format1_mandarin(void **state)
{
    (void)state;
    engine_result r = {0};
    mandarin(&r);
    ADD_SEG(&r, "。", 4000, 4200, {"。", 4000, 4200});   /* nothing but punctuation: no sentence */
    output_doc *d = build(&r, 1, 0);
    assert_int_equal(output_doc_count(d), 1);
    const output_sentence *s = sentence(d, 0);
    assert_string_equal(s->final_sentence, "你好世界今天天气很好");
    assert_string_equal(s->slice_sentence, "你 好 世 界 今 天 天 气 很 好");
    assert_string_equal(s->words[1].text, "好");
    assert_int_equal(s->words[1].start_ms, 200);
    assert_int_equal(s->words[1].end_ms, 500);
    assert_string_equal(s->words[9].text, "好");
    assert_int_equal(s->words[9].end_ms, 2900);
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- format 2 ---- */

static void test_format2_with_punctuation(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    mandarin(&r);   /* a second segment list, later in time */
    r.segs[2].start_ms += 5000;
    r.segs[2].end_ms += 5000;
    for (size_t i = 0; i < r.segs[2].nwords; i++) {
        r.segs[2].words[i].start_ms += 5000;
        r.segs[2].words[i].end_ms += 5000;
    }
    output_doc *d = build(&r, 2, 0);
    assert_int_equal(output_doc_count(d), 3);
    assert_string_equal(sentence(d, 0)->final_sentence, "Hello, world. How are you?");
    assert_string_equal(sentence(d, 2)->final_sentence, "你好，世界。今天天气很好！");
    assert_string_equal(sentence(d, 2)->slice_sentence, "你 好， 世 界。 今 天 天 气 很 好！");
    assert_int_equal(sentence(d, 2)->start_ms, 5000);
    assert_int_equal(sentence(d, 2)->words[0].start_ms, 5000);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format2_joins_mixed_script(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "", 0, 3000, {"我", 0, 200}, {"用", 200, 400}, {"iPhone", 400, 900}, {"15", 900, 1200},
            {"拍", 1200, 1400}, {"照。", 1400, 1800}, {"OK", 2000, 2500});
    output_doc *d = build(&r, 2, 0);
    assert_string_equal(sentence(d, 0)->final_sentence, "我用iPhone 15拍照。OK");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_segment_with_text_but_no_words(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG_NO_WORDS(&r, "  Just text,\n\xE2\x80\xA8no words.\t", 1000, 2000);   /* U+2028: a line break too */
    output_doc *d = build(&r, 0, 0);
    assert_string_equal(sentence(d, 0)->final_sentence, "Just text, no words.");
    assert_int_equal(sentence(d, 0)->nwords, 0);
    output_doc_free(d);
    d = build(&r, 2, 0);
    ASSERT_WORDS(sentence(d, 0), {"Just text, no words.", 1000, 2000});
    output_doc_free(d);
    d = build(&r, 1, 0);
    assert_string_equal(sentence(d, 0)->final_sentence, "Just text no words");
    output_doc_free(d);
    engine_result_free(&r);
}

/* The decoder's statistics (whisper's; the OpenAI endpoint's verbose_json reads them from the
 * detail): every sentence cut from a segment carries that segment's, a segment without them (as
 * pocketsphinx gives) adds no keys, and a detail built from the same results is the same. */
static void test_stats_follow_their_segment(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    int32_t toks[] = {15947, 11, 1002, 13};
    engine_stats st = {.known = true, .avg_logprob = -0.25f, .no_speech_prob = 0.125f, .tokens = toks, .ntokens = 4};
    engine_stats_copy(&r.segs[0].stats, &st);   /* the second segment has none */
    for (int format = 0; format <= 3; format++) {
        output_doc *d = build(&r, format, 0);
        char *json = output_doc_detail_json(d);
        json_t *arr = json_loads(json, 0, NULL);
        size_t n = json_array_size(arr);
        assert_true(n >= 2);
        for (size_t i = 0; i + 1 < n; i++) {   /* format 3 cuts the first segment in three */
            json_t *s = json_array_get(arr, i);
            assert_true(json_number_value(json_object_get(s, "AvgLogprob")) == -0.25);
            assert_true(json_number_value(json_object_get(s, "NoSpeechProb")) == 0.125);
            json_t *t = json_object_get(s, "Tokens");
            assert_int_equal(json_array_size(t), 4);
            assert_int_equal(json_integer_value(json_array_get(t, 0)), 15947);
            assert_int_equal(json_integer_value(json_array_get(t, 3)), 13);
        }
        json_t *last = json_array_get(arr, n - 1);   /* "Fine.": no statistics */
        assert_null(json_object_get(last, "AvgLogprob"));
        assert_null(json_object_get(last, "Tokens"));
        json_decref(arr);
        free(json);
        output_doc_free(d);
    }
    engine_result_free(&r);
}

/* ---- format 3 ---- */

static void test_format3_english_splits_at_marks(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_doc *d = build(&r, 3, 0);
    assert_lines(d, "[0:0.000,0:0.400]  Hello,\n[0:0.500,0:1.000]  world.\n[0:1.200,0:2.400]  How are you?\n"
                    "[0:3.100,0:3.900]  Fine.");
    const output_sentence *s = sentence(d, 2);
    ASSERT_WORDS(s, {"How", 1200, 1400}, {"are", 1400, 1600}, {"you?", 1600, 2400});
    char *json = output_doc_detail_json(d);
    json_t *arr = json_loads(json, 0, NULL);
    json_t *words = json_object_get(json_array_get(arr, 2), "Words");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(words, 0), "OffsetStartMs")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(words, 2), "OffsetStartMs")), 400);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(words, 2), "OffsetEndMs")), 1200);
    json_decref(arr);
    free(json);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format3_mandarin_splits_at_marks(void **state)
{
    (void)state;
    engine_result r = {0};
    mandarin(&r);
    output_doc *d = build(&r, 3, 0);
    assert_lines(d, "[0:0.000,0:0.500]  你好，\n[0:0.600,0:1.100]  世界。\n[0:1.300,0:2.900]  今天天气很好！");
    output_doc_free(d);
    /* at 6: "今天天气很好！" is 7 characters; the split falls between words */
    d = build(&r, 3, 6);
    assert_int_equal(output_doc_count(d), 4);
    assert_string_equal(sentence(d, 2)->final_sentence, "今天天气很");
    assert_string_equal(sentence(d, 3)->final_sentence, "好！");
    assert_int_equal(sentence(d, 3)->start_ms, 2400);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format3_abbreviations_do_not_split(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "", 0, 3000, {"Mr.", 0, 300}, {"J.", 300, 500}, {"Smith", 500, 900}, {"arrived.", 900, 1500},
            {"e.g.", 1600, 1900}, {"now;", 1900, 2100}, {"fine…", 2100, 2500}, {"yes", 2600, 3000});
    output_doc *d = build(&r, 3, 0);
    assert_lines(d, "[0:0.000,0:1.500]  Mr. J. Smith arrived.\n[0:1.600,0:2.100]  e.g. now;\n"
                    "[0:2.100,0:2.500]  fine…\n[0:2.600,0:3.000]  yes");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format3_max_length_6(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "", 0, 2000, {"a", 0, 100}, {"bc", 100, 200}, {"def", 200, 300});          /* 6: one */
    ADD_SEG(&r, "", 3000, 5000, {"a", 3000, 3100}, {"bc", 3100, 3200}, {"defg", 3200, 3300}); /* 7: two */
    ADD_SEG(&r, "", 6000, 8000, {"go", 6000, 6100}, {"extraordinary", 6100, 6900}, {"ok", 7000, 7100});
    ADD_SEG(&r, "", 9000, 9600, {"你好世界你好", 9000, 9600});   /* 6 code points, 18 bytes */
    output_doc *d = build(&r, 3, 6);
    assert_lines(d, "[0:0.000,0:0.300]  a bc def\n[0:3.000,0:3.200]  a bc\n[0:3.200,0:3.300]  defg\n"
                    "[0:6.000,0:6.100]  go\n[0:6.100,0:6.900]  extraordinary\n[0:7.000,0:7.100]  ok\n"
                    "[0:9.000,0:9.600]  你好世界你好");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_format3_max_length_40(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "", 0, 4000, {"abcdefghij", 0, 1000}, {"abcdefghij", 1000, 2000}, {"abcdefghij", 2000, 3000},
            {"abcdefghi,", 3000, 4000});   /* exactly 40 with the comma */
    ADD_SEG(&r, "", 5000, 9000, {"abcdefghij", 5000, 6000}, {"abcdefghij", 6000, 7000},
            {"abcdefghij", 7000, 8000}, {"abcdefghij", 8000, 8900}, {"k", 8900, 9000});   /* 41 */
    output_doc *d = build(&r, 3, 40);
    assert_int_equal(output_doc_count(d), 3);
    assert_int_equal(test_char_count(sentence(d, 0)->final_sentence), 40);
    assert_int_equal(sentence(d, 1)->nwords, 4);
    assert_string_equal(sentence(d, 2)->final_sentence, "k");
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- punctuation from pauses ---- */

/* pocketsphinx-like: no punctuation; gaps 50, 400 (comma), 900 (full stop), 50 */
static void sphinx_english(engine_result *r)
{
    ADD_SEG(r, "hello world how are you", 0, 3000, {"hello", 0, 400}, {"world", 450, 900}, {"how", 1300, 1500},
            {"are", 2400, 2600}, {"you", 2650, 3000});
}

static output_params pause_params(int format, const char *language)
{
    output_params p = output_default_params();
    p.res_text_format = format;
    p.punctuate_from_pauses = true;
    p.language = language;
    return p;
}

/* FilterPunc acts on the sentences as built: after the marks from pauses, per format-3 piece. */
static void test_filter_punc_on_built_sentences(void **state)
{
    (void)state;
    engine_result r = {0};
    sphinx_english(&r);
    output_params p = pause_params(2, "en");
    p.filter_punc = 1;   /* the final marks go, the inner ones stay */
    output_doc *d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "hello world, how. are you");
    ASSERT_WORDS(sentence(d, 0), {"hello", 0, 400}, {"world,", 450, 900}, {"how.", 1300, 1500},
                 {"are", 2400, 2600}, {"you", 2650, 3000});
    output_doc_free(d);
    p = pause_params(3, "en");
    p.filter_punc = 1;   /* each subtitle piece loses its own final mark */
    d = build_with(&r, &p);
    assert_lines(d, "[0:0.000,0:0.900]  hello world\n[0:1.300,0:1.500]  how\n[0:2.400,0:3.000]  are you");
    output_doc_free(d);
    p.filter_punc = 2;   /* no marks at all, so nothing to re-segment at */
    d = build_with(&r, &p);
    assert_lines(d, "[0:0.000,0:3.000]  hello world how are you");
    output_doc_free(d);
    engine_result_free(&r);

    engine_result w = {0};   /* whisper-like: the engine's own punctuation, format 0 */
    ADD_SEG(&w, "Hello, world. Don't go!", 0, 2000, {"Hello,", 0, 500}, {"world.", 500, 1000}, {"Don't", 1000, 1500},
            {"go!", 1500, 2000});
    output_params q = output_default_params();
    q.filter_punc = 1;
    d = build_with(&w, &q);
    assert_lines(d, "[0:0.000,0:2.000]  Hello, world. Don't go");
    output_doc_free(d);
    q.filter_punc = 2;
    d = build_with(&w, &q);
    assert_lines(d, "[0:0.000,0:2.000]  Hello world Don't go");
    output_doc_free(d);
    q.filter_punc = 3;
    char err[128];
    output_channel ch = {.r = &w, .speaker_id = 0};
    assert_null(output_build(&ch, 1, &q, err, sizeof err));
    assert_non_null(strstr(err, "FilterPunc"));
    engine_result_free(&w);
}

static void test_pauses_punctuate_english(void **state)
{
    (void)state;
    engine_result r = {0};
    sphinx_english(&r);
    output_params p = pause_params(2, "en");
    output_doc *d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "hello world, how. are you.");
    ASSERT_WORDS(sentence(d, 0), {"hello", 0, 400}, {"world,", 450, 900}, {"how.", 1300, 1500},
                 {"are", 2400, 2600}, {"you.", 2650, 3000});
    output_doc_free(d);
    p = pause_params(3, "en");
    d = build_with(&r, &p);
    assert_lines(d, "[0:0.000,0:0.900]  hello world,\n[0:1.300,0:1.500]  how.\n[0:2.400,0:3.000]  are you.");
    output_doc_free(d);
    p.pause_comma_ms = 500;   /* the 400 ms gap no longer counts */
    d = build_with(&r, &p);
    assert_lines(d, "[0:0.000,0:1.500]  hello world how.\n[0:2.400,0:3.000]  are you.");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_pauses_only_when_asked_and_not_format0_or_1(void **state)
{
    (void)state;
    engine_result r = {0};
    sphinx_english(&r);
    output_doc *d = build(&r, 2, 0);   /* not asked */
    assert_string_equal(sentence(d, 0)->final_sentence, "hello world how are you");
    output_doc_free(d);
    output_params p = pause_params(0, "en");
    d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "hello world how are you");
    output_doc_free(d);
    p = pause_params(1, "en");
    d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "hello world how are you");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_pauses_punctuate_mandarin(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "你好世界再见", 0, 2000, {"你好", 0, 500}, {"世界", 900, 1400}, {"再见", 1450, 2000});
    ADD_SEG(&r, "iPhone", 3000, 3500, {"iPhone", 3000, 3500});
    output_params p = pause_params(2, "zh");
    output_doc *d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "你好，世界再见。");
    assert_string_equal(sentence(d, 1)->final_sentence, "iPhone。");   /* the language decides */
    output_doc_free(d);
    p = pause_params(2, "zh-CN");
    d = build_with(&r, &p);
    assert_string_equal(sentence(d, 1)->final_sentence, "iPhone。");
    output_doc_free(d);
    p = pause_params(2, "zhx");   /* not Chinese */
    d = build_with(&r, &p);
    assert_string_equal(sentence(d, 1)->final_sentence, "iPhone.");
    output_doc_free(d);
    p = pause_params(2, NULL);   /* no hint: the Han characters decide */
    d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "你好，世界再见。");
    assert_string_equal(sentence(d, 1)->final_sentence, "iPhone.");
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_pauses_do_not_double_existing_marks(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);   /* whisper output already punctuated */
    output_params p = pause_params(2, "en");
    p.pause_comma_ms = 0;   /* every word would get a comma */
    output_doc *d = build_with(&r, &p);
    assert_string_equal(sentence(d, 0)->final_sentence, "Hello, world. How, are, you?");
    assert_string_equal(sentence(d, 1)->final_sentence, "Fine.");
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- two channels ---- */

static void test_two_channels_interleave(void **state)
{
    (void)state;
    engine_result left = {0}, right = {0};
    ADD_SEG(&left, "left one", 0, 1000, {"left", 0, 500}, {"one", 500, 1000});
    ADD_SEG(&left, "left two", 5000, 6000, {"left", 5000, 5500}, {"two", 5500, 6000});
    ADD_SEG(&right, "right one", 2000, 3000, {"right", 2000, 2500}, {"one", 2500, 3000});
    ADD_SEG(&right, "right two", 5000, 5500, {"right", 5000, 5200}, {"two", 5200, 5500});
    output_channel ch[2] = {{.r = &left, .speaker_id = 0}, {.r = &right, .speaker_id = 1}};
    output_params p = output_default_params();
    p.res_text_format = 2;
    output_doc *d = output_build(ch, 2, &p, NULL, 0);
    assert_non_null(d);
    assert_lines(d, "0 [0:0.000,0:1.000]  left one\n1 [0:2.000,0:3.000]  right one\n"
                    "0 [0:5.000,0:6.000]  left two\n1 [0:5.000,0:5.500]  right two");
    char *json = output_doc_detail_json(d);
    json_t *arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, i), "SpeakerId")), (int)(i % 2));
    json_decref(arr);
    free(json);
    char *vtt = output_doc_vtt(d);
    assert_non_null(strstr(vtt, "\n00:00:02.000 --> 00:00:03.000\n<v 1>right one\n"));
    free(vtt);
    output_doc_free(d);
    /* channel order given reversed: the tie at 5000 goes to the lower index */
    output_channel rev[2] = {{.r = &right, .speaker_id = 1}, {.r = &left, .speaker_id = 0}};
    d = output_build(rev, 2, &p, NULL, 0);
    assert_lines(d, "1 [0:0.000,0:1.000]  left one\n0 [0:2.000,0:3.000]  right one\n"
                    "0 [0:5.000,0:5.500]  right two\n1 [0:5.000,0:6.000]  left two");
    assert_int_equal(sentence(d, 0)->speaker_id, 0);
    output_doc_free(d);
    /* one channel with nothing recognised */
    output_channel half[2] = {{.r = &left, .speaker_id = 0}, {.r = NULL, .speaker_id = 1}};
    d = output_build(half, 2, &p, NULL, 0);
    assert_int_equal(output_doc_count(d), 2);
    assert_lines(d, "0 [0:0.000,0:1.000]  left one\n0 [0:5.000,0:6.000]  left two");
    output_doc_free(d);
    engine_result_free(&left);
    engine_result_free(&right);
}

/* ---- timestamps ---- */

static void test_timestamps(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "Text", 3723004, 3725678, {"Text", 3723004, 3725678});
    ADD_SEG(&r, "Later", 360000000, 360000999, {"Later", 360000000, 360000999});   /* 100 h */
    output_doc *d = build(&r, 0, 0);
    char *srt = output_doc_srt(d);
    assert_string_equal(srt, "1\n01:02:03,004 --> 01:02:05,678\nText\n\n2\n100:00:00,000 --> 100:00:00,999\nLater\n\n");
    char *vtt = output_doc_vtt(d);
    assert_string_equal(vtt, "WEBVTT\n\n01:02:03.004 --> 01:02:05.678\nText\n\n100:00:00.000 --> 100:00:00.999\nLater\n");
    assert_lines(d, "[62:3.004,62:5.678]  Text\n[6000:0.000,6000:0.999]  Later");
    free(srt);
    free(vtt);
    output_doc_free(d);
    engine_result_free(&r);

    engine_result m = {0};
    ADD_SEG_NO_WORDS(&m, "a", 3662500, 3663000);
    ADD_SEG(&m, "b", -50, -10, {"b", -40, -20});   /* negative times clamp to 0 */
    d = build(&m, 0, 0);
    assert_lines(d, "[0:0.000,0:0.000]  b\n[61:2.500,61:3.000]  a");
    output_doc_free(d);
    engine_result_free(&m);
}

static void test_vtt_escapes_markup(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "a < b & c --> d", 0, 1000, {"a", 0, 100});
    output_doc *d = build(&r, 0, 0);
    char *vtt = output_doc_vtt(d);
    assert_string_equal(vtt, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na &lt; b &amp; c --&gt; d\n");
    free(vtt);
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- JSON ---- */

static void test_json_valid_and_utf8_preserved(void **state)
{
    (void)state;
    engine_result r = {0};
    mandarin(&r);
    ADD_SEG(&r, "say \"hi\"\\ caf\xC3", 4000, 5000, {"say", 4000, 4200}, {"\"hi\"\\", 4200, 4600},
            {"caf\xC3", 4600, 5000});   /* a truncated UTF-8 sequence */
    output_doc *d = build(&r, 2, 0);
    char *detail = output_doc_detail_json(d);
    json_error_t e;
    json_t *arr = json_loads(detail, 0, &e);
    if (!arr)
        fail_msg("detail JSON does not parse: %s", e.text);
    json_t *s0 = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(s0, "FinalSentence")), "你好，世界。今天天气很好！");
    assert_int_equal(json_integer_value(json_object_get(s0, "WordsNum")), 10);
    assert_true(json_real_value(json_object_get(s0, "SpeechSpeed")) == 3.3);   /* 10 words / 3 s */
    assert_int_equal(json_integer_value(json_object_get(s0, "StartMs")), 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "EndMs")), 3000);
    json_t *w1 = json_array_get(json_object_get(s0, "Words"), 1);
    assert_string_equal(json_string_value(json_object_get(w1, "Word")), "好，");
    json_t *s1 = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(s1, "FinalSentence")), "say \"hi\"\\ caf\xEF\xBF\xBD");
    assert_non_null(strstr(detail, "你好，世界"));   /* not \u-escaped */
    json_decref(arr);
    free(detail);

    char *doc = output_doc_json(d);
    json_t *o = json_loads(doc, 0, &e);
    if (!o)
        fail_msg("document JSON does not parse: %s", e.text);
    assert_int_equal(json_array_size(json_object_get(o, "Sentences")), 2);
    json_decref(o);
    free(doc);
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_speech_speed(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "one", 0, 3000, {"one", 0, 3000});            /* 0.333 -> 0.3 */
    ADD_SEG(&r, "a b c", 4000, 4000, {"a", 4000, 4000}, {"b", 4000, 4000}, {"c", 4000, 4000});
    ADD_SEG(&r, "a b", 5000, 5800, {"a", 5000, 5400}, {"b", 5400, 5800});   /* 2.5 */
    output_doc *d = build(&r, 2, 0);
    assert_true(output_sentence_speed(sentence(d, 0)) == 0.3);
    assert_true(output_sentence_speed(sentence(d, 1)) == 0.0);
    assert_true(output_sentence_speed(sentence(d, 2)) == 2.5);
    output_doc_free(d);
    engine_result_free(&r);
}

/* ---- empty results, files, params ---- */

static void assert_empty_renders(const output_doc *d)
{
    assert_int_equal(output_doc_count(d), 0);
    assert_null(output_doc_sentence(d, 0));
    char *s = output_doc_result_lines(d);
    assert_string_equal(s, "");
    free(s);
    s = output_doc_srt(d);
    assert_string_equal(s, "");
    free(s);
    s = output_doc_vtt(d);
    assert_string_equal(s, "WEBVTT\n");
    free(s);
    s = output_doc_detail_json(d);
    assert_string_equal(s, "[]");
    free(s);
    s = output_doc_json(d);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "Sentences")), 0);
    json_decref(o);
    free(s);
}

static void test_empty_results(void **state)
{
    (void)state;
    engine_result none = {0}, blank = {0};
    ADD_SEG_NO_WORDS(&blank, "", 0, 1000);
    ADD_SEG(&blank, "  \n ", 1000, 2000, {" ", 1000, 1500}, {"", 1500, 2000});
    for (int format = 0; format <= 3; format++) {
        output_doc *d = build(&none, format, 0);
        assert_empty_renders(d);
        output_doc_free(d);
        d = build(&blank, format, 0);
        assert_empty_renders(d);
        output_doc_free(d);
    }
    output_doc *d = output_build(NULL, 0, NULL, NULL, 0);
    assert_empty_renders(d);
    output_doc_free(d);
    char *s = output_result_lines(&none);
    assert_string_equal(s, "");
    free(s);
    s = output_detail_json(&none, 0);
    assert_string_equal(s, "[]");
    free(s);
    engine_result_free(&blank);
}

static void test_output_files(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_doc *d = build(&r, 0, 0);
    const char *types[] = {"txt", "srt", "vtt", "json"};
    const char *ctypes[] = {"text/plain; charset=utf-8", "application/x-subrip", "text/vtt; charset=utf-8",
                            "application/json"};
    char *(*renders[])(const output_doc *) = {output_doc_result_lines, output_doc_srt, output_doc_vtt,
                                              output_doc_json};
    for (size_t i = 0; i < 4; i++) {
        const char *ct = NULL;
        assert_true(output_file_type_known(types[i]));
        char *body = output_doc_file(d, types[i], &ct);
        char *direct = renders[i](d);
        assert_string_equal(body, direct);
        assert_string_equal(ct, ctypes[i]);
        free(body);
        free(direct);
    }
    assert_false(output_file_type_known("doc"));
    assert_false(output_file_type_known(NULL));
    assert_null(output_doc_file(d, "TXT", NULL));
    output_doc_free(d);
    engine_result_free(&r);
}

static void test_params_validated(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    output_channel ch = {.r = &r, .speaker_id = 0};
    const int bad[][2] = {{-1, 0}, {4, 0}, {3, 5}, {3, 41}, {3, -6}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        output_params p = output_default_params();
        p.res_text_format = bad[i][0];
        p.sentence_max_length = bad[i][1];
        char err[128] = "";
        assert_null(output_build(&ch, 1, &p, err, sizeof err));
        assert_true(err[0] != '\0');
    }
    output_params p = output_default_params();
    p.pause_comma_ms = -1;
    assert_null(output_build(&ch, 1, &p, NULL, 0));
    assert_null(output_build(NULL, 1, NULL, NULL, 0));
    const int good[] = {0, 6, 40};
    for (size_t i = 0; i < 3; i++) {
        p = output_default_params();
        p.res_text_format = 3;
        p.sentence_max_length = good[i];
        output_doc *d = output_build(&ch, 1, &p, NULL, 0);
        assert_non_null(d);
        output_doc_free(d);
    }
    p = output_default_params();
    assert_int_equal(p.res_text_format, 0);
    assert_int_equal(p.sentence_max_length, 0);
    assert_false(p.punctuate_from_pauses);
    assert_int_equal(p.pause_sentence_ms, 800);
    assert_int_equal(p.pause_comma_ms, 300);
    engine_result_free(&r);
}


/* ---- speakers (SpeakerDiarization 1) ---- */

static output_doc *build_speakers(const engine_result *r, const diarize_result *spk, int format)
{
    output_channel ch = {.r = r, .speaker_id = 0, .speakers = spk};
    output_params p = output_default_params();
    p.res_text_format = format;
    char err[256] = "";
    output_doc *d = output_build(&ch, 1, &p, err, sizeof err);
    if (!d)
        fail_msg("output_build: %s", err);
    return d;
}

/* A segment whose words belong to two speakers is cut at the change in every format; each piece
 * carries its speaker and its own words; a segment of one speaker stays whole. */
static void test_speakers_split_sentences(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "Hello, world. How are you?", 0, 2500, {"Hello,", 0, 400}, {"world.", 500, 1000},
            {"How", 1200, 1400}, {"are", 1400, 1600}, {"you?", 1600, 2400});
    ADD_SEG(&r, "Fine.", 3000, 4000, {"Fine.", 3100, 3900});
    diarize_turn turns[] = {{0, 1100, 1}, {1150, 2450, 0}, {3050, 3950, 1}};
    diarize_result spk = {.turns = turns, .nturns = 3, .speakers = 2};
    for (int format = 0; format <= 3; format++) {
        output_doc *d = build_speakers(&r, &spk, format);
        size_t n = output_doc_count(d);
        /* format 3 cuts "Hello, world." into two; the others keep it as one piece */
        assert_int_equal(n, format == 3 ? 4 : 3);
        const output_sentence *first = output_doc_sentence(d, 0), *mid = output_doc_sentence(d, n - 2),
                              *last = output_doc_sentence(d, n - 1);
        assert_int_equal(first->speaker_id, 1);
        assert_int_equal(first->start_ms, 0);
        assert_int_equal(mid->speaker_id, 0);
        assert_int_equal(mid->nwords, 3);
        assert_int_equal(mid->start_ms, 1200);
        assert_int_equal(mid->end_ms, format == 3 ? 2400 : 2500);   /* as whole segments: format 3 by its words */
        assert_string_equal(mid->final_sentence, format == 1 ? "How are you" : "How are you?");
        assert_int_equal(last->speaker_id, 1);
        assert_string_equal(last->final_sentence, format == 1 ? "Fine" : "Fine.");
        for (size_t i = 0; i < n; i++)
            for (size_t w = 0; w < output_doc_sentence(d, i)->nwords; w++) {
                const output_word *x = &output_doc_sentence(d, i)->words[w];
                assert_int_equal(diarize_speaker_of(&spk, x->start_ms, x->end_ms),
                                 output_doc_sentence(d, i)->speaker_id);
            }
        output_doc_free(d);
    }
    engine_result_free(&r);
}

/* A word or two of the other voice inside one speaker's stretch (shorter than 600 ms) is a
 * boundary misheard, not a turn: the sentence stays whole. A longer stretch is a turn. */
static void test_speakers_short_flips_are_smoothed(void **state)
{
    (void)state;
    engine_result r = {0};
    ADD_SEG(&r, "one two three four five", 0, 5000, {"one", 0, 900}, {"two", 1000, 1900}, {"three", 2000, 2300},
            {"four", 3000, 3900}, {"five", 4000, 4900});
    diarize_turn flip[] = {{0, 1950, 0}, {1950, 2350, 1}, {2350, 5000, 0}};
    diarize_result spk = {.turns = flip, .nturns = 3, .speakers = 2};
    output_doc *d = build_speakers(&r, &spk, 2);
    assert_int_equal(output_doc_count(d), 1);
    assert_int_equal(output_doc_sentence(d, 0)->speaker_id, 0);
    output_doc_free(d);
    diarize_turn turn[] = {{0, 1950, 0}, {1950, 3950, 1}, {3950, 5000, 0}};
    spk.turns = turn;
    d = build_speakers(&r, &spk, 2);
    assert_int_equal(output_doc_count(d), 3);
    assert_string_equal(output_doc_sentence(d, 1)->final_sentence, "three four");
    assert_int_equal(output_doc_sentence(d, 1)->speaker_id, 1);
    output_doc_free(d);
    engine_result_free(&r);
}

/* Subtitles name the speaker: SubRip "[SPEAKER_n] ", WebVTT "<v Speaker n>"; the Result lines stay
 * as they are; JSON carries SpeakerId. Without speakers nothing changes. */
static void test_speakers_in_subtitles(void **state)
{
    (void)state;
    engine_result r = {0};
    english(&r);
    diarize_turn turns[] = {{0, 2500, 0}, {2900, 4100, 1}};
    diarize_result spk = {.turns = turns, .nturns = 2, .speakers = 2};
    output_doc *d = build_speakers(&r, &spk, 0);
    char *srt = output_doc_srt(d), *vtt = output_doc_vtt(d), *lines = output_doc_result_lines(d);
    char *json = output_doc_detail_json(d);
    assert_string_equal(srt, "1\n00:00:00,000 --> 00:00:02,500\n[SPEAKER_0] Hello, world. How are you?\n\n"
                             "2\n00:00:03,000 --> 00:00:04,000\n[SPEAKER_1] Fine.\n\n");
    assert_string_equal(vtt, "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n<v Speaker 0>Hello, world. How are you?\n"
                             "\n00:00:03.000 --> 00:00:04.000\n<v Speaker 1>Fine.\n");
    assert_string_equal(lines, "[0:0.000,0:2.500]  Hello, world. How are you?\n[0:3.000,0:4.000]  Fine.");
    assert_non_null(strstr(json, "\"SpeakerId\":1"));
    free(srt), free(vtt), free(lines), free(json);
    output_doc_free(d);
    d = build(&r, 0, 0);
    srt = output_doc_srt(d);
    assert_null(strstr(srt, "SPEAKER"));
    free(srt);
    output_doc_free(d);
    /* speakers asked for, none found (silence): every sentence is speaker 0, tags still shown */
    diarize_result none = {0};
    d = build_speakers(&r, &none, 0);
    assert_int_equal(output_doc_sentence(d, 1)->speaker_id, 0);
    output_doc_free(d);
    engine_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format0_english_lines_and_detail),
        cmocka_unit_test(test_filter_punc_on_built_sentences),
        cmocka_unit_test(test_format0_mandarin_keeps_engine_text),
        cmocka_unit_test(test_old_functions_match_format0),
        cmocka_unit_test(test_format1_removes_punctuation_keeps_times),
        cmocka_unit_test(test_format1_inner_marks_and_punctuation_only_words),
        cmocka_unit_test(test_format1_mandarin),
        cmocka_unit_test(test_format2_with_punctuation),
        cmocka_unit_test(test_format2_joins_mixed_script),
        cmocka_unit_test(test_segment_with_text_but_no_words),
        cmocka_unit_test(test_format3_english_splits_at_marks),
        cmocka_unit_test(test_format3_mandarin_splits_at_marks),
        cmocka_unit_test(test_format3_abbreviations_do_not_split),
        cmocka_unit_test(test_format3_max_length_6),
        cmocka_unit_test(test_format3_max_length_40),
        cmocka_unit_test(test_pauses_punctuate_english),
        cmocka_unit_test(test_pauses_only_when_asked_and_not_format0_or_1),
        cmocka_unit_test(test_pauses_punctuate_mandarin),
        cmocka_unit_test(test_pauses_do_not_double_existing_marks),
        cmocka_unit_test(test_two_channels_interleave),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_vtt_escapes_markup),
        cmocka_unit_test(test_json_valid_and_utf8_preserved),
        cmocka_unit_test(test_speech_speed),
        cmocka_unit_test(test_empty_results),
        cmocka_unit_test(test_output_files),
        cmocka_unit_test(test_stats_follow_their_segment),
        cmocka_unit_test(test_params_validated),
        cmocka_unit_test(test_speakers_split_sentences),
        cmocka_unit_test(test_speakers_short_flips_are_smoothed),
        cmocka_unit_test(test_speakers_in_subtitles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
