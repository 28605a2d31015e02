/* test_s3_backend.c — what only the S3 backend has, against the s3_server fixture's s3rver (and
 * servers this test starts or fakes itself): the multipart path (5 MiB parts, a 23 MiB object in
 * odd-sized chunks: MD5 ETag everywhere, byte-exact reads, ranges across part boundaries), part-size
 * boundaries, aborts that leave no object and no pending upload, the key mapping and the keys S3
 * cannot hold, listings compared page by page with the file-system backend, and servers that
 * refuse, stay silent or die: BLOB_IO (or a failed open) promptly, with the endpoint named. */
#include "blob_fixture.h"

#include "blob/s3_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define MIB (1024 * 1024)

/* ---- helpers ---- */

/* Byte i of the test content: position-dependent, so a shifted or repeated part shows. */
static unsigned char content_at(int64_t i)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    return (unsigned char)(x >> 56 ^ (uint64_t)i >> 20);
}

static char *make_content(size_t n)
{
    char *p = xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)content_at((int64_t)i);
    return p;
}

/* A raw client on the fixture's bucket (for what blob.h does not show: uploads, raw keys). */
static s3_client *raw_client(bfixture *f)
{
    char endpoint[128], err[512];
    blob_params p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    s3_client *c = s3_client_new(&p, err, sizeof err);
    if (!c)
        fail_msg("s3_client_new: %s", err);
    return c;
}

/* The pending multipart uploads whose key starts with prefix. */
static size_t pending_uploads(bfixture *f, const char *prefix)
{
    s3_client *c = raw_client(f);
    s3_request rq = {.method = "GET", .query = "uploads", .idempotent = true};
    s3_response r;
    s3_response_init(&r);
    if (!s3_perform(c, &rq, &r))
        fail_msg("ListMultipartUploads: %s", r.err);
    s3_upload *u;
    size_t n, mine = 0;
    bool truncated;
    char err[256];
    if (!s3_xml_uploads(r.body.data, r.body.len, &u, &n, &truncated, err, sizeof err))
        fail_msg("ListMultipartUploads: %s", err);
    for (size_t i = 0; i < n; i++)
        mine += strncmp(u[i].key, prefix, strlen(prefix)) == 0;
    s3_uploads_free(u, n);
    s3_response_free(&r);
    s3_client_free(c);
    return mine;
}

/* The raw S3 keys under the case's prefix. */
static s3_list_page raw_list(bfixture *f)
{
    s3_client *c = raw_client(f);
    buf q;
    buf_init(&q);
    buf_puts(&q, "prefix=");
    s3_query_escape(&q, f->prefix, strlen(f->prefix));
    s3_request rq = {.method = "GET", .query = q.data, .idempotent = true};
    s3_response r;
    s3_response_init(&r);
    if (!s3_perform(c, &rq, &r))
        fail_msg("ListObjects: %s", r.err);
    s3_list_page pg;
    char err[256];
    if (!s3_xml_list(r.body.data, r.body.len, &pg, err, sizeof err))
        fail_msg("ListObjects: %s", err);
    s3_response_free(&r);
    buf_free(&q);
    s3_client_free(c);
    return pg;
}

static void check_whole(bfixture *f, const char *key, const char *data, size_t n)
{
    size_t got_n;
    blob_info info;
    char *got = bfx_read(f->bs, BUCKET, key, strlen(key), &got_n, &info);
    assert_int_equal(got_n, n);
    assert_true(memcmp(got, data, n) == 0);
    free(got);
}

static bool take_range(void *ud, const blob_info *info, int64_t *off, int64_t *len)
{
    const int64_t *want = ud;
    assert_true(want[0] + want[1] <= info->size);
    *off = want[0];
    *len = want[1];
    return true;
}

