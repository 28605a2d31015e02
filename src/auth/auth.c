/* auth.c — COS/CI request signatures (q-sign-algorithm=sha1): the building blocks checked against
 * the official vectors, signing, and verification of an incoming request with the spec's rules
 * (only listed headers/params are signed, key-time window with skew, Host retried without its
 * port for the Python SDK, constant-time compare). Pure functions: no I/O; the one global is the
 * SHA-1 algorithm handle, fetched once. */
#include "auth/auth.h"
#include "util/util.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHA1_HEX_LEN 40
#define MAX_TIME_DIGITS 15

/* ---- hashing ---- */

/* SHA-1 is fetched from OpenSSL's provider once per process: EVP_sha1() and HMAC() look the
 * algorithm up again on every call, which was 10% of a GET /asr_jobs/<id> under load. */
static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void sha1_fetch(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!sha1_md)
        abort();
}

#define SHA1_LEN 20
#define SHA1_BLOCK 64

/* digest = SHA1(a || b); either part may be empty. */
static void sha1_two(const void *a, size_t alen, const void *b, size_t blen, unsigned char digest[SHA1_LEN])
{
    pthread_once(&sha1_once, sha1_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!ctx || !EVP_DigestInit_ex2(ctx, sha1_md, NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
        !EVP_DigestUpdate(ctx, b, blen) || !EVP_DigestFinal_ex(ctx, digest, &n))
        abort();
    EVP_MD_CTX_free(ctx);
}

static void sha1_hex(const void *data, size_t len, char out[SHA1_HEX_LEN + 1])
{
    unsigned char md[SHA1_LEN];
    sha1_two(data, len, "", 0, md);
    hex_encode(md, SHA1_LEN, out);
}

/* HMAC-SHA1 (RFC 2104) over the pre-fetched digest. */
static void hmac_sha1_hex(const char *key, const char *msg, char out[SHA1_HEX_LEN + 1])
{
    unsigned char k[SHA1_BLOCK] = {0}, pad[SHA1_BLOCK], inner[SHA1_LEN], md[SHA1_LEN];
    size_t klen = strlen(key);
    if (klen > SHA1_BLOCK)
        sha1_two(key, klen, "", 0, k);
    else
        memcpy(k, key, klen);
    for (int i = 0; i < SHA1_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    sha1_two(pad, SHA1_BLOCK, msg, strlen(msg), inner);
    for (int i = 0; i < SHA1_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    sha1_two(pad, SHA1_BLOCK, inner, SHA1_LEN, md);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    hex_encode(md, SHA1_LEN, out);
}

void auth_sign_key(const char *secret_key, const char *key_time, char out_hex[41])
{
    hmac_sha1_hex(secret_key, key_time, out_hex);
}

void auth_signature(const char *sign_key_hex, const char *key_time, const char *http_sha1_hex,
                    char out_hex[41])
{
    buf s;
    buf_init(&s);
    buf_printf(&s, "sha1\n%s\n%s\n", key_time, http_sha1_hex);
    hmac_sha1_hex(sign_key_hex, s.data, out_hex);
    buf_free(&s);
}

/* ---- RFC 3986 encoding ---- */

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* Appends enc(s); with lower, the whole result is lower-cased (as the SDKs do for names). */
static void enc_append(buf *out, const char *s, bool lower)
{
    static const char upper_hex[] = "0123456789ABCDEF";
    static const char lower_hex[] = "0123456789abcdef";
    const char *hex = lower ? lower_hex : upper_hex;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p)) {
            buf_putc(out, lower ? (char)tolower(*p) : (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0x0f]};
            buf_append(out, esc, 3);
        }
    }
}

void auth_uri_encode(const char *in, char *out, size_t outlen)
{
    buf b;
    buf_init(&b);
    enc_append(&b, in, false);
    strlcpy_ok(out, b.data ? b.data : "", outlen);
    buf_free(&b);
}

static char *enc_name(const char *name)
{
    buf b;
    buf_init(&b);
    enc_append(&b, name, true);
    return buf_steal(&b);
}

/* ---- canonical params / headers ---- */

