/* text_internal.h — private to src/text: the piece sequence every pass rewrites, character classes,
 * and the passes' entry points. A sentence is cut into pieces: one per Han/kana character, per
 * punctuation mark or symbol, per run of letters or of ASCII digits, per run of whitespace. Each
 * piece remembers which input words it came from (first..last); a separator (the space put between
 * two non-Chinese words when joining them) comes from no word (-1). Passes build a new array of
 * pieces; texts live in one append-only arena shared by all versions of the sequence. */
#ifndef CICADA_TEXT_INTERNAL_H
#define CICADA_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/text.h"
#include "text/text_ac.h"
#include "util/util.h"

#define TX_REPLACEMENT 0xFFFDu

typedef enum tx_kind {
    TK_SPACE,     /* a whitespace run, text " " */
    TK_HAN,       /* one Han character (and 〇) */
    TK_CJK,       /* one kana, hangul or other CJK-script character */
    TK_PUNCT,     /* one punctuation mark */
    TK_SYMBOL,    /* one symbol: % + = ~ ° ² emoji U+FFFD … */
    TK_LETTERS,   /* a run of letters of other scripts (Latin, Cyrillic…), inner apostrophes included */
    TK_DIGITS     /* a run of ASCII digits */
} tx_kind;

enum {
    TF_PROTECTED = 1,   /* inside a guard word: number conversion leaves it alone */
    TF_NUMBER = 2,      /* made by number conversion (digits, %, ~ …) */
    TF_SEP = 4,         /* a separator inserted between two words */
    TF_STRONG = 8       /* an operand of a math word (mode 3): convert even a lone digit */
};

typedef struct tx_piece {
    size_t off;          /* text in the arena */
    uint32_t len;        /* bytes */
    uint32_t cp;         /* first code point */
    int32_t first, last; /* origin words; -1 for a separator */
    uint8_t kind;
    uint8_t flags;
} tx_piece;

typedef struct tx_seq {
    buf arena;
    tx_piece *p;
    size_t n, cap;
} tx_seq;

/* ---- sequence (text.c) ---- */
void tx_seq_init(tx_seq *s);
void tx_seq_free(tx_seq *s);
/* Starts a rewrite: returns the current pieces (caller frees them) and empties the array. */
tx_piece *tx_seq_take(tx_seq *s, size_t *n);
void tx_seq_keep(tx_seq *s, const tx_piece *piece);
/* Appends a piece with new text (copied into the arena). */
void tx_seq_push(tx_seq *s, const char *text, size_t len, tx_kind kind, int32_t first, int32_t last,
                 uint8_t flags);
const char *tx_text(const tx_seq *s, size_t i);
/* Appends the pieces of one word's text (trimmed; invalid UTF-8 as U+FFFD). */
void tx_seq_add_word(tx_seq *s, const char *text, int32_t word);
/* True when s[i] is a Han/kana piece with code point cp. */
bool tx_is_char(const tx_seq *s, size_t i, uint32_t cp);
/* True when the single-character pieces from i spell the UTF-8 word w (Han, kana, punctuation). */
bool tx_word_at(const tx_seq *s, size_t i, const char *w);
/* True when the pieces just before i (i excluded) spell w. */
bool tx_word_before(const tx_seq *s, size_t i, const char *w);
/* The joined text of pieces [from, to): whitespace runs one space, trimmed, no space before a
 * closing mark or after an opening one, none from separators next to CJK text. */
char *tx_join(const tx_seq *s, size_t from, size_t to);
/* Which language's rules apply to the sequence: 'z' Chinese, 'e' English, 0 none. */
char tx_language(const tx_seq *s, const char *hint);

/* Replacements recorded against an unchanged sequence, then applied at once: each replaces pieces
 * [from, to) by one TF_NUMBER piece (none when the text is empty) whose origin spans theirs. Ops
 * must be added in order and must not overlap. */