static void check_range(bfixture *f, const char *key, const char *data, int64_t off, int64_t len)
{
    int64_t want[2] = {off, len};
    blob_reader rd;
    blob_info info;
    assert_int_equal(blob_open_range(f->bs, BUCKET, key, strlen(key), take_range, want, &rd, &info), BLOB_OK);
    assert_false(rd.seekable); /* S3 ranges come through a pipe */
    char *got = xmalloc((size_t)len + 1);
    int64_t n = 0;
    ssize_t r;
    while ((r = read(rd.fd, got + n, (size_t)(len - n) + 1)) > 0)
        n += r;
    close(rd.fd);
    assert_int_equal(n, len);
    assert_true(memcmp(got, data + off, (size_t)len) == 0);
    free(got);
}

/* Streams data into key in chunks of the given sizes, round robin. */
static blob_rc put_in_chunks(bfixture *f, const char *key, const char *data, size_t n, const size_t *sizes,
                             size_t nsizes, const char *ctype, blob_info *info)
{
    blob_writer *w;
    blob_rc rc = blob_put_begin(f->bs, BUCKET, key, strlen(key), ctype, &w);
    if (rc != BLOB_OK)
        return rc;
    size_t off = 0;
    for (size_t i = 0; off < n; i++) {
        size_t take = sizes[i % nsizes] < n - off ? sizes[i % nsizes] : n - off;
        rc = blob_put_write(w, data + off, take);
        if (rc != BLOB_OK) {
            blob_put_abort(w);
            return rc;
        }
        off += take;
    }
    return blob_put_commit(w, info);
}

/* ---- multipart ---- */

static void test_multipart_23mib_in_odd_chunks(void **state)
{
    bfixture *f = *state;
    size_t n = 23 * MIB;
    char *data = make_content(n);
    char md5[33];
    bfx_md5_hex(data, n, md5);
    const size_t sizes[] = {1, 4093, 65537, 1048573, 3, 777777};
    blob_info info;
    assert_int_equal(put_in_chunks(f, "big/take 1.mp3", data, n, sizes, 6, "audio/mpeg", &info), BLOB_OK);
    assert_int_equal(info.size, (int64_t)n);
    assert_string_equal(info.etag, md5);
    assert_string_equal(info.content_type, "audio/mpeg");

    blob_info head;
    assert_int_equal(blob_head(f->bs, BUCKET, "big/take 1.mp3", 14, &head), BLOB_OK);
    assert_int_equal(head.size, (int64_t)n);
    assert_string_equal(head.etag, md5); /* the multipart ETag was replaced by the MD5 */
    assert_string_equal(head.content_type, "audio/mpeg");
    assert_int_equal(head.mtime_ms, info.mtime_ms);

    blob_list_result lr;
    assert_int_equal(blob_list(f->bs, BUCKET, "big/", NULL, NULL, 10, &lr), BLOB_OK);
    assert_int_equal(lr.n, 1);
    assert_string_equal(lr.entries[0].info.etag, md5);
    assert_int_equal(lr.entries[0].info.size, (int64_t)n);
    assert_int_equal(lr.entries[0].info.mtime_ms, info.mtime_ms);
    blob_list_free(&lr);

    check_whole(f, "big/take 1.mp3", data, n);
    /* ranges inside parts and across the 5, 10, 15 and 20 MiB part boundaries */
    check_range(f, "big/take 1.mp3", data, 0, 10);
    check_range(f, "big/take 1.mp3", data, 5 * MIB - 10, 20);
    check_range(f, "big/take 1.mp3", data, 10 * MIB - 1, 2);
    check_range(f, "big/take 1.mp3", data, 15 * MIB - 100000, 5 * MIB + 200000);
    check_range(f, "big/take 1.mp3", data, (int64_t)n - 5, 5);
    check_range(f, "big/take 1.mp3", data, 0, (int64_t)n);
    assert_int_equal(pending_uploads(f, f->prefix), 0);
    assert_int_equal(blob_delete(f->bs, BUCKET, "big/take 1.mp3", 14), BLOB_OK);
    free(data);
}

