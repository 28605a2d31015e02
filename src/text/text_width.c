/* text_width.c — full-/half-width normalisation of engine output (text_normalize_width). Engines
 * trained on web text mix the two widths; the service writes letters and digits half-width and
 * Chinese punctuation full-width. The exact rule, applied to each code point of the input (invalid
 * UTF-8 bytes read as U+FFFD):
 *   1. full-width letters and digits (U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A) become ASCII:
 *      "ＧＰＴ４" → "GPT4"; the ideographic space U+3000 becomes a space;
 *   2. other full-width ASCII forms (U+FF01-FF5E: ！，％（）…) stay full-width when the nearest
 *      code point before or after them, spaces skipped, is CJK (Han, kana, hangul or CJK
 *      punctuation, including another full-width mark): "你好！" stays; otherwise they become
 *      ASCII: "ＯＫ！" → "OK!", "５０％" → "50%";
 *   3. half-width , . ! ? ; : right after a Han character and right before a Han character or the
 *      end of the text become ， 。 ！ ？ ； ：: "你好,世界." → "你好，世界。"; "3.5元", "是的,OK"
 *      and "你好, world" stay.
 * Everything else is copied unchanged. Output length: rule 3 turns 1 byte into 3, so at most 3n. */
#include "text/text_internal.h"

#include <stdlib.h>
#include <string.h>

static bool fullwidth_alnum(uint32_t cp)
{
    return (cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A);
}

static bool fullwidth_form(uint32_t cp)
{
    return cp >= 0xFF01 && cp <= 0xFF5E;
}

static bool cjk_context(uint32_t cp)
{
    return tx_is_han(cp) || tx_is_cjk_script(cp) || tx_is_cjk_punct(cp) ||
           (fullwidth_form(cp) && !fullwidth_alnum(cp));
}

/* The nearest non-space code point from i in direction dir, 0 when none. */
static uint32_t neighbour(const uint32_t *cp, size_t n, size_t i, int dir)
{
    for (;;) {
        if ((dir < 0 && i == 0) || (dir > 0 && i + 1 >= n))
            return 0;
        i = dir < 0 ? i - 1 : i + 1;
        if (!tx_is_space(cp[i]))
            return cp[i];
    }
}

static uint32_t fullwidth_of(uint32_t c)
{
    switch (c) {
    case ',': return 0xFF0C;
    case '.': return 0x3002;
    case '!': return 0xFF01;
    case '?': return 0xFF1F;
    case ';': return 0xFF1B;
    case ':': return 0xFF1A;
    default: return 0;
    }
}

static uint32_t normalise(const uint32_t *cp, size_t n, size_t i)
{
    uint32_t c = cp[i];
    if (fullwidth_alnum(c))
        return c - 0xFF01 + 0x21;
    if (c == 0x3000)
        return ' ';
    if (fullwidth_form(c)) {
        bool chinese = cjk_context(neighbour(cp, n, i, -1)) || cjk_context(neighbour(cp, n, i, +1));
        return chinese ? c : c - 0xFF01 + 0x21;
    }
    uint32_t wide = fullwidth_of(c);
    if (wide && i > 0 && tx_is_han(cp[i - 1]) && (i + 1 == n || tx_is_han(cp[i + 1])))
        return wide;
    return c;
}

char *text_normalize_width(const char *s)
{
    size_t len = strlen(s), n = 0;
    uint32_t *cp = xmalloc((len + 1) * sizeof *cp);
    for (size_t i = 0; i < len;)
        i += tx_decode(s + i, len - i, &cp[n++]);
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++) {
        char enc[4];
        buf_append(&b, enc, tx_encode(normalise(cp, n, i), enc));
    }
    free(cp);
    return buf_steal(&b);
}
