/* text.c — the text library's front: the engine (word automata and the OpenCC handle, built once
 * and read-only after), the per-job params, and the orchestration that turns timed words into
 * pieces, runs the passes (FilterDirty, FilterModal, ConvertNumMode, FilterPunc) and turns the
 * pieces back into timed words.
 *
 * Words and spans: every piece remembers the input words it came from. After the passes, pieces
 * are grouped: consecutive pieces whose word ranges touch or overlap form one output word, timed
 * from the earliest start to the latest end of the words it covers. So a word nothing touched
 * keeps its text and times ("我" 0-100 → "我" 0-100); a word emptied by a filter disappears; a
 * numeral read from several words is one word over all of them ("二" 0-100, "十" 100-200, "五"
 * 200-300 → "25" 0-300; "twenty" 0-400, "five" 400-700 → "25" 0-700); a conversion inside one
 * word keeps that word's times ("百分之六点三" 0-900 → "6.3%" 0-900). Two output words that touch
 * in the text but would be joined with a space (neither side CJK) are one word, so that the words
 * always join back into the text ("二" "加" "三" → "2+3", one word over the three). A line is
 * processed as one word. */
#include "text/text_internal.h"

#include <opencc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Reads a dirty-word list file into ac (text_dirty.c). */
bool tx_dirty_load(tx_ac *ac, const char *path, size_t *count, char *err, size_t errlen);

struct text_engine {
    tx_ac *dirty;
    size_t ndirty;
    tx_ac *guards;
    opencc_t t2s;                 /* NULL when not opened */
    pthread_mutex_t t2s_lock;     /* OpenCC does not promise thread safety: one conversion at a time */
};

text_engine_params text_engine_default_params(void)
{
    return (text_engine_params){.dirty_words_file = NULL, .t2s = true};
}

text_params text_default_params(void)
{
    return (text_params){0};
}

static tx_ac *compile_list(const char *const *words, size_t n, size_t *added)
{
    tx_ac *ac = tx_ac_new();
    for (size_t i = 0; i < n; i++)
        *added += tx_ac_add_utf8(ac, words[i], strlen(words[i]), (uint32_t)i);
    tx_ac_compile(ac);
    return ac;
}

/* The number converters' guard words, Mandarin and English, in one automaton. */
static tx_ac *compile_guards(void)
{
    size_t nzh, nen;
    const char *const *zh = tx_num_zh_guards(&nzh);
    const char *const *en = tx_num_en_guards(&nen);
    tx_ac *ac = tx_ac_new();
    for (size_t i = 0; i < nzh; i++)
        tx_ac_add_utf8(ac, zh[i], strlen(zh[i]), (uint32_t)i);
    for (size_t i = 0; i < nen; i++)
        tx_ac_add_utf8(ac, en[i], strlen(en[i]), (uint32_t)(nzh + i));
    tx_ac_compile(ac);
    return ac;
}

static bool open_t2s(text_engine *e, char *err, size_t errlen)
{
    opencc_t cc = opencc_open("t2s.json");
    if (cc == (opencc_t)-1) {
        err_printf(err, errlen, "OpenCC could not open t2s.json (%s): install OpenCC's data", opencc_error());
        return false;
    }
    e->t2s = cc;
    pthread_mutex_init(&e->t2s_lock, NULL);
    return true;
}

text_engine *text_engine_new(const text_engine_params *p, char *err, size_t errlen)
{
    text_engine_params defaults = text_engine_default_params();
    if (!p)
        p = &defaults;
    text_engine *e = xcalloc(1, sizeof *e);
    if (p->dirty_words_file) {
        e->dirty = tx_ac_new();
        if (!tx_dirty_load(e->dirty, p->dirty_words_file, &e->ndirty, err, errlen)) {
            text_engine_free(e);
            return NULL;
        }
        tx_ac_compile(e->dirty);
    } else {
        size_t n;
        const char *const *words = tx_dirty_builtin(&n);
        e->dirty = compile_list(words, n, &e->ndirty);
    }
    e->guards = compile_guards();
    if (p->t2s && !open_t2s(e, err, errlen)) {
        text_engine_free(e);
        return NULL;
    }
    return e;
}

void text_engine_free(text_engine *e)
{
    if (!e)
        return;
    tx_ac_free(e->dirty);
    tx_ac_free(e->guards);
    if (e->t2s) {
        opencc_close(e->t2s);
        pthread_mutex_destroy(&e->t2s_lock);
    }
    free(e);
}

size_t text_engine_dirty_count(const text_engine *e)
{
    return e->ndirty;
}

bool text_params_valid(const text_params *p, char *err, size_t errlen)
{
    if (p->convert_num_mode != 0 && p->convert_num_mode != 1 && p->convert_num_mode != 3) {
        err_printf(err, errlen, "ConvertNumMode must be 0, 1 or 3, not %d", p->convert_num_mode);
        return false;
    }
    const struct { const char *name; int v; } modes[] = {
        {"FilterModal", p->filter_modal}, {"FilterDirty", p->filter_dirty}, {"FilterPunc", p->filter_punc}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (modes[i].v < 0 || modes[i].v > 2) {
            err_printf(err, errlen, "%s must be 0, 1 or 2, not %d", modes[i].name, modes[i].v);
            return false;
        }
    }
    return true;
}