/* Objects at the part size and just around it: one PutObject up to it, multipart beyond. */
static void test_part_size_boundaries(void **state)
{
    bfixture *f = *state;
    const size_t lens[] = {BFX_S3_PART - 1, BFX_S3_PART, BFX_S3_PART + 1, 2 * BFX_S3_PART, 2 * BFX_S3_PART + 7};
    size_t max = 2 * BFX_S3_PART + 7;
    char *data = make_content(max);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char key[32], md5[33];
        snprintf(key, sizeof key, "edge/%zu", lens[i]);
        bfx_md5_hex(data, lens[i], md5);
        const size_t sizes[] = {BFX_S3_PART / 3 + 1};
        blob_info info;
        assert_int_equal(put_in_chunks(f, key, data, lens[i], sizes, 1, NULL, &info), BLOB_OK);
        assert_string_equal(info.etag, md5);
        assert_int_equal(info.size, (int64_t)lens[i]);
        assert_string_equal(info.content_type, "application/octet-stream");
        check_whole(f, key, data, lens[i]);
        assert_int_equal(blob_delete(f->bs, BUCKET, key, strlen(key)), BLOB_OK);
    }
    assert_int_equal(pending_uploads(f, f->prefix), 0);
    free(data);
}

static void test_abort_leaves_no_object_and_no_upload(void **state)
{
    bfixture *f = *state;
    size_t n = 12 * MIB;
    char *data = make_content(n);
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "kept", "old", 3, NULL, &info), BLOB_OK);
    const char *keys[] = {"never", "kept"};
    for (int k = 0; k < 2; k++) {
        blob_writer *w;
        assert_int_equal(blob_put_begin(f->bs, BUCKET, keys[k], strlen(keys[k]), NULL, &w), BLOB_OK);
        assert_int_equal(blob_put_write(w, data, n), BLOB_OK); /* two parts are up, the upload is open */
        assert_int_equal(pending_uploads(f, f->prefix), 1);
        blob_put_abort(w);
        assert_int_equal(pending_uploads(f, f->prefix), 0);
    }
    assert_int_equal(blob_head(f->bs, BUCKET, "never", 5, &info), BLOB_NO_KEY);
    size_t got_n;
    char *got = bfx_read(f->bs, BUCKET, "kept", 4, &got_n, &info);
    assert_int_equal(got_n, 3);
    assert_memory_equal(got, "old", 3);
    free(got);

    /* past the size limit mid-upload: BLOB_TOO_LARGE, and the upload is gone too */
    blob_close(f->bs);
    bfx_reopen(f, 7 * MIB);
    blob_writer *w;
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "huge", 4, NULL, &w), BLOB_OK);
    assert_int_equal(blob_put_write(w, data, 6 * MIB), BLOB_OK);
    assert_int_equal(pending_uploads(f, f->prefix), 1);
    assert_int_equal(blob_put_write(w, data, 2 * MIB), BLOB_TOO_LARGE);
    assert_int_equal(blob_put_commit(w, &info), BLOB_TOO_LARGE);
    assert_int_equal(pending_uploads(f, f->prefix), 0);
    assert_int_equal(blob_head(f->bs, BUCKET, "huge", 4, &info), BLOB_NO_KEY);
    free(data);
}

/* ---- keys ---- */

