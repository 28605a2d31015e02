/* test_fetch.c — Input/Url downloads against a real HTTP server (libmicrohttpd in this process, on
 * loopback): bodies arrive intact, redirects are followed up to the limit, size, time, status and
 * scheme limits fail with their own codes, and the address guard refuses loopback unless the
 * operator allows it. The address classifier is checked on its own over a table of ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "util/util.h"

#define BODY_LEN 200000

static struct MHD_Daemon *g_httpd;
static int g_port;
static unsigned char g_body[BODY_LEN];

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result redirect_to(struct MHD_Connection *c, const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Location", location);
    return send_response(c, 302, r);
}

/* An endless body, sent slowly or quickly. */
static ssize_t endless(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    if (cls)
        usleep(100 * 1000);
    size_t n = max < 4096 ? max : 4096;
    memset(out, 'x', n);
    return (ssize_t)n;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload, size_t *upload_len, void **state)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_len, (void)state;
    char next[64];
    int hops;
    if (strcmp(url, "/audio") == 0)
        return send_response(c, 200, MHD_create_response_from_buffer(BODY_LEN, g_body, MHD_RESPMEM_PERSISTENT));
    if (sscanf(url, "/hops/%d", &hops) == 1) {
        if (hops == 0)
            return redirect_to(c, "/audio");
        snprintf(next, sizeof next, "/hops/%d", hops - 1);
        return redirect_to(c, next);
    }
    if (strcmp(url, "/to-file") == 0)
        return redirect_to(c, "file:///etc/passwd");
    if (strcmp(url, "/stream") == 0)
        return send_response(c, 200, MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, endless, NULL, NULL));
    if (strcmp(url, "/slow") == 0)
        return send_response(c, 200, MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, endless, "slow", NULL));
    return send_response(c, 404, MHD_create_response_from_buffer(9, "not found", MHD_RESPMEM_PERSISTENT));
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < BODY_LEN; i++)
        g_body[i] = (unsigned char)(i * 7 + i / 251);
    g_httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                               serve, NULL, MHD_OPTION_END);
    if (!g_httpd)
        return -1;
    g_port = MHD_get_daemon_info(g_httpd, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(g_httpd);
    curl_global_cleanup();
    return 0;
}

static int temp_file(void)
{
    char path[] = "/tmp/cicada-fetch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

typedef struct outcome {
    fetch_rc rc;
    int64_t bytes;
    char err[512];
} outcome;

static outcome fetch_path(const char *host, const char *path, const fetch_params *p)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d%s", host, g_port, path);
    outcome o = {0};
    int fd = temp_file();
    o.rc = fetch_to_fd(url, p, fd, &o.bytes, o.err, sizeof o.err);
    close(fd);
    return o;
}

static fetch_params local_params(void)
{
    fetch_params p = fetch_default_params();
    p.allow_private = true;
    return p;
}

static void test_body_arrives_intact(void **state)
{
    (void)state;
    fetch_params p = local_params();
    int fd = temp_file();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/audio", g_port);
    int64_t bytes;
    char err[256];
    assert_int_equal(fetch_to_fd(url, &p, fd, &bytes, err, sizeof err), FETCH_OK);
    assert_int_equal(bytes, BODY_LEN);
    unsigned char *back = xmalloc(BODY_LEN + 1);
    assert_int_equal(pread(fd, back, BODY_LEN + 1, 0), BODY_LEN);
    assert_memory_equal(back, g_body, BODY_LEN);
    free(back);
    close(fd);
}

static void test_loopback_refused_unless_allowed(void **state)
{
    (void)state;
    fetch_params p = fetch_default_params();
    const char *hosts[] = {"127.0.0.1", "localhost", "127.1.2.3", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        outcome o = fetch_path(hosts[i], "/audio", &p);
        print_message("%s: %s\n", hosts[i], o.err);
        assert_int_equal(o.rc, FETCH_FORBIDDEN);
        assert_int_equal(o.bytes, 0);
        assert_non_null(strstr(o.err, "CICADA_URL_ALLOW_PRIVATE"));
        assert_string_equal(fetch_rc_code(o.rc), "InputUrlForbidden");
    }
    outcome o = fetch_path("127.0.0.1", "/audio", &p);
    assert_non_null(strstr(o.err, "127.0.0.1"));
}

