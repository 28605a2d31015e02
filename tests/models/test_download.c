/* test_download.c — the downloader against a small HTTP/1.1 server in a thread of this test (real
 * sockets, real libcurl): a verified download is installed with progress lines up to 100%; a
 * connection dropped half-way keeps the .part and the next call resumes it with "Range: bytes=N-";
 * a server that ignores the range restarts from zero; redirects are followed; a checksum mismatch,
 * an oversized body or an HTTP error installs nothing; an installed file is never overwritten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/models.h"

/* ---- the server ---- */

typedef struct server {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    const unsigned char *body;
    size_t len;
    size_t drop_after;      /* non-zero: close after this many body bytes of the next response */
    bool ignore_range;
    int status;             /* non-zero: answer this status with no body */
    char last_range[64];    /* the last Range header seen ("" if none) */
    int requests;
} server;

static server g_srv;
static unsigned char g_body[300000];
static char g_sha256[65], g_sha1[41];
static char g_dir[64];

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void read_request(int fd, char *req, size_t cap)
{
    size_t used = 0;
    req[0] = '\0';
    while (used + 1 < cap && !strstr(req, "\r\n\r\n")) {
        ssize_t r = recv(fd, req + used, cap - 1 - used, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
        req[used] = '\0';
    }
}

static void answer(server *s, int fd)
{
    char req[4096], head[512];
    read_request(fd, req, sizeof req);
    pthread_mutex_lock(&s->mu);
    s->requests++;
    const char *range = strcasestr(req, "\r\nRange: ");
    s->last_range[0] = '\0';
    if (range)
        sscanf(range + 9, "%63[^\r]", s->last_range);
    long from = 0;
    bool ranged = range && sscanf(range + 9, "bytes=%ld-", &from) == 1 && !s->ignore_range;
    size_t drop = s->drop_after;
    s->drop_after = 0;
    int status = s->status;
    pthread_mutex_unlock(&s->mu);
    if (strncmp(req, "GET /redirect ", 14) == 0) {
        snprintf(head, sizeof head, "HTTP/1.1 302 Found\r\nLocation: /model.bin\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n");
        send_all(fd, head, strlen(head));
        return;
    }
    if (status) {
        snprintf(head, sizeof head, "HTTP/1.1 %d Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
        send_all(fd, head, strlen(head));
        return;
    }
    if (ranged && (size_t)from >= s->len) {
        snprintf(head, sizeof head, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%zu\r\n"
                                    "Content-Length: 0\r\nConnection: close\r\n\r\n", s->len);
        send_all(fd, head, strlen(head));
        return;
    }
    size_t start = ranged ? (size_t)from : 0, n = s->len - start;
    if (ranged)
        snprintf(head, sizeof head, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %zu-%zu/%zu\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n", start, s->len - 1, s->len, n);
    else
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", n);
    send_all(fd, head, strlen(head));
    send_all(fd, s->body + start, drop && drop < n ? drop : n);
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;   /* shutdown() of the listening socket */
        answer(s, c);
        shutdown(c, SHUT_WR);
        close(c);
    }
}

static void server_start(server *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->mu, NULL);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

/* How the next responses behave; clears what the server recorded. */
static void server_configure(size_t drop_after, bool ignore_range, int status)
{
    pthread_mutex_lock(&g_srv.mu);
    g_srv.drop_after = drop_after;
    g_srv.ignore_range = ignore_range;
    g_srv.status = status;
    g_srv.last_range[0] = '\0';
    g_srv.requests = 0;
    pthread_mutex_unlock(&g_srv.mu);
}

static void server_reset(void)
{
    server_configure(0, false, 0);
}

static int server_requests(void)
{
    pthread_mutex_lock(&g_srv.mu);
    int n = g_srv.requests;
    pthread_mutex_unlock(&g_srv.mu);
    return n;
}

static void assert_last_range(const char *expected)
{
    pthread_mutex_lock(&g_srv.mu);
    char got[64];
    memcpy(got, g_srv.last_range, sizeof got);
    pthread_mutex_unlock(&g_srv.mu);
    assert_string_equal(got, expected);
}

/* ---- helpers ---- */

typedef struct pull_run {
    char url[128], dest[128], part[160];
    char *progress;
    size_t progress_len;
    char msg[1024];
    models_pull_status st;
} pull_run;

static void pull(pull_run *r, const char *path, const char *file, const char *sha1, const char *sha256, int64_t max)
{
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d%s", g_srv.port, path);
    snprintf(r->dest, sizeof r->dest, "%s/%s", g_dir, file);
    snprintf(r->part, sizeof r->part, "%s.part", r->dest);
    free(r->progress);
    r->progress = NULL;
    FILE *out = open_memstream(&r->progress, &r->progress_len);
    models_pull_params p = models_pull_default_params();
    p.url = r->url;
    p.dest = r->dest;
    p.sha1 = sha1;
    p.sha256 = sha256;
    if (max)
        p.max_bytes = max;
    p.progress = out;
    p.low_speed_secs = 10;
    r->st = models_pull(&p, r->msg, sizeof r->msg);
    fclose(out);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void assert_installed_intact(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char got[sizeof g_body + 1];
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(n, sizeof g_body);
    assert_memory_equal(got, g_body, sizeof g_body);
}

static void cleanup(pull_run *r)
{
    unlink(r->dest);
    unlink(r->part);
    free(r->progress);
}

/* ---- tests ---- */

static void test_download_verify_install(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    pull(&r, "/model.bin", "ggml-fresh.bin", NULL, g_sha256, 0);
    if (r.st != MODELS_PULL_INSTALLED)
        fail_msg("%s", r.msg);
    assert_installed_intact(r.dest);
    assert_int_equal(file_size(r.part), -1);
    assert_non_null(strstr(r.msg, "installed"));
    assert_non_null(strstr(r.msg, "matches"));
    assert_non_null(strstr(r.progress, "ggml-fresh.bin: 100% (293.0 KiB of 293.0 KiB)"));
    assert_last_range("");

    /* a second pull finds it installed and fetches nothing */
    server_reset();
    pull(&r, "/model.bin", "ggml-fresh.bin", g_sha1, NULL, 0);
    assert_int_equal(r.st, MODELS_PULL_ALREADY);
    assert_non_null(strstr(r.msg, "already installed"));
    assert_int_equal(server_requests(), 0);
    cleanup(&r);
}

static void test_interrupted_download_resumes_with_range(void **state)
{
    (void)state;
    server_configure(120000, false, 0);
    pull_run r = {0};
    pull(&r, "/model.bin", "ggml-resume.bin", NULL, g_sha256, 0);
    assert_int_equal(r.st, MODELS_PULL_INTERRUPTED);
    assert_non_null(strstr(r.msg, "run the same command again to resume"));
    assert_int_equal(file_size(r.dest), -1);
    assert_int_equal(file_size(r.part), 120000);

    pull(&r, "/model.bin", "ggml-resume.bin", NULL, g_sha256, 0);
    if (r.st != MODELS_PULL_INSTALLED)
        fail_msg("%s", r.msg);
    assert_last_range("bytes=120000-");
    assert_non_null(strstr(r.progress, "resuming after 117.2 KiB already downloaded"));
    assert_non_null(strstr(r.progress, "100% (293.0 KiB of 293.0 KiB)"));
    assert_installed_intact(r.dest);
    assert_int_equal(file_size(r.part), -1);
    cleanup(&r);
}

static void test_server_without_ranges_restarts_from_zero(void **state)
{
    (void)state;
    server_configure(50000, false, 0);
    pull_run r = {0};
    pull(&r, "/model.bin", "ggml-norange.bin", g_sha1, g_sha256, 0);
    assert_int_equal(r.st, MODELS_PULL_INTERRUPTED);
    server_configure(0, true, 0);
    pull(&r, "/model.bin", "ggml-norange.bin", g_sha1, g_sha256, 0);
    if (r.st != MODELS_PULL_INSTALLED)
        fail_msg("%s", r.msg);
    assert_last_range("bytes=50000-");
    assert_non_null(strstr(r.progress, "starting again from zero"));
    assert_installed_intact(r.dest);
    cleanup(&r);
}

static void test_complete_part_is_installed_after_416(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    snprintf(r.part, sizeof r.part, "%s/ggml-whole.bin.part", g_dir);
    FILE *f = fopen(r.part, "wb");
    assert_non_null(f);
    fwrite(g_body, 1, sizeof g_body, f);
    fclose(f);
    pull(&r, "/model.bin", "ggml-whole.bin", NULL, g_sha256, 0);
    if (r.st != MODELS_PULL_INSTALLED)
        fail_msg("%s", r.msg);
    assert_last_range("bytes=300000-");
    assert_installed_intact(r.dest);
    cleanup(&r);
}

static void test_redirects_are_followed(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    pull(&r, "/redirect", "ggml-moved.bin", g_sha1, NULL, 0);
    if (r.st != MODELS_PULL_INSTALLED)
        fail_msg("%s", r.msg);
    assert_int_equal(server_requests(), 2);
    assert_installed_intact(r.dest);
    cleanup(&r);
}

static void test_checksum_mismatch_installs_nothing(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    pull(&r, "/model.bin", "ggml-bad.bin", NULL, wrong, 0);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "checksum mismatch"));
    assert_non_null(strstr(r.msg, g_sha256));
    assert_non_null(strstr(r.msg, "discarded"));
    assert_int_equal(file_size(r.dest), -1);
    assert_int_equal(file_size(r.part), -1);
    cleanup(&r);
}

static void test_oversized_download_is_refused(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    pull(&r, "/model.bin", "ggml-big.bin", NULL, g_sha256, 100000);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "larger than the limit of 97.7 KiB"));
    assert_int_equal(file_size(r.dest), -1);
    assert_int_equal(file_size(r.part), -1);
    cleanup(&r);
}