bool text_params_noop(const text_params *p)
{
    return p->convert_num_mode == 0 && p->filter_modal == 0 && p->filter_dirty == 0 && p->filter_punc == 0;
}

static void run_passes(const text_engine *e, const text_params *p, tx_seq *s)
{
    char lang = tx_language(s, p->language);
    if (p->filter_dirty)
        tx_filter_dirty(s, e->dirty, p->filter_dirty);
    if (p->filter_modal && lang)
        tx_filter_modal(s, lang, p->filter_modal);
    if (p->convert_num_mode && lang) {
        tx_protect(s, e->guards);
        if (lang == 'z')
            tx_num_zh(s, p->convert_num_mode);
        else
            tx_num_en(s, p->convert_num_mode);
    }
    if (p->filter_punc)
        tx_filter_punc(s, p->filter_punc);
}

/* ---- pieces back into timed words ---- */

typedef struct span_group {
    size_t from, to;         /* pieces */
    int32_t first, last;     /* words */
} span_group;

static void add_out_word(text_result *r, size_t *cap, const tx_seq *s, const span_group *g,
                         const text_word *words)
{
    char *t = tx_join(s, g->from, g->to);
    if (t[0] == '\0') {
        free(t);
        return;
    }
    int64_t start = words[g->first].start_ms, end = words[g->first].end_ms;
    for (int32_t k = g->first + 1; k <= g->last; k++) {
        start = words[k].start_ms < start ? words[k].start_ms : start;
        end = words[k].end_ms > end ? words[k].end_ms : end;
    }
    if (r->nwords == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->words = xrealloc(r->words, *cap * sizeof *r->words);
    }
    r->words[r->nwords++] = (text_out_word){.text = t, .start_ms = start, .end_ms = end};
}

/* Two groups that touch in the text (no space between) where a join would put one (neither side
 * CJK): they become one word, so that joining the words gives the text again ("2" "+" "3" → "2+3"). */
static bool glued(const tx_seq *s, const span_group *g, size_t i)
{
    return g->to == i && !tx_piece_is_cjk(&s->p[i - 1]) && !tx_piece_is_cjk(&s->p[i]) &&
           s->p[i - 1].kind != TK_SPACE && s->p[i].kind != TK_SPACE;
}

static void collect_words(text_result *r, const tx_seq *s, const text_word *words)
{
    size_t cap = 0;
    span_group g = {0, 0, -1, -1};
    for (size_t i = 0; i < s->n; i++) {
        const tx_piece *p = &s->p[i];
        if (p->first < 0)
            continue;
        if (g.first >= 0 && (p->first <= g.last || glued(s, &g, i))) {
            g.last = p->last > g.last ? p->last : g.last;
            g.to = i + 1;
            continue;
        }
        if (g.first >= 0)
            add_out_word(r, &cap, s, &g, words);
        g = (span_group){i, i + 1, p->first, p->last};
    }
    if (g.first >= 0)
        add_out_word(r, &cap, s, &g, words);
}

/* The sentence is its words joined (so that whoever joins the words again gets the same text). */
static char *join_words(const text_result *r)
{
    tx_seq s;
    tx_seq_init(&s);
    for (size_t i = 0; i < r->nwords; i++)
        tx_seq_add_word(&s, r->words[i].text, (int32_t)i);
    char *t = tx_join(&s, 0, s.n);
    tx_seq_free(&s);
    return t;
}

bool text_process_words(const text_engine *e, const text_params *p, const text_word *words, size_t n,
                        text_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!text_params_valid(p, err, errlen)) {
        out->text = xstrdup("");
        return false;
    }
    tx_seq s;
    tx_seq_init(&s);
    for (size_t i = 0; i < n; i++)
        tx_seq_add_word(&s, words[i].text, (int32_t)i);
    run_passes(e, p, &s);
    collect_words(out, &s, words);
    tx_seq_free(&s);
    out->text = join_words(out);
    return true;
}

void text_result_free(text_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nwords; i++)
        free(r->words[i].text);
    free(r->words);
    free(r->text);
    memset(r, 0, sizeof *r);
}

char *text_process_line(const text_engine *e, const text_params *p, const char *line)
{
    if (!text_params_valid(p, NULL, 0))
        return NULL;
    if (text_params_noop(p))
        return text_utf8_clean(line, strlen(line));
    tx_seq s;
    tx_seq_init(&s);
    tx_seq_add_word(&s, line, 0);
    run_passes(e, p, &s);
    char *t = tx_join(&s, 0, s.n);
    tx_seq_free(&s);
    return t;
}

char *text_utf8_clean(const char *s, size_t n)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode_strict(s + i, n - i, &cp);
        if (len == 0 || cp == 0) {
            buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
            continue;
        }
        buf_append(&b, s + i, len);
        i += len;
    }
    return buf_steal(&b);
}

char *text_t2s(const text_engine *e, const char *s)
{
    if (!e->t2s)
        return NULL;
    text_engine *m = (text_engine *)e;   /* the lock is the one mutable part */
    pthread_mutex_lock(&m->t2s_lock);
    char *c = opencc_convert_utf8(e->t2s, s, strlen(s));
    pthread_mutex_unlock(&m->t2s_lock);
    if (!c)
        return NULL;
    char *copy = xstrdup(c);
    opencc_convert_utf8_free(c);
    return copy;
}
