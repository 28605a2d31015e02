/* fetch.c — the outbound address policy and Input/Url downloads with libcurl (see fetch.h for the
 * rules). One easy handle per download: these are few and long, so a shared multi handle would buy
 * nothing. The address guard is curl's open-socket callback: it sees every address curl connects
 * to, the first and those after each redirect, after DNS, so no check-then-use gap exists between
 * resolving and connecting. The same guard is applied to callback handles by src/notify. */
#include "fetch/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

#define MAX_URL_LEN 2048

fetch_params fetch_default_params(void)
{
    return (fetch_params){
        .max_bytes = 512LL * 1024 * 1024,
        .timeout_ms = 10 * 60 * 1000,
        .connect_timeout_ms = 10 * 1000,
        .max_redirects = 5,
        .allow_private = false,
    };
}

const char *fetch_rc_code(fetch_rc rc)
{
    switch (rc) {
    case FETCH_OK: return "Success";
    case FETCH_BAD_URL: return "InputUrlInvalid";
    case FETCH_FORBIDDEN: return "InputUrlForbidden";
    case FETCH_HTTP_ERROR: return "InputUrlHttpError";
    case FETCH_TOO_LARGE: return "InputTooLarge";
    case FETCH_TIMEOUT: return "InputUrlTimeout";
    case FETCH_TOO_MANY_REDIRECTS: return "InputUrlTooManyRedirects";
    case FETCH_UNREACHABLE: return "InputUrlUnreachable";
    case FETCH_WRITE_FAILED: return "InputWriteFailed";
    }
    return "InternalError";
}

/* ---- URL shape ---- */

/* curl reads "http:///x" and "http:x" as naming host x; we want the host where people look for it,
 * right after "scheme://". */
static bool has_authority(const char *url)
{
    const char *colon = strchr(url, ':');
    return colon && strncmp(colon, "://", 3) == 0 && colon[3] && !strchr("/?#", colon[3]);
}

/* The checks every URL here passes (not empty, not too long, parsed by curl, http or https, naming
 * a host after "scheme://"): the parsed URL in *out (the caller cleans it up), or false with err. */
static bool parse_http_url(const char *url, CURLU **out, char *err, size_t errlen)
{
    if (!url || !url[0]) {
        err_printf(err, errlen, "the URL is empty");
        return false;
    }
    if (strlen(url) > MAX_URL_LEN) {
        err_printf(err, errlen, "the URL is longer than %d bytes", MAX_URL_LEN);
        return false;
    }
    CURLU *u = curl_url();
    if (!u) {
        err_printf(err, errlen, "out of memory");
        return false;
    }
    bool ok = false;
    char *scheme = NULL, *host = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        err_printf(err, errlen, "'%s' is not a valid URL", url);
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        err_printf(err, errlen, "only http and https URLs can be fetched, not '%s'", scheme ? scheme : url);
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0] || !has_authority(url))
        err_printf(err, errlen, "the URL '%s' names no host", url);
    else
        ok = true;
    curl_free(scheme);
    curl_free(host);
    if (ok)
        *out = u;
    else
        curl_url_cleanup(u);
    return ok;
}

bool fetch_url_valid(const char *url, char *err, size_t errlen)
{
    CURLU *u = NULL;
    bool ok = parse_http_url(url, &u, err, errlen);
    curl_url_cleanup(u);
    return ok;
}

/* A URL we will send data to must not hide anything in it: spaces and control bytes (header
 * injection, log forgery) are refused before curl, whose own rules vary by version, sees it. */
static bool has_control_bytes(const char *url)
{
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return true;
    return false;
}

static bool is_localhost_name(const char *host, size_t len)
{
    static const char suffix[] = ".localhost";
    const size_t slen = sizeof suffix - 1;
    if (len == slen - 1 && strncasecmp(host, suffix + 1, len) == 0)
        return true;
    return len > slen && strncasecmp(host + len - slen, suffix, slen) == 0;
}

/* True when host (as curl's URL parser returns it: IPv6 in brackets) is literally an internal
 * address or a localhost name. inet_aton takes the old IPv4 spellings too ("127.1", "0x7f000001",
 * "2130706433"), which resolvers also accept. */
