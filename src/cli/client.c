/* client.c — `cicada` as a client of a running server: where the server is and who is asking
 * (flags > environment > the client INI file > defaults), requests signed exactly as the COS SDKs
 * sign them (src/auth: q-sign-algorithm=sha1 over the Host header and every query parameter),
 * XML replies parsed by src/xml with the limits raised for long lists, uploads streamed from disk
 * with libcurl. Errors are values: each request returns the process exit code its failure means
 * (refused, unreachable, interrupted) with one line saying why, and the subcommands decide what
 * to print around it.
 *
 * The bucket travels in the Host header as the SDKs send it in "Ip" mode
 * (<bucket>.ci.<region>.myqcloud.com for CI calls, .cos. for objects) while the connection goes
 * to the endpoint; with no bucket the Host is the endpoint's own, which the server reads as its
 * default bucket. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CLIENT_MAX_REPLY (64u << 20)        /* a reply larger than this is not the API's */
#define CLIENT_CONNECT_TIMEOUT_S 10L        /* a server that does not accept in 10 s is unreachable */
#define CLIENT_SIGN_BEFORE_S 60             /* signature window: a minute of clock skew either way */
#define CLIENT_SIGN_AFTER_S 900             /* ... and valid for 15 minutes (a slow upload's headers) */
#define CLIENT_GET_TRIES 4                  /* a GET: the first try and three retries */
#define CLIENT_DEFAULT_ENDPOINT "http://127.0.0.1:8080"
#define CLIENT_DEFAULT_REGION "ap-chongqing"

struct client {
    CURL *curl;
    char endpoint[512];       /* scheme://authority, no trailing slash */
    char authority[256];      /* host[:port] of the endpoint: the Host with no bucket */
    char secret_id[128];
    char secret_key[128];
    char bucket[AUTH_BUCKET_MAX];
    char region[32];
};

void client_cmd_add(client_cmd *cc, const char *name, const char **value, bool *seen)
{
    if (cc->nopts < sizeof cc->opts / sizeof cc->opts[0])
        cc->opts[cc->nopts++] = (cli_extra_opt){name, value != NULL, value, seen};
    else
        abort();   /* a programming error: the table is sized for every subcommand */
}

void client_cmd_init(client_cmd *cc)
{
    memset(cc, 0, sizeof *cc);
    client_settings *s = &cc->cs;
    client_cmd_add(cc, "--json", NULL, &cc->json);
    client_cmd_add(cc, "--help", NULL, &cc->help);
    client_cmd_add(cc, "-h", NULL, &cc->help);
    client_cmd_add(cc, "--endpoint", &s->endpoint, NULL);
    client_cmd_add(cc, "--secret-id", &s->secret_id, NULL);
    client_cmd_add(cc, "--secret-key", &s->secret_key, NULL);
    client_cmd_add(cc, "--bucket", &s->bucket, NULL);
    client_cmd_add(cc, "--region", &s->region, NULL);
    client_cmd_add(cc, "--config", &s->config, NULL);
}

/* The one flag a signal handler sets (a handler can reach nothing else): SIGINT or SIGTERM seen. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool client_interrupted(const client *c)
{
    (void)c;
    return interrupted != 0;
}

void client_print_opts_help(void)
{
    printf("server and credentials (flag > environment > client INI file > default):\n"
           "  --endpoint URL     CICADA_ENDPOINT     endpoint=     the server (" CLIENT_DEFAULT_ENDPOINT ")\n"
           "  --secret-id ID     CICADA_SECRET_ID    secret_id=    the key that signs requests\n"
           "  --secret-key KEY   CICADA_SECRET_KEY   secret_key=\n"
           "  --bucket NAME      CICADA_BUCKET       bucket=       <name>-<appid> (the server's default bucket)\n"
           "  --region REGION    CICADA_REGION       region=       (" CLIENT_DEFAULT_REGION ")\n"
           "  --config FILE      the client INI file ($XDG_CONFIG_HOME/cicada/client.ini, else\n"
           "                     ~/.config/cicada/client.ini; keys as above, in [client] or no section)\n\n"
           "exit codes: 0 done; 1 a job ended Failed or Cancel; 2 bad usage; 3 the server refused the\n"
           "request (credentials, a bad value); 4 the server could not be reached or failed; 130 interrupted.\n");
}

/* ---- settings ---- */

