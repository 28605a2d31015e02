/* utf8.c — decoding one UTF-8 code point strictly, checking a user's text (UTF-8 without control
 * characters, counted in characters), and telling Chinese characters apart. Request text is
 * measured in characters (hot words: at most 10 Chinese or 30 other characters; UserData at most
 * 1024), and base64-decoded text arrives unchecked, so decoding refuses every malformed form. */
#include "util/util.h"

/* Length of the sequence a lead byte starts, 0 for a byte that cannot lead one. */
static size_t sequence_length(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef)
        return 3;
    if (lead >= 0xf0 && lead <= 0xf4)
        return 4;
    return 0;   /* continuation byte, overlong lead (0xc0, 0xc1) or beyond U+10FFFF */
}

size_t utf8_decode_strict(const char *s, size_t n, uint32_t *cp)
{
    static const uint32_t lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned char *u = (const unsigned char *)s;
    size_t len = n > 0 ? sequence_length(u[0]) : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t v = u[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (u[i] & 0x3f);
    }
    if (v < smallest[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool utf8_is_han(uint32_t cp)
{
    return (cp >= 0x4e00 && cp <= 0x9fff)      /* CJK Unified Ideographs */
        || (cp >= 0x3400 && cp <= 0x4dbf)      /* Extension A */
        || (cp >= 0xf900 && cp <= 0xfaff)      /* Compatibility Ideographs */
        || (cp >= 0x20000 && cp <= 0x3134f);   /* Extensions B-G and the supplement */
}

bool utf8_is_spaceless(uint32_t cp)
{
    return utf8_is_han(cp) || (cp >= 0x3005 && cp <= 0x3007) || (cp >= 0x3040 && cp <= 0x30ff)
        || (cp >= 0x31f0 && cp <= 0x31ff) || (cp >= 0xff66 && cp <= 0xff9f);
}

bool utf8_is_wide_punct(uint32_t cp)
{
    return (cp >= 0x3000 && cp <= 0x303f && !(cp >= 0x3005 && cp <= 0x3007)) || (cp >= 0xfe10 && cp <= 0xfe1f)
        || (cp >= 0xfe30 && cp <= 0xfe6f) || (cp >= 0xff00 && cp <= 0xff65);
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool utf8_text_valid(const char *s, size_t n, size_t *chars, size_t *bad, bool *malformed)
{
    size_t at = 0, count = 0;
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(s + at, n - at, &cp);
        if (len == 0 || is_control(cp)) {
            *chars = count;
            *bad = at;
            *malformed = len == 0;
            return false;
        }
        at += len;
        count++;
    }
    *chars = count;
    return true;
}
