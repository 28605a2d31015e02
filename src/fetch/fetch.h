/* fetch.h — the server's outbound HTTP on a stranger's behalf: brings a job's Input/Url to a local
 * file, and owns the address policy that every request to a user-given URL follows (Input/Url
 * downloads here, callbacks in src/notify through fetch_guard_apply). The policy: only http and
 * https, a bounded number of redirects (each one re-checked; none for callbacks), no proxies from
 * the environment, and no connection to loopback, private, link-local or otherwise non-public
 * addresses unless the operator allows it. The address check runs on the socket curl is about to
 * connect, so a name that resolves (or re-resolves) to an internal address is refused too. Knows
 * nothing of jobs or storage: it is given a URL and a file descriptor, or a curl handle to guard.
 * Call curl_global_init once before use. */
#ifndef CICADA_FETCH_H
#define CICADA_FETCH_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

typedef struct fetch_params {
    int64_t max_bytes;            /* refuse larger bodies; default 512 MB (the spec's limit) */
    int64_t timeout_ms;           /* the whole transfer; default 10 min */
    int64_t connect_timeout_ms;   /* default 10 s */
    int max_redirects;            /* default 5 */
    bool allow_private;           /* operator opt-in to internal addresses; default false */
} fetch_params;
fetch_params fetch_default_params(void);

typedef enum fetch_rc {
    FETCH_OK = 0,
    FETCH_BAD_URL,            /* not an http(s) URL, or malformed */
    FETCH_FORBIDDEN,          /* the host is (or resolves to) a non-public address */
    FETCH_HTTP_ERROR,         /* the server answered 4xx/5xx */
    FETCH_TOO_LARGE,
    FETCH_TIMEOUT,
    FETCH_TOO_MANY_REDIRECTS,
    FETCH_UNREACHABLE,        /* DNS, connect or transfer failure */
    FETCH_WRITE_FAILED,       /* the local file could not be written */
} fetch_rc;

/* A stable job failure Code for rc, e.g. "InputUrlForbidden". */
const char *fetch_rc_code(fetch_rc rc);

/* Checks a URL's shape without any network access: http or https, a host, at most 2048 bytes.
 * Used when a job is submitted, so a bad URL is a 400 rather than a failed job. */
bool fetch_url_valid(const char *url, char *err, size_t errlen);

/* fetch_url_valid's rules and stricter ones, for a URL the server will send data to (a callback):
 * no user name or password, no spaces or control characters, and unless allow_private, a host that
 * is not literally an internal address (fetch_address_is_internal, in any spelling curl accepts)
 * nor localhost or a name under .localhost. A name that merely resolves to an internal address
 * passes here; fetch_guard_apply refuses it when the connection is made. err says what is wrong. */
bool fetch_target_valid(const char *url, bool allow_private, char *err, size_t errlen);

/* True when the operator must opt in to connect to addr: loopback, unspecified, private (RFC 1918,
 * fc00::/7), carrier-grade NAT, link-local, multicast, reserved, benchmarking and documentation
 * ranges, and IPv6 forms that embed such an IPv4 address. */
bool fetch_address_is_internal(const struct sockaddr *addr);

/* The address policy for one transfer. Set allow_private (the operator's CICADA_URL_ALLOW_PRIVATE);
 * after the transfer, refused holds the internal address a connection was refused to ("" if none). */
typedef struct fetch_guard {
    bool allow_private;
    char refused[48];               /* INET6_ADDRSTRLEN and then some */
} fetch_guard;

/* Puts handle c under the policy: http and https only (after redirects too), no proxy from the
 * environment, at most max_redirects redirects followed (0: none, and a redirect fails the transfer
 * with CURLE_TOO_MANY_REDIRECTS), and g's address check on every connection curl opens. Sets
 * CURLOPT_OPENSOCKETFUNCTION/DATA, which the caller must leave alone; g must outlive the transfer. */
void fetch_guard_apply(CURL *c, fetch_guard *g, int max_redirects);

/* One line saying that g refused an address and how the operator can allow it (for logs and job
 * messages); "" when g refused nothing. */
void fetch_guard_refusal(const fetch_guard *g, char *err, size_t errlen);

/* Downloads url into fd (from its current offset). *bytes receives the body length. On failure
 * err says why in one line (with the HTTP status or the refused address where there is one). */
fetch_rc fetch_to_fd(const char *url, const fetch_params *p, int fd, int64_t *bytes, char *err, size_t errlen);

#endif
