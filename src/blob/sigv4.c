/* sigv4.c — AWS Signature Version 4 (header and presigned-URL forms) for the S3 backend. Owns the
 * canonical request (method, path as sent, re-encoded sorted query, trimmed lower-cased sorted
 * headers, payload hash), the string to sign and the HMAC-SHA256 key chain. Our own code on OpenSSL
 * because libcurl 7.88's CURLOPT_AWS_SIGV4 mis-signs multipart queries ("uploads", repeated names).
 * Every input is checked before anything is signed: a request that could not be sent as given
 * (CR/LF in a header, a stray '%' in the query, a '/' in the access key) is an error, never a
 * signature over something else. */
#include "blob/sigv4.h"

#include "util/util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MAX_EXPIRES 604800   /* seven days: the longest a presigned URL may live */

static bool fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ---- hashing ---- */

void sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        abort();   /* OpenSSL cannot compute SHA-256: nothing sensible to sign with */
    hex_encode(md, 32, out);
}

static void hmac256(const unsigned char *key, size_t keylen, const char *msg, size_t n, unsigned char out[32])
{
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, n, out, &outlen) || outlen != 32)
        abort();
}

/* signature = hex(HMAC(kSigning, string_to_sign)), kSigning = the date/region/service chain. */
static void sign_string(const sigv4_key *k, const char *date, const char *sts, char sig[65])
{
    size_t slen = strlen(k->secret_key);
    unsigned char *k0 = xmalloc(slen + 4);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, k->secret_key, slen);
    unsigned char kd[32], kr[32], ks[32], kk[32], s[32];
    hmac256(k0, slen + 4, date, strlen(date), kd);
    hmac256(kd, 32, k->region, strlen(k->region), kr);
    hmac256(kr, 32, k->service, strlen(k->service), ks);
    hmac256(ks, 32, "aws4_request", 12, kk);
    hmac256(kk, 32, sts, strlen(sts), s);
    OPENSSL_cleanse(k0, slen + 4);
    OPENSSL_cleanse(kd, sizeof kd);
    OPENSSL_cleanse(kr, sizeof kr);
    OPENSSL_cleanse(ks, sizeof ks);
    OPENSSL_cleanse(kk, sizeof kk);
    free(k0);
    hex_encode(s, 32, sig);
}

/* ---- encoding ---- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

/* SigV4's URI encoding: unreserved bytes kept, '/' kept when keep_slash, everything else %XX. */
static void uri_encode(buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', digits[c >> 4], digits[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

char *sigv4_uri_encode_path(const char *s, size_t n)
{
    buf b;
    buf_init(&b);
    uri_encode(&b, s, n, true);
    return buf_steal(&b);
}

/* ---- input checks ---- */

/* A scope part, access key, method or host: printable ASCII without space and without the bytes
 * listed in `bad`. */
static bool plain_token(const char *s, const char *bad)
{
    if (!s || !*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr(bad, *p))
            return false;
    return true;
}

static bool tchar(unsigned char c)   /* RFC 9110 token characters: what a header name may use */
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool check_key(const sigv4_key *k, char *err, size_t errlen)
{
    if (!k)
        return fail(err, errlen, "sigv4: no key");
    if (!plain_token(k->access_key, "/,;="))
        return fail(err, errlen, "sigv4: access key missing or not printable ASCII without '/', ',', ';', '='");
    if (!k->secret_key || !*k->secret_key)
        return fail(err, errlen, "sigv4: secret key missing");
    if (!plain_token(k->region, "/"))
        return fail(err, errlen, "sigv4: region missing or not printable ASCII without '/'");
    if (!plain_token(k->service, "/"))
        return fail(err, errlen, "sigv4: service missing or not printable ASCII without '/'");
    if (k->session_token && *k->session_token && !plain_token(k->session_token, ""))
        return fail(err, errlen, "sigv4: session token has spaces or control characters");
    return true;
}

static bool check_host(const char *host, char *err, size_t errlen)
{
    if (!plain_token(host, "/?#@\\"))
        return fail(err, errlen, "sigv4: host missing or not a plain host[:port]");
    return true;
}

/* The path as it goes on the wire: starts with '/', printable ASCII, no query or fragment. */
static bool check_path(const char *path, char *err, size_t errlen)
{
    if (!path || !*path)
        return true;   /* signed (and to be sent) as "/" */
    if (path[0] != '/')
        return fail(err, errlen, "sigv4: path must start with '/'");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#')
            return fail(err, errlen, "sigv4: path must be URI-encoded (byte 0x%02x at %zu)", *p,
                        (size_t)(p - (const unsigned char *)path));
    return true;
}

static bool check_payload(const char *h, char *err, size_t errlen)
{
    if (h && strcmp(h, UNSIGNED_PAYLOAD) == 0)
        return true;
    if (h && strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64)
        return true;
    return fail(err, errlen, "sigv4: payload hash must be 64 lower-case hex digits or " UNSIGNED_PAYLOAD);
}

/* 20150830T123600Z and 20150830 from unix seconds (years 1970-9999). */
static bool stamp(int64_t now_s, char amz[17], char date[9], char *err, size_t errlen)
{
    if (now_s < 0 || now_s > INT64_C(253402300799))
        return fail(err, errlen, "sigv4: time %lld outside 1970-9999", (long long)now_s);
    time_t t = (time_t)now_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return fail(err, errlen, "sigv4: time %lld cannot be converted", (long long)now_s);
    strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date, amz, 8);
    date[8] = '\0';
    return true;
}

