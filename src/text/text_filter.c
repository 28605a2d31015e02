/* text_filter.c — FilterDirty and FilterPunc, the code-point view the word automata search, and
 * the tidying of punctuation that a removal leaves behind (shared with FilterModal).
 *
 * FilterDirty (one Aho–Corasick pass over the sentence's code points, ASCII and full-width letters
 * folded to lower case; leftmost-longest matches, never overlapping; an entry that starts or ends
 * with an ASCII letter or digit matches only at a word boundary on that side):
 *   1  removes each match:           "你这个傻逼，走开" → "你这个，走开"; "this is bullshit." → "this is."
 *                                    a word left empty disappears; "傻逼！" → "" (see tidying)
 *   2  writes each code point as '*': "你这个傻逼" → "你这个**"; "Fucking hell" → "******* hell"
 *
 * FilterPunc:
 *   1  drops the punctuation that ends the sentence: the trailing run of marks, looking through
 *      closing quotes and brackets, which stay: "你好。" → "你好"; "Really?!" → "Really";
 *      "他说：“好的。”" → "他说：“好的”"; "(see above)" unchanged; "等等……" → "等等"
 *   2  drops every punctuation mark ("你好，世界。" → "你好世界"; "Hello, world." → "Hello world"),
 *      except marks inside a number or word: . , : between digits ("3.5", "1,000", "10:30"), a hyphen
 *      between letters or digits ("e-mail"), a middle dot between names ("迈克尔·杰克逊").
 *      Symbols are not punctuation and stay (% ~ + = / ° * …).
 *
 * Tidying after a removal (FilterDirty 1, FilterModal): looking at the nearest kept marks on both
 * sides of what was removed: at the start of the sentence, the marks that followed it go
 * ("嗯，我觉得" → "我觉得"); at the end, a comma, colon or semicolon before it goes ("好的，嗯" →
 * "好的"); between two marks (, ; : . ! ? and their CJK forms) only the stronger stays, the first
 * one on a tie ("我觉得，呃，可以" → "我觉得，可以"; "可以，嗯。" → "可以。"). Brackets and quotes
 * are never tidied away. When a removed word with a capital opened a sentence, the next word gets
 * the capital: "Um, the plan." → "The plan."; "Fucking hell" → "Hell". */
#include "text/text_internal.h"

#include <stdlib.h>
#include <string.h>

/* Rebuilds s from the pieces whose drop flag is false, in order. */
static void keep_undropped(tx_seq *s, const bool *drop)
{
    size_t n;
    tx_piece *old = tx_seq_take(s, &n);
    for (size_t i = 0; i < n; i++)
        if (!drop[i])
            tx_seq_keep(s, &old[i]);
    free(old);
}

/* ---- the flat code-point view ---- */

static void flat_grow(tx_flat *f, size_t *cap)
{
    if (f->n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 64;
    f->cp = xrealloc(f->cp, *cap * sizeof *f->cp);
    f->piece = xrealloc(f->piece, *cap * sizeof *f->piece);
    f->byte = xrealloc(f->byte, *cap * sizeof *f->byte);
    f->blen = xrealloc(f->blen, *cap * sizeof *f->blen);
}

void tx_flat_build(tx_flat *f, const tx_seq *s)
{
    memset(f, 0, sizeof *f);
    size_t cap = 0;
    for (size_t i = 0; i < s->n; i++) {
        const char *t = tx_text(s, i);
        for (size_t k = 0; k < s->p[i].len;) {
            uint32_t cp;
            size_t l = tx_decode(t + k, s->p[i].len - k, &cp);
            flat_grow(f, &cap);
            f->cp[f->n] = s->p[i].kind == TK_SPACE ? ' ' : tx_fold(cp);
            f->piece[f->n] = i;
            f->byte[f->n] = k;
            f->blen[f->n] = (uint8_t)l;
            f->n++;
            k += l;
        }
    }
}

void tx_flat_free(tx_flat *f)
{
    free(f->cp);
    free(f->piece);
    free(f->byte);
    free(f->blen);
    memset(f, 0, sizeof *f);
}

typedef struct found {
    size_t start, end;
    uint32_t id;
} found;

typedef struct found_list {
    const tx_flat *f;
    found *v;
    size_t n, cap;
} found_list;

/* An ASCII letter or digit at a pattern's edge must not continue a word of the text. */
static bool at_boundaries(const tx_flat *f, size_t start, size_t end)
{
    if (tx_is_ascii_alnum(f->cp[start]) && start > 0 && tx_is_ascii_alnum(f->cp[start - 1]))
        return false;
    return !(tx_is_ascii_alnum(f->cp[end - 1]) && end < f->n && tx_is_ascii_alnum(f->cp[end]));
}

static void collect(void *ctx, size_t start, size_t end, uint32_t id)
{
    found_list *l = ctx;
    if (!at_boundaries(l->f, start, end))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (found){start, end, id};
}

static int cmp_found(const void *a, const void *b)
{
    const found *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end;
}

void tx_flat_matches(const tx_flat *f, const tx_ac *ac, tx_match_fn fn, void *ctx)
{
    found_list l = {.f = f};
    tx_ac_search(ac, f->cp, f->n, collect, &l);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_found);
    size_t taken_end = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].start < taken_end)
            continue;
        fn(ctx, l.v[i].start, l.v[i].end, l.v[i].id);
        taken_end = l.v[i].end;
    }
    free(l.v);
}

