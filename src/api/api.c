/* api.c — what every API call shares: construction, authentication and the bucket/appid check
 * (spec sections 6 and 7; the signature and Host-to-bucket rules themselves live in src/auth),
 * query/header access, responses and the error body (section 5). */
#include "api/api_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

api_params api_default_params(void)
{
    return (api_params){.region = "ap-chongqing", .default_bucket = NULL, .server_name = "cicada",
                        .max_body = 1 << 20, .max_skew_s = 60, .max_sign_lifetime_s = API_DEFAULT_SIGN_LIFETIME,
                        .openai_max_upload = 25 << 20};
}

api *api_new(const api_params *p, const api_deps *d)
{
    api *a = xcalloc(1, sizeof *a);
    a->p = p ? *p : api_default_params();
    a->d = *d;
    snprintf(a->region, sizeof a->region, "%s", a->p.region ? a->p.region : "ap-chongqing");
    snprintf(a->default_bucket, sizeof a->default_bucket, "%s", a->p.default_bucket ? a->p.default_bucket : "");
    a->p.region = a->region;
    a->p.default_bucket = a->default_bucket;
    if (a->p.token_key)
        a->token_key = *a->p.token_key;
    else
        seal_key_random(&a->token_key);
    a->p.token_key = NULL;   /* the copy above is the one used */
    pthread_mutex_init(&a->queue_cache_mu, NULL);
    pthread_mutex_init(&a->metrics_mu, NULL);
    return a;
}

size_t api_max_body(const api *a)
{
    return a->p.max_body;
}

void api_free(api *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->queue_cache_mu);
    pthread_mutex_destroy(&a->metrics_mu);
    free(a->counts);
    free(a);
}

void api_response_init(api_response *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    r->fd = -1;
    buf_init(&r->body);
}

