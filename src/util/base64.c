/* base64.c — decoding standard base64 (RFC 4648 section 4) as API clients send it, e.g. the
 * hot-vocabulary VocabularyWeightStr: whitespace anywhere is skipped, '=' padding is optional but
 * only at the end and never more than a group needs. Lenient where clients differ harmlessly (the
 * unused low bits of the last digit are not checked), strict on anything else. */
#include "util/util.h"

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool base64_decode(const char *in, buf *out)
{
    uint32_t acc = 0;   /* only the low 14 bits matter; unsigned, so the shifts may wrap */
    int bits = 0;
    size_t pad = 0, digits = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            continue;
        if (*p == '=') {
            pad++;
            continue;
        }
        int v = base64_value(*p);
        if (v < 0 || pad > 0)
            return false;
        digits++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    if (digits % 4 == 1 || pad > 2 || (pad > 0 && (digits + pad) % 4 != 0))
        return false;
    return true;
}
