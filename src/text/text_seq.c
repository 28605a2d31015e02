/* text_seq.c — the piece sequence the passes rewrite (see text_internal.h): cutting words into
 * pieces, looking at neighbouring characters, and joining pieces back into text.
 *
 * Cutting: each Han, kana or hangul character, punctuation mark and symbol is a piece; a run of
 * letters (apostrophes between letters included: "don't", "o'clock") is one piece, a run of ASCII
 * digits another, a run of whitespace one " " piece. Words are trimmed; between two words whose
 * touching sides are both non-CJK a separator " " is inserted (Mandarin words join without one).
 *
 * Joining: whitespace runs become one space, none at either end; no space before , . ! ? ; : or a
 * closing bracket or quote, none after an opening one, and a separator gives no space next to CJK
 * text (which happens when the word between two separators was removed). */
#include "text/text_internal.h"

#include <stdlib.h>
#include <string.h>

void tx_seq_init(tx_seq *s)
{
    memset(s, 0, sizeof *s);
    buf_init(&s->arena);
}

void tx_seq_free(tx_seq *s)
{
    buf_free(&s->arena);
    free(s->p);
    memset(s, 0, sizeof *s);
}

tx_piece *tx_seq_take(tx_seq *s, size_t *n)
{
    tx_piece *old = s->p;
    *n = s->n;
    s->p = NULL;
    s->n = s->cap = 0;
    return old;
}

void tx_seq_keep(tx_seq *s, const tx_piece *piece)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->p = xrealloc(s->p, s->cap * sizeof *s->p);
    }
    s->p[s->n++] = *piece;
}

void tx_seq_push(tx_seq *s, const char *text, size_t len, tx_kind kind, int32_t first, int32_t last,
                 uint8_t flags)
{
    tx_piece piece = {.off = s->arena.len, .len = (uint32_t)len, .cp = 0, .first = first, .last = last,
                      .kind = (uint8_t)kind, .flags = flags};
    if (len > 0)
        tx_decode(text, len, &piece.cp);
    buf_append(&s->arena, text, len);
    tx_seq_keep(s, &piece);
}

const char *tx_text(const tx_seq *s, size_t i)
{
    return s->arena.data + s->p[i].off;
}

/* ---- replacements ---- */

void tx_ops_init(tx_ops *o)
{
    memset(o, 0, sizeof *o);
    buf_init(&o->texts);
}

void tx_ops_add(tx_ops *o, size_t from, size_t to, const char *text)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 8;
        o->v = xrealloc(o->v, o->cap * sizeof *o->v);
    }
    size_t len = strlen(text);
    o->v[o->n++] = (tx_op){from, to, o->texts.len, len};
    buf_append(&o->texts, text, len);
}

static void origin_of(const tx_piece *p, size_t from, size_t to, int32_t *first, int32_t *last)
{
    *first = *last = -1;
    for (size_t i = from; i < to; i++) {
        if (p[i].first < 0)
            continue;
        if (*first < 0 || p[i].first < *first)
            *first = p[i].first;
        if (p[i].last > *last)
            *last = p[i].last;
    }
}

void tx_ops_apply(tx_seq *s, tx_ops *o)
{
    if (o->n > 0) {
        size_t n, k = 0;
        tx_piece *old = tx_seq_take(s, &n);
        for (size_t i = 0; i < n;) {
            if (k < o->n && o->v[k].from == i) {
                const tx_op *op = &o->v[k++];
                int32_t first, last;
                origin_of(old, op->from, op->to, &first, &last);
                if (op->len > 0)
                    tx_seq_push(s, o->texts.data + op->text, op->len, TK_SYMBOL, first, last, TF_NUMBER);
                i = op->to > i ? op->to : i + 1;
                continue;
            }
            tx_seq_keep(s, &old[i++]);
        }
        free(old);
    }
    buf_free(&o->texts);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* ---- cutting words into pieces ---- */

static bool is_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2019;
}

static tx_kind single_kind(uint32_t cp)
{
    if (tx_is_han(cp))
        return TK_HAN;
    if (tx_is_cjk_script(cp))
        return TK_CJK;
    if (tx_is_punct(cp))
        return TK_PUNCT;
    return TK_SYMBOL;
}

/* Length in bytes of the run of the same class starting at t[0] (letters with inner apostrophes,
 * ASCII digits or whitespace); *kind tells which. Single characters give their own length. */
static size_t run_length(const char *t, size_t n, tx_kind *kind)
{
    uint32_t cp;
    size_t len = tx_decode(t, n, &cp);
    bool digit = cp >= '0' && cp <= '9', space = tx_is_space(cp), letter = tx_is_letter(cp);
    if (!digit && !space && !letter) {
        *kind = single_kind(cp);
        return len;
    }
    *kind = digit ? TK_DIGITS : space ? TK_SPACE : TK_LETTERS;
    while (len < n) {
        uint32_t next;
        size_t l = tx_decode(t + len, n - len, &next);
        bool same = digit ? (next >= '0' && next <= '9') : space ? tx_is_space(next) : tx_is_letter(next);
        if (!same && letter && is_apostrophe(next) && len + l < n) {
            uint32_t after;
            tx_decode(t + len + l, n - len - l, &after);
            same = tx_is_letter(after);
        }
        if (!same)
            break;
        len += l;
    }
    return len;
}

