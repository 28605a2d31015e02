/* url.c — percent-decoding (RFC 3986 §2.1) of request paths, query parameters and signature
 * fields: one decoder for the HTTP layer and the signature check, so both read the same bytes. */
#include "util/util.h"

#include <string.h>

size_t url_unescape(char *s, bool *had_nul)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0) {
            char ch = (char)(hi * 16 + lo);
            if (ch == '\0') {   /* kept as "%00": a NUL would cut the string short */
                if (had_nul)
                    *had_nul = true;
                *w++ = *r;
                continue;
            }
            *w++ = ch;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

bool comma_next(const char **cursor, const char **item, size_t *len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == ',')
        p++;
    if (!*p) {
        *cursor = p;
        return false;
    }
    size_t n = strcspn(p, ","), k = n;
    while (k > 0 && p[k - 1] == ' ')
        k--;
    *item = p;
    *len = k;
    *cursor = p + n;
    return true;
}

bool comma_append(char *out, size_t *used, size_t cap, const char *item, size_t len)
{
    size_t at = *used + (*used > 0);
    if (at + len + 1 > cap)
        return false;
    if (*used > 0)
        out[*used] = ',';
    memcpy(out + at, item, len);
    out[at + len] = '\0';
    *used = at + len;
    return true;
}
