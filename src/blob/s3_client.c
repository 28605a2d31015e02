/* s3_client.c — signed requests to an S3-compatible endpoint (see s3_client.h): URL and Host for
 * path-style or virtual-host addressing, SigV4 (sigv4.c) over the exact path, query, headers and
 * payload hash sent, libcurl easy handles pooled per client, timeouts, retries with back-off, and
 * one-line error messages naming the endpoint, the request, the status and S3's own Code/Message.
 *
 * Retries: an idempotent request (everything but starting and completing a multipart upload) is
 * tried again after a connection failure, a 5xx or a 429, up to `retries` more times, sleeping
 * 100 ms, 200 ms, 400 ms ... (at most 3.2 s) in between; never once its answer's body has started
 * reaching a streaming sink. */
#include "blob/s3_client.h"

#include "blob/sigv4.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POOL_MAX 8                    /* idle easy handles kept per client (each keeps its connections) */
#define ERROR_BODY_MAX (64 * 1024)    /* what is kept of an error answer's body */
#define DEFAULT_MAX_BODY (8u << 20)   /* default cap on a collected 2xx body */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 3200

struct s3_client {
    char *endpoint;       /* as configured, without a trailing '/' */
    char *scheme;         /* "http" | "https" */
    char *authority;      /* host[:port] as in the endpoint */
    char *bucket;
    char *region, *access_key, *secret_key, *session_token;
    bool path_style;
    long connect_timeout_ms;
    long idle_timeout_s;
    int retries;
    pthread_mutex_t mu;   /* guards idle[] and nidle */
    CURL *idle[POOL_MAX];
    int nidle;
};

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

s3_client *s3_client_new(const blob_params *p, char *err, size_t errlen)
{
    const char *ep = p->s3_endpoint ? p->s3_endpoint : "";
    const char *sep = strstr(ep, "://");
    if (!sep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)) {
        err_printf(err, errlen, "S3 endpoint \"%.200s\" is not an http:// or https:// URL", ep);
        return NULL;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen;
    if (alen == 0 || (rest[0] && strcmp(rest, "/") != 0) || strcspn(auth, "@ \t\r\n") < alen) {
        err_printf(err, errlen,
                   "S3 endpoint \"%.200s\" must be scheme://host[:port] (no path, query or credentials)", ep);
        return NULL;
    }
    if (!p->s3_bucket || !p->s3_bucket[0] || strcspn(p->s3_bucket, "/?# \t\r\n") != strlen(p->s3_bucket)) {
        err_printf(err, errlen, "S3 bucket \"%.100s\" is empty or not a bucket name", p->s3_bucket ? p->s3_bucket : "");
        return NULL;
    }
    if (!p->s3_access_key || !p->s3_access_key[0] || !p->s3_secret_key || !p->s3_secret_key[0]) {
        err_printf(err, errlen, "S3 access key and secret key are both required (endpoint %.200s)", ep);
        return NULL;
    }
    s3_client *c = xcalloc(1, sizeof *c);
    c->scheme = xstrndup(ep, (size_t)(sep - ep));
    c->authority = xstrndup(auth, alen);
    c->endpoint = xstrndup(ep, (size_t)(rest - ep));
    c->bucket = xstrdup(p->s3_bucket);
    c->region = xstrdup(p->s3_region && p->s3_region[0] ? p->s3_region : "us-east-1");
    c->access_key = xstrdup(p->s3_access_key);
    c->secret_key = xstrdup(p->s3_secret_key);
    c->session_token = dup_or_empty(p->s3_session_token);
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(c->authority, ":"), c->authority);
    c->path_style = p->s3_path_style >= 0 ? p->s3_path_style != 0 : !ends_with_ci(host, "amazonaws.com");
    c->connect_timeout_ms = p->s3_connect_timeout_ms > 0 ? p->s3_connect_timeout_ms : 5000;
    c->idle_timeout_s = p->s3_idle_timeout_ms > 0 ? (p->s3_idle_timeout_ms + 999) / 1000 : 30;
    c->retries = p->s3_retries >= 0 ? p->s3_retries : 3;
    pthread_mutex_init(&c->mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* thread-safe in libcurl >= 7.84; see s3_client_free */
    return c;
}