static void test_key_mapping_and_refused_keys(void **state)
{
    bfixture *f = *state;
    const char *key = "dir/a b+c%d?e#f&g=h \xe4\xb8\xad.wav";
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, key, "x", 1, NULL, &info), BLOB_OK);
    s3_list_page pg = raw_list(f);
    char want_obj[256], want_marker[256];
    snprintf(want_obj, sizeof want_obj, "%s%s/%s", f->prefix, BUCKET, key);
    snprintf(want_marker, sizeof want_marker, "%s.buckets/%s", f->prefix, BUCKET);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.entries[0].key, want_marker); /* '.' sorts before any bucket name */
    assert_string_equal(pg.entries[1].key, want_obj);
    assert_string_equal(pg.entries[1].etag, "9dd4e461268c8034f5c8564e155c67a6"); /* MD5 of "x" */
    s3_list_page_free(&pg);

    /* S3 keys are UTF-8 text without control characters */
    const char *bad[] = {"\xff\xfe", "a\nb", "\x01", "tab\there", "del\x7f", "\xc3", "\xe4\xb8", "\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t kl = strlen(bad[i]);
        blob_writer *w;
        int fd;
        assert_int_equal(blob_put(f->bs, BUCKET, bad[i], "x", 1, NULL, &info), BLOB_INVALID);
        assert_int_equal(blob_put_begin(f->bs, BUCKET, bad[i], kl, NULL, &w), BLOB_INVALID);
        assert_int_equal(blob_head(f->bs, BUCKET, bad[i], kl, &info), BLOB_INVALID);
        assert_int_equal(blob_open_read(f->bs, BUCKET, bad[i], kl, &fd, &info), BLOB_INVALID);
        assert_int_equal(blob_delete(f->bs, BUCKET, bad[i], kl), BLOB_INVALID);
    }
    blob_list_result lr;
    assert_int_equal(blob_list(f->bs, BUCKET, NULL, "\xff", NULL, 10, &lr), BLOB_INVALID);
    assert_int_equal(blob_list(f->bs, BUCKET, NULL, NULL, "\x01", 10, &lr), BLOB_INVALID);
    assert_int_equal(blob_list(f->bs, BUCKET, "\xff", NULL, NULL, 10, &lr), BLOB_OK); /* nothing can match */
    assert_int_equal(lr.n, 0);
    blob_list_free(&lr);
    assert_string_equal(blob_backend_name(f->bs), "s3");
}

/* ---- listings: the same pages as the file-system backend ---- */

static char *render_page(const blob_list_result *r)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < r->n; i++)
        buf_printf(&b, "%s%s=%lld:%s", i ? "," : "", r->entries[i].key, (long long)r->entries[i].info.size,
                   r->entries[i].info.etag);
    buf_puts(&b, "|");
    for (size_t i = 0; i < r->nprefixes; i++)
        buf_printf(&b, "%s%s", i ? "," : "", r->common_prefixes[i]);
    buf_printf(&b, "|%s:%s", r->truncated ? "T" : "F", r->next_marker ? r->next_marker : "-");
    return buf_steal(&b);
}