static void test_redirects_followed_up_to_the_limit(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_redirects = 3;
    outcome o = fetch_path("127.0.0.1", "/hops/2", &p);   /* 3 redirects: hops/1, hops/0, audio */
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.bytes, BODY_LEN);
    o = fetch_path("127.0.0.1", "/hops/3", &p);
    assert_int_equal(o.rc, FETCH_TOO_MANY_REDIRECTS);
    assert_string_equal(fetch_rc_code(o.rc), "InputUrlTooManyRedirects");
}

static void test_redirect_to_another_scheme_refused(void **state)
{
    (void)state;
    fetch_params p = local_params();
    outcome o = fetch_path("127.0.0.1", "/to-file", &p);
    print_message("%s\n", o.err);
    assert_int_equal(o.rc, FETCH_BAD_URL);
    assert_int_equal(o.bytes, 0);
}

static void test_size_limit(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_bytes = 50000;
    outcome o = fetch_path("127.0.0.1", "/audio", &p);      /* Content-Length says too much */
    assert_int_equal(o.rc, FETCH_TOO_LARGE);
    o = fetch_path("127.0.0.1", "/stream", &p);             /* no length: counted while it comes */
    assert_int_equal(o.rc, FETCH_TOO_LARGE);
    assert_true(o.bytes <= p.max_bytes);
    assert_string_equal(fetch_rc_code(o.rc), "InputTooLarge");
    p.max_bytes = BODY_LEN;                                 /* exactly the limit is fine */
    assert_int_equal(fetch_path("127.0.0.1", "/audio", &p).rc, FETCH_OK);
}

static void test_time_limit(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.timeout_ms = 400;
    int64_t t0 = time_mono_ms();
    outcome o = fetch_path("127.0.0.1", "/slow", &p);
    int64_t took = time_mono_ms() - t0;
    assert_int_equal(o.rc, FETCH_TIMEOUT);
    assert_true(took < 5000);
}

static void test_http_error_status(void **state)
{
    (void)state;
    fetch_params p = local_params();
    outcome o = fetch_path("127.0.0.1", "/missing", &p);
    assert_int_equal(o.rc, FETCH_HTTP_ERROR);
    assert_non_null(strstr(o.err, "404"));
}

static void test_unreachable(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.connect_timeout_ms = 2000;
    outcome o = {0};
    int fd = temp_file();
    o.rc = fetch_to_fd("http://127.0.0.1:1/x", &p, fd, &o.bytes, o.err, sizeof o.err);   /* nothing listens */
    close(fd);
    assert_int_equal(o.rc, FETCH_UNREACHABLE);
    o.rc = fetch_to_fd("http://no-such-host.invalid/x", &p, -1, &o.bytes, o.err, sizeof o.err);
    assert_int_equal(o.rc, FETCH_UNREACHABLE);
}

static void test_write_failure(void **state)
{
    (void)state;
    fetch_params p = local_params();
    int fd = open("/dev/null", O_RDONLY);
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/audio", g_port);
    int64_t bytes;
    assert_int_equal(fetch_to_fd(url, &p, fd, &bytes, err, sizeof err), FETCH_WRITE_FAILED);
    close(fd);
}

static void test_url_shapes(void **state)
{
    (void)state;
    char err[256];
    assert_true(fetch_url_valid("http://example.com/a.wav", err, sizeof err));
    assert_true(fetch_url_valid("HTTPS://example.com:8443/a%20b.mp3?x=1", err, sizeof err));
    const char *bad[] = {"", "ftp://example.com/a", "file:///etc/passwd", "gopher://x/", "example.com/a.wav",
                         "http://", "not a url", "dict://x:11211/stat", "http:///x", "http:x", "http:/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(fetch_url_valid(bad[i], err, sizeof err));
        print_message("%-22s %s\n", bad[i], err);
    }
    char longer[2100] = "http://example.com/";
    memset(longer + strlen(longer), 'a', sizeof longer - strlen(longer) - 1);
    longer[sizeof longer - 1] = '\0';
    assert_false(fetch_url_valid(longer, err, sizeof err));
    int64_t bytes;
    fetch_params p = fetch_default_params();
    assert_int_equal(fetch_to_fd("file:///etc/passwd", &p, -1, &bytes, err, sizeof err), FETCH_BAD_URL);
}