/* ---- canonical query ---- */

typedef struct qparam {
    char *name, *value;   /* SigV4-encoded */
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Decodes one query component (%XX, and '+' as a space the way S3 servers read it) and encodes it
 * the SigV4 way. false on a '%' not followed by two hex digits. */
static bool requote(const char *s, size_t n, char **out)
{
    buf raw, enc;
    buf_init(&raw);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                buf_free(&raw);
                return false;
            }
            buf_putc(&raw, (char)(hi * 16 + lo));
            i += 2;
        } else {
            buf_putc(&raw, s[i] == '+' ? ' ' : s[i]);
        }
    }
    buf_init(&enc);
    uri_encode(&enc, raw.data ? raw.data : "", raw.len, false);
    buf_free(&raw);
    *out = buf_steal(&enc);
    return true;
}

/* Appends the canonical form of the raw query q (NULL or "" = none) to b. */
static bool canonical_query(buf *b, const char *q, char *err, size_t errlen)
{
    if (!q || !*q)
        return true;
    for (const unsigned char *p = (const unsigned char *)q; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '#')   /* raw UTF-8 is taken (and signed encoded) */
            return fail(err, errlen, "sigv4: query must be URI-encoded (byte 0x%02x at %zu)", *p,
                        (size_t)(p - (const unsigned char *)q));
    size_t cap = 1;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    qparam *v = xcalloc(cap, sizeof *v);
    size_t nv = 0;
    bool ok = true;
    for (const char *p = q; ok;) {
        size_t seg = strcspn(p, "&");
        if (seg > 0) {   /* "a&&b": empty pieces name nothing */
            const char *eq = memchr(p, '=', seg);
            size_t nlen = eq ? (size_t)(eq - p) : seg;
            if (!requote(p, nlen, &v[nv].name) ||
                !requote(eq ? eq + 1 : p + seg, eq ? seg - nlen - 1 : 0, &v[nv].value)) {
                free(v[nv].name);
                v[nv].name = NULL;
                ok = fail(err, errlen, "sigv4: query has a '%%' not followed by two hex digits in \"%.*s\"",
                          (int)(seg > 200 ? 200 : seg), p);
                break;
            }
            nv++;
        }
        if (!p[seg])
            break;
        p += seg + 1;
    }
    if (ok) {
        qsort(v, nv, sizeof *v, qparam_cmp);
        for (size_t i = 0; i < nv; i++) {
            if (i)
                buf_putc(b, '&');
            buf_puts(b, v[i].name);
            buf_putc(b, '=');
            buf_puts(b, v[i].value);
        }
    }
    for (size_t i = 0; i < nv; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
    return ok;
}

/* ---- canonical headers ---- */

typedef struct hdr {
    char *name;    /* lower-cased */
    char *value;   /* trimmed, inner runs of spaces/tabs as one space */
    size_t order;  /* position given: duplicates keep it when joined */
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static char *trimall(const char *s, size_t n)
{
    buf b;
    buf_init(&b);
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\t') {
            space = b.len > 0;
            continue;
        }
        if (space)
            buf_putc(&b, ' ');
        space = false;
        buf_putc(&b, s[i]);
    }
    return buf_steal(&b);
}

static bool reserved_header(const char *lname)
{
    return !strcmp(lname, "host") || !strcmp(lname, "x-amz-date") || !strcmp(lname, "x-amz-content-sha256") ||
           !strcmp(lname, "x-amz-security-token") || !strcmp(lname, "authorization");
}

static void hdr_add(hdr *h, size_t *n, const char *name, const char *value)
{
    h[*n].name = xstrndup(name, strlen(name));
    h[*n].value = trimall(value, strlen(value));
    h[*n].order = *n;
    (*n)++;
}