typedef struct tx_op {
    size_t from, to;
    size_t text, len;       /* in texts */
} tx_op;
typedef struct tx_ops {
    buf texts;
    tx_op *v;
    size_t n, cap;
} tx_ops;
void tx_ops_init(tx_ops *o);
void tx_ops_add(tx_ops *o, size_t from, size_t to, const char *text);
/* Applies and frees the ops. */
void tx_ops_apply(tx_seq *s, tx_ops *o);

/* ---- characters (text_chars.c) ---- */
/* Decodes one code point from s (n > 0 bytes); an invalid byte decodes as U+FFFD of length 1. */
size_t tx_decode(const char *s, size_t n, uint32_t *cp);
size_t tx_encode(uint32_t cp, char out[4]);
bool tx_is_space(uint32_t cp);
bool tx_is_han(uint32_t cp);
bool tx_is_cjk_script(uint32_t cp);     /* kana, hangul, bopomofo, CJK symbols that are letters */
bool tx_is_punct(uint32_t cp);
bool tx_is_cjk_punct(uint32_t cp);      /* punctuation written full-width: 。，、《》… */
bool tx_is_symbol(uint32_t cp);
bool tx_is_letter(uint32_t cp);         /* anything else that forms words: Latin, Cyrillic, … */
bool tx_is_ascii_alnum(uint32_t cp);
/* Strength of a mark for tidying: 3 ends a sentence (。.!?！？…), 2 ;：, 1 ，,、, 0 other marks. */
int tx_punct_strength(uint32_t cp);
bool tx_is_opening(uint32_t cp);        /* ( [ { “ ‘ 《 「 『 【 … */
bool tx_is_closing(uint32_t cp);        /* ) ] } ” ’ 》 」 』 】 … */
/* Case/width folding for word lists: ASCII and full-width letters to lower-case ASCII, full-width
 * digits to ASCII. */
uint32_t tx_fold(uint32_t cp);
/* True when the piece's side is CJK: Han, kana or CJK punctuation. */
bool tx_piece_is_cjk(const tx_piece *p);

/* ---- flat code-point view, for the automata (text_filter.c) ---- */
typedef struct tx_flat {
    uint32_t *cp;        /* folded code points; a separator or space is ' ' */
    size_t *piece;       /* which piece each came from */
    size_t *byte;        /* byte offset inside the piece's text */
    uint8_t *blen;       /* byte length of the code point */
    size_t n;
} tx_flat;
void tx_flat_build(tx_flat *f, const tx_seq *s);
void tx_flat_free(tx_flat *f);
typedef void (*tx_match_fn)(void *ctx, size_t start, size_t end, uint32_t id);
/* Reports the leftmost-longest, non-overlapping matches of ac in f (a pattern starting or ending in
 * an ASCII letter or digit only matches at a word boundary on that side). */
void tx_flat_matches(const tx_flat *f, const tx_ac *ac, tx_match_fn fn, void *ctx);

/* Removes the pieces marked in drop (n + 1 entries), tidying the marks a removal leaves behind
 * (text_filter.c). */
void tx_remove_marked(tx_seq *s, bool *drop);

/* ---- passes ---- */
void tx_filter_dirty(tx_seq *s, const tx_ac *dirty, int mode);
void tx_filter_modal(tx_seq *s, char lang, int mode);
void tx_filter_punc(tx_seq *s, int mode);
/* Marks pieces inside guard words (fixed words, idioms, names) TF_PROTECTED. */
void tx_protect(tx_seq *s, const tx_ac *guards);
void tx_num_zh(tx_seq *s, int mode);
void tx_num_en(tx_seq *s, int mode);

/* ---- built-in word lists ---- */
const char *const *tx_dirty_builtin(size_t *n);
const char *const *tx_num_zh_guards(size_t *n);
const char *const *tx_num_en_guards(size_t *n);
/* Compiles UTF-8 words into ac, folded; returns false (with err) on a word that is not UTF-8. */
bool tx_ac_add_utf8(tx_ac *ac, const char *word, size_t len, uint32_t id);

#endif