static void test_listing_matches_fs(void **state)
{
    bfixture *f = *state;
    char dir[] = "/tmp/cicada-s3cmp-XXXXXX", root[64];
    assert_non_null(mkdtemp(dir));
    snprintf(root, sizeof root, "%s/root", dir);
    blob_store *fs = bfx_open(root, 0);
    assert_int_equal(blob_bucket_create(fs, BUCKET), BLOB_OK);
    /* 620 keys: flat ones, nested ones, a '-' and '.' beside '/', unicode, blanks */
    enum { N = 620 };
    for (int i = 0; i < N; i++) {
        char key[64];
        switch (i % 5) {
        case 0: snprintf(key, sizeof key, "flat%03d", i); break;
        case 1: snprintf(key, sizeof key, "d%d/sub%d/k%03d", i % 3, i % 7, i); break;
        case 2: snprintf(key, sizeof key, "d%d-x/k%03d", i % 4, i); break;
        case 3: snprintf(key, sizeof key, "d%d/k %03d \xc3\xa9", i % 3, i); break;
        default: snprintf(key, sizeof key, "d%d.k%03d", i % 2, i); break;
        }
        blob_info a, b;
        assert_int_equal(blob_put(f->bs, BUCKET, key, key, strlen(key), NULL, &a), BLOB_OK);
        assert_int_equal(blob_put(fs, BUCKET, key, key, strlen(key), NULL, &b), BLOB_OK);
    }
    struct {
        const char *prefix, *marker, *delim;
        int max;
    } queries[] = {
        {NULL, NULL, NULL, 1000}, {NULL, NULL, "/", 1000}, {NULL, NULL, NULL, 7}, {NULL, NULL, "/", 3},
        {"d1/", NULL, "/", 5},    {"d1", NULL, "/", 2},    {"d0/", "d0/k", NULL, 50}, {NULL, "d1/sub3/", "/", 4},
        {"d", "d1/sub2/k", "/", 1}, {NULL, NULL, "sub", 9}, {"d2/", NULL, " ", 11}, {"zzz", NULL, "/", 10},
    };
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        char *marker_s3 = queries[q].marker ? xstrdup(queries[q].marker) : NULL;
        char *marker_fs = queries[q].marker ? xstrdup(queries[q].marker) : NULL;
        for (int page = 0; page < 1000; page++) {
            blob_list_result a, b;
            assert_int_equal(blob_list(f->bs, BUCKET, queries[q].prefix, marker_s3, queries[q].delim, queries[q].max,
                                       &a),
                             BLOB_OK);
            assert_int_equal(
                blob_list(fs, BUCKET, queries[q].prefix, marker_fs, queries[q].delim, queries[q].max, &b), BLOB_OK);
            char *ra = render_page(&a), *rb = render_page(&b);
            if (strcmp(ra, rb) != 0)
                fail_msg("query %zu page %d differs:\ns3: %.2000s\nfs: %.2000s", q, page, ra, rb);
            free(ra);
            free(rb);
            bool more = a.truncated;
            free(marker_s3);
            free(marker_fs);
            marker_s3 = more ? xstrdup(a.next_marker) : NULL;
            marker_fs = more ? xstrdup(b.next_marker) : NULL;
            blob_list_free(&a);
            blob_list_free(&b);
            if (!more)
                break;
        }
        free(marker_s3);
        free(marker_fs);
    }
    blob_close(fs);
    nftw(dir, brm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- servers that are down ---- */

/* Runs fn with stderr going to a file; returns what was written there (heap). */
static char *capture_stderr(void (*fn)(void *), void *ud)
{
    char path[] = "/tmp/cicada-s3log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn(ud);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = NULL;
    size_t len = 0;
    assert_true(fs_read_file(path, &text, &len, 1 << 20));
    close(fd);
    unlink(path);
    return text;
}

/* A port on 127.0.0.1 nothing listens on. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_open_fails_clearly(void **state)
{
    bfixture *f = *state;
    char endpoint[128], err[1024];
    blob_params p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);

    /* nothing listening: a prompt failure naming the endpoint */
    char down[64];
    snprintf(down, sizeof down, "http://127.0.0.1:%d", closed_port());
    p.s3_endpoint = down;
    int64_t t0 = time_mono_ms();
    assert_null(blob_open(&p, err, sizeof err));
    printf("refused: %s (%lld ms)\n", err, (long long)(time_mono_ms() - t0));
    assert_true(time_mono_ms() - t0 < 5000);
    assert_non_null(strstr(err, down));
    assert_non_null(strstr(err, "connect"));

    /* listening but never answering: the idle timeout ends it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 8), 0); /* connections complete in the backlog; nobody answers */
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    char silent[64];
    snprintf(silent, sizeof silent, "http://127.0.0.1:%d", ntohs(a.sin_port));
    p.s3_endpoint = silent;
    p.s3_idle_timeout_ms = 1000;
    p.s3_retries = 1;
    t0 = time_mono_ms();
    assert_null(blob_open(&p, err, sizeof err));
    int64_t took = time_mono_ms() - t0;
    printf("silent: %s (%lld ms)\n", err, (long long)took);
    assert_true(took >= 1000 && took < 10000);
    assert_non_null(strstr(err, silent));
    close(s);

    /* a bucket that does not exist; settings that cannot work */
    p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    p.s3_bucket = "no-such-bucket";
    assert_null(blob_open(&p, err, sizeof err));
    printf("no bucket: %s\n", err);
    assert_non_null(strstr(err, "does not exist"));
    assert_non_null(strstr(err, endpoint));
    p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    p.s3_part_size = 1024 * 1024;
    assert_null(blob_open(&p, err, sizeof err));
    assert_non_null(strstr(err, "part size"));
    p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    p.s3_endpoint = "ftp://127.0.0.1:1";
    assert_null(blob_open(&p, err, sizeof err));
    p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    p.s3_secret_key = "";
    assert_null(blob_open(&p, err, sizeof err));
    p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    p.s3_prefix = "/abs";
    assert_null(blob_open(&p, err, sizeof err));
}