/* The q-* fields of a signature carried in the query string: never part of the signed params. */
static bool is_signature_param(const char *name)
{
    static const char *fields[] = {"q-sign-algorithm", "q-ak",           "q-sign-time", "q-key-time",
                                   "q-header-list",    "q-url-param-list", "q-signature"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcasecmp(name, fields[i]) == 0)
            return true;
    return false;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits a ';'-separated name list into lower-cased, sorted, owned names. */
static char **split_list(const char *list, size_t *count)
{
    size_t cap = 1;
    for (const char *p = list ? list : ""; *p; p++)
        cap += *p == ';';
    char **names = xcalloc(cap, sizeof *names);
    size_t n = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len > 0) {
            char *name = xstrndup(p, len);
            for (char *c = name; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            names[n++] = name;
        }
        if (!end)
            break;
        p = end + 1;
    }
    qsort(names, n, sizeof *names, cmp_strp);
    *count = n;
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* A header value trimmed of surrounding whitespace, as an owned string. */
static char *trimmed_dup(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/* Appends "name=enc(value)&..." for the listed names, in sorted order. A listed name the request
 * does not carry signs as an empty value. For headers, host_override (if set) replaces Host. */
static void append_canonical(buf *out, const char *list, const auth_kv *kv, size_t nkv, bool headers,
                             const char *host_override)
{
    size_t nnames = 0;
    char **names = split_list(list, &nnames);
    char **encoded = xcalloc(nkv ? nkv : 1, sizeof *encoded);
    for (size_t i = 0; i < nkv; i++)
        if (kv[i].name && (headers || !is_signature_param(kv[i].name)))
            encoded[i] = enc_name(kv[i].name);

    for (size_t k = 0; k < nnames; k++) {
        const char *value = "";
        for (size_t i = 0; i < nkv; i++) {
            if (encoded[i] && strcmp(encoded[i], names[k]) == 0) {
                value = kv[i].value ? kv[i].value : "";
                break;
            }
        }
        if (headers && host_override && strcmp(names[k], "host") == 0)
            value = host_override;
        if (k > 0)
            buf_putc(out, '&');
        buf_puts(out, names[k]);
        buf_putc(out, '=');
        if (headers) {
            char *t = trimmed_dup(value);
            enc_append(out, t, false);
            free(t);
        } else {
            enc_append(out, value, false);
        }
    }
    for (size_t i = 0; i < nkv; i++)
        free(encoded[i]);
    free(encoded);
    free_list(names, nnames);
}

static void http_string_sha1(const char *method, const char *path, const auth_kv *params,
                             size_t nparams, const char *param_list, const auth_kv *headers,
                             size_t nheaders, const char *header_list, const char *host_override,
                             char out_hex[41])
{
    buf s;
    buf_init(&s);
    for (const char *m = method ? method : ""; *m; m++)
        buf_putc(&s, (char)tolower((unsigned char)*m));
    buf_putc(&s, '\n');
    buf_puts(&s, path ? path : "");
    buf_putc(&s, '\n');
    append_canonical(&s, param_list, params, nparams, false, NULL);
    buf_putc(&s, '\n');
    append_canonical(&s, header_list, headers, nheaders, true, host_override);
    buf_putc(&s, '\n');
    sha1_hex(s.data, s.len, out_hex);
    buf_free(&s);
}

void auth_http_string_sha1(const char *method, const char *path, const auth_kv *params,
                           size_t nparams, const char *param_list, const auth_kv *headers,
                           size_t nheaders, const char *header_list, char out_hex[41])
{
    http_string_sha1(method, path, params, nparams, param_list, headers, nheaders, header_list, NULL,
                     out_hex);
}

/* ---- signing ---- */

/* "a;b;c": the encoded lower-cased names of every item, sorted, duplicates once. */
static char *name_list_of(const auth_kv *kv, size_t n, bool headers)
{
    char **names = xcalloc(n ? n : 1, sizeof *names);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (kv[i].name && (headers || !is_signature_param(kv[i].name)))
            names[count++] = enc_name(kv[i].name);
    qsort(names, count, sizeof *names, cmp_strp);
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        if (b.len > 0)
            buf_putc(&b, ';');
        buf_puts(&b, names[i]);
    }
    free_list(names, count);
    return buf_steal(&b);
}

bool auth_sign(const char *secret_id, const char *secret_key, int64_t t0, int64_t t1,
               const char *method, const char *path, const auth_kv *params, size_t nparams,
               const auth_kv *headers, size_t nheaders, char *out, size_t outlen)
{
    char key_time[64];
    snprintf(key_time, sizeof key_time, "%lld;%lld", (long long)t0, (long long)t1);
    char *param_list = name_list_of(params, nparams, false);
    char *header_list = name_list_of(headers, nheaders, true);
    char sign_key[41], http_sha1[41], signature[41];
    auth_sign_key(secret_key, key_time, sign_key);
    http_string_sha1(method, path, params, nparams, param_list, headers, nheaders, header_list, NULL,
                     http_sha1);
    auth_signature(sign_key, key_time, http_sha1, signature);

    buf b;
    buf_init(&b);
    buf_printf(&b,
               "q-sign-algorithm=sha1&q-ak=%s&q-sign-time=%s&q-key-time=%s&q-header-list=%s"
               "&q-url-param-list=%s&q-signature=%s",
               secret_id, key_time, key_time, header_list, param_list, signature);
    bool ok = out && strlcpy_ok(out, b.data, outlen);
    buf_free(&b);
    free(param_list);
    free(header_list);
    return ok;
}

/* ---- verification ---- */

typedef struct sig_fields {
    char *algorithm, *ak, *sign_time, *key_time, *header_list, *param_list, *signature;
} sig_fields;

static void free_fields(sig_fields *f)
{
    free(f->algorithm), free(f->ak), free(f->sign_time), free(f->key_time);
    free(f->header_list), free(f->param_list), free(f->signature);
}

/* Picks the slot for a q-* field name, or NULL for names that are not signature fields. */
static char **field_slot(sig_fields *f, const char *name, size_t len)
{
    static const struct { const char *name; size_t offset; } map[] = {
        {"q-sign-algorithm", offsetof(sig_fields, algorithm)},
        {"q-ak", offsetof(sig_fields, ak)},
        {"q-sign-time", offsetof(sig_fields, sign_time)},
        {"q-key-time", offsetof(sig_fields, key_time)},
        {"q-header-list", offsetof(sig_fields, header_list)},
        {"q-url-param-list", offsetof(sig_fields, param_list)},
        {"q-signature", offsetof(sig_fields, signature)},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].name) == len && strncasecmp(name, map[i].name, len) == 0)
            return (char **)((char *)f + map[i].offset);
    return NULL;
}