static void test_http_errors_and_bad_parameters(void **state)
{
    (void)state;
    server_configure(0, false, 404);
    pull_run r = {0};
    pull(&r, "/model.bin", "ggml-404.bin", NULL, g_sha256, 0);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "HTTP 404"));
    assert_int_equal(file_size(r.dest), -1);
    assert_int_equal(file_size(r.part), -1);   /* nothing arrived, nothing kept */
    server_reset();
    pull(&r, "/model.bin", "ggml-nosum.bin", NULL, NULL, 0);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "--sha256"));
    pull(&r, "/model.bin", "ggml-badsum.bin", "xyz", NULL, 0);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "40 hex digits"));
    assert_int_equal(server_requests(), 0);
    cleanup(&r);
}

static void test_existing_other_file_is_never_overwritten(void **state)
{
    (void)state;
    server_reset();
    pull_run r = {0};
    snprintf(r.dest, sizeof r.dest, "%s/ggml-mine.bin", g_dir);
    FILE *f = fopen(r.dest, "w");
    assert_non_null(f);
    fputs("my own model\n", f);
    fclose(f);
    pull(&r, "/model.bin", "ggml-mine.bin", NULL, g_sha256, 0);
    assert_int_equal(r.st, MODELS_PULL_FAILED);
    assert_non_null(strstr(r.msg, "remove it to download again"));
    assert_int_equal(file_size(r.dest), 13);
    assert_int_equal(server_requests(), 0);
    cleanup(&r);
}