void api_response_free(api_response *r)
{
    buf_free(&r->body);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

void api_response_header(api_response *r, const char *name, const char *value)
{
    if (r->nextra >= API_MAX_EXTRA_HEADERS)
        return;
    snprintf(r->extra_name[r->nextra], sizeof r->extra_name[0], "%s", name);
    snprintf(r->extra_value[r->nextra], sizeof r->extra_value[0], "%s", value);
    r->nextra++;
}

void api_error(api_response *r, const api_request *q, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    r->nextra = 0;
    r->status = status;
    r->content_type = "application/xml";
    buf_reset(&r->body);
    xml_writer w = {&r->body};
    xw_decl(&w);
    xw_open(&w, "Error");
    xw_text_elem(&w, "Code", code);
    xw_text_elem(&w, "Message", msg);
    xw_text_elem(&w, "Resource", q->path);
    xw_text_elem(&w, "RequestId", q->request_id);
    xw_text_elem(&w, "TraceId", q->request_id);
    xw_close(&w, "Error");
}

const char *api_param(const api_request *q, const char *name)
{
    for (size_t i = 0; i < q->nparams; i++)
        if (strcasecmp(q->params[i].name, name) == 0)
            return q->params[i].value && q->params[i].value[0] ? q->params[i].value : NULL;
    return NULL;
}

bool api_param_present(const api_request *q, const char *name)
{
    for (size_t i = 0; i < q->nparams; i++)
        if (strcasecmp(q->params[i].name, name) == 0)
            return true;
    return false;
}

const char *api_header(const api_request *q, const char *name)
{
    for (size_t i = 0; i < q->nheaders; i++)
        if (strcasecmp(q->headers[i].name, name) == 0)
            return q->headers[i].value;
    return NULL;
}

bool api_authenticate(api *a, api_request *q, api_response *r, bool need_bucket)
{
    auth_request ar = {
        .method = q->method, .path = q->path, .params = q->params, .nparams = q->nparams,
        .headers = q->headers, .nheaders = q->nheaders, .authorization = api_header(q, "Authorization"),
        .now = (int64_t)time(NULL), .max_skew = a->p.max_skew_s, .max_lifetime = a->p.max_sign_lifetime_s,
    };
    const auth_key *key = NULL;
    auth_status st = auth_verify(&ar, a->d.keys, &key);
    if (st == AUTH_TOO_LONG) {
        api_error(r, q, 403, auth_status_code(st), "%s Windows of at most %lld seconds are accepted.",
                  auth_status_message(st),
                  (long long)a->p.max_sign_lifetime_s);
        return false;
    }
    if (st != AUTH_OK) {
        api_error(r, q, 403, auth_status_code(st), "%s", auth_status_message(st));   /* every signature failure */
        return false;
    }
    q->key = key;
    snprintf(q->appid, sizeof q->appid, "%s", key->appid);
    bool named = auth_bucket_from_host(q->host, NULL, q->bucket);
    q->bucket_is_default = !named && auth_bucket_from_host(q->host, a->default_bucket, q->bucket);
    if (!need_bucket)
        return true;
    const char *host = q->host && q->host[0] ? q->host : "(none)";
    if (!named && !q->bucket_is_default) {
        api_error(r, q, 400, "InvalidRequest",
                  "the Host header %s names no bucket and this server has no default bucket "
                  "(use <bucket>-<appid>.ci.<region>.myqcloud.com or set CICADA_DEFAULT_BUCKET)", host);
        return false;
    }
    if (q->bucket_is_default && strcmp(q->method, "DELETE") == 0) {
        /* A client configured with only an address (the Python SDK's IP=/Port=, the Node SDK's Domain=)
         * sends every call to the default bucket whatever Bucket= says: reading is harmless, deleting
         * or closing the wrong bucket is not. */
        api_error(r, q, 400, "InvalidRequest",
                  "%s %s must name its bucket in the Host header; %s names none, and the default bucket %s is "
                  "never deleted from implicitly (send Host: <bucket>-<appid>.ci.<region>.myqcloud.com: Python "
                  "CosConfig(Domain=...), Node new COS({Ip: ...}))", q->method, q->path, host, q->bucket);
        return false;
    }
    char appid[32];
    if (!auth_bucket_name_valid(q->bucket, appid)) {
        api_error(r, q, 400, "InvalidBucketName", "bucket name %s does not match <name>-<appid>", q->bucket);
        return false;
    }
    if (strcmp(appid, key->appid) != 0) {
        api_error(r, q, 403, "AccessDenied", "SecretId %s belongs to appid %s and may not act on bucket %s",
                  key->secret_id, key->appid, q->bucket);
        return false;
    }
    return true;
}

/* Sets the XML content type and writes the declaration. */
void api_xml_begin(api_response *r, xml_writer *w)
{
    r->status = 200;
    r->content_type = "application/xml";
    buf_reset(&r->body);
    w->out = &r->body;
    xw_decl(w);
}

/* Parses an XML body into a tree, or answers MalformedXML. */
xml_node *api_parse_body(api_response *r, const api_request *q)
{
    if (q->body_len == 0) {
        api_error(r, q, 400, "MalformedXML", "the request body is empty; an XML <Request> is required");
        return NULL;
    }
    xml_parse_params pp = xml_parse_default_params();
    char err[256];
    xml_node *root = xml_parse(q->body, q->body_len, &pp, err, sizeof err);
    if (!root) {
        api_error(r, q, 400, "MalformedXML", "the XML body is not well-formed: %s", err);
        return NULL;
    }
    if (strcmp(xml_name(root), "Request") != 0) {
        api_error(r, q, 400, "MalformedXML", "the root element is <%s>; expected <Request>", xml_name(root));
        xml_free(root);
        return NULL;
    }
    return root;
}

bool api_take_text(api_response *r, const api_request *q, const xml_node *n, const char *path, char *dst, size_t cap)
{
    const char *v = xml_path_text(n, path);
    if (!v)
        return true;
    if (!strlcpy_ok(dst, v, cap)) {
        api_error(r, q, 400, "InvalidArgument", "%s is longer than %zu bytes", path, cap - 1);
        return false;
    }
    return true;
}

void api_list_begin(api_response *r, const api_request *q, xml_writer *w, int64_t total, int page_number,
                    int page_size)
{
    api_xml_begin(r, w);
    xw_open(w, "Response");
    xw_text_elem(w, "RequestId", q->request_id);
    xw_int_elem(w, "TotalCount", total);
    xw_int_elem(w, "PageNumber", page_number);
    xw_int_elem(w, "PageSize", page_size);
}

/* Page size/number parameters: absent -> default; present -> must be in range. */
bool api_int_param(api_response *r, const api_request *q, const char *name, int lo, int hi, int def, int *out)
{
    const char *v = api_param(q, name);
    if (!v) {
        *out = def;
        return true;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < lo || n > hi) {
        api_error(r, q, 400, "InvalidArgument", "%s must be an integer from %d to %d (got \"%s\")", name, lo, hi, v);
        return false;
    }
    *out = (int)n;
    return true;
}