/* Percent-decodes a header field value (some clients escape the ';' in times and lists). */
static char *percent_decoded(const char *s, size_t len)
{
    char *d = xstrndup(s, len);
    url_unescape(d, NULL);
    return d;
}

/* Parses "q-sign-algorithm=sha1&q-ak=...&...". A repeated field is malformed. */
static auth_status fields_from_header(const char *header, sig_fields *f)
{
    const char *p = header;
    while (isspace((unsigned char)*p))
        p++;
    size_t total = strlen(p);
    while (total > 0 && isspace((unsigned char)p[total - 1]))
        total--;
    const char *end_all = p + total;
    while (p < end_all) {
        const char *amp = memchr(p, '&', (size_t)(end_all - p));
        const char *end = amp ? amp : end_all;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (end > p) {
            if (!eq)
                return AUTH_MALFORMED;
            char **slot = field_slot(f, p, (size_t)(eq - p));
            if (slot) {
                if (*slot)
                    return AUTH_MALFORMED;
                *slot = percent_decoded(eq + 1, (size_t)(end - eq - 1));
            }
        }
        p = end + (amp ? 1 : 0);
    }
    return AUTH_OK;
}

static auth_status fields_from_params(const auth_request *r, sig_fields *f)
{
    for (size_t i = 0; i < r->nparams; i++) {
        const char *name = r->params[i].name;
        char **slot = name ? field_slot(f, name, strlen(name)) : NULL;
        if (!slot)
            continue;
        if (*slot)
            return AUTH_MALFORMED;
        *slot = xstrdup(r->params[i].value ? r->params[i].value : "");
    }
    return AUTH_OK;
}