/* A private s3rver (run.js) in dir; its pid, its endpoint in endpoint. */
static pid_t start_private_s3rver(const char *dir, char *endpoint, size_t eplen)
{
    char data[256], port_file[256];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        execlp("node", "node", S3RVER_RUN_JS, data, port_file, BFX_S3_BUCKET, (char *)NULL);
        _exit(127);
    }
    char *text = NULL;
    size_t len;
    for (int i = 0; i < 300 && !fs_read_file(port_file, &text, &len, 64); i++)
        time_sleep_ms(50);
    if (!text) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the private s3rver did not start");
    }
    snprintf(endpoint, eplen, "http://127.0.0.1:%d", atoi(text));
    free(text);
    return pid;
}

typedef struct dead_ctx {
    blob_store *bs;
    blob_rc head, put, list, read;
    int64_t took_ms;
} dead_ctx;

static void use_dead_store(void *ud)
{
    dead_ctx *c = ud;
    int64_t t0 = time_mono_ms();
    blob_info info;
    c->head = blob_head(c->bs, BUCKET, "k", 1, &info);
    c->put = blob_put(c->bs, BUCKET, "k2", "y", 1, NULL, &info);
    blob_list_result lr;
    c->list = blob_list(c->bs, BUCKET, NULL, NULL, NULL, 10, &lr);
    int fd;
    c->read = blob_open_read(c->bs, BUCKET, "k", 1, &fd, &info);
    c->took_ms = time_mono_ms() - t0;
}

static void test_server_dies(void **state)
{
    bfixture *f = *state;
    char dir[] = "/tmp/cicada-s3dead-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char endpoint[128], unused[128];
    pid_t pid = start_private_s3rver(dir, endpoint, sizeof endpoint);
    blob_params p = bfx_params(f->root, f->prefix, unused, sizeof unused);
    p.s3_endpoint = endpoint;
    char err[1024];
    blob_store *bs = blob_open(&p, err, sizeof err);
    if (!bs) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("blob_open on the private s3rver: %s", err);
    }
    blob_info info;
    assert_int_equal(blob_bucket_create(bs, BUCKET), BLOB_OK);
    assert_int_equal(blob_put(bs, BUCKET, "k", "x", 1, NULL, &info), BLOB_OK);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    dead_ctx c = {.bs = bs};
    char *log = capture_stderr(use_dead_store, &c);
    printf("with the server gone (%lld ms):\n%s", (long long)c.took_ms, log);
    assert_int_equal(c.head, BLOB_IO);
    assert_int_equal(c.put, BLOB_IO);
    assert_int_equal(c.list, BLOB_IO);
    assert_int_equal(c.read, BLOB_IO);
    assert_true(c.took_ms < 20000); /* four calls, each with 3 quick retries */
    assert_non_null(strstr(log, endpoint));
    assert_non_null(strstr(log, "connect"));
    free(log);
    blob_close(bs);
    nftw(dir, brm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    if (!bfx_s3()) {
        printf("skip: the S3 backend's own tests run with CICADA_TEST_BLOB=s3 (ctest test_s3_backend)\n");
        return 77;
    }
    if (!bfx_backend_available())
        return 77;
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multipart_23mib_in_odd_chunks, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_part_size_boundaries, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_no_object_and_no_upload, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_key_mapping_and_refused_keys, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_listing_matches_fs, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_open_fails_clearly, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_server_dies, bfx_setup, bfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