/* Bytes [*from, *to) of t without leading and trailing whitespace. */
static void trim(const char *t, size_t *from, size_t *to)
{
    uint32_t cp;
    while (*from < *to) {
        size_t l = tx_decode(t + *from, *to - *from, &cp);
        if (!tx_is_space(cp))
            break;
        *from += l;
    }
    while (*to > *from) {
        size_t start = *to - 1;
        while (start > *from && ((unsigned char)t[start] & 0xC0) == 0x80 && *to - start < 4)
            start--;
        size_t l = tx_decode(t + start, *to - start, &cp);
        if (start + l != *to || !tx_is_space(cp))
            break;
        *to = start;
    }
}

/* Pushes t[0..len) as one piece, writing invalid bytes as U+FFFD. */
static void push_clean(tx_seq *s, const char *t, size_t len, tx_kind kind, int32_t word)
{
    if (kind == TK_SPACE) {
        tx_seq_push(s, " ", 1, kind, word, word, 0);
        return;
    }
    char *clean = text_utf8_clean(t, len);
    tx_seq_push(s, clean, strlen(clean), kind, word, word, 0);
    free(clean);
}

static void push_separator(tx_seq *s)
{
    tx_seq_push(s, " ", 1, TK_SPACE, -1, -1, TF_SEP);
}

void tx_seq_add_word(tx_seq *s, const char *text, int32_t word)
{
    size_t from = 0, to = text ? strlen(text) : 0;
    trim(text, &from, &to);
    bool first = true;
    while (from < to) {
        tx_kind kind;
        size_t len = run_length(text + from, to - from, &kind);
        if (first) {
            const tx_piece *prev = s->n > 0 ? &s->p[s->n - 1] : NULL;
            tx_piece probe = {.kind = (uint8_t)kind};
            tx_decode(text + from, to - from, &probe.cp);
            if (prev && !tx_piece_is_cjk(prev) && !tx_piece_is_cjk(&probe))
                push_separator(s);
            first = false;
        }
        push_clean(s, text + from, len, kind, word);
        from += len;
    }
}

/* ---- looking around ---- */

bool tx_is_char(const tx_seq *s, size_t i, uint32_t cp)
{
    return i < s->n && (s->p[i].kind == TK_HAN || s->p[i].kind == TK_CJK || s->p[i].kind == TK_PUNCT ||
                        s->p[i].kind == TK_SYMBOL) && s->p[i].cp == cp;
}

bool tx_word_at(const tx_seq *s, size_t i, const char *w)
{
    size_t n = strlen(w);
    for (size_t k = 0; k < n;) {
        uint32_t cp;
        k += tx_decode(w + k, n - k, &cp);
        if (!tx_is_char(s, i++, cp))
            return false;
    }
    return true;
}

bool tx_word_before(const tx_seq *s, size_t i, const char *w)
{
    size_t chars = 0, n = strlen(w);
    for (size_t k = 0; k < n; chars++) {
        uint32_t cp;
        k += tx_decode(w + k, n - k, &cp);
    }
    return chars <= i && tx_word_at(s, i - chars, w);
}

static bool language_is(const char *hint, const char *code)
{
    size_t n = strlen(code);
    return strncmp(hint, code, n) == 0 && (hint[n] == '\0' || hint[n] == '-' || hint[n] == '_');
}

char tx_language(const tx_seq *s, const char *hint)
{
    if (hint) {
        if (language_is(hint, "zh") || language_is(hint, "yue") || language_is(hint, "cmn"))
            return 'z';
        return language_is(hint, "en") ? 'e' : 0;
    }
    bool letters = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->p[i].kind == TK_HAN)
            return 'z';
        letters |= s->p[i].kind == TK_LETTERS;
    }
    return letters ? 'e' : 0;
}

/* ---- joining ---- */

static bool no_space_before(const tx_piece *p)
{
    return p->kind == TK_PUNCT && (tx_punct_strength(p->cp) > 0 || tx_is_closing(p->cp));
}

static bool want_space(const tx_piece *prev, const tx_piece *cur, bool only_separators)
{
    if (no_space_before(cur) || (prev->kind == TK_PUNCT && tx_is_opening(prev->cp)))
        return false;
    return !(only_separators && (tx_piece_is_cjk(prev) || tx_piece_is_cjk(cur)));
}

char *tx_join(const tx_seq *s, size_t from, size_t to)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    const tx_piece *prev = NULL;
    bool spaced = false, only_separators = true;
    for (size_t i = from; i < to; i++) {
        const tx_piece *p = &s->p[i];
        if (p->kind == TK_SPACE) {
            spaced = prev != NULL;
            only_separators &= (p->flags & TF_SEP) != 0;
            continue;
        }
        if (p->len == 0)
            continue;
        if (prev && spaced && want_space(prev, p, only_separators))
            buf_putc(&b, ' ');
        buf_append(&b, tx_text(s, i), p->len);
        prev = p;
        spaced = false;
        only_separators = true;
    }
    return buf_steal(&b);
}
