/* form.c — multipart/form-data bodies (RFC 7578 over RFC 2046 §5.1), the upload format of the
 * OpenAI-compatible endpoint (openai.c). The body is already buffered (bounded by the http layer),
 * so parsing is one pass over it: each part's name, filename and Content-Type are copied out, its
 * content is pointed at where it lies. Untrusted bytes: every length is bounded, a malformed form
 * is refused with the reason, never half-read (fuzz/fuzz_form.c).
 *
 * Accepted as the RFC and real clients write it: the boundary parameter quoted or not, a preamble
 * before the first delimiter and an epilogue after the last, transport padding (spaces, tabs) after
 * a delimiter, header names in any case, quoted-string parameter values with backslash escapes.
 * Not accepted: a body without its closing delimiter, more than API_FORM_MAX_PARTS parts, headers
 * longer than FORM_MAX_HEADERS bytes, a part without Content-Disposition: form-data and a name. */
#include "api/api_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FORM_MAX_BOUNDARY 70    /* RFC 2046: 1-70 characters */
#define FORM_MAX_HEADERS 8192   /* bytes of one part's header block */

static bool fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && whylen)
        vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

/* One parameter value at *p (a token or a quoted-string) into out (cap bytes, NUL-terminated);
 * advances *p past it. False when it does not fit or a quote is not closed. */
static bool param_value(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (n + 1 >= cap)
                return false;
            out[n++] = *s;
        }
        if (s >= end)
            return false;
        s++;
    } else {
        for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++) {
            if (n + 1 >= cap)
                return false;
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    *p = s;
    return true;
}

/* Walks "; name=value" parameters of a header value; calls take() for each. */
typedef bool (*param_fn)(void *ud, const char *name, size_t namelen, const char **p, const char *end);

static bool each_param(const char *p, const char *end, param_fn take, void *ud)
{
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end)
            return true;
        if (*p != ';')
            return false;
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end)
            return true;   /* a trailing ';' */
        const char *name = p;
        while (p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t namelen = (size_t)(p - name);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end || *p != '=' || namelen == 0)
            return false;
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (!take(ud, name, namelen, &p, end))
            return false;
    }
}

static bool is_param(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static bool take_boundary(void *ud, const char *name, size_t namelen, const char **p, const char *end)
{
    char scratch[1024];
    bool mine = is_param(name, namelen, "boundary");
    return param_value(p, end, mine ? ud : scratch, mine ? FORM_MAX_BOUNDARY + 2 : sizeof scratch);
}

bool api_form_boundary(const char *content_type, char out[72], char *why, size_t whylen)
{
    out[0] = '\0';
    if (!content_type)
        return fail(why, whylen, "the request has no Content-Type (multipart/form-data is expected)");
    static const char kind[] = "multipart/form-data";
    const char *p = content_type;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, kind, sizeof kind - 1) != 0)
        return fail(why, whylen, "Content-Type must be multipart/form-data");
    p += sizeof kind - 1;
    if (!each_param(p, p + strlen(p), take_boundary, out))
        return fail(why, whylen, "Content-Type has a malformed parameter");
    size_t n = strlen(out);
    if (n == 0 || n > FORM_MAX_BOUNDARY)
        return fail(why, whylen, "Content-Type needs a boundary of 1 to %d characters", FORM_MAX_BOUNDARY);
    return true;
}

typedef struct disposition {
    api_form_part *part;
    bool name, bad;
} disposition;

static bool take_disposition(void *ud, const char *name, size_t namelen, const char **p, const char *end)
{
    disposition *d = ud;
    char scratch[1024];
    if (is_param(name, namelen, "name")) {
        d->name = true;
        return param_value(p, end, d->part->name, sizeof d->part->name);
    }
    if (is_param(name, namelen, "filename"))
        return param_value(p, end, d->part->filename, sizeof d->part->filename);
    return param_value(p, end, scratch, sizeof scratch);   /* others (filename*) are not kept */
}

