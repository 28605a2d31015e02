/* test_output_property.c — properties of output_build over random segment/word layouts (fixed
 * seeds, so a failure reproduces): every input word comes out exactly once and in order, per
 * channel; offsets lie inside their sentence; format 3 respects SentenceMaxLength; format 1 drops
 * only punctuation; the JSON always parses and agrees with the document. */
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

#define ROUNDS 400
#define MAX_CHANNELS 2

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)   /* xorshift64*, uniform enough for layouts */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* A word as an engine gives it, and what format 1 must leave of it ("" = dropped). */
typedef struct gen_word {
    char text[64];
    char bare[64];
} gen_word;

static void random_word(gen_word *w)
{
    static const char *const han[] = {"你", "好", "世", "界", "天", "气", "很", "们", "𠀀"};
    static const char *const marks[] = {",", ".", "?", "!", "，", "。", "！", "、", ";", "…"};
    w->text[0] = w->bare[0] = '\0';
    uint32_t kind = rnd(10);
    if (kind == 0) {   /* punctuation only */
        snprintf(w->text, sizeof w->text, "%s", rnd(2) ? "-" : "。");
        return;
    }
    if (kind < 5) {    /* Latin letters (a-k: never one of the abbreviations) */
        size_t len = 1 + rnd(12);
        for (size_t i = 0; i < len; i++)
            w->bare[i] = (char)('a' + rnd(11));
        w->bare[len] = '\0';
    } else {           /* 1-3 Han characters, one outside the BMP */
        for (uint32_t i = 0, n = 1 + rnd(3); i < n; i++)
            strcat(w->bare, han[rnd(sizeof han / sizeof han[0])]);
    }
    snprintf(w->text, sizeof w->text, "%s%s", w->bare, rnd(3) == 0 ? marks[rnd(sizeof marks / sizeof marks[0])] : "");
}

typedef struct layout {
    engine_result r[MAX_CHANNELS];
    gen_word *words[MAX_CHANNELS];   /* in order, all segments */
    int64_t (*times[MAX_CHANNELS])[2];
    size_t nwords[MAX_CHANNELS];
    size_t nch;
} layout;

static void random_channel(layout *l, size_t c)
{
    int64_t t = rnd(3000);
    size_t nsegs = rnd(6);
    l->words[c] = calloc(nsegs * 12 + 1, sizeof *l->words[c]);
    l->times[c] = calloc(nsegs * 12 + 1, sizeof *l->times[c]);
    for (size_t s = 0; s < nsegs; s++) {
        t += 200;
        int64_t seg_start = t;
        engine_segment *seg = engine_result_add_segment(&l->r[c], seg_start, seg_start);
        for (size_t i = 0, n = rnd(13); i < n; i++) {
            gen_word *w = &l->words[c][l->nwords[c]];
            random_word(w);
            int64_t start = t + rnd(1000), end = start + rnd(600);
            engine_segment_add_word(seg, w->text, start, end);
            l->times[c][l->nwords[c]][0] = start;
            l->times[c][l->nwords[c]][1] = end;
            l->nwords[c]++;
            t = end;
        }
        seg->end_ms = t + rnd(200);
        t = seg->end_ms;
    }
}

static void layout_free(layout *l)
{
    for (size_t c = 0; c < l->nch; c++) {
        engine_result_free(&l->r[c]);
        free(l->words[c]);
        free(l->times[c]);
    }
}

static void check_sentence_shape(const output_sentence *s, const output_params *p)
{
    assert_true(s->nwords > 0);
    assert_true(s->start_ms >= 0 && s->end_ms >= s->start_ms);
    assert_true(s->final_sentence[0] != '\0');
    size_t chars = 0;
    for (size_t i = 0; i < s->nwords; i++) {
        const output_word *w = &s->words[i];
        assert_true(w->start_ms >= s->start_ms);
        assert_true(w->end_ms >= w->start_ms);
        assert_true(w->end_ms <= s->end_ms);
        chars += test_char_count(w->text);
    }
    assert_int_equal(test_char_count(s->final_sentence), chars);   /* joining adds only spaces */
    if (p->res_text_format == 3 && p->sentence_max_length > 0 && s->nwords > 1)
        assert_true(chars <= (size_t)p->sentence_max_length);
}