/* ---- guards ---- */

typedef struct protect_ctx {
    tx_seq *s;
    const tx_flat *f;
} protect_ctx;

static void protect_match(void *ctx, size_t start, size_t end, uint32_t id)
{
    (void)id;
    protect_ctx *c = ctx;
    for (size_t k = start; k < end; k++)
        c->s->p[c->f->piece[k]].flags |= TF_PROTECTED;
}

void tx_protect(tx_seq *s, const tx_ac *guards)
{
    tx_flat f;
    tx_flat_build(&f, s);
    found_list l = {.f = &f};
    tx_ac_search(guards, f.cp, f.n, collect, &l);   /* every occurrence, overlapping ones too */
    protect_ctx c = {s, &f};
    for (size_t i = 0; i < l.n; i++)
        protect_match(&c, l.v[i].start, l.v[i].end, l.v[i].id);
    free(l.v);
    tx_flat_free(&f);
}

/* ---- removing pieces, tidying what is left ---- */

static bool is_mark(const tx_piece *p)
{
    return p->kind == TK_PUNCT && tx_punct_strength(p->cp) > 0;
}

/* Nearest kept, non-space piece before i (exclusive), or SIZE_MAX. */
static size_t kept_before(const tx_seq *s, const bool *drop, size_t i)
{
    while (i > 0) {
        i--;
        if (!drop[i] && s->p[i].kind != TK_SPACE)
            return i;
    }
    return SIZE_MAX;
}

static size_t kept_after(const tx_seq *s, const bool *drop, size_t i)
{
    for (; i < s->n; i++)
        if (!drop[i] && s->p[i].kind != TK_SPACE)
            return i;
    return SIZE_MAX;
}

/* Drops the marks that would open the sentence after a removal at its start. */
static void drop_leading_marks(const tx_seq *s, bool *drop, size_t from)
{
    for (size_t i = from; i < s->n; i++) {
        if (drop[i] || s->p[i].kind == TK_SPACE)
            continue;
        if (s->p[i].kind != TK_PUNCT || tx_is_opening(s->p[i].cp))
            return;
        drop[i] = true;
    }
}

static void tidy_gap(const tx_seq *s, bool *drop, size_t gap_start, size_t gap_end)
{
    size_t l = kept_before(s, drop, gap_start), r = kept_after(s, drop, gap_end);
    if (l == SIZE_MAX) {
        if (r != SIZE_MAX)
            drop_leading_marks(s, drop, r);
        return;
    }
    const tx_piece *lp = &s->p[l];
    if (r == SIZE_MAX) {
        int st = is_mark(lp) ? tx_punct_strength(lp->cp) : 0;
        if (st == 1 || st == 2)
            drop[l] = true;
        return;
    }
    const tx_piece *rp = &s->p[r];
    if (is_mark(lp) && is_mark(rp)) {
        if (tx_punct_strength(rp->cp) > tx_punct_strength(lp->cp))
            drop[l] = true;
        else
            drop[r] = true;
    }
}

static bool starts_sentence(const tx_seq *s, const bool *drop, size_t i)
{
    while (i > 0) {
        i--;
        if (drop[i] || s->p[i].kind == TK_SPACE)
            continue;
        return s->p[i].kind == TK_PUNCT && tx_punct_strength(s->p[i].cp) == 3;
    }
    return true;
}

/* Gives the next kept word a capital when a removed capitalised filler opened the sentence. */
static void capitalise_after(tx_seq *s, const bool *drop, size_t i)
{
    const char *t = tx_text(s, i);
    if (!(t[0] >= 'A' && t[0] <= 'Z') || !starts_sentence(s, drop, i))
        return;
    for (size_t k = i + 1; k < s->n; k++) {
        if (drop[k] || s->p[k].kind == TK_SPACE || s->p[k].kind == TK_PUNCT)
            continue;
        if (s->p[k].kind == TK_LETTERS && tx_text(s, k)[0] >= 'a' && tx_text(s, k)[0] <= 'z') {
            char *word = xstrndup(tx_text(s, k), s->p[k].len);   /* the arena may move */
            word[0] = (char)(word[0] - 32);
            s->p[k].off = s->arena.len;
            s->p[k].cp = (uint32_t)(unsigned char)word[0];
            buf_append(&s->arena, word, s->p[k].len);
            free(word);
        }
        return;
    }
}