static bool has_text(const char *s)
{
    return s && *s;
}

static auth_status extract_fields(const auth_request *r, sig_fields *f)
{
    auth_status st;
    if (has_text(r->authorization)) {
        st = fields_from_header(r->authorization, f);
    } else {
        st = fields_from_params(r, f);
        if (st == AUTH_OK && !f->algorithm && !f->ak && !f->signature && !f->sign_time)
            return AUTH_MISSING;
    }
    if (st != AUTH_OK)
        return st;
    if (!has_text(f->algorithm) || !has_text(f->ak) || !has_text(f->signature) ||
        (!has_text(f->sign_time) && !has_text(f->key_time)))
        return AUTH_MALFORMED;
    if (strcasecmp(f->algorithm, "sha1") != 0)
        return AUTH_UNSUPPORTED;
    if (!has_text(f->key_time)) {
        free(f->key_time);   /* an empty "q-key-time=" was allocated too */
        f->key_time = xstrdup(f->sign_time);
    }
    if (!has_text(f->sign_time)) {
        free(f->sign_time);
        f->sign_time = xstrdup(f->key_time);
    }
    return AUTH_OK;
}

/* "t0;t1" with 1..15 decimal digits each and t0 <= t1. */
static bool parse_window(const char *s, int64_t *t0, int64_t *t1)
{
    int64_t v[2] = {0, 0};
    const char *p = s;
    for (int i = 0; i < 2; i++) {
        int digits = 0;
        for (; isdigit((unsigned char)*p); p++, digits++) {
            if (digits == MAX_TIME_DIGITS)
                return false;
            v[i] = v[i] * 10 + (*p - '0');
        }
        if (digits == 0 || *p != (i == 0 ? ';' : '\0'))
            return false;
        p++;
    }
    *t0 = v[0];
    *t1 = v[1];
    return v[0] <= v[1];
}

static bool in_window(int64_t now, int64_t t0, int64_t t1, int64_t skew)
{
    return now >= t0 - skew && now <= t1 + skew;
}

/* The client's signature as 40 lower-case hex digits, or false. */
static bool normalise_signature(const char *sig, char out[SHA1_HEX_LEN + 1])
{
    size_t len = strlen(sig);
    if (len != SHA1_HEX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (hex_digit(sig[i]) < 0)
            return false;
        out[i] = (char)tolower((unsigned char)sig[i]);
    }
    out[len] = '\0';
    return true;
}

static const char *find_header(const auth_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* "h:port" -> "h", "[v6]:port" -> "[v6]"; false when there is no port to strip. */
static bool host_without_port(const char *host, char **out)
{
    char *h = trimmed_dup(host);
    char *colon = NULL;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close && close[1] == ':')
            colon = close + 1;
    } else {
        colon = strchr(h, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL; /* bare IPv6 address: no port */
    }
    bool digits = colon && colon[1];
    for (const char *d = colon ? colon + 1 : ""; *d && digits; d++)
        digits = isdigit((unsigned char)*d);
    if (!digits) {
        free(h);
        return false;
    }
    *colon = '\0';
    *out = h;
    return true;
}

static bool list_names(const char *list, const char *name)
{
    size_t n = 0;
    char **names = split_list(list, &n);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(names[i], name) == 0;
    free_list(names, n);
    return found;
}

/* Computes the expected signature for one Host variant and compares in constant time. Both the
 * key-time and (when it differs) the sign-time are tried as the StringToSign time. */
static bool signature_matches(const auth_request *r, const sig_fields *f, const char *secret_key,
                              const char *given, const char *host_override)
{
    char sign_key[41], http_sha1[41], expected[41];
    auth_sign_key(secret_key, f->key_time, sign_key);
    http_string_sha1(r->method, r->path, r->params, r->nparams, f->param_list, r->headers,
                     r->nheaders, f->header_list, host_override, http_sha1);
    auth_signature(sign_key, f->key_time, http_sha1, expected);
    if (CRYPTO_memcmp(expected, given, SHA1_HEX_LEN) == 0)
        return true;
    if (strcmp(f->sign_time, f->key_time) == 0)
        return false;
    auth_signature(sign_key, f->sign_time, http_sha1, expected);
    return CRYPTO_memcmp(expected, given, SHA1_HEX_LEN) == 0;
}

