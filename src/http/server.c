/* server.c — the libmicrohttpd adapter. For each request: on the first callback (headers complete)
 * gather the path, query and headers, route, authenticate and, for an object PUT, open a blob
 * writer; on the following callbacks stream or buffer the body; on the last one run the handler
 * and queue its response. Early refusals (bad signature, oversize body) are answered at once. */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_KV 128

struct http_server {
    struct MHD_Daemon *d;
    api *a;
    http_params p;
    size_t max_body;
};

typedef struct req_ctx {
    http_server *srv;
    route rt;
    api_request q;
    api_response r;
    auth_kv params[MAX_KV];
    auth_kv headers[MAX_KV];
    buf body;
    blob_writer *writer;
    blob_rc write_status;     /* first failure of a streamed upload, BLOB_OK while fine */
    bool answered;            /* a response is queued already */
    bool discarding;          /* refused early: swallow the body, answer at its end */
} req_ctx;

/* A refused request whose body is at most this large is read to its end before the answer, so
 * the client sees the error instead of a broken pipe; larger ones are answered at once and the
 * connection closed. */
#define DISCARD_LIMIT (64 << 20)

/* The unescape callback marks a request whose path or query decodes to a NUL byte with this
 * connection value (of the trailer kind, which requests here never carry), for begin_request. */
#define NUL_MARK "cicada-nul-in-uri"

http_params http_default_params(void)
{
    return (http_params){.listen = "127.0.0.1:8080", .connection_limit = 1024, .timeout_s = 120, .threads = 32};
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decoding in place; "%00" is left as it is and flagged, so no string is cut short. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
            char ch = (char)(hi * 16 + lo);
            if (ch == '\0') {
                MHD_set_connection_value(c, MHD_FOOTER_KIND, NUL_MARK, "1");
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

typedef struct kv_sink {
    auth_kv *kv;
    size_t n;
} kv_sink;

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    kv_sink *s = cls;
    if (s->n < MAX_KV)
        s->kv[s->n++] = (auth_kv){.name = key, .value = value ? value : ""};
    return MHD_YES;
}

static void add_headers(struct MHD_Response *resp, const req_ctx *c)
{
    const api_response *r = &c->r;
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "x-ci-request-id", c->q.request_id);
    MHD_add_response_header(resp, "x-cos-request-id", c->q.request_id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "cicada");
    for (size_t i = 0; i < r->nextra; i++)
        MHD_add_response_header(resp, r->extra_name[i], r->extra_value[i]);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, req_ctx *c)
{
    api_response *r = &c->r;
    struct MHD_Response *resp;
    if (r->fd >= 0) {
        resp = MHD_create_response_from_fd_at_offset64((uint64_t)r->fd_length, r->fd, (uint64_t)r->fd_offset);
        r->fd = -1;   /* MHD owns and closes it now */
    } else {
        size_t len = r->body.len;
        char *data = buf_steal(&r->body);
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    }
    if (!resp)
        return MHD_NO;
    add_headers(resp, c);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    c->answered = true;
    return ok;
}

static int64_t content_length(const req_ctx *c)
{
    const char *v = api_header(&c->q, "Content-Length");
    return v ? strtoll(v, NULL, 10) : 0;
}

/* First callback: everything but the body is known. Returns false when an answer was queued. */
static bool begin_request(struct MHD_Connection *conn, req_ctx *c, const char *method, const char *url)
{
    kv_sink hs = {c->headers, 0}, ps = {c->params, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hs);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &ps);
    api_request *q = &c->q;
    q->method = method;
    q->path = url;
    q->headers = c->headers;
    q->nheaders = hs.n;
    q->params = c->params;
    q->nparams = ps.n;
    const char *host = api_header(q, "Host");
    q->host = host ? host : "";
    ids_request(q->request_id);
    if (MHD_lookup_connection_value(conn, MHD_FOOTER_KIND, NUL_MARK)) {
        api_error(&c->r, q, 400, "InvalidArgument", "the request URI decodes to a NUL byte");
        return false;
    }
    c->rt = router_match(method, url, api_param_present(q, "cancel"));
    if (!api_authenticate(c->srv->a, q, &c->r, c->rt.need_bucket))
        return false;
    if (c->rt.id == ROUTE_OBJECT_PUT)
        return api_object_put_begin(c->srv->a, q, &c->r, c->rt.arg, &c->writer);
    if (content_length(c) > (int64_t)c->srv->max_body) {
        api_error(&c->r, q, 400, "EntityTooLarge", "the request body is larger than %zu bytes", c->srv->max_body);
        return false;
    }
    return true;
}

/* A body chunk: streamed to the blob writer or buffered (bounded). False when an answer was queued. */
static bool take_chunk(req_ctx *c, const char *data, size_t n)
{
    if (c->writer) {
        if (c->write_status == BLOB_OK)
            c->write_status = api_object_put_chunk(c->writer, data, n);
        return true;
    }
    if (c->body.len + n > c->srv->max_body) {
        api_error(&c->r, &c->q, 400, "EntityTooLarge", "the request body is larger than %zu bytes", c->srv->max_body);
        return false;
    }
    buf_append(&c->body, data, n);
    return true;
}

static void finish_request(req_ctx *c)
{
    if (c->writer) {
        blob_writer *w = c->writer;
        c->writer = NULL;
        api_object_put_end(c->srv->a, &c->q, &c->r, w, c->write_status);
        return;
    }
    c->q.body = c->body.data ? c->body.data : "";
    c->q.body_len = c->body.len;
    router_dispatch(c->srv->a, &c->rt, &c->q, &c->r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    req_ctx *c = *con_cls;
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->srv = cls;
        api_response_init(&c->r);
        buf_init(&c->body);
        *con_cls = c;
        if (!begin_request(conn, c, method, url)) {
            if (content_length(c) > 0 && content_length(c) <= DISCARD_LIMIT) {
                c->discarding = true;
                return MHD_YES;
            }
            return send_response(conn, c);
        }
        return MHD_YES;
    }
    if (c->answered || (c->discarding && *upload_data_size > 0)) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->discarding)
        return send_response(conn, c);
    if (*upload_data_size > 0) {
        if (!take_chunk(c, upload_data, *upload_data_size))
            c->discarding = true;   /* the body outgrew the limit: answer once it is consumed */
        *upload_data_size = 0;
        return MHD_YES;
    }
    finish_request(c);
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
    s->a = a;
    api_params ap = api_default_params();
    s->max_body = ap.max_body;
    struct sockaddr_storage ss;
    if (!parse_listen(s->p.listen, &ss, err, errlen)) {
        free(s);
        return NULL;
    }
    unsigned flags = s->p.threads ? MHD_USE_EPOLL_INTERNAL_THREAD
                                  : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
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
    MHD_stop_daemon(s->d);
    free(s);
}