/* Callback targets: fetch_url_valid's shapes plus no userinfo or control bytes, and no literal
 * internal host (in any spelling) unless the operator allows private addresses. */
static void test_target_shapes(void **state)
{
    (void)state;
    char err[256];
    const char *good[] = {"http://example.com/hook", "https://hooks.example.com:8443/a?x=1&y=2", "http://8.8.8.8/x",
                          "http://[2606:4700:4700::1111]/x", "http://localhost.example.com/x", "http://mylocalhost/x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!fetch_target_valid(good[i], false, err, sizeof err))
            fail_msg("%s refused: %s", good[i], err);
    const char *always_bad[] = {"", "ftp://example.com/a", "gopher://x/", "http:///x", "http://user:pw@example.com/",
                                "http://user@example.com/", "http://:pw@example.com/", "http://example.com/a b",
                                "http://example.com/a\tb", "http://example.com/\r\nX-Evil: 1", "http://example.com/\x7f"};
    for (size_t i = 0; i < sizeof always_bad / sizeof always_bad[0]; i++) {
        if (fetch_target_valid(always_bad[i], true, err, sizeof err))
            fail_msg("%s accepted", always_bad[i]);
        print_message("%-36s %s\n", always_bad[i], err);
    }
    const char *internal_hosts[] = {"http://127.0.0.1:9/x", "http://[::1]:9/", "http://localhost:9/", "http://LOCALHOST./",
                                    "http://a.b.localhost/", "http://0.0.0.0/", "http://0/", "http://127.1/",
                                    "http://2130706433/", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/",
                                    "http://[::ffff:7f00:1]/", "http://10.0.0.1/", "http://172.16.0.1/",
                                    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
                                    "http://100.64.0.1/", "http://[fe80::1%25eth0]/", "http://[fd00::1]/",
                                    "http://224.0.0.1/"};
    for (size_t i = 0; i < sizeof internal_hosts / sizeof internal_hosts[0]; i++) {
        if (fetch_target_valid(internal_hosts[i], false, err, sizeof err))
            fail_msg("%s accepted", internal_hosts[i]);
        print_message("%-36s %s\n", internal_hosts[i], err);
        assert_non_null(strstr(err, "CICADA_URL_ALLOW_PRIVATE"));
        if (!fetch_target_valid(internal_hosts[i], true, err, sizeof err))
            fail_msg("%s refused although private addresses are allowed: %s", internal_hosts[i], err);
    }
}

static bool internal(const char *text)
{
    struct sockaddr_storage ss = {0};
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return fetch_address_is_internal((struct sockaddr *)&ss);
}

static void test_address_ranges(void **state)
{
    (void)state;
    const char *inside[] = {"0.0.0.0", "10.1.2.3", "100.64.0.1", "100.127.255.255", "127.0.0.1", "169.254.169.254",
                            "172.16.0.1", "172.31.255.255", "192.168.1.1", "192.0.2.1", "198.18.0.1", "224.0.0.1",
                            "255.255.255.255", "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
                            "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2001:db8::1",
                            "2002:7f00:1::1", "::127.0.0.1"};
    const char *outside[] = {"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
                             "192.167.255.255", "11.0.0.1", "2606:4700:4700::1111", "2a00:1450::1",
                             "::ffff:8.8.8.8", "2002:808:808::1"};
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
        if (!internal(inside[i]))
            fail_msg("%s should be internal", inside[i]);
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        if (internal(outside[i]))
            fail_msg("%s should be public", outside[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_arrives_intact),
        cmocka_unit_test(test_loopback_refused_unless_allowed),
        cmocka_unit_test(test_redirects_followed_up_to_the_limit),
        cmocka_unit_test(test_redirect_to_another_scheme_refused),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_http_error_status),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_url_shapes),
        cmocka_unit_test(test_target_shapes),
        cmocka_unit_test(test_address_ranges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