static bool host_is_internal_literal(const char *host)
{
    char h[256];
    size_t len = strlen(host);
    if (len >= sizeof h)
        return false;
    memcpy(h, host, len + 1);
    if (len > 0 && h[len - 1] == '.')          /* "localhost." is localhost */
        h[--len] = '\0';
    if (is_localhost_name(h, len))
        return true;
    struct sockaddr_storage ss = {0};
    if (h[0] == '[' && len > 2 && h[len - 1] == ']') {
        h[len - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        char *zone = strchr(h + 1, '%');
        if (zone)
            *zone = '\0';
        return inet_pton(AF_INET6, h + 1, &a6->sin6_addr) == 1 && fetch_address_is_internal((struct sockaddr *)&ss);
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    a4->sin_family = AF_INET;
    return inet_aton(h, &a4->sin_addr) != 0 && fetch_address_is_internal((struct sockaddr *)&ss);
}

bool fetch_target_valid(const char *url, bool allow_private, char *err, size_t errlen)
{
    if (url && has_control_bytes(url)) {
        err_printf(err, errlen, "the URL contains a space or a control character");
        return false;
    }
    CURLU *u = NULL;
    if (!parse_http_url(url, &u, err, errlen))
        return false;
    bool ok = false;
    char *user = NULL, *password = NULL, *host = NULL;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        err_printf(err, errlen, "'%s' is not a valid URL", url);
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK)
        err_printf(err, errlen, "the URL must not carry a user name or password");
    else if (!allow_private && host_is_internal_literal(host))
        err_printf(err, errlen, "%s is a loopback, private or otherwise internal address, which this server does not "
                   "connect to (operators can allow it with CICADA_URL_ALLOW_PRIVATE=yes)", host);
    else
        ok = true;
    curl_free(user);
    curl_free(password);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* ---- address guard ---- */

static bool v4_in(uint32_t a, uint32_t net, int prefix)
{
    uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    return (a & mask) == (net & mask);
}

/* a: host byte order */
static bool v4_internal(uint32_t a)
{
    static const struct { uint32_t net; int prefix; } ranges[] = {
        {0x00000000, 8},    /* "this" network */
        {0x0a000000, 8},    /* private */
        {0x64400000, 10},   /* carrier-grade NAT */
        {0x7f000000, 8},    /* loopback */
        {0xa9fe0000, 16},   /* link-local (cloud metadata lives here) */
        {0xac100000, 12},   /* private */
        {0xc0000000, 24},   /* IETF protocol assignments */
        {0xc0000200, 24},   /* documentation */
        {0xc0a80000, 16},   /* private */
        {0xc6120000, 15},   /* benchmarking */
        {0xc6336400, 24},   /* documentation */
        {0xcb007100, 24},   /* documentation */
        {0xe0000000, 4},    /* multicast */
        {0xf0000000, 4},    /* reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (v4_in(a, ranges[i].net, ranges[i].prefix))
            return true;
    return false;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool v6_internal(const unsigned char *b)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
        return true;                                  /* :: and ::1 */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0)
        return v4_internal(v4_at(b + 12));            /* IPv4 inside IPv6: judge the IPv4 */
    if ((b[0] & 0xfe) == 0xfc)
        return true;                                  /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return true;                                  /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return true;                                  /* fec0::/10 old site-local */
    if (b[0] == 0xff)
        return true;                                  /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return true;                                  /* 2001:db8::/32 documentation */
    if (b[0] == 0x20 && b[1] == 0x02)
        return v4_internal(v4_at(b + 2));             /* 6to4 carries an IPv4 address */
    return false;
}

bool fetch_address_is_internal(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return v4_internal(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        return v6_internal(in6->sin6_addr.s6_addr);
    }
    return true;   /* unix sockets and anything else: never for a URL */
}

_Static_assert(sizeof ((fetch_guard *)0)->refused >= INET6_ADDRSTRLEN, "fetch_guard.refused holds any address");

static void address_text(const struct sockaddr *a, char *out, size_t outlen)
{
    const void *raw = a->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                                                : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if ((a->sa_family != AF_INET && a->sa_family != AF_INET6) || !inet_ntop(a->sa_family, raw, out, (socklen_t)outlen))
        snprintf(out, outlen, "(address family %d)", a->sa_family);
}

static curl_socket_t open_guarded_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    fetch_guard *g = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!g->allow_private && fetch_address_is_internal(&a->addr)) {
        address_text(&a->addr, g->refused, sizeof g->refused);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void fetch_guard_apply(CURL *c, fetch_guard *g, int max_redirects)
{
    g->refused[0] = '\0';
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);    /* followed here, so MAXREDIRS can refuse them */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)(max_redirects > 0 ? max_redirects : 0));
    curl_easy_setopt(c, CURLOPT_PROXY, "");            /* no proxy from the environment: it would bypass the guard */
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
}

