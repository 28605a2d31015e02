/* range.c — the HTTP Range request header (RFC 9110 section 14.2) against an object's size, for the
 * embedded object store's GET. One range only: "bytes=a-b", "bytes=a-" and the suffix form
 * "bytes=-n". A multi-range request, another unit or a syntax this parser does not take is ignored
 * (the whole object is sent, as S3 does); a well-formed range that selects nothing is unsatisfiable
 * (416). Numbers are read with strtoll, so a number past INT64_MAX counts as INT64_MAX: a first
 * position that large is unsatisfiable, a last position or suffix that large means "to the end". */
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

range_result range_parse(const char *h, int64_t size, int64_t *off, int64_t *len)
{
    if (!h || strncmp(h, "bytes=", 6) != 0)
        return RANGE_NONE;
    const char *p = h + 6;
    if (strchr(p, ','))
        return RANGE_NONE;   /* multi-range: answer with the whole object, as S3 does */
    char *end;
    int64_t a, b;
    if (*p == '-') {
        int64_t n = strtoll(p + 1, &end, 10);
        if (end == p + 1 || *end || n <= 0)
            return RANGE_UNSATISFIABLE;
        a = n >= size ? 0 : size - n;
        b = size - 1;
    } else {
        a = strtoll(p, &end, 10);
        if (end == p || *end != '-')
            return RANGE_NONE;
        const char *q = end + 1;
        b = *q ? strtoll(q, &end, 10) : size - 1;
        if (*q && *end)
            return RANGE_NONE;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size || a > b || a < 0)
        return RANGE_UNSATISFIABLE;
    *off = a;
    *len = b - a + 1;
    return RANGE_OK;
}