void s3_client_free(s3_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->endpoint);
    free(c->scheme);
    free(c->authority);
    free(c->bucket);
    free(c->region);
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c);
    /* no curl_global_cleanup: other modules (fetch, notify) may be using libcurl in other threads;
     * the global state lives as long as the process */
}

const char *s3_client_endpoint(const s3_client *c)
{
    return c->endpoint;
}

const char *s3_client_bucket(const s3_client *c)
{
    return c->bucket;
}

/* ---- the handle pool ---- */

static CURL *take_handle(s3_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->nidle > 0)
        h = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->mu);
    return h ? h : curl_easy_init();
}

static void give_handle(s3_client *c, CURL *h)
{
    curl_easy_reset(h); /* keeps the connection cache */
    pthread_mutex_lock(&c->mu);
    if (c->nidle < POOL_MAX) {
        c->idle[c->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- responses ---- */

void s3_response_init(s3_response *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    r->content_length = -1;
    r->last_modified_ms = -1;
    r->range_total = -1;
}

void s3_response_free(s3_response *r)
{
    buf_free(&r->body);
}

static void response_reset(s3_response *r)
{
    buf_free(&r->body);
    s3_response_init(r);
}

void s3_query_escape(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            buf_putc(b, (char)ch);
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[ch >> 4]);
            buf_putc(b, hex[ch & 15]);
        }
    }
}

/* One attempt's transfer state. */
typedef struct transfer {
    const s3_request *rq;
    s3_response *resp;
    size_t max_body;
    size_t sent;           /* request body bytes handed to curl */
    bool headers_done;     /* the final answer's headers are in */
    bool streamed;         /* bytes went to rq->sink */
    bool sink_stopped;     /* the sink refused more */
    bool too_big;          /* a collected body passed its cap */
} transfer;

static bool success(long status)
{
    return status >= 200 && status < 300;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vn = n - nl - 1;
    while (vn && (*v == ' ' || *v == '\t')) {
        v++;
        vn--;
    }
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    snprintf(out, outlen, "%.*s", (int)vn, v);
}

static int64_t parse_i64(const char *s)
{
    if (!*s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v < 0 ? -1 : (int64_t)v;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    transfer *t = ud;
    size_t n = size * nitems;
    s3_response *r = t->resp;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue, say): forget the previous one's headers */
        const char *sp = memchr(data, ' ', n);
        long status = sp ? strtol(sp + 1, NULL, 10) : 0;
        response_reset(r);
        r->status = status;
        t->headers_done = false;
        return n;
    }
    if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) {
        if (r->status >= 200 && !t->headers_done) {
            t->headers_done = true;
            if (t->rq->on_headers)
                t->rq->on_headers(t->rq->ud, r);
        }
        return n;
    }
    char v[256] = "";
    header_value(data, n, "Content-Length", v, sizeof v);
    if (v[0]) {
        r->content_length = parse_i64(v);
        return n;
    }
    header_value(data, n, "ETag", v, sizeof v);
    if (v[0]) {
        if (!s3_etag_clean(v, r->etag))
            r->etag[0] = '\0';
        return n;
    }
    header_value(data, n, "Last-Modified", v, sizeof v);
    if (v[0]) {
        time_t t2 = curl_getdate(v, NULL);
        r->last_modified_ms = t2 >= 0 ? (int64_t)t2 * 1000 : -1;
        return n;
    }
    header_value(data, n, "Content-Type", r->content_type, sizeof r->content_type);
    header_value(data, n, "Content-Range", v, sizeof v);
    if (v[0]) {
        const char *slash = strrchr(v, '/');
        r->range_total = slash ? parse_i64(slash + 1) : -1;
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer *t = ud;
    size_t n = size * nmemb;
    s3_response *r = t->resp;
    if (success(r->status) && t->rq->sink) {
        t->streamed = true;
        if (!t->rq->sink(t->rq->ud, data, n)) {
            t->sink_stopped = true;
            return 0; /* aborts the transfer */
        }
        return n;
    }
    size_t cap = success(r->status) ? t->max_body : ERROR_BODY_MAX;
    if (r->body.len + n > cap) {
        if (success(r->status)) {
            t->too_big = true;
            return 0;
        }
        n = cap > r->body.len ? cap - r->body.len : 0; /* keep the start of an error body */
        buf_append(&r->body, data, n);
        return size * nmemb;
    }
    buf_append(&r->body, data, n);
    return n;
}