typedef struct ini_values {
    char endpoint[512], secret_id[128], secret_key[128], bucket[AUTH_BUCKET_MAX], region[32];
    char bad[160];            /* the first unknown key, reported */
} ini_values;

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    ini_values *v = user;
    if (section[0] && strcmp(section, "client") != 0)
        return 1;   /* other sections belong to others (a shared file may hold the server's) */
    struct { const char *key; char *dst; size_t cap; } map[] = {
        {"endpoint", v->endpoint, sizeof v->endpoint},     {"secret_id", v->secret_id, sizeof v->secret_id},
        {"secret_key", v->secret_key, sizeof v->secret_key}, {"bucket", v->bucket, sizeof v->bucket},
        {"region", v->region, sizeof v->region},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].key) == 0) {
            if (!strlcpy_ok(map[i].dst, value, map[i].cap) && !v->bad[0])
                snprintf(v->bad, sizeof v->bad, "%s is too long", name);
            return 1;
        }
    if (!v->bad[0])
        snprintf(v->bad, sizeof v->bad, "unknown key \"%s\" (endpoint, secret_id, secret_key, bucket, region)", name);
    return 1;
}

/* The INI file: the one named, else the default path when it exists. False with a message when
 * a named file cannot be read or any file is malformed. */
static bool read_ini(const char *prog, const char *named, ini_values *v)
{
    char path[1024];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (named && named[0])
        snprintf(path, sizeof path, "%s", named);
    else if (xdg && xdg[0])
        snprintf(path, sizeof path, "%s/cicada/client.ini", xdg);
    else if (home && home[0])
        snprintf(path, sizeof path, "%s/.config/cicada/client.ini", home);
    else
        return true;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (named && named[0]) {
            fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
            return false;
        }
        return true;
    }
    int rc = ini_parse(path, on_ini, v);
    if (rc != 0 || v->bad[0]) {
        if (rc < 0)
            fprintf(stderr, "%s: cannot read %s\n", prog, path);
        else if (rc > 0)
            fprintf(stderr, "%s: %s line %d is not KEY=VALUE\n", prog, path, rc);
        else
            fprintf(stderr, "%s: %s: %s\n", prog, path, v->bad);
        return false;
    }
    if (v->secret_key[0] && (st.st_mode & 077))
        fprintf(stderr, "%s: warning: %s holds a secret key and others can read it (chmod 600 %s)\n", prog, path,
                path);
    return true;
}

static const char *pick(const char *flag, const char *env, const char *ini, const char *def)
{
    if (flag)
        return flag;
    const char *e = getenv(env);
    if (e && e[0])
        return e;
    return ini[0] ? ini : def;
}

/* scheme://authority from what the user typed ("host:port" alone means http). */
static bool parse_endpoint(client *c, const char *url)
{
    const char *rest = url;
    char scheme[8] = "http";
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
        strcpy(scheme, "https");
    } else if (strstr(url, "://"))
        return false;
    size_t n = strcspn(rest, "/?#");
    if (n == 0 || n >= sizeof c->authority || strspn(rest + n, "/") != strlen(rest + n))
        return false;   /* a path would be dropped silently: refuse it */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)rest[i] <= ' ' || rest[i] == '@')
            return false;
    memcpy(c->authority, rest, n);
    c->authority[n] = 0;
    snprintf(c->endpoint, sizeof c->endpoint, "%s://%s", scheme, c->authority);
    return true;
}