void tx_remove_marked(tx_seq *s, bool *drop)
{
    for (size_t i = 0; i < s->n; i++)
        if (drop[i] && s->p[i].kind == TK_LETTERS)
            capitalise_after(s, drop, i);
    /* Gaps: runs of removed pieces (spaces inside them included), left to right. */
    for (size_t i = 0; i < s->n;) {
        if (!drop[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < s->n && (drop[j] || s->p[j].kind == TK_SPACE))
            j++;
        tidy_gap(s, drop, i, j);
        i = j;
    }
    keep_undropped(s, drop);
}

/* ---- FilterDirty ---- */

typedef struct dirty_ctx {
    uint8_t *hit;     /* per flat code point */
} dirty_ctx;

static void dirty_match(void *ctx, size_t start, size_t end, uint32_t id)
{
    (void)id;
    dirty_ctx *c = ctx;
    memset(c->hit + start, 1, end - start);
}

/* Rewrites piece i without (mode 1) or with masked (mode 2) hit code points; true if it is now
 * empty. */
static bool rewrite_piece(tx_seq *s, const tx_flat *f, const uint8_t *hit, size_t from, size_t to, int mode)
{
    size_t i = f->piece[from];
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t k = from; k < to; k++) {
        if (!hit[k])
            buf_append(&b, tx_text(s, i) + f->byte[k], f->blen[k]);
        else if (mode == 2)
            buf_putc(&b, '*');
    }
    bool empty = b.len == 0;
    tx_piece *p = &s->p[i];
    if (empty) {            /* dropped: keeps its old text, which tidying still looks at */
        buf_free(&b);
        return true;
    }
    p->off = s->arena.len;
    p->len = (uint32_t)b.len;
    buf_append(&s->arena, b.data, b.len);
    tx_decode(b.data, b.len, &p->cp);
    if (strspn(b.data, "*") == b.len)
        p->kind = TK_SYMBOL;
    buf_free(&b);
    return false;
}

void tx_filter_dirty(tx_seq *s, const tx_ac *dirty, int mode)
{
    tx_flat f;
    tx_flat_build(&f, s);
    if (f.n == 0) {
        tx_flat_free(&f);
        return;
    }
    dirty_ctx c = {.hit = xcalloc(f.n, 1)};
    tx_flat_matches(&f, dirty, dirty_match, &c);
    bool *drop = xcalloc(s->n + 1, sizeof *drop);
    bool any = false;
    for (size_t k = 0; k < f.n;) {
        size_t end = k;
        bool touched = false;
        while (end < f.n && f.piece[end] == f.piece[k])
            touched |= c.hit[end++] && s->p[f.piece[k]].kind != TK_SPACE;
        if (touched) {
            drop[f.piece[k]] = rewrite_piece(s, &f, c.hit, k, end, mode);
            any = true;
        }
        k = end;
    }
    if (any)
        tx_remove_marked(s, drop);
    free(drop);
    free(c.hit);
    tx_flat_free(&f);
}

/* ---- FilterPunc ---- */

static bool is_word_piece(const tx_piece *p)
{
    return p->kind == TK_LETTERS || p->kind == TK_DIGITS || (p->flags & TF_NUMBER);
}

static bool is_digit_piece(const tx_piece *p)
{
    return p->kind == TK_DIGITS || (p->flags & TF_NUMBER);
}

/* A mark inside a number or word, which FilterPunc 2 keeps. */
static bool inner_mark(const tx_seq *s, size_t i)
{
    if (i == 0 || i + 1 >= s->n)
        return false;
    const tx_piece *l = &s->p[i - 1], *r = &s->p[i + 1];
    uint32_t cp = s->p[i].cp;
    if (cp == '.' || cp == ',' || cp == ':')
        return is_digit_piece(l) && is_digit_piece(r);
    if (cp == '-' || cp == 0x2010 || cp == 0x2011)
        return is_word_piece(l) && is_word_piece(r);
    if (cp == 0xB7 || cp == 0x30FB || cp == 0x2027)
        return (l->kind == TK_HAN || l->kind == TK_LETTERS) && (r->kind == TK_HAN || r->kind == TK_LETTERS);
    return false;
}

static bool closes_sentence_end(const tx_piece *p)
{
    return p->kind == TK_PUNCT && (tx_is_closing(p->cp) || p->cp == '"' || p->cp == '\'');
}

/* FilterPunc 1: the trailing run of marks, looking through closing quotes and brackets. */
static void mark_final_punct(const tx_seq *s, bool *drop)
{
    size_t i = s->n;
    while (i > 0 && (s->p[i - 1].kind == TK_SPACE || closes_sentence_end(&s->p[i - 1])))
        i--;
    while (i > 0) {
        const tx_piece *p = &s->p[i - 1];
        if (p->kind == TK_SPACE) {
            i--;
            continue;
        }
        if (p->kind != TK_PUNCT || tx_is_opening(p->cp) || closes_sentence_end(p))
            break;
        drop[--i] = true;
    }
}

void tx_filter_punc(tx_seq *s, int mode)
{
    bool *drop = xcalloc(s->n + 1, sizeof *drop);
    if (mode == 1)
        mark_final_punct(s, drop);
    else
        for (size_t i = 0; i < s->n; i++)
            drop[i] = s->p[i].kind == TK_PUNCT && !inner_mark(s, i);
    keep_undropped(s, drop);
    free(drop);
}
