/* test_notify.c — callback delivery against a real HTTP server (libmicrohttpd in this process, on
 * loopback), under src/fetch's address policy: a loopback receiver hears nothing unless the
 * operator allows private addresses (whether the URL names it by address, as localhost, or by a
 * name that resolves to it), redirects are not followed, proxies from the environment are not used,
 * and a refused delivery is given up at once rather than retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "notify/notify.h"
#include "util/util.h"

#define BODY "<Response><JobsDetail><UserData>evil</UserData></JobsDetail></Response>"

/* What the receiver heard, guarded by g_mu (MHD answers on its own thread). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_hits_cb, g_hits_redirect;
static char g_last_body[256], g_last_type[64];

static struct MHD_Daemon *g_httpd;
static int g_port;

typedef struct upload {
    char body[256];
    size_t len;
} upload;

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *data, size_t *data_len, void **state)
{
    (void)cls, (void)method, (void)version;
    upload *u = *state;
    if (!u) {
        *state = xcalloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*data_len) {
        size_t room = sizeof u->body - 1 - u->len, n = *data_len < room ? *data_len : room;
        memcpy(u->body + u->len, data, n);
        u->len += n;
        *data_len = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&g_mu);
    if (strcmp(url, "/cb") == 0) {
        g_hits_cb++;
        snprintf(g_last_body, sizeof g_last_body, "%s", u->body);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        snprintf(g_last_type, sizeof g_last_type, "%s", ct ? ct : "");
    } else if (strcmp(url, "/redirect") == 0) {
        g_hits_redirect++;
    }
    pthread_mutex_unlock(&g_mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/redirect") == 0) {
        MHD_add_response_header(r, "Location", "/cb");
        return send_response(c, 302, r);
    }
    return send_response(c, 200, r);
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    free(*state);
    *state = NULL;
}

static int setup(void **state)
{
    (void)state;
    g_httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_DUAL_STACK, 0, NULL, NULL, serve, NULL,
                               MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!g_httpd)   /* no IPv6 here: IPv4 only */
        g_httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve, NULL,
                                   MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!g_httpd)
        return -1;
    g_port = MHD_get_daemon_info(g_httpd, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(g_httpd);
    return 0;
}

static void reset_hits(void)
{
    pthread_mutex_lock(&g_mu);
    g_hits_cb = g_hits_redirect = 0;
    g_last_body[0] = g_last_type[0] = '\0';
    pthread_mutex_unlock(&g_mu);
}

static int hits(const int *counter)
{
    pthread_mutex_lock(&g_mu);
    int n = *counter;
    pthread_mutex_unlock(&g_mu);
    return n;
}

static notifier *start(bool allow_private)
{
    notify_params p = notify_default_params();
    p.allow_private = allow_private;
    p.first_backoff_ms = 50;
    p.timeout_ms = 5000;
    char err[128];
    notifier *n = notify_start(&p, err, sizeof err);
    assert_non_null(n);
    return n;
}

/* Waits until every posted delivery has ended one way or the other. */
static notify_stats settle(notifier *n, uint64_t posted)
{
    int64_t end = time_mono_ms() + 20000;
    notify_stats s;
    while ((s = notify_get_stats(n)), s.delivered + s.given_up < posted) {
        if (time_mono_ms() > end)
            fail_msg("deliveries did not end: %llu delivered, %llu given up of %llu", (unsigned long long)s.delivered,
                     (unsigned long long)s.given_up, (unsigned long long)posted);
        usleep(20 * 1000);
    }
    return s;
}

static void post(notifier *n, const char *host, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "http://%s:%d%s", host, g_port, path);
    assert_true(notify_post(n, url, "application/xml", BODY));
}

/* This machine's own name, when it resolves to loopback addresses only (as /etc/hosts often has
 * it): a name that passes any check on the URL's text and still leads home. */
static bool own_name_resolving_to_loopback(char *name, size_t len)
{
    if (gethostname(name, len) != 0)
        return false;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return false;
    bool all = res != NULL;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        all = all && fetch_address_is_internal(a->ai_addr);
    freeaddrinfo(res);
    return all;
}