client *client_open(const char *prog, const client_settings *s)
{
    ini_values v = {0};
    const char *named = s->config ? s->config : getenv("CICADA_CLIENT_CONFIG");
    if (!read_ini(prog, named, &v))
        return NULL;
    client *c = xcalloc(1, sizeof *c);
    const char *endpoint = pick(s->endpoint, "CICADA_ENDPOINT", v.endpoint, CLIENT_DEFAULT_ENDPOINT);
    const char *bucket = pick(s->bucket, "CICADA_BUCKET", v.bucket, "");
    char appid[32];
    bool ok = true;
    if (!parse_endpoint(c, endpoint)) {
        fprintf(stderr, "%s: endpoint \"%s\" is not http(s)://host[:port]\n", prog, endpoint);
        ok = false;
    } else if (!strlcpy_ok(c->secret_id, pick(s->secret_id, "CICADA_SECRET_ID", v.secret_id, ""), sizeof c->secret_id) ||
               !strlcpy_ok(c->secret_key, pick(s->secret_key, "CICADA_SECRET_KEY", v.secret_key, ""),
                           sizeof c->secret_key) ||
               !c->secret_id[0] || !c->secret_key[0]) {
        fprintf(stderr, "%s: no credentials: give --secret-id and --secret-key (or CICADA_SECRET_ID and "
                        "CICADA_SECRET_KEY, or secret_id= and secret_key= in the client INI file)\n", prog);
        ok = false;
    } else if (bucket[0] && (!strlcpy_ok(c->bucket, bucket, sizeof c->bucket) || !auth_bucket_name_valid(bucket, appid))) {
        fprintf(stderr, "%s: bucket \"%s\" is not <name>-<appid> (lower-case letters, digits and '-')\n", prog, bucket);
        ok = false;
    } else if (!strlcpy_ok(c->region, pick(s->region, "CICADA_REGION", v.region, CLIENT_DEFAULT_REGION),
                           sizeof c->region) ||
               strspn(c->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->region) || !c->region[0]) {
        fprintf(stderr, "%s: region must be lower-case letters, digits and '-' (ap-chongqing)\n", prog);
        ok = false;
    }
    memset(v.secret_key, 0, sizeof v.secret_key);
    if (ok && !(c->curl = curl_easy_init())) {
        fprintf(stderr, "%s: libcurl could not start\n", prog);
        ok = false;
    }
    if (!ok) {
        client_close(c);
        return NULL;
    }
    catch_signals();
    return c;
}

void client_close(client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    memset(c->secret_key, 0, sizeof c->secret_key);
    free(c);
}

const char *client_bucket(const client *c) { return c->bucket; }
const char *client_region(const client *c) { return c->region; }

/* ---- requests ---- */

/* RFC 3986 encoding for a URL path: unreserved characters and '/' kept. */
static void path_encode(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~/", *p))
            buf_putc(out, (char)*p);
        else {
            buf_putc(out, '%');
            buf_putc(out, hex[*p >> 4]);
            buf_putc(out, hex[*p & 15]);
        }
    }
}

static void query_append(buf *url, const auth_kv *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t cap = strlen(q[i].name) * 3 + 1;
        char *name = xmalloc(cap);
        auth_uri_encode(q[i].name, name, cap);
        buf_printf(url, "%c%s", i ? '&' : '?', name);
        free(name);
        if (q[i].value && q[i].value[0]) {
            cap = strlen(q[i].value) * 3 + 1;
            char *value = xmalloc(cap);
            auth_uri_encode(q[i].value, value, cap);
            buf_printf(url, "=%s", value);
            free(value);
        }
    }
}

typedef struct transfer {
    client *c;
    const client_call *call;
    client_reply *reply;
    bool too_big;
    int64_t last_report_ms;
} transfer;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    transfer *t = arg;
    size_t len = size * n;
    if (t->reply->body.len + len > CLIENT_MAX_REPLY) {
        t->too_big = true;
        return 0;
    }
    buf_append(&t->reply->body, p, len);
    return len;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    transfer *t = arg;
    if (interrupted)
        return 1;
    if (t->call->on_progress && ultotal > 0) {
        int64_t now = time_mono_ms();
        if (now - t->last_report_ms >= 200 || ulnow == ultotal) {
            t->last_report_ms = now;
            t->call->on_progress(t->call->progress_arg, (long long)ulnow, (long long)ultotal);
        }
    }
    return 0;
}

