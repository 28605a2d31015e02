/* server.c — the libmicrohttpd adapter. For each request: on the first callback (headers complete)
 * gather the path, query and headers, check the framing, route, authenticate and, for an object
 * PUT, open a blob writer; on the following callbacks stream or buffer the body; on the last one
 * run the handler and queue its response.
 *
 * Framing is checked here, before anything else, because libmicrohttpd 0.9.75 is lenient where a
 * proxy in front of us may not be, and any disagreement about where a request ends lets a second
 * request be smuggled inside the first (RFC 9112 §6.1, §6.3, §11.2):
 *   - Transfer-Encoding together with Content-Length, Transfer-Encoding on HTTP/1.0, two
 *     Content-Length headers, a Content-Length that is not plain digits, no or two Host headers,
 *     whitespace between a header name and its colon: 400, connection closed;
 *   - any transfer coding other than exactly "chunked": 501, connection closed;
 *   - more than MAX_HEADERS headers: 431; more than MAX_PARAMS query parameters: 414 — never a
 *     silently shortened list (a dropped Host would act on the default bucket);
 *   - query parameters whose names are equal ignoring case: 400, so the signature check and the
 *     handlers (both case-insensitive) read the same entry.
 * Absolute-form targets ("GET http://host/path", what forward proxies and the Python SDK's Proxies
 * mode send) are accepted: the path is taken from them, and their authority replaces the Host
 * header (RFC 9112 §3.2.2), so the signature must cover that host.
 *
 * An OpenAI-compatible transcription (/v1/audio/...) is answered when its job ends: once the job is
 * queued the connection is suspended (parked), and one waiter thread asks the API every
 * WAIT_POLL_MS whether each parked job has ended and whether each client is still there, then
 * resumes the connection with its answer. Nothing blocks an MHD thread while a job runs.
 *
 * A refused request is answered at once, before its body is read, and the connection is closed
 * when a body was announced: a bad signature with "Expect: 100-continue" never gets 100 Continue,
 * and a buffered body that passes the limit is cut off where it passes it. Such a connection closes
 * by lingering (linger.c), so that the answer reaches a client still busy sending. */
#include "http/http.h"
#include "console/console.h"
#include "http/ops.h"
#include "http/linger.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 128          /* more is a 431: no client of this API sends half as many */
#define MAX_PARAMS 128           /* more query parameters is a 414 */
#define MAX_AUTHORITY 256        /* the host[:port] of an absolute-form target */

typedef struct req_ctx req_ctx;

struct http_server {
    struct MHD_Daemon *d;
    api *a;
    http_params p;
    size_t max_body;
    linger *linger;           /* closes the connections answered before their body was read */
    /* OpenAI-compatible requests waiting for their job (suspended connections), and the thread
     * that watches them: every WAIT_POLL_MS it asks whether each job has ended, and whether each
     * client is still there, and resumes the connections whose answer is ready. */
    pthread_mutex_t park_mu;
    pthread_cond_t park_cv;
    req_ctx *parked;
    pthread_t waiter;
    bool waiter_started, stopping;
    http_stats *stats;        /* requests by route and status, for /metrics */
};

#define WAIT_POLL_MS 100

enum { OPENAI_CALL_NONE, OPENAI_CALL_TRANSCRIBE, OPENAI_CALL_TRANSLATE, OPENAI_CALL_MODELS };

struct req_ctx {
    http_server *srv;
    int64_t start_ms;         /* monotonic: the request's first callback */
    const char *label;        /* its route label for the metrics, once known (a literal) */
    route rt;
    api_request q;
    api_response r;
    auth_kv params[MAX_PARAMS];
    auth_kv headers[MAX_HEADERS + 1];   /* + 1: room for the Host an absolute-form target names */
    char authority[MAX_AUTHORITY];
    buf body;
    blob_writer *writer;      /* a streamed object upload in progress (a failed one is answered at once) */
    bool answered;            /* a response is queued already */
    bool has_body;            /* the request announced a body (Content-Length > 0 or chunked) */
    bool close;               /* answer with "Connection: close" and drop the connection after */
    /* the OpenAI-compatible endpoint */
    int openai;               /* OPENAI_CALL_*: which call this is */
    size_t limit;             /* the body limit of this request (0 = the server's) */
    api_openai_wait wait;     /* the job it waits for */
    struct MHD_Connection *conn;
    int fd;                   /* its socket, watched for the client leaving */
    bool ready;               /* the answer is in r: send it when resumed */
    bool gone;                /* the client left; its job is left to finish (abandoned) */
    req_ctx *next_parked;
};

