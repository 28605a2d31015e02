/* fuzz_text.c — libFuzzer target for the text library. The first input byte chooses the
 * text_params (all 3 × 3 × 3 × 3 option combinations and the language hint none/zh/en), the second
 * whether OpenCC's t2s runs too; the rest, made valid UTF-8 by text_utf8_clean, is processed as a
 * line, as words (split at '|' and newlines, timed 100 ms apart) and through width normalisation.
 * Besides crashes, leaks and UB, it checks the library's promises: every output is valid UTF-8
 * without NUL and at most TEXT_MAX_OUTPUT(input bytes) long; all modes 0 leave a line as it was;
 * output words are non-empty, in order, timed inside the input words' span, and join back into the
 * sentence's text. Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed
 * corpus (corpus/text).
 *
 * Run:      build-fuzz/fuzz/fuzz_text -dict=fuzz/fuzz_text.dict -max_total_time=600 WORK fuzz/corpus/text
 * Minimise: mkdir NEW; cp fuzz/corpus/text/seed-* NEW; build-fuzz/fuzz/fuzz_text -set_cover_merge=1
 *           -use_counters=0 NEW WORK fuzz/corpus/text; then replace corpus/text with NEW (the
 *           hand-written seed-* files stay; build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "text/text.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 8192     /* longer inputs only slow the search down */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_text: broken promise: %s\n", what);
        abort();
    }
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode_strict(s + i, n - i, &cp);
        if (len == 0 || cp == 0)
            return false;
        i += len;
    }
    return true;
}

static void check_text(const char *out, size_t in_len, const char *what)
{
    check(out != NULL, what);
    size_t n = strlen(out);
    check(valid_utf8(out, n), what);
    check(n <= TEXT_MAX_OUTPUT(in_len), what);
}

static text_params params_from(uint8_t b)
{
    static const char *const langs[3] = {NULL, "zh", "en"};
    static const int num_modes[3] = {0, 1, 3};
    text_params p = text_default_params();
    p.convert_num_mode = num_modes[b % 3];
    p.filter_modal = b / 3 % 3;
    p.filter_dirty = b / 9 % 3;
    p.filter_punc = b / 27 % 3;
    p.language = langs[b / 81 % 3];
    return p;
}

/* The output words, joined the Mandarin/English way, give the sentence's text again. */
static void check_rejoin(const text_engine *e, const text_result *r)
{
    text_word *back = xcalloc(r->nwords + 1, sizeof *back);
    for (size_t i = 0; i < r->nwords; i++)
        back[i] = (text_word){r->words[i].text, r->words[i].start_ms, r->words[i].end_ms};
    text_params noop = text_default_params();
    text_result again;
    check(text_process_words(e, &noop, back, r->nwords, &again, NULL, 0), "noop params accepted");
    check(strcmp(again.text, r->text) == 0, "words join back into the text");
    text_result_free(&again);
    free(back);
}

static void fuzz_words(const text_engine *e, const text_params *p, char *text)
{
    size_t len = strlen(text), n = 0;
    text_word *w = xcalloc(len + 1, sizeof *w);
    for (char *save = NULL, *t = strtok_r(text, "|\n", &save); t; t = strtok_r(NULL, "|\n", &save)) {
        w[n] = (text_word){t, (int64_t)n * 100, (int64_t)n * 100 + 80};
        n++;
    }
    text_result r;
    check(text_process_words(e, p, w, n, &r, NULL, 0), "valid params accepted");
    check_text(r.text, len, "sentence text");
    size_t total = 0;
    for (size_t i = 0; i < r.nwords; i++) {
        const text_out_word *o = &r.words[i];
        check(o->text[0] != '\0', "no empty word");
        check_text(o->text, len, "word text");
        total += strlen(o->text);
        check(o->start_ms <= o->end_ms && o->start_ms >= 0 && o->end_ms <= (int64_t)n * 100, "word times");
        check(i == 0 || o->start_ms >= r.words[i - 1].start_ms, "words in order");
    }
    check(total <= TEXT_MAX_OUTPUT(len), "words bounded");
    check_rejoin(e, &r);
    text_result_free(&r);
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static text_engine *engine;   /* built once: the engine is immutable and costly to build */
    if (!engine) {
        char err[256];
        engine = text_engine_new(NULL, err, sizeof err);
        if (!engine) {
            fprintf(stderr, "fuzz_text: %s\n", err);
            abort();
        }
    }
    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    text_params p = params_from(data[0]);
    bool t2s = data[1] & 1;
    char *in = text_utf8_clean((const char *)data + 2, size - 2);
    size_t len = strlen(in);

    char *line = text_process_line(engine, &p, in);
    check_text(line, len, "processed line");
    check(!text_params_noop(&p) || strcmp(line, in) == 0, "all modes 0 change nothing");
    free(line);

    char *wide = text_normalize_width(in);
    check_text(wide, len, "width");
    free(wide);

    if (t2s) {
        char *simp = text_t2s(engine, in);
        check(simp != NULL && valid_utf8(simp, strlen(simp)), "t2s output");
        free(simp);
    }

    fuzz_words(engine, &p, in);
    free(in);
    return 0;
}