static void hex(const char *tool, const char *path, char *out, size_t outlen)
{
    char cmd[256], word[128];
    snprintf(cmd, sizeof cmd, "%s '%s'", tool, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%127s", word), 1);
    pclose(p);
    assert_int_equal(strlen(word), outlen - 1);
    memcpy(out, word, outlen);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/cicada-download-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    uint32_t x = 88172645u;
    for (size_t i = 0; i < sizeof g_body; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g_body[i] = (unsigned char)x;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/reference", g_dir);
    FILE *f = fopen(path, "wb");
    fwrite(g_body, 1, sizeof g_body, f);
    fclose(f);
    hex("sha256sum", path, g_sha256, sizeof g_sha256);   /* the checksums from an independent tool */
    hex("sha1sum", path, g_sha1, sizeof g_sha1);
    unlink(path);
    g_srv.body = g_body;
    g_srv.len = sizeof g_body;
    server_start(&g_srv);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    server_stop(&g_srv);
    curl_global_cleanup();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_verify_install),
        cmocka_unit_test(test_interrupted_download_resumes_with_range),
        cmocka_unit_test(test_server_without_ranges_restarts_from_zero),
        cmocka_unit_test(test_complete_part_is_installed_after_416),
        cmocka_unit_test(test_redirects_are_followed),
        cmocka_unit_test(test_checksum_mismatch_installs_nothing),
        cmocka_unit_test(test_oversized_download_is_refused),
        cmocka_unit_test(test_http_errors_and_bad_parameters),
        cmocka_unit_test(test_existing_other_file_is_never_overwritten),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
