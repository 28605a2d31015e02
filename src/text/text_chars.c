/* text_chars.c — the character classes the text passes reason with: UTF-8 decoding that never
 * fails (a bad byte reads as U+FFFD), and which code points are spaces, Han characters, other CJK
 * script, punctuation (with a strength used when tidying), symbols or letters. Punctuation is the
 * set a reader would call punctuation: , . ! ? ; : quotes, brackets, dashes, ellipses and their CJK
 * and full-width forms. Symbols (% + = ~ / ° ‰ × ² emoji …) are not punctuation: FilterPunc keeps
 * them, and the number converter writes some of them. */
#include "text/text_internal.h"

static bool in(uint32_t cp, uint32_t lo, uint32_t hi)
{
    return cp >= lo && cp <= hi;
}

size_t tx_decode(const char *s, size_t n, uint32_t *cp)
{
    size_t len = utf8_decode_strict(s, n, cp);
    if (len == 0) {
        *cp = TX_REPLACEMENT;
        return 1;
    }
    return len;
}

size_t tx_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool tx_is_space(uint32_t cp)
{
    return cp == ' ' || in(cp, '\t', '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           in(cp, 0x2000, 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000 || cp == 0xFEFF;
}

bool tx_is_han(uint32_t cp)
{
    return utf8_is_han(cp) || cp == 0x3007;   /* 〇, the zero of written dates */
}

bool tx_is_cjk_script(uint32_t cp)
{
    return cp == 0x3005 || cp == 0x3006 || in(cp, 0x3021, 0x3029) || in(cp, 0x3031, 0x3035) ||
           in(cp, 0x3041, 0x30FA) || in(cp, 0x30FC, 0x30FF) || in(cp, 0x3105, 0x312F) ||
           in(cp, 0x3131, 0x318E) || in(cp, 0x31F0, 0x31FF) || in(cp, 0xAC00, 0xD7A3) ||
           in(cp, 0xFF66, 0xFF9F);
}

/* Full-width forms of ASCII punctuation (U+FF01-FF5E mirror U+0021-007E). */
static uint32_t ascii_of_fullwidth(uint32_t cp)
{
    return in(cp, 0xFF01, 0xFF5E) ? cp - 0xFF01 + 0x21 : 0;
}

static bool is_ascii_punct(uint32_t cp)
{
    return cp == '!' || cp == '"' || cp == '\'' || cp == '(' || cp == ')' || cp == ',' || cp == '-' ||
           cp == '.' || cp == ':' || cp == ';' || cp == '?' || cp == '[' || cp == ']' || cp == '{' ||
           cp == '}' || cp == '`';
}

bool tx_is_cjk_punct(uint32_t cp)
{
    uint32_t a = ascii_of_fullwidth(cp);
    if (a)
        return is_ascii_punct(a);
    return in(cp, 0x3001, 0x3003) || in(cp, 0x3008, 0x3011) || in(cp, 0x3014, 0x301F) ||
           cp == 0x3030 || cp == 0x303D || cp == 0x30FB || in(cp, 0xFE10, 0xFE19) ||
           in(cp, 0xFE30, 0xFE4F) || in(cp, 0xFE50, 0xFE6B) || in(cp, 0xFF5F, 0xFF65);
}

bool tx_is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return is_ascii_punct(cp);
    if (tx_is_cjk_punct(cp))
        return true;
    return cp == 0xA1 || cp == 0xA7 || cp == 0xAB || cp == 0xB6 || cp == 0xB7 || cp == 0xBB ||
           cp == 0xBF || in(cp, 0x2010, 0x2027) || in(cp, 0x2032, 0x2037) || in(cp, 0x2039, 0x203E) ||
           in(cp, 0x2041, 0x2043) || in(cp, 0x2045, 0x2051) || in(cp, 0x2053, 0x205E) ||
           in(cp, 0x2E00, 0x2E4F);
}