static void hdrs_free(hdr *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

/* Parses the caller's "Name: value" lines into h (after the n already there). */
static bool parse_headers(const sigv4_request *r, hdr *h, size_t *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *line = r->headers[i];
        if (!line)
            return fail(err, errlen, "sigv4: header %zu is NULL", i);
        const char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return fail(err, errlen, "sigv4: header %zu (\"%.60s\") is not \"Name: value\"", i, line);
        for (const char *p = line; p < colon; p++)
            if (!tchar((unsigned char)*p))
                return fail(err, errlen, "sigv4: header %zu name \"%.*s\" has a character not allowed in names", i,
                            (int)(colon - line > 60 ? 60 : colon - line), line);
        for (const unsigned char *p = (const unsigned char *)colon + 1; *p; p++)
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                return fail(err, errlen, "sigv4: header %zu value has control character 0x%02x", i, *p);
        char *lname = xstrndup(line, (size_t)(colon - line));
        for (char *p = lname; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (reserved_header(lname)) {
            fail(err, errlen, "sigv4: header %zu (%s) is one the signer sets itself", i, lname);
            free(lname);
            return false;
        }
        h[*n].name = lname;
        h[*n].value = trimall(colon + 1, strlen(colon + 1));
        h[*n].order = *n;
        (*n)++;
    }
    return true;
}

/* Appends "name:value\n" lines (duplicates joined with ',') to creq and the ';' list to signed. */
static void canonical_headers(hdr *h, size_t n, buf *creq, buf *signed_list)
{
    qsort(h, n, sizeof *h, hdr_cmp);
    for (size_t i = 0; i < n;) {
        if (signed_list->len)
            buf_putc(signed_list, ';');
        buf_puts(signed_list, h[i].name);
        buf_puts(creq, h[i].name);
        buf_putc(creq, ':');
        size_t j = i;
        for (; j < n && !strcmp(h[j].name, h[i].name); j++) {
            if (j > i)
                buf_putc(creq, ',');
            buf_puts(creq, h[j].value);
        }
        buf_putc(creq, '\n');
        i = j;
    }
}

/* "AWS4-HMAC-SHA256\n<amz>\n<scope>\n<hex sha256(creq)>" signed into sig. */
static void finish(const sigv4_key *k, const char *amz, const char *date, const buf *creq, char sig[65])
{
    char creq_hash[65];
    sigv4_sha256_hex(creq->data ? creq->data : "", creq->len, creq_hash);
    buf sts;
    buf_init(&sts);
    buf_printf(&sts, ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", amz, date, k->region, k->service, creq_hash);
    sign_string(k, date, sts.data, sig);
    buf_free(&sts);
}

static bool has_token(const sigv4_key *k)
{
    return k->session_token && *k->session_token;
}

bool sigv4_sign(const sigv4_key *k, const sigv4_request *r, int64_t now_s, sigv4_signed *out, char *err,
                size_t errlen)
{
    char amz[17], date[9];
    if (!out)
        return fail(err, errlen, "sigv4: no output");
    memset(out, 0, sizeof *out);
    if (!check_key(k, err, errlen))
        return false;
    if (!r)
        return fail(err, errlen, "sigv4: no request");
    if (!plain_token(r->method, "()<>@,;:\\\"/[]?={}"))
        return fail(err, errlen, "sigv4: method missing or not an HTTP token");
    if (!check_host(r->host, err, errlen) || !check_path(r->path, err, errlen) ||
        !check_payload(r->payload_sha256, err, errlen) || !stamp(now_s, amz, date, err, errlen))
        return false;
    if (r->nheaders && !r->headers)
        return fail(err, errlen, "sigv4: %zu headers but no list", r->nheaders);
    if (has_token(k) && strlen(k->session_token) + sizeof "x-amz-security-token: " > sizeof out->security_token)
        return fail(err, errlen, "sigv4: session token longer than %zu bytes",
                    sizeof out->security_token - sizeof "x-amz-security-token: ");

    hdr *h = xcalloc(r->nheaders + 4, sizeof *h);
    size_t n = 0;
    hdr_add(h, &n, "host", r->host);
    hdr_add(h, &n, "x-amz-date", amz);
    if (!r->omit_content_sha256)
        hdr_add(h, &n, "x-amz-content-sha256", r->payload_sha256);
    if (has_token(k))
        hdr_add(h, &n, "x-amz-security-token", k->session_token);
    if (!parse_headers(r, h, &n, err, errlen)) {
        hdrs_free(h, n);
        return false;
    }

    buf creq, signed_list;
    buf_init(&creq);
    buf_init(&signed_list);
    buf_printf(&creq, "%s\n%s\n", r->method, r->path && *r->path ? r->path : "/");
    bool ok = canonical_query(&creq, r->query, err, errlen);
    if (ok) {
        buf_putc(&creq, '\n');
        canonical_headers(h, n, &creq, &signed_list);
        buf_printf(&creq, "\n%s\n%s", signed_list.data, r->payload_sha256);
        char sig[65];
        finish(k, amz, date, &creq, sig);
        int w = snprintf(out->authorization, sizeof out->authorization,
                         "Authorization: " ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                         "Signature=%s",
                         k->access_key, date, k->region, k->service, signed_list.data, sig);
        if (w < 0 || (size_t)w >= sizeof out->authorization) {
            ok = fail(err, errlen, "sigv4: Authorization header longer than %zu bytes (too many signed headers?)",
                      sizeof out->authorization - 1);
        } else {
            snprintf(out->amz_date, sizeof out->amz_date, "x-amz-date: %s", amz);
            if (!r->omit_content_sha256)
                snprintf(out->content_sha256, sizeof out->content_sha256, "x-amz-content-sha256: %s",
                         r->payload_sha256);
            if (has_token(k))
                snprintf(out->security_token, sizeof out->security_token, "x-amz-security-token: %s",
                         k->session_token);
        }
    }
    if (!ok)
        memset(out, 0, sizeof *out);
    buf_free(&creq);
    buf_free(&signed_list);
    hdrs_free(h, n);
    return ok;
}

/* Is the raw query name (up to '=' or '&', decoded) one of the presign parameters we add? */
static bool auth_param_in(const char *q)
{
    static const char *const names[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                        "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"};
    for (const char *p = q; p && *p;) {
        size_t seg = strcspn(p, "&"), nlen = strcspn(p, "=&");
        char *name;
        if (nlen && requote(p, nlen, &name)) {
            for (size_t i = 0; i < sizeof names / sizeof *names; i++)
                if (!strcasecmp(name, names[i])) {
                    free(name);
                    return true;
                }
            free(name);
        }
        p += seg + (p[seg] ? 1 : 0);
    }
    return false;
}

char *sigv4_presign(const sigv4_key *k, const char *method, const char *base, const char *host, const char *path,
                    const char *query, int64_t now_s, int expires_s, char *err, size_t errlen)
{
    char amz[17], date[9];
    if (!check_key(k, err, errlen))
        return NULL;
    if (!plain_token(method, "()<>@,;:\\\"/[]?={}")) {
        fail(err, errlen, "sigv4: method missing or not an HTTP token");
        return NULL;
    }
    if (!base || !*base || strpbrk(base, " \t\r\n?#")) {
        fail(err, errlen, "sigv4: base URL missing or has spaces, '?' or '#'");
        return NULL;
    }
    if (!check_host(host, err, errlen) || !check_path(path, err, errlen) || !stamp(now_s, amz, date, err, errlen))
        return NULL;
    if (expires_s < 1 || expires_s > MAX_EXPIRES) {
        fail(err, errlen, "sigv4: expiry %d s outside 1..%d", expires_s, MAX_EXPIRES);
        return NULL;
    }
    if (auth_param_in(query)) {
        fail(err, errlen, "sigv4: query already carries an X-Amz-* presign parameter");
        return NULL;
    }

    /* The full query as it will be sent (the caller's first, then ours), signed in canonical form. */
    buf q;
    buf_init(&q);
    if (query && *query)
        buf_printf(&q, "%s&", query);
    buf_puts(&q, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
    buf cred;
    buf_init(&cred);
    buf_printf(&cred, "%s/%s/%s/%s/aws4_request", k->access_key, date, k->region, k->service);
    uri_encode(&q, cred.data, cred.len, false);
    buf_free(&cred);
    buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host", amz, expires_s);
    if (has_token(k)) {
        buf_puts(&q, "&X-Amz-Security-Token=");
        uri_encode(&q, k->session_token, strlen(k->session_token), false);
    }

    const char *p = path && *path ? path : "/";
    buf creq;
    buf_init(&creq);
    buf_printf(&creq, "%s\n%s\n", method, p);
    char *url = NULL;
    if (canonical_query(&creq, q.data, err, errlen)) {
        buf_printf(&creq, "\nhost:%s\n\nhost\n" UNSIGNED_PAYLOAD, host);
        char sig[65];
        finish(k, amz, date, &creq, sig);
        buf u;
        buf_init(&u);
        buf_printf(&u, "%s%s?%s&X-Amz-Signature=%s", base, p, q.data, sig);
        url = buf_steal(&u);
    }
    buf_free(&creq);
    buf_free(&q);
    return url;
}