static auth_status check_signature(const auth_request *r, const sig_fields *f, const auth_key *key)
{
    char given[SHA1_HEX_LEN + 1];
    if (!normalise_signature(f->signature, given))
        return AUTH_BAD_SIGNATURE;
    if (signature_matches(r, f, key->secret_key, given, NULL))
        return AUTH_OK;
    const char *host = find_header(r, "host");
    char *bare = NULL;
    if (!host || !list_names(f->header_list, "host") || !host_without_port(host, &bare))
        return AUTH_BAD_SIGNATURE;
    bool ok = signature_matches(r, f, key->secret_key, given, bare);
    free(bare);
    return ok ? AUTH_OK : AUTH_BAD_SIGNATURE;
}

const char *auth_repeated_param(const auth_kv *params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcasecmp(params[i].name, params[j].name) == 0)
                return params[j].name;
    return NULL;
}

auth_status auth_verify(const auth_request *r, const auth_keyring *kr, const auth_key **out_key)
{
    if (out_key)
        *out_key = NULL;
    sig_fields f = {0};
    auth_status st = extract_fields(r, &f);
    int64_t s0, s1, k0, k1;
    if (st == AUTH_OK && (!parse_window(f.sign_time, &s0, &s1) || !parse_window(f.key_time, &k0, &k1)))
        st = AUTH_MALFORMED;
    const auth_key *key = NULL;
    if (st == AUTH_OK) {
        key = kr ? auth_keyring_find(kr, f.ak) : NULL;
        if (!key)
            st = AUTH_UNKNOWN_KEY;
    }
    if (st == AUTH_OK && r->max_lifetime > 0 && (s1 - s0 > r->max_lifetime || k1 - k0 > r->max_lifetime))
        st = AUTH_TOO_LONG;
    if (st == AUTH_OK) {
        int64_t skew = r->max_skew > 0 ? r->max_skew : 0;
        if (!in_window(r->now, s0, s1, skew) || !in_window(r->now, k0, k1, skew))
            st = AUTH_EXPIRED;
    }
    if (st == AUTH_OK)
        st = check_signature(r, &f, key);
    if (st == AUTH_OK && out_key)
        *out_key = key;
    free_fields(&f);
    return st;
}

/* ---- status texts ---- */

const char *auth_status_code(auth_status s)
{
    switch (s) {
    case AUTH_OK: return "OK";
    case AUTH_MISSING:
    case AUTH_MALFORMED:
    case AUTH_UNSUPPORTED:
    case AUTH_EXPIRED:
    case AUTH_TOO_LONG: return "AccessDenied";
    case AUTH_UNKNOWN_KEY: return "InvalidAccessKeyId";
    case AUTH_BAD_SIGNATURE: return "SignatureDoesNotMatch";
    }
    return "AccessDenied";
}

const char *auth_status_message(auth_status s)
{
    switch (s) {
    case AUTH_OK: return "The request signature is valid.";
    case AUTH_MISSING: return "The request carries no signature (Authorization header or q-* query parameters).";
    case AUTH_MALFORMED: return "The Authorization value could not be parsed.";
    case AUTH_UNSUPPORTED: return "Only q-sign-algorithm=sha1 is supported.";
    case AUTH_EXPIRED: return "The request signature has expired or is not valid yet (q-sign-time / q-key-time).";
    case AUTH_TOO_LONG: return "The signature's validity window (q-sign-time / q-key-time) is longer than this server accepts.";
    case AUTH_UNKNOWN_KEY: return "The SecretId (q-ak) you provided does not exist in our records.";
    case AUTH_BAD_SIGNATURE: return "The request signature we calculated does not match the signature you provided.";
    }
    return "Access denied.";
}