static size_t on_read(char *dst, size_t size, size_t nitems, void *ud)
{
    transfer *t = ud;
    size_t room = size * nitems, left = t->rq->body_len - t->sent;
    size_t n = left < room ? left : room;
    if (n)
        memcpy(dst, (const char *)t->rq->body + t->sent, n);
    t->sent += n;
    return n;
}

/* "/bucket/key" or "/key" (virtual host), URI-encoded; the bucket itself is "/bucket" or "/". */
static char *request_path(const s3_client *c, const s3_request *rq)
{
    buf p;
    buf_init(&p);
    if (c->path_style) {
        buf_putc(&p, '/');
        char *b = sigv4_uri_encode_path(c->bucket, strlen(c->bucket));
        buf_puts(&p, b);
        free(b);
    }
    if (rq->key) {
        buf_putc(&p, '/');
        char *k = sigv4_uri_encode_path(rq->key, rq->keylen);
        buf_puts(&p, k);
        free(k);
    } else if (!c->path_style) {
        buf_putc(&p, '/');
    }
    return buf_steal(&p);
}

static void describe(const s3_client *c, const s3_request *rq, buf *out)
{
    buf_printf(out, "S3 %s: %s %s", c->endpoint, rq->method, c->bucket);
    if (rq->key)
        buf_printf(out, "/%.*s", (int)(rq->keylen > 200 ? 200 : rq->keylen), rq->key);
}