/* The unescape callback marks a request whose path or query decodes to a NUL byte with this
 * connection value (of the trailer kind, which requests here never carry), for begin_request. */
#define NUL_MARK "cicada-nul-in-uri"

http_params http_default_params(void)
{
    return (http_params){.listen = "127.0.0.1:8080", .connection_limit = 1024, .timeout_s = 120, .threads = 128};
}

/* Percent-decoding in place (util's url_unescape); a request whose path or query holds "%00" is
 * marked for begin_request, which refuses it. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    bool nul = false;
    size_t n = url_unescape(s, &nul);
    if (nul)
        MHD_set_connection_value(c, MHD_FOOTER_KIND, NUL_MARK, "1");
    return n;
}

typedef struct kv_sink {
    auth_kv *kv;
    size_t cap;
    size_t n;                 /* how many were seen: more than cap means some were not kept */
} kv_sink;

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    kv_sink *s = cls;
    if (s->n < s->cap)
        s->kv[s->n] = (auth_kv){.name = key, .value = value ? value : ""};
    s->n++;
    return MHD_YES;
}

/* The response headers besides Content-Length, for both ways of sending a response below. */
static void each_header(const req_ctx *c, void (*fn)(void *ud, const char *name, const char *value), void *ud)
{
    const api_response *r = &c->r;
    if (r->content_type)
        fn(ud, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    fn(ud, "x-ci-request-id", c->q.request_id);
    fn(ud, "x-cos-request-id", c->q.request_id);
    fn(ud, MHD_HTTP_HEADER_SERVER, "cicada");
    for (size_t i = 0; i < r->nextra; i++)
        fn(ud, r->extra_name[i], r->extra_value[i]);
    if (c->close)
        fn(ud, MHD_HTTP_HEADER_CONNECTION, "close");
}

static void add_to_response(void *ud, const char *name, const char *value)
{
    MHD_add_response_header(ud, name, value);
}

static void add_to_buf(void *ud, const char *name, const char *value)
{
    buf_printf(ud, "%s: %s\r\n", name, value);
}

/* A streamed body (api_response.fd_stream: an object read from S3 through a pipe), read as MHD
 * asks for it. The read blocks this MHD thread while the store is slow (the store's idle timeout
 * bounds it). A pipe that ends before fd_length bytes (the store failed midway) ends the response
 * with an error: the client sees a cut connection, never a short body that looks complete. */
static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    int fd = (int)(intptr_t)cls;
    for (;;) {
        ssize_t n = read(fd, out, max);
        if (n > 0)
            return n;
        if (n < 0 && errno == EINTR)
            continue;
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void close_stream(void *cls)
{
    close((int)(intptr_t)cls);
}

/* The metrics' name of a request: its API operation, or the endpoint it asked for. */
static const char *route_label(const req_ctx *c)
{
    static const char *const names[] = {
        [ROUTE_NONE] = "other", [ROUTE_ASRBUCKET_OPEN] = "asrbucket_open", [ROUTE_ASRBUCKET_CLOSE] = "asrbucket_close",
        [ROUTE_ASRBUCKET_LIST] = "asrbucket_list", [ROUTE_QUEUE_LIST] = "queue_list", [ROUTE_QUEUE_UPDATE] = "queue_update",
        [ROUTE_JOB_SUBMIT] = "job_submit", [ROUTE_JOB_LIST] = "job_list", [ROUTE_JOB_DESCRIBE] = "job_describe",
        [ROUTE_JOB_CANCEL] = "job_cancel", [ROUTE_HOTVOCAB_CREATE] = "hotvocab_create",
        [ROUTE_HOTVOCAB_UPDATE] = "hotvocab_update", [ROUTE_HOTVOCAB_GET] = "hotvocab_get",
        [ROUTE_HOTVOCAB_LIST] = "hotvocab_list", [ROUTE_HOTVOCAB_DELETE] = "hotvocab_delete",
        [ROUTE_TEMPLATE_CREATE] = "template_create", [ROUTE_TEMPLATE_UPDATE] = "template_update",
        [ROUTE_TEMPLATE_LIST] = "template_list", [ROUTE_TEMPLATE_DELETE] = "template_delete",
        [ROUTE_BUCKET_CREATE] = "bucket_create", [ROUTE_BUCKET_HEAD] = "bucket_head", [ROUTE_OBJECT_LIST] = "object_list",
        [ROUTE_OBJECT_PUT] = "object_put", [ROUTE_OBJECT_GET] = "object_get", [ROUTE_OBJECT_HEAD] = "object_head",
        [ROUTE_OBJECT_DELETE] = "object_delete", [ROUTE_BAD_METHOD] = "bad_method",
    };
    if (c->label)
        return c->label;
    if (c->openai)
        return c->openai == OPENAI_CALL_TRANSCRIBE ? "openai_transcriptions"
             : c->openai == OPENAI_CALL_TRANSLATE  ? "openai_translations"
                                                   : "openai_models";
    if ((size_t)c->rt.id < sizeof names / sizeof names[0] && names[c->rt.id])
        return names[c->rt.id];
    return "other";
}

/* Counts the answer for /metrics, and logs it at debug level (the route, never the path: object
 * keys are the users'). */
static void record(req_ctx *c)
{
    int64_t ms = time_mono_ms() - c->start_ms;
    http_stats_record(c->srv->stats, route_label(c), c->r.status, (double)ms / 1000.0);
    char status[8], took[24];
    snprintf(status, sizeof status, "%d", c->r.status);
    snprintf(took, sizeof took, "%lld", (long long)ms);
    const char *fields[] = {"route", route_label(c), "status", status, "duration_ms", took, NULL};
    log_fields(LOG_DEBUG, fields, "%s answered %d", c->q.method ? c->q.method : "?", c->r.status);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, req_ctx *c)
{
    api_response *r = &c->r;
    struct MHD_Response *resp;
    if (r->fd >= 0 && r->fd_stream) {
        resp = MHD_create_response_from_callback((uint64_t)r->fd_length, 64 * 1024, read_stream,
                                                 (void *)(intptr_t)r->fd, close_stream);
        if (resp)
            r->fd = -1;   /* close_stream closes it now */
    } else if (r->fd >= 0) {
        resp = MHD_create_response_from_fd_at_offset64((uint64_t)r->fd_length, r->fd, (uint64_t)r->fd_offset);
        r->fd = -1;   /* MHD owns and closes it now */
    } else {
        size_t len = r->body.len;
        char *data = buf_steal(&r->body);
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    }
    if (!resp)
        return MHD_NO;
    each_header(c, add_to_response, resp);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    c->answered = true;
    record(c);
    return ok;
}

/* Answers a request whose body is not (all) read and drops the connection: the answer is written
 * on the socket here, its sending side shut, and the socket handed to the lingerer (a dup: MHD
 * closes its own descriptor when this returns MHD_NO). Written here rather than queued because
 * libmicrohttpd 0.9.75 queues a response only before the body or after all of it, and closes a
 * connection with unread data at once. The socket carries nothing else at this point (MHD reads a
 * request only once the previous answer is sent), and an error body is a few hundred bytes, well
 * inside an empty send buffer. */
static enum MHD_Result answer_now(struct MHD_Connection *conn, req_ctx *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    api_response *r = &c->r;
    c->close = true;
    c->answered = true;
    record(c);
    if (!ci || r->fd >= 0)
        return MHD_NO;
    buf out;
    buf_init(&out);
    buf_printf(&out, "HTTP/1.1 %d %s\r\n", r->status, MHD_get_reason_phrase_for((unsigned)r->status));
    each_header(c, add_to_buf, &out);
    buf_printf(&out, "Content-Length: %zu\r\n\r\n", r->body.len);
    if (strcmp(c->q.method, MHD_HTTP_METHOD_HEAD) != 0)
        buf_append(&out, r->body.data ? r->body.data : "", r->body.len);
    ssize_t sent = send(ci->connect_fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)sent;   /* nothing more to do if the peer is gone */
    buf_free(&out);
    shutdown(ci->connect_fd, SHUT_WR);
    linger_add(c->srv->linger, dup(ci->connect_fd));
    return MHD_NO;
}

/* Counts the headers named name; *value is the first one's value. */
static size_t header_count(const api_request *q, const char *name, const char **value)
{
    size_t n = 0;
    for (size_t i = 0; i < q->nheaders; i++) {
        if (strcasecmp(q->headers[i].name, name) == 0) {
            if (n++ == 0 && value)
                *value = q->headers[i].value;
        }
    }
    return n;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The framing rules in the file comment. False with the answer set (and the connection to close). */
static bool check_framing(req_ctx *c, const char *version)
{
    api_request *q = &c->q;
    const char *te = NULL, *cl = NULL;
    size_t nte = header_count(q, "Transfer-Encoding", &te);
    size_t ncl = header_count(q, "Content-Length", &cl);
    c->has_body = nte > 0 || (ncl > 0 && strtoll(cl, NULL, 10) > 0);
    c->close = true;   /* for the refusals below; cleared when the framing is sound */
    for (size_t i = 0; i < q->nheaders; i++) {
        if (strpbrk(q->headers[i].name, " \t")) {
            api_error(&c->r, q, 400, "InvalidRequest", "header name \"%s\" contains whitespace", q->headers[i].name);
            return false;
        }
    }
    size_t nhost = header_count(q, "Host", NULL);
    if (nhost > 1 || (nhost == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)) {
        api_error(&c->r, q, 400, "InvalidRequest", "an HTTP/1.1 request needs exactly one Host header (it has %zu)",
                  nhost);
        return false;
    }
    if (nte > 0 && ncl > 0) {
        api_error(&c->r, q, 400, "InvalidRequest", "the request has both Transfer-Encoding and Content-Length");
        return false;
    }
    if (nte > 0 && strcmp(version, MHD_HTTP_VERSION_1_1) != 0) {
        api_error(&c->r, q, 400, "InvalidRequest", "Transfer-Encoding is not allowed in %s requests", version);
        return false;
    }
    if (nte > 1 || (nte == 1 && strcasecmp(te, "chunked") != 0)) {
        api_error(&c->r, q, 501, "NotImplemented", "Transfer-Encoding \"%s\" is not supported (only chunked)",
                  nte > 1 ? "(several headers)" : te);
        return false;
    }
    if (ncl > 1 || (ncl == 1 && (!all_digits(cl) || strlen(cl) > 18))) {
        api_error(&c->r, q, 400, "InvalidRequest", "%s", ncl > 1 ? "the request has more than one Content-Length header"
                                                                 : "Content-Length is not a decimal byte count");
        return false;
    }
    c->close = false;
    return true;
}

/* "http://host[:port]/path" (any case, http or https) -> path, with the authority kept in c and
 * put in place of the Host header. Origin-form "/path" is returned as it is; anything else is NULL. */
static const char *request_target(req_ctx *c, const char *url)
{
    if (url[0] == '/')
        return url;
    size_t skip = strncasecmp(url, "http://", 7) == 0 ? 7 : strncasecmp(url, "https://", 8) == 0 ? 8 : 0;
    if (!skip)
        return NULL;
    const char *auth = url + skip;
    size_t n = strcspn(auth, "/");
    if (n == 0 || n >= sizeof c->authority || memchr(auth, '@', n))
        return NULL;
    memcpy(c->authority, auth, n);
    c->authority[n] = '\0';
    api_request *q = &c->q;
    size_t i = 0;
    while (i < q->nheaders && strcasecmp(q->headers[i].name, "Host") != 0)
        i++;
    if (i == q->nheaders)
        q->nheaders++;   /* headers[] has one spare slot for this */
    c->headers[i] = (auth_kv){.name = "Host", .value = c->authority};
    return auth[n] ? auth + n : "/";
}

/* Which OpenAI-compatible call the path names, unless the request carries a COS signature: then
 * the path is an object key like any other (a bucket may hold an object called v1/models). */
static int openai_call(const api_request *q, const char *path)
{
    int call = strcmp(path, "/v1/audio/transcriptions") == 0 ? OPENAI_CALL_TRANSCRIBE
             : strcmp(path, "/v1/audio/translations") == 0  ? OPENAI_CALL_TRANSLATE
             : strcmp(path, "/v1/models") == 0              ? OPENAI_CALL_MODELS
                                                            : OPENAI_CALL_NONE;
    const char *auth = api_header(q, "Authorization");
    if (call && ((auth && strncasecmp(auth, "q-sign-algorithm", 16) == 0) || api_param_present(q, "q-sign-algorithm")))
        return OPENAI_CALL_NONE;
    return call;
}

/* begin_request for the OpenAI-compatible calls: bearer key, method, the upload limit. */
static bool begin_openai(req_ctx *c, const char *method, const char *path)
{
    api *a = c->srv->a;
    api_request *q = &c->q;
    if (!api_openai_authenticate(a, q, &c->r))
        return false;
    bool want_post = c->openai != OPENAI_CALL_MODELS;
    if (strcmp(method, want_post ? "POST" : "GET") != 0) {
        api_openai_error(&c->r, 405, "invalid_request_error", "method_not_allowed", NULL, "%s is not allowed on %s "
                         "(use %s)", method, path, want_post ? "POST" : "GET");
        return false;
    }
    if (c->openai == OPENAI_CALL_MODELS) {
        api_openai_models(a, q, &c->r);
        return false;
    }
    c->limit = api_openai_max_upload(a);
    const char *cl = api_header(q, "Content-Length");
    if (cl && strtoll(cl, NULL, 10) > (int64_t)c->limit) {
        api_openai_error(&c->r, 413, "invalid_request_error", "file_too_large", "file",
                         "the request is larger than the upload limit of %zu bytes", c->limit);
        return false;
    }
    c->close = false;
    return true;
}

/* ---- the web console (src/console): GET/HEAD /console/..., before authentication ----
 * Its files are public (the page signs its own API calls in the browser). A request that carries a
 * COS signature is left to the API, as for /v1/: the default bucket may hold objects under
 * console/. True, with the answer set in c->r, when it served the request. */
#define CONSOLE_CSP "default-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; " \
                    "frame-ancestors 'none'; form-action 'none'"

static bool console_request(req_ctx *c, const char *method, const char *path)
{
    const api_request *q = &c->q;
    const char *auth = api_header(q, "Authorization");
    if ((strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) || strncmp(path, "/console", 8) != 0 ||
        (path[8] != '\0' && path[8] != '/') || (auth && strncasecmp(auth, "q-sign-algorithm", 16) == 0) ||
        api_param_present(q, "q-sign-algorithm"))
        return false;
    api_response *r = &c->r;
    api_response_header(r, "Content-Security-Policy", CONSOLE_CSP);
    api_response_header(r, "X-Content-Type-Options", "nosniff");
    api_response_header(r, "Referrer-Policy", "no-referrer");
    const unsigned char *data;
    size_t len;
    if (path[8] == '\0') {   /* relative links in the page need the slash */
        r->status = 301;
        api_response_header(r, "Location", "/console/");
        return true;
    }
    if (!console_file(path + 9, &data, &len, &r->content_type)) {
        r->status = 404;
        r->content_type = "text/plain; charset=utf-8";
        buf_printf(&r->body, "no such console file: %s\n", path);
        return true;
    }
    const char *etag = console_file_etag(path + 9), *inm = api_header(q, "If-None-Match");
    api_response_header(r, "Cache-Control", "no-cache");   /* revalidated each time: a new build shows at once */
    api_response_header(r, "ETag", etag);
    r->status = inm && strcmp(inm, etag) == 0 ? 304 : 200;
    if (r->status == 200)
        buf_append(&r->body, (const char *)data, len);
    return true;
}

/* A peer on this machine: 127.0.0.0/8, ::1, or an IPv4-mapped loopback address. */
static bool is_loopback(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
    }
    return false;
}

/* First callback: everything but the body is known. Returns false when an answer was set. */
static bool begin_request(struct MHD_Connection *conn, req_ctx *c, const char *method, const char *url,
                          const char *version)
{
    kv_sink hs = {c->headers, MAX_HEADERS, 0}, ps = {c->params, MAX_PARAMS, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hs);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &ps);
    api_request *q = &c->q;
    q->method = method;
    q->path = url;
    q->headers = c->headers;
    q->nheaders = hs.n < MAX_HEADERS ? hs.n : MAX_HEADERS;
    q->params = c->params;
    q->nparams = ps.n < MAX_PARAMS ? ps.n : MAX_PARAMS;
    q->host = "";
    ids_request(q->request_id);
    if (hs.n > MAX_HEADERS) {   /* the framing headers may be among those not kept: close */
        c->close = true;
        api_error(&c->r, q, 431, "RequestHeaderFieldsTooLarge", "the request has %zu headers; at most %d are accepted",
                  hs.n, MAX_HEADERS);
        return false;
    }
    if (!check_framing(c, version))
        return false;
    c->close = c->has_body;   /* every refusal from here on is answered before the body is read */
    if (ps.n > MAX_PARAMS) {
        api_error(&c->r, q, 414, "RequestURITooLong", "the query has %zu parameters; at most %d are accepted", ps.n,
                  MAX_PARAMS);
        return false;
    }
    if (MHD_lookup_connection_value(conn, MHD_FOOTER_KIND, NUL_MARK)) {
        api_error(&c->r, q, 400, "InvalidArgument", "the request URI decodes to a NUL byte");
        return false;
    }
    const char *path = request_target(c, url);
    if (!path) {
        api_error(&c->r, q, 400, "InvalidRequest", "the request target must be a path or an http(s) URL");
        return false;
    }
    q->path = path;
    const char *host = api_header(q, "Host");
    q->host = host ? host : "";
    const char *dup = auth_repeated_param(q->params, q->nparams);
    if (dup) {
        api_error(&c->r, q, 400, "InvalidArgument", "the query parameter %s is given more than once", dup);
        return false;
    }
    const union MHD_ConnectionInfo *peer = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (http_ops_request(c->srv->stats, c->srv->a, &c->srv->p, q, method, path, peer && is_loopback(peer->client_addr),
                         &c->r)) {
        c->label = strcmp(path, "/healthz") == 0 ? "healthz" : strcmp(path, "/readyz") == 0 ? "readyz" : "metrics";
        return false;
    }
    if (strcmp(path, "/health") == 0 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        c->label = "health";
        /* unauthenticated liveness for load balancers and orchestrators: says nothing but that the
         * process serves, and which part of the service it runs */
        c->r.status = 200;
        c->r.content_type = "application/json";
        buf_printf(&c->r.body, "{\"status\":\"ok\",\"role\":\"%s\"}\n", c->srv->p.health_only ? "worker" : "api");
        return false;
    }
    if (c->srv->p.health_only) {
        api_error(&c->r, q, 404, "NoSuchResource", "this node runs jobs only (role worker): send requests to an API node");
        return false;
    }
    if (console_request(c, method, path)) {   /* the web console: public static files */
        c->label = "console";
        return false;
    }
    c->openai = openai_call(q, path);
    if (c->openai)
        return begin_openai(c, method, path);
    c->rt = router_match(method, path, api_param_present(q, "cancel"));
    if (!api_authenticate(c->srv->a, q, &c->r, c->rt.need_bucket))
        return false;
    if (c->rt.id == ROUTE_OBJECT_PUT)
        return api_object_put_begin(c->srv->a, q, &c->r, c->rt.arg, &c->writer);
    const char *cl = api_header(q, "Content-Length");
    if (cl && strtoll(cl, NULL, 10) > (int64_t)c->srv->max_body) {
        api_error(&c->r, q, 400, "EntityTooLarge", "the request body is larger than %zu bytes", c->srv->max_body);
        return false;
    }
    c->close = false;
    return true;
}

/* A body chunk: streamed to the blob writer or buffered (bounded). False when an answer was set. */
static bool take_chunk(req_ctx *c, const char *data, size_t n)
{
    if (c->writer) {
        blob_rc rc = api_object_put_chunk(c->writer, data, n);
        if (rc == BLOB_OK)
            return true;
        blob_writer *w = c->writer;   /* past the object size limit, or the disk failed: answer now */
        c->writer = NULL;
        api_object_put_end(c->srv->a, &c->q, &c->r, w, rc);
        return false;
    }
    size_t limit = c->limit ? c->limit : c->srv->max_body;
    if (c->body.len + n > limit) {
        c->close = true;
        if (c->openai)
            api_openai_error(&c->r, 413, "invalid_request_error", "file_too_large", "file",
                             "the request is larger than the upload limit of %zu bytes", limit);
        else
            api_error(&c->r, &c->q, 400, "EntityTooLarge", "the request body is larger than %zu bytes", limit);
        return false;
    }
    buf_append(&c->body, data, n);
    return true;
}

/* The whole request is in: runs it. True when the answer must wait for a job (park it). */
static bool finish_request(req_ctx *c)
{
    if (c->writer) {
        blob_writer *w = c->writer;
        c->writer = NULL;
        api_object_put_end(c->srv->a, &c->q, &c->r, w, BLOB_OK);
        return false;
    }
    c->q.body = c->body.data ? c->body.data : "";
    c->q.body_len = c->body.len;
    if (c->openai) {
        bool wait = api_openai_submit(c->srv->a, &c->q, &c->r, c->openai == OPENAI_CALL_TRANSLATE, &c->wait);
        buf_free(&c->body);   /* the upload is stored: no need to hold it while waiting */
        return wait;
    }
    router_dispatch(c->srv->a, &c->rt, &c->q, &c->r);
    return false;
}

/* ---- waiting for a job (the OpenAI-compatible calls) ---- */

static void park(req_ctx *c, struct MHD_Connection *conn)
{
    http_server *s = c->srv;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    c->conn = conn;
    MHD_suspend_connection(conn);
    pthread_mutex_lock(&s->park_mu);
    c->next_parked = s->parked;
    s->parked = c;
    pthread_cond_signal(&s->park_cv);
    pthread_mutex_unlock(&s->park_mu);
}

/* Whether the peer has closed its side (a client that gave up waiting). */
static bool client_left(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void *waiter_main(void *arg)
{
    http_server *s = arg;
    pthread_mutex_lock(&s->park_mu);
    while (!s->stopping) {
        if (!s->parked) {
            pthread_cond_wait(&s->park_cv, &s->park_mu);
            continue;
        }
        req_ctx *list = s->parked, *keep = NULL;
        s->parked = NULL;
        pthread_mutex_unlock(&s->park_mu);
        for (req_ctx *c = list, *next; c; c = next) {
            next = c->next_parked;
            if (!c->gone && client_left(c->fd)) {
                c->gone = true;
                c->ready = api_openai_abandon(s->a, &c->wait);   /* nobody reads the answer */
            }
            if (!c->ready)
                c->ready = api_openai_poll(s->a, &c->wait, &c->r);
            if (c->ready) {
                MHD_resume_connection(c->conn);
            } else {
                c->next_parked = keep;
                keep = c;
            }
        }
        pthread_mutex_lock(&s->park_mu);
        while (keep) {
            req_ctx *next = keep->next_parked;
            keep->next_parked = s->parked;
            s->parked = keep;
            keep = next;
        }
        if (s->parked && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += WAIT_POLL_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&s->park_cv, &s->park_mu, &until);
        }
    }
    /* shutting down: every waiting client is told; the jobs stay queued and run on a later start */
    for (req_ctx *c = s->parked; c; c = c->next_parked) {
        api_openai_error(&c->r, 503, "server_error", "shutting_down", NULL,
                         "the server is shutting down; job %s stays queued", c->wait.job_id);
        c->ready = true;
        MHD_resume_connection(c->conn);
    }
    s->parked = NULL;
    pthread_mutex_unlock(&s->park_mu);
    return NULL;
}

static enum MHD_Result continue_request(struct MHD_Connection *conn, req_ctx *c, const char *upload_data,
                                        size_t *upload_data_size);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    req_ctx *c = *con_cls;
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->srv = cls;
        c->start_ms = time_mono_ms();
        api_response_init(&c->r);
        buf_init(&c->body);
        *con_cls = c;
        bool go_on = begin_request(conn, c, method, url, version);   /* names the request id */
        log_context_set("request_id", c->q.request_id);
        enum MHD_Result rc = go_on ? MHD_YES : c->close ? answer_now(conn, c) : send_response(conn, c);
        log_context_clear();
        return rc;
    }
    log_context_set("request_id", c->q.request_id);
    enum MHD_Result rc = continue_request(conn, c, upload_data, upload_data_size);
    log_context_clear();
    return rc;
}