void fetch_guard_refusal(const fetch_guard *g, char *err, size_t errlen)
{
    if (!g->refused[0]) {
        if (errlen)
            err[0] = '\0';
        return;
    }
    err_printf(err, errlen, "the URL's host resolves to %s, an internal address this server does not connect to "
               "(operators can allow it with CICADA_URL_ALLOW_PRIVATE=yes)", g->refused);
}

/* ---- the transfer ---- */

typedef struct transfer {
    const fetch_params *p;
    int fd;
    int64_t bytes;
    bool too_large, write_failed;
    fetch_guard guard;
    char write_error[128];
} transfer;

static size_t write_body(char *data, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = size * n;
    if (t->bytes + (int64_t)len > t->p->max_bytes) {
        t->too_large = true;
        return 0;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(t->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            t->write_failed = true;
            snprintf(t->write_error, sizeof t->write_error, "%s", w < 0 ? strerror(errno) : "short write");
            return 0;
        }
        done += (size_t)w;
    }
    t->bytes += (int64_t)len;
    return len;
}

static void configure(CURL *c, const char *url, transfer *t, char *curl_err)
{
    const fetch_params *p = t->p;
    curl_easy_setopt(c, CURLOPT_URL, url);
    fetch_guard_apply(c, &t->guard, p->max_redirects);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->max_bytes);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  /* whatever curl can decode */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cicada-fetch/1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
}

static fetch_rc classify(CURL *c, CURLcode cc, const transfer *t, const char *curl_err, char *err, size_t errlen)
{
    const fetch_params *p = t->p;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t->guard.refused[0]) {
        fetch_guard_refusal(&t->guard, err, errlen);
        return FETCH_FORBIDDEN;
    }
    if (t->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        err_printf(err, errlen, "the input is larger than %lld bytes", (long long)p->max_bytes);
        return FETCH_TOO_LARGE;
    }
    if (t->write_failed) {
        err_printf(err, errlen, "could not store the download: %s", t->write_error);
        return FETCH_WRITE_FAILED;
    }
    const char *why = curl_err[0] ? curl_err : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_HTTP_RETURNED_ERROR:
        err_printf(err, errlen, "the server answered HTTP %ld", status);
        return FETCH_HTTP_ERROR;
    case CURLE_OPERATION_TIMEDOUT:
        err_printf(err, errlen, "the download did not finish within %lld s (%s)", (long long)(p->timeout_ms / 1000), why);
        return FETCH_TIMEOUT;
    case CURLE_TOO_MANY_REDIRECTS:
        err_printf(err, errlen, "more than %d redirects", p->max_redirects);
        return FETCH_TOO_MANY_REDIRECTS;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        err_printf(err, errlen, "%s (only http and https, also after redirects)", why);
        return FETCH_BAD_URL;
    default:
        err_printf(err, errlen, "%s", why);
        return FETCH_UNREACHABLE;
    }
}

fetch_rc fetch_to_fd(const char *url, const fetch_params *p, int fd, int64_t *bytes, char *err, size_t errlen)
{
    *bytes = 0;
    if (!fetch_url_valid(url, err, errlen))
        return FETCH_BAD_URL;
    CURL *c = curl_easy_init();
    if (!c) {
        err_printf(err, errlen, "out of memory");
        return FETCH_UNREACHABLE;
    }
    transfer t = {.p = p, .fd = fd, .guard = {.allow_private = p->allow_private}};
    char curl_err[CURL_ERROR_SIZE] = "";
    configure(c, url, &t, curl_err);
    CURLcode cc = curl_easy_perform(c);
    fetch_rc rc = cc == CURLE_OK ? FETCH_OK : classify(c, cc, &t, curl_err, err, errlen);
    *bytes = t.bytes;
    curl_easy_cleanup(c);
    return rc;
}