/* The <Error> of a refused request as "Code: Message", with a hint where the user can act. */
static void describe_error(client_reply *r)
{
    xml_parse_params xp = xml_parse_default_params();
    xml_node *e = r->body.len ? xml_parse(r->body.data, r->body.len, &xp, NULL, 0) : NULL;
    const char *code = e ? xml_path_text(e, "Code") : NULL;
    const char *msg = e ? xml_path_text(e, "Message") : NULL;
    if (code && code[0]) {
        const char *hint = "";
        if (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch"))
            hint = " (check --secret-id and --secret-key, or CICADA_SECRET_ID and CICADA_SECRET_KEY)";
        else if (!strcmp(code, "RequestTimeTooSkewed"))
            hint = " (this machine's clock differs from the server's)";
        else if (!strcmp(code, "NoSuchBucket"))
            hint = " (open it with `cicada buckets open`)";
        snprintf(r->error, sizeof r->error, "%s: %s%s", code, msg ? msg : "", hint);
    } else
        snprintf(r->error, sizeof r->error, "the server answered HTTP %ld%s", r->status,
                 r->status == 404 ? " (is the endpoint a Cicada or CI server?)" : "");
    xml_free(e);
}

static int attempt(client *c, const client_call *call, client_reply *r)
{
    buf url;
    buf_init(&url);
    buf_puts(&url, c->endpoint);
    path_encode(&url, call->path);
    query_append(&url, call->query, call->nquery);

    char host[320];
    if (c->bucket[0])
        snprintf(host, sizeof host, "%s.%s.%s.myqcloud.com", c->bucket, call->object ? "cos" : "ci", c->region);
    else
        snprintf(host, sizeof host, "%s", c->authority);
    int64_t now = time(NULL);
    auth_kv hk = {"host", host};
    char authz[1024];
    auth_sign(c->secret_id, c->secret_key, now - CLIENT_SIGN_BEFORE_S, now + CLIENT_SIGN_AFTER_S, call->method,
              call->path, call->query, call->nquery, &hk, 1, authz, sizeof authz);

    char hline[400], aline[1100];
    snprintf(hline, sizeof hline, "Host: %s", host);
    snprintf(aline, sizeof aline, "Authorization: %s", authz);
    struct curl_slist *h = curl_slist_append(NULL, hline);
    h = curl_slist_append(h, aline);
    if (call->body)
        h = curl_slist_append(h, "Content-Type: application/xml");
    if (!call->upload_path)
        h = curl_slist_append(h, "Expect:");

    FILE *in = NULL;
    CURL *k = c->curl;
    curl_easy_reset(k);
    transfer t = {.c = c, .call = call, .reply = r};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(k, CURLOPT_URL, url.data);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, CLIENT_CONNECT_TIMEOUT_S);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(k, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, call->method);
    if (call->upload_path) {
        struct stat st;
        in = fopen(call->upload_path, "rb");
        if (!in || fstat(fileno(in), &st) != 0) {
            snprintf(r->error, sizeof r->error, "cannot read %s: %s", call->upload_path, strerror(errno));
            if (in)
                fclose(in);
            curl_slist_free_all(h);
            buf_free(&url);
            return CLIENT_EXIT_USAGE;
        }
        curl_easy_setopt(k, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(k, CURLOPT_READDATA, in);
        curl_easy_setopt(k, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        if (call->limit_rate > 0)
            curl_easy_setopt(k, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)call->limit_rate);
    } else if (call->body) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
    } else if (!strcmp(call->method, "PUT") || !strcmp(call->method, "POST")) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(k);
    if (in)
        fclose(in);
    curl_slist_free_all(h);
    buf_free(&url);
    r->status = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &r->status);

    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(r->error, sizeof r->error, "interrupted");
        return CLIENT_EXIT_INTERRUPTED;
    }
    if (t.too_big) {
        snprintf(r->error, sizeof r->error, "the reply from %s is larger than %u MiB: not a CI server's", c->endpoint,
                 CLIENT_MAX_REPLY >> 20);
        return CLIENT_EXIT_UNREACHABLE;
    }
    if (rc != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "cannot reach %s: %s", c->endpoint,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
        return CLIENT_EXIT_UNREACHABLE;
    }
    if (r->status >= 400) {
        describe_error(r);
        return r->status < 500 ? CLIENT_EXIT_REFUSED : CLIENT_EXIT_UNREACHABLE;
    }
    return CLIENT_EXIT_OK;
}