/* The header block [h, end) of one part (lines separated by CRLF). */
static bool part_headers(const char *h, const char *end, api_form_part *part, char *why, size_t whylen)
{
    bool disposed = false;
    while (h < end) {
        const char *eol = memchr(h, '\r', (size_t)(end - h));
        if (!eol)
            eol = end;
        const char *colon = memchr(h, ':', (size_t)(eol - h));
        if (!colon)
            return fail(why, whylen, "a part has a header line without a colon");
        size_t namelen = (size_t)(colon - h);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        if (is_param(h, namelen, "Content-Disposition")) {
            static const char fd[] = "form-data";
            if ((size_t)(eol - v) < sizeof fd - 1 || strncasecmp(v, fd, sizeof fd - 1) != 0)
                return fail(why, whylen, "a part's Content-Disposition is not form-data");
            disposition d = {.part = part};
            if (!each_param(v + sizeof fd - 1, eol, take_disposition, &d) || !d.name || !part->name[0])
                return fail(why, whylen, "a part's Content-Disposition has no usable name (at most %zu bytes)",
                            sizeof part->name - 1);
            disposed = true;
        } else if (is_param(h, namelen, "Content-Type")) {
            size_t n = (size_t)(eol - v);
            if (n >= sizeof part->content_type)
                n = sizeof part->content_type - 1;
            memcpy(part->content_type, v, n);
            part->content_type[n] = '\0';
        }
        h = eol + (eol < end ? 2 : 0);
    }
    if (!disposed)
        return fail(why, whylen, "a part has no Content-Disposition: form-data header");
    return true;
}

bool api_form_parse(const char *content_type, const char *body, size_t len, api_form *f, char *why, size_t whylen)
{
    memset(f, 0, sizeof *f);
    char boundary[72];
    if (!api_form_boundary(content_type, boundary, why, whylen))
        return false;
    /* delim is CRLF "--" boundary; the first one may open the body without its CRLF */
    if (!body)
        body = "";
    char delim[80];
    int dlen = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    const char *end = body + len, *p;
    if (len >= (size_t)dlen - 2 && memcmp(body, delim + 2, (size_t)dlen - 2) == 0)
        p = body + dlen - 2;
    else {
        p = memmem(body, len, delim, (size_t)dlen);
        if (!p)
            return fail(why, whylen, "the body holds no delimiter of the boundary the Content-Type names");
        p += dlen;
    }
    for (;;) {
        /* just after a delimiter: "--" closes the form; else padding, CRLF, a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return true;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return fail(why, whylen, "a boundary delimiter is not followed by a line break");
        p += 2;
        if (f->n == API_FORM_MAX_PARTS)
            return fail(why, whylen, "the form has more than %d parts", API_FORM_MAX_PARTS);
        api_form_part *part = &f->part[f->n];
        const char *hend;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            hend = p;   /* no headers at all */
        else {
            size_t look = (size_t)(end - p) < FORM_MAX_HEADERS + 4 ? (size_t)(end - p) : FORM_MAX_HEADERS + 4;
            hend = memmem(p, look, "\r\n\r\n", 4);
            if (!hend)
                return fail(why, whylen, "a part's headers do not end (or are longer than %d bytes)", FORM_MAX_HEADERS);
        }
        if (!part_headers(p, hend, part, why, whylen))
            return false;
        p = hend + (hend == p ? 2 : 4);
        const char *next = memmem(p, (size_t)(end - p), delim, (size_t)dlen);
        if (!next)
            return fail(why, whylen, "the form is cut short: part \"%s\" has no closing delimiter", part->name);
        part->data = p;
        part->len = (size_t)(next - p);
        f->n++;
        p = next + dlen;
    }
}

const api_form_part *api_form_get(const api_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->part[i].name, name) == 0)
            return &f->part[i];
    return NULL;
}
