/* test_text_cases.c — the table of text cases (cases.tsv): every rule and guard of ConvertNumMode,
 * FilterModal, FilterDirty and FilterPunc. Each case runs through text_process_line and, when the
 * input can be cut into words that join back to the same text (one word per character of Chinese
 * text, or per space-separated English word), through text_process_words as well: both must give
 * the expected text, and the words must join to it. All failures are listed before the test fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"
#include "util/util.h"

#define MIN_CASES 300

typedef struct text_case {
    size_t line;
    text_params p;
    char lang[8];
    char *input, *expected;
} text_case;

static bool parse_flags(const char *flags, text_case *c)
{
    c->p = text_default_params();
    if (strcmp(flags, "-") == 0)
        return true;
    char *copy = xstrdup(flags), *save = NULL;
    bool ok = true;
    for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "zh") == 0 || strcmp(t, "en") == 0)
            snprintf(c->lang, sizeof c->lang, "%s", t);
        else if (t[0] == 'n' && t[1] && !t[2])
            c->p.convert_num_mode = t[1] - '0';
        else if (t[0] == 'm' && t[1] && !t[2])
            c->p.filter_modal = t[1] - '0';
        else if (t[0] == 'd' && t[1] && !t[2])
            c->p.filter_dirty = t[1] - '0';
        else if (t[0] == 'p' && t[1] && !t[2])
            c->p.filter_punc = t[1] - '0';
        else
            ok = false;
    }
    free(copy);
    c->p.language = c->lang[0] ? c->lang : NULL;
    return ok;
}

static char *field(const char *s)
{
    return xstrdup(strcmp(s, "<empty>") == 0 ? "" : s);
}

static text_case *load_cases(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    text_case *v = NULL;
    size_t cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2 || strchr(tab2 + 1, '\t'))
            fail_msg("cases.tsv:%zu: want FLAGS<TAB>INPUT<TAB>EXPECTED", lineno);
        *tab1 = *tab2 = '\0';
        if (*n == cap)
            v = xrealloc(v, (cap = cap ? cap * 2 : 256) * sizeof *v);
        text_case *c = &v[(*n)++];
        memset(c, 0, sizeof *c);
        c->line = lineno;
        if (!parse_flags(line, c))
            fail_msg("cases.tsv:%zu: bad flags \"%s\"", lineno, line);
        c->input = field(tab1 + 1);
        c->expected = field(tab2 + 1);
    }
    free(line);
    fclose(f);
    return v;
}

/* Cuts the input into words: per code point when it has no ASCII letter, digit or space; per
 * space otherwise when it has no byte >= 0x80 (plain English). Returns the count, 0 if neither. */
static size_t cut_words(const char *in, char ***out)
{
    bool ascii_word = false, high = false;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        high |= c >= 0x80;
        ascii_word |= (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == ' ';
    }
    char **w = xcalloc(strlen(in) + 1, sizeof *w);
    size_t n = 0, len = strlen(in);
    if (!ascii_word) {
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t l = utf8_decode_strict(in + i, len - i, &cp);
            l = l ? l : 1;
            w[n++] = xstrndup(in + i, l);
            i += l;
        }
    } else if (!high) {
        char *copy = xstrdup(in), *save = NULL;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
            w[n++] = xstrdup(t);
        free(copy);
    }
    *out = w;
    return n;
}

static void free_words(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* The words path; NULL when the input does not cut into words that join back to it. */
static char *through_words(const text_engine *e, const text_case *c, bool *words_ok)
{
    char **w;
    size_t n = cut_words(c->input, &w);
    *words_ok = true;
    if (n == 0) {
        free(w);
        return NULL;
    }
    text_word *tw = xcalloc(n, sizeof *tw);
    for (size_t i = 0; i < n; i++)
        tw[i] = (text_word){w[i], (int64_t)i * 100, (int64_t)i * 100 + 90};
    text_params noop = text_default_params();
    text_result joined, r;
    text_process_words(e, &noop, tw, n, &joined, NULL, 0);
    char *text = NULL;
    if (strcmp(joined.text, c->input) == 0) {
        assert_true(text_process_words(e, &c->p, tw, n, &r, NULL, 0));
        text = xstrdup(r.text);
        /* the words, joined the Mandarin/English way, give the text again */
        text_word *back = xcalloc(r.nwords + 1, sizeof *back);
        for (size_t i = 0; i < r.nwords; i++)
            back[i] = (text_word){r.words[i].text, r.words[i].start_ms, r.words[i].end_ms};
        text_result again;
        text_process_words(e, &noop, back, r.nwords, &again, NULL, 0);
        *words_ok = strcmp(again.text, r.text) == 0;
        text_result_free(&again);
        free(back);
        text_result_free(&r);
    }
    text_result_free(&joined);
    free(tw);
    free_words(w, n);
    return text;
}

static void test_cases(void **state)
{
    (void)state;
    const char *path = getenv("CICADA_TEXT_CASES");
    if (!path)
        path = "cases.tsv";
    size_t n;
    text_case *cases = load_cases(path, &n);
    char err[256];
    text_engine_params ep = text_engine_default_params();
    ep.t2s = false;
    text_engine *e = text_engine_new(&ep, err, sizeof err);
    assert_non_null(e);
    size_t failures = 0, word_runs = 0;
    for (size_t i = 0; i < n; i++) {
        text_case *c = &cases[i];
        char *got = text_process_line(e, &c->p, c->input);
        assert_non_null(got);
        if (strcmp(got, c->expected) != 0) {
            fprintf(stderr, "cases.tsv:%zu: \"%s\" gave \"%s\", want \"%s\"\n", c->line, c->input, got,
                    c->expected);
            failures++;
        }
        bool words_ok;
        char *via_words = through_words(e, c, &words_ok);
        if (via_words) {
            word_runs++;
            if (strcmp(via_words, c->expected) != 0 || !words_ok) {
                fprintf(stderr, "cases.tsv:%zu: as words \"%s\" gave \"%s\"%s, want \"%s\"\n", c->line,
                        c->input, via_words, words_ok ? "" : " (words do not join to it)", c->expected);
                failures++;
            }
        }
        free(via_words);
        free(got);
    }
    printf("%zu cases, %zu also as words, %zu failures\n", n, word_runs, failures);
    for (size_t i = 0; i < n; i++) {
        free(cases[i].input);
        free(cases[i].expected);
    }
    free(cases);
    text_engine_free(e);
    assert_true(n >= MIN_CASES);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
