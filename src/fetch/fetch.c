/* fetch.c — Input/Url downloads with libcurl (see fetch.h for the rules). One easy handle per
 * download: these are few and long, so a shared multi handle would buy nothing. The address guard
 * is curl's open-socket callback: it sees every address curl connects to, the first and those after
 * each redirect, after DNS, so no check-then-use gap exists between resolving and connecting. */
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

bool fetch_url_valid(const char *url, char *err, size_t errlen)
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
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        err_printf(err, errlen, "the URL '%s' names no host", url);
    else
        ok = true;
    curl_free(scheme);
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

/* ---- the transfer ---- */

typedef struct transfer {
    const fetch_params *p;
    int fd;
    int64_t bytes;
    bool too_large, write_failed;
    char refused[INET6_ADDRSTRLEN];
    char write_error[128];
} transfer;

static void address_text(const struct sockaddr *a, char out[INET6_ADDRSTRLEN])
{
    const void *raw = a->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                                                : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if (!inet_ntop(a->sa_family, raw, out, INET6_ADDRSTRLEN))
        snprintf(out, INET6_ADDRSTRLEN, "?");
}

static curl_socket_t open_guarded_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    transfer *t = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!t->p->allow_private && fetch_address_is_internal(&a->addr)) {
        address_text(&a->addr, t->refused);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

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
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)p->max_redirects);
    curl_easy_setopt(c, CURLOPT_PROXY, "");            /* no proxy from the environment: it would bypass the guard */
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
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
    if (t->refused[0]) {
        err_printf(err, errlen, "the URL's host resolves to %s, an internal address this server does not fetch "
                   "from (operators can allow it with CICADA_URL_ALLOW_PRIVATE=1)", t->refused);
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
    transfer t = {.p = p, .fd = fd};
    char curl_err[CURL_ERROR_SIZE] = "";
    configure(c, url, &t, curl_err);
    CURLcode cc = curl_easy_perform(c);
    fetch_rc rc = cc == CURLE_OK ? FETCH_OK : classify(c, cc, &t, curl_err, err, errlen);
    *bytes = t.bytes;
    curl_easy_cleanup(c);
    return rc;
}