static void test_loopback_refused_by_default(void **state)
{
    (void)state;
    reset_hits();
    notifier *n = start(false);
    const char *hosts[] = {"127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.0.0.2"};
    size_t nhosts = sizeof hosts / sizeof hosts[0];
    for (size_t i = 0; i < nhosts; i++)
        post(n, hosts[i], "/cb");
    char own[256];
    bool by_name = own_name_resolving_to_loopback(own, sizeof own);
    if (by_name)
        post(n, own, "/cb");
    else
        print_message("this machine's name does not resolve to loopback only: that case is not run\n");
    uint64_t posted = nhosts + (by_name ? 1 : 0);
    notify_stats s = settle(n, posted);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.given_up, posted);
    assert_int_equal(s.refused, posted);
    assert_int_equal(s.failed_attempts, 0);   /* refused once, never retried */
    notify_stop(n, 1000);
    assert_int_equal(hits(&g_hits_cb), 0);
}

static void test_loopback_allowed_by_the_operator(void **state)
{
    (void)state;
    reset_hits();
    notifier *n = start(true);
    post(n, "127.0.0.1", "/cb");
    notify_stats s = settle(n, 1);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.refused, 0);
    notify_stop(n, 1000);
    assert_int_equal(hits(&g_hits_cb), 1);
    assert_string_equal(g_last_body, BODY);
    assert_string_equal(g_last_type, "application/xml");
}

static void test_redirects_not_followed(void **state)
{
    (void)state;
    reset_hits();
    notifier *n = start(true);
    post(n, "127.0.0.1", "/redirect");
    notify_stats s = settle(n, 1);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.refused, 1);
    assert_int_equal(s.failed_attempts, 0);
    notify_stop(n, 1000);
    assert_int_equal(hits(&g_hits_redirect), 1);
    assert_int_equal(hits(&g_hits_cb), 0);
}

/* A listening socket nobody serves: any connection to it waits in its backlog, where accept() finds it. */
static int quiet_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_environment_proxies_ignored(void **state)
{
    (void)state;
    reset_hits();
    int pport;
    int proxy = quiet_listener(&pport);
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
    const char *vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        setenv(vars[i], purl, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    notify_params p = notify_default_params();
    p.allow_private = true;
    p.max_attempts = 1;
    p.timeout_ms = 3000;
    char err[128];
    notifier *n = notify_start(&p, err, sizeof err);
    assert_non_null(n);
    post(n, "127.0.0.1", "/cb");                                           /* straight to the receiver */
    /* a proxy would take this one; without, it fails at DNS */
    assert_true(notify_post(n, "http://cicada-no-such-host.invalid/cb", "application/xml", BODY));
    notify_stats s = settle(n, 2);
    notify_stop(n, 1000);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(hits(&g_hits_cb), 1);
    int c = accept(proxy, NULL, NULL);
    if (c >= 0)
        fail_msg("a callback went through the proxy named in the environment");
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(proxy);
}

static void test_bad_urls_not_queued(void **state)
{
    (void)state;
    notifier *n = start(true);
    const char *bad[] = {"ftp://example.com/x", "http://user:pw@example.com/x", "http://example.com/a\r\nX: 1",
                         "http:///x", "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(notify_post(n, bad[i], "application/xml", BODY));
    char err[256];
    assert_false(notify_url_valid(NULL, "http://127.0.0.1/x", err, sizeof err));
    assert_non_null(strstr(err, "CICADA_URL_ALLOW_PRIVATE"));
    assert_true(notify_url_valid(n, "http://127.0.0.1/x", err, sizeof err));
    assert_true(notify_url_valid(NULL, "https://hooks.example.com/x", err, sizeof err));
    notify_stop(n, 1000);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_refused_by_default),
        cmocka_unit_test(test_loopback_allowed_by_the_operator),
        cmocka_unit_test(test_redirects_not_followed),
        cmocka_unit_test(test_environment_proxies_ignored),
        cmocka_unit_test(test_bad_urls_not_queued),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