/* The calls after the first: body chunks, the end of the body, a resumed answer. */
static enum MHD_Result continue_request(struct MHD_Connection *conn, req_ctx *c, const char *upload_data,
                                        size_t *upload_data_size)
{
    if (c->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->ready)   /* resumed by the waiter with the answer */
        return send_response(conn, c);
    if (*upload_data_size > 0) {
        bool ok = take_chunk(c, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok ? MHD_YES : answer_now(conn, c);
    }
    if (finish_request(c)) {
        park(c, conn);
        return MHD_YES;
    }
    return send_response(conn, c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_ctx *c = *con_cls;
    if (!c)
        return;
    if (c->writer)
        blob_put_abort(c->writer);   /* client went away mid-upload: nothing half-written stays */
    api_response_free(&c->r);
    buf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

/* Parses "host:port", "[v6]:port" or ":port" into a socket address. */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    memset(ss, 0, sizeof *ss);
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon) {
        snprintf(err, errlen, "listen address \"%s\" needs a port (host:port)", s);
        return false;
    }
    int port = atoi(colon + 1);
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host || port < 0 || port > 65535) {
        snprintf(err, errlen, "bad listen address \"%s\"", s);
        return false;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (host[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[strlen(host) - 1] = '\0';
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1)
            return true;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            return true;
        }
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1)
            return true;
    }
    snprintf(err, errlen, "listen address \"%s\": \"%s\" is not an IP address", s, host);
    return false;
}