bool tx_is_symbol(uint32_t cp)
{
    if (cp < 0x80)
        return in(cp, 0x01, 0x1F) || cp == 0x7F || cp == '#' || cp == '$' || cp == '%' || cp == '&' ||
               cp == '*' || cp == '+' || cp == '/' || cp == '<' || cp == '=' || cp == '>' || cp == '@' ||
               cp == '\\' || cp == '^' || cp == '_' || cp == '|' || cp == '~';
    if (tx_is_punct(cp) || tx_is_space(cp))
        return false;
    uint32_t a = ascii_of_fullwidth(cp);
    if (a)
        return tx_is_symbol(a);
    return in(cp, 0x80, 0x9F) || in(cp, 0xA2, 0xBF) || cp == 0xD7 || cp == 0xF7 ||
           in(cp, 0x2030, 0x2031) || in(cp, 0x2070, 0x209F) || in(cp, 0x20A0, 0x2BFF) ||
           in(cp, 0x3004, 0x3004) || in(cp, 0x3012, 0x3013) || in(cp, 0x3020, 0x3020) ||
           in(cp, 0x3036, 0x3037) || in(cp, 0x3190, 0x319F) || in(cp, 0x31C0, 0x31EF) ||
           in(cp, 0x3200, 0x33FF) || in(cp, 0xD800, 0xDFFF) || in(cp, 0xE000, 0xF8FF) ||
           in(cp, 0xFE00, 0xFE0F) || in(cp, 0xFFE0, 0xFFEE) || in(cp, 0xFFF0, 0xFFFF) ||
           in(cp, 0x1F000, 0x1FAFF) || cp >= 0xE0000;
}

bool tx_is_letter(uint32_t cp)
{
    return !tx_is_space(cp) && !tx_is_han(cp) && !tx_is_cjk_script(cp) && !tx_is_punct(cp) &&
           !tx_is_symbol(cp) && !in(cp, '0', '9');
}

bool tx_is_ascii_alnum(uint32_t cp)
{
    return in(cp, '0', '9') || in(cp, 'a', 'z') || in(cp, 'A', 'Z');
}

int tx_punct_strength(uint32_t cp)
{
    uint32_t a = ascii_of_fullwidth(cp);
    if (a)
        cp = a;
    switch (cp) {
    case '.': case '!': case '?': case 0x3002: case 0x2026: case 0xFF61:
        return 3;
    case ';': case ':':
        return 2;
    case ',': case 0x3001: case 0xFF64:
        return 1;
    default:
        return 0;
    }
}

bool tx_is_opening(uint32_t cp)
{
    uint32_t a = ascii_of_fullwidth(cp);
    if (a)
        cp = a;
    return cp == '(' || cp == '[' || cp == '{' || cp == 0x2018 || cp == 0x201C || cp == 0xAB ||
           cp == 0x3008 || cp == 0x300A || cp == 0x300C || cp == 0x300E || cp == 0x3010 ||
           cp == 0x3014 || cp == 0x3016 || cp == 0x3018 || cp == 0x301A || cp == 0x301D || cp == 0xFF62;
}

bool tx_is_closing(uint32_t cp)
{
    uint32_t a = ascii_of_fullwidth(cp);
    if (a)
        cp = a;
    return cp == ')' || cp == ']' || cp == '}' || cp == 0x2019 || cp == 0x201D || cp == 0xBB ||
           cp == 0x3009 || cp == 0x300B || cp == 0x300D || cp == 0x300F || cp == 0x3011 ||
           cp == 0x3015 || cp == 0x3017 || cp == 0x3019 || cp == 0x301B || cp == 0x301E ||
           cp == 0x301F || cp == 0xFF63;
}

uint32_t tx_fold(uint32_t cp)
{
    if (in(cp, 0xFF01, 0xFF5E) && tx_is_ascii_alnum(cp - 0xFF01 + 0x21))
        cp = cp - 0xFF01 + 0x21;
    if (in(cp, 'A', 'Z'))
        cp += 'a' - 'A';
    return cp;
}

bool tx_piece_is_cjk(const tx_piece *p)
{
    return p->kind == TK_HAN || p->kind == TK_CJK || (p->kind == TK_PUNCT && tx_is_cjk_punct(p->cp));
}