/* Fills resp->err (and s3_code) for a failed attempt. */
static void explain(const s3_client *c, const s3_request *rq, const transfer *t, CURLcode cc, const char *curl_err)
{
    s3_response *r = t->resp;
    buf m;
    buf_init(&m);
    describe(c, rq, &m);
    if (t->too_big) {
        buf_printf(&m, ": the answer is larger than %zu bytes", t->max_body);
    } else if (t->sink_stopped) {
        buf_puts(&m, ": the reader stopped the transfer");
    } else if (cc != CURLE_OK && !success(r->status)) {
        buf_printf(&m, ": %s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
    } else if (cc != CURLE_OK) {
        buf_printf(&m, ": HTTP %ld, then %s", r->status, curl_err[0] ? curl_err : curl_easy_strerror(cc));
    } else {
        char code[64] = "", msg[400] = "";
        buf_printf(&m, ": HTTP %ld", r->status);
        if (s3_xml_error(r->body.data, r->body.len, code, sizeof code, msg, sizeof msg)) {
            snprintf(r->s3_code, sizeof r->s3_code, "%s", code);
            buf_printf(&m, " %s", code[0] ? code : "(no code)");
            if (msg[0])
                buf_printf(&m, ": %s", msg);
        }
    }
    snprintf(r->err, sizeof r->err, "%s", m.data ? m.data : "");
    buf_free(&m);
}

static bool retryable(const s3_request *rq, const transfer *t, CURLcode cc)
{
    if (!rq->idempotent || t->streamed || t->sink_stopped || t->too_big)
        return false;
    if (cc != CURLE_OK)
        return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
               cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
               cc == CURLE_COULDNT_RESOLVE_HOST;
    return t->resp->status >= 500 || t->resp->status == 429;
}

/* Sets up h for one attempt of rq; *hdrs receives the header list to free after the transfer. */
static bool setup(s3_client *c, CURL *h, const s3_request *rq, const char *path, const char *payload_sha,
                  transfer *t, struct curl_slist **hdrs, char *curl_err, s3_response *resp)
{
    char host[300];
    if (c->path_style)
        snprintf(host, sizeof host, "%s", c->authority);
    else
        snprintf(host, sizeof host, "%s.%s", c->bucket, c->authority);
    sigv4_key k = {.access_key = c->access_key, .secret_key = c->secret_key, .session_token = c->session_token,
                   .region = c->region, .service = "s3"};
    sigv4_request sr = {.method = rq->method, .host = host, .path = path, .query = rq->query,
                        .headers = rq->headers, .nheaders = rq->nheaders, .payload_sha256 = payload_sha};
    sigv4_signed sig;
    char why[256];
    if (!sigv4_sign(&k, &sr, (int64_t)time(NULL), &sig, why, sizeof why)) {
        buf m;
        buf_init(&m);
        describe(c, rq, &m);
        buf_printf(&m, ": cannot sign the request: %s", why);
        snprintf(resp->err, sizeof resp->err, "%s", m.data);
        buf_free(&m);
        return false;
    }
    buf url;
    buf_init(&url);
    buf_printf(&url, "%s://%s%s", c->scheme, host, path);
    if (rq->query && rq->query[0])
        buf_printf(&url, "?%s", rq->query);
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    buf_free(&url);

    struct curl_slist *l = NULL;
    char line[400];
    snprintf(line, sizeof line, "Host: %s", host);
    l = curl_slist_append(l, line);
    for (size_t i = 0; i < rq->nheaders; i++)
        l = curl_slist_append(l, rq->headers[i]);
    l = curl_slist_append(l, sig.authorization);
    l = curl_slist_append(l, sig.amz_date);
    l = curl_slist_append(l, sig.content_sha256);
    if (sig.security_token[0])
        l = curl_slist_append(l, sig.security_token);
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    bool has_ctype = false;
    for (size_t i = 0; i < rq->nheaders; i++)
        has_ctype |= strncasecmp(rq->headers[i], "content-type:", 13) == 0;
    if (!has_ctype)
        l = curl_slist_append(l, "Content-Type:"); /* nothing curl would add on its own (POST's form type) */
    *hdrs = l;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);

    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
    } else if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* keys may hold "/../" or "//": send them as they are */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->idle_timeout_s);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cicada-blob/1");
    return true;
}

bool s3_perform(s3_client *c, const s3_request *rq, s3_response *resp)
{
    response_reset(resp);
    char payload_sha[65];
    sigv4_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, payload_sha);
    char *path = request_path(c, rq);
    bool ok = false;
    int64_t backoff = BACKOFF_FIRST_MS;
    for (int attempt = 0;; attempt++) {
        response_reset(resp);
        transfer t = {.rq = rq, .resp = resp, .max_body = rq->max_body ? rq->max_body : DEFAULT_MAX_BODY};
        CURL *h = take_handle(c);
        char curl_err[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = NULL;
        if (!h) {
            snprintf(resp->err, sizeof resp->err, "S3 %s: cannot create a libcurl handle", c->endpoint);
            break;
        }
        if (!setup(c, h, rq, path, payload_sha, &t, &hdrs, curl_err, resp)) {
            curl_slist_free_all(hdrs);
            give_handle(c, h);
            break;
        }
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        give_handle(c, h);
        if (cc == CURLE_OK && success(resp->status)) {
            ok = true;
            break;
        }
        if (cc == CURLE_OK && resp->status < 200)
            resp->status = 0;
        if (cc != CURLE_OK && !t.headers_done)
            resp->status = 0; /* no complete answer */
        explain(c, rq, &t, cc, curl_err);
        if (attempt >= c->retries || !retryable(rq, &t, cc))
            break;
        log_warn("%s; retrying in %lld ms", resp->err, (long long)backoff);
        time_sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    free(path);
    return ok;
}