http_server *http_start(const http_params *p, api *a, char *err, size_t errlen)
{
    http_server *s = xcalloc(1, sizeof *s);
    s->p = p ? *p : http_default_params();
    s->stats = http_stats_new();
    s->a = a;
    s->max_body = api_max_body(a);
    struct sockaddr_storage ss;
    if (!parse_listen(s->p.listen, &ss, err, errlen)) {
        free(s);
        return NULL;
    }
    unsigned flags = s->p.threads ? MHD_USE_EPOLL_INTERNAL_THREAD
                                  : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    flags |= MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_THREAD_POOL_SIZE, s->p.threads,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, s,
                            MHD_OPTION_CONNECTION_LIMIT, s->p.connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, s->p.timeout_s,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not available)", s->p.listen);
        free(s);
        return NULL;
    }
    s->linger = linger_start();   /* without it, refused connections are simply closed */
    pthread_mutex_init(&s->park_mu, NULL);
    pthread_cond_init(&s->park_cv, NULL);
    s->waiter_started = pthread_create(&s->waiter, NULL, waiter_main, s) == 0;
    if (!s->waiter_started) {
        snprintf(err, errlen, "cannot start the thread that waits on jobs");
        http_stop(s);
        return NULL;
    }
    return s;
}

int http_port(const http_server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? (int)i->port : 0;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    if (s->waiter_started) {   /* the waiting connections are answered and resumed first */
        pthread_mutex_lock(&s->park_mu);
        s->stopping = true;
        pthread_cond_signal(&s->park_cv);
        pthread_mutex_unlock(&s->park_mu);
        pthread_join(s->waiter, NULL);
    }
    MHD_stop_daemon(s->d);
    linger_stop(s->linger);
    pthread_mutex_destroy(&s->park_mu);   /* initialised by http_start before any http_stop */
    pthread_cond_destroy(&s->park_cv);
    http_stats_free(s->stats);
    free(s);
}