/* Every word of channel c, in order, exactly once: text (or its bare form) and times unchanged. */
static void check_channel_words(const output_doc *d, const layout *l, size_t c, const output_params *p)
{
    size_t k = 0;
    for (size_t i = 0; i < output_doc_count(d); i++) {
        const output_sentence *s = output_doc_sentence(d, i);
        if (s->channel != c)
            continue;
        for (size_t w = 0; w < s->nwords; w++) {
            while (p->res_text_format == 1 && k < l->nwords[c] && !l->words[c][k].bare[0])
                k++;   /* punctuation-only words are dropped in format 1 */
            assert_true(k < l->nwords[c]);
            const char *want = p->res_text_format == 1 ? l->words[c][k].bare : l->words[c][k].text;
            if (p->punctuate_from_pauses && p->res_text_format >= 2)
                assert_memory_equal(s->words[w].text, want, strlen(want));   /* a mark may follow */
            else
                assert_string_equal(s->words[w].text, want);
            assert_int_equal(s->words[w].start_ms, l->times[c][k][0]);
            assert_int_equal(s->words[w].end_ms, l->times[c][k][1]);
            k++;
        }
    }
    while (p->res_text_format == 1 && k < l->nwords[c] && !l->words[c][k].bare[0])
        k++;
    assert_int_equal(k, l->nwords[c]);
}

static void check_json(const output_doc *d)
{
    char *text = output_doc_detail_json(d);
    json_error_t e;
    json_t *arr = json_loads(text, 0, &e);
    if (!arr)
        fail_msg("detail JSON does not parse: %s", e.text);
    assert_int_equal(json_array_size(arr), output_doc_count(d));
    size_t i;
    json_t *js;
    json_array_foreach(arr, i, js) {
        const output_sentence *s = output_doc_sentence(d, i);
        assert_string_equal(json_string_value(json_object_get(js, "FinalSentence")), s->final_sentence);
        json_int_t span = json_integer_value(json_object_get(js, "EndMs"))
                        - json_integer_value(json_object_get(js, "StartMs"));
        size_t w;
        json_t *jw;
        json_array_foreach(json_object_get(js, "Words"), w, jw) {
            json_int_t a = json_integer_value(json_object_get(jw, "OffsetStartMs"));
            json_int_t b = json_integer_value(json_object_get(jw, "OffsetEndMs"));
            assert_true(a >= 0 && a <= b && b <= span);
        }
        assert_int_equal(json_integer_value(json_object_get(js, "WordsNum")), s->nwords);
    }
    json_decref(arr);
    free(text);
}

static output_params random_params(void)
{
    output_params p = output_default_params();
    p.res_text_format = (int)rnd(4);
    p.sentence_max_length = rnd(3) == 0 ? 0 : 6 + (int)rnd(35);
    p.punctuate_from_pauses = rnd(2);
    p.language = rnd(2) ? "zh" : "en";
    return p;
}

static void test_random_layouts(void **state)
{
    (void)state;
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (int round = 0; round < ROUNDS; round++) {
        layout l = {.nch = 1 + rnd(MAX_CHANNELS)};
        output_channel ch[MAX_CHANNELS];
        for (size_t c = 0; c < l.nch; c++) {
            random_channel(&l, c);
            ch[c] = (output_channel){.r = &l.r[c], .speaker_id = (int)c};
        }
        output_params p = random_params();
        output_doc *d = output_build(ch, l.nch, &p, NULL, 0);
        assert_non_null(d);
        for (size_t i = 0; i < output_doc_count(d); i++) {
            const output_sentence *s = output_doc_sentence(d, i);
            if (p.res_text_format > 0)
                check_sentence_shape(s, &p);
            if (i > 0)
                assert_true(output_doc_sentence(d, i - 1)->start_ms <= s->start_ms);
        }
        for (size_t c = 0; c < l.nch; c++)
            check_channel_words(d, &l, c, &p);
        check_json(d);
        output_doc_free(d);
        layout_free(&l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