int client_request(client *c, const client_call *call, client_reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    bool retry = !strcmp(call->method, "GET");
    int rc = CLIENT_EXIT_OK;
    for (int i = 0; i < (retry ? CLIENT_GET_TRIES : 1); i++) {
        if (i) {
            for (int64_t end = time_mono_ms() + (250LL << i); time_mono_ms() < end;)
                if (interrupted)
                    return CLIENT_EXIT_INTERRUPTED;
                else
                    time_sleep_ms(50);
            buf_reset(&r->body);
        }
        rc = attempt(c, call, r);
        if (rc != CLIENT_EXIT_UNREACHABLE)
            break;
    }
    if (rc != CLIENT_EXIT_OK || !r->body.len || call->object)
        return rc;
    xml_parse_params xp = xml_parse_default_params();
    xp.max_nodes = 1u << 22;   /* 100 jobs with word-level detail: hundreds of thousands of nodes */
    char err[256];
    r->root = xml_parse(r->body.data, r->body.len, &xp, err, sizeof err);
    if (!r->root) {
        snprintf(r->error, sizeof r->error, "the reply from %s is not the API's XML: %s", c->endpoint, err);
        return CLIENT_EXIT_UNREACHABLE;
    }
    return CLIENT_EXIT_OK;
}

void client_reply_free(client_reply *r)
{
    buf_free(&r->body);
    xml_free(r->root);
    r->root = NULL;
}

/* ---- output ---- */

static bool listed(const char *name, const char *const *always_list)
{
    for (size_t i = 0; always_list && always_list[i]; i++)
        if (!strcmp(always_list[i], name))
            return true;
    return false;
}

json_t *client_xml_json(const xml_node *n, const char *const *always_list)
{
    const xml_node *ch = xml_first_child(n);
    if (!ch)
        return json_string(xml_raw_text(n));
    json_t *o = json_object();
    for (; ch; ch = xml_next_sibling(ch)) {
        const char *name = xml_name(ch);
        json_t *v = client_xml_json(ch, always_list);
        json_t *prev = json_object_get(o, name);
        if (json_is_array(prev) && (listed(name, always_list) || json_array_size(prev) > 0))
            json_array_append_new(prev, v);
        else if (prev) {
            json_t *a = json_array();
            json_array_append(a, prev);
            json_array_append_new(a, v);
            json_object_set_new(o, name, a);
        } else if (listed(name, always_list)) {
            json_t *a = json_array();
            json_array_append_new(a, v);
            json_object_set_new(o, name, a);
        } else
            json_object_set_new(o, name, v);
    }
    return o;
}

static size_t display_width(const char *s)
{
    size_t w = 0;
    for (size_t i = 0, n = strlen(s); i < n;) {
        uint32_t cp;
        size_t len = utf8_decode_strict(s + i, n - i, &cp);
        if (len == 0) {
            i++;
            w++;
            continue;
        }
        bool narrow_kana = cp >= 0xff66 && cp <= 0xff9f;
        w += (utf8_is_spaceless(cp) && !narrow_kana) || utf8_is_wide_punct(cp) ? 2 : 1;   /* CJK: two cells */
        i += len;
    }
    return w;
}

void client_table_init(client_table *t, const char *const *head, size_t ncols)
{
    *t = (client_table){.ncols = ncols};
    client_table_add(t, head);
}

void client_table_add(client_table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    for (size_t k = 0; k < t->ncols; k++)
        t->cells[t->nrows * t->ncols + k] = xstrdup(row[k] ? row[k] : "");
    t->nrows++;
}

void client_table_print(const client_table *t, FILE *f)
{
    size_t *width = xcalloc(t->ncols, sizeof *width);
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        size_t w = display_width(t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t k = 0; k < t->ncols; k++) {
            const char *s = t->cells[r * t->ncols + k];
            if (k + 1 == t->ncols)
                fprintf(f, "%s\n", s);
            else
                fprintf(f, "%s%*s  ", s, (int)(width[k] - display_width(s)), "");
        }
    free(width);
}

void client_table_free(client_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    *t = (client_table){0};
}

void client_print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
}

#define CLIENT_PAGE 100   /* the API's largest page */

int client_list(client *c, const char *path, const char *element, const char *const *lists, const char *const *head,
                size_t ncols, void (*row)(const xml_node *item, const char **cells), bool json, const char *prog)
{
    int rc = CLIENT_EXIT_OK;
    client_table t;
    client_table_init(&t, head, ncols);
    json_t *items = json_array();
    const char **cells = xcalloc(ncols, sizeof *cells);
    for (long page = 1; rc == CLIENT_EXIT_OK && !interrupted; page++) {
        char pn[24], ps[16];
        snprintf(pn, sizeof pn, "%ld", page);
        snprintf(ps, sizeof ps, "%d", CLIENT_PAGE);
        auth_kv q[] = {{"pageNumber", pn}, {"pageSize", ps}};
        client_call call = {.method = "GET", .path = path, .query = q, .nquery = 2};
        client_reply r;
        if ((rc = client_request(c, &call, &r)) != CLIENT_EXIT_OK) {
            if (rc != CLIENT_EXIT_INTERRUPTED)
                fprintf(stderr, "%s: %s\n", prog, r.error);
            client_reply_free(&r);
            break;
        }
        long got = 0;
        for (const xml_node *n = xml_child(r.root, element); n; n = xml_next_named(n), got++) {
            if (json)
                json_array_append_new(items, client_xml_json(n, lists));
            else {
                memset(cells, 0, ncols * sizeof *cells);
                row(n, cells);
                client_table_add(&t, cells);
            }
        }
        const char *total = xml_path_text(r.root, "TotalCount");
        long all = total ? strtol(total, NULL, 10) : 0;
        client_reply_free(&r);
        if (got == 0 || page * CLIENT_PAGE >= all)
            break;
    }
    if (rc == CLIENT_EXIT_OK && json) {
        json_t *o = json_object();
        json_object_set(o, element, items);
        client_print_json(o);
        json_decref(o);
    } else if (rc == CLIENT_EXIT_OK)
        client_table_print(&t, stdout);
    json_decref(items);
    free(cells);
    client_table_free(&t);
    return rc;
}

bool client_cmd_parse(client_cmd *cc, const char *prog, int argc, char **argv, const char **pos, size_t npos_max,
                      size_t *npos, const char *id_prefix, bool need_ids, void (*help)(void), int *rc)
{
    *rc = CLIENT_EXIT_USAGE;
    if (!cli_parse(prog, argc, argv, cc->opts, cc->nopts, pos, npos_max, npos))
        return false;
    if (cc->help) {
        help();
        *rc = CLIENT_EXIT_OK;
        return false;
    }
    const char *what = id_prefix && !strcmp(id_prefix, "s") ? "job" : "queue";
    if (need_ids && !*npos) {
        fprintf(stderr, "%s: name at least one %s id\n", prog, what);
        return false;
    }
    for (size_t i = 0; id_prefix && i < *npos; i++)
        if (!ids_valid(pos[i], id_prefix)) {
            fprintf(stderr, "%s: \"%s\" is not a %s id (%s and 32 hex digits)\n", prog, pos[i], what, id_prefix);
            return false;
        }
    return true;
}

int client_cmd_end(client *c, int rc)
{
    if (c && interrupted && rc == CLIENT_EXIT_OK)
        rc = CLIENT_EXIT_INTERRUPTED;
    client_close(c);
    return rc;
}
