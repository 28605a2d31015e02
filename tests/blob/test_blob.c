/* test_blob.c — the object store, one suite for both backends (blob_fixture.h): bucket names,
 * put/get/head/delete, overwrite, abort, size limit, odd keys, listing with
 * prefix/marker/delimiter/paging, concurrent puts of one key. The file-system backend also on its
 * real directory: hostile keys that must stay inside the root, the file layout, reopen, clean-up of
 * crash debris (temp and unreferenced object files), upgrade of a version-1 data directory; these
 * are fs-only (FS_ONLY), as are keys S3 cannot name (not UTF-8, control characters). */
#include "blob_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

/* Checks of the file-system backend's own layout, skipped on S3. */
#define FS_ONLY(stmt)                                                                                            \
    do {                                                                                                         \
        if (!bfx_s3()) {                                                                                         \
            stmt;                                                                                                \
        }                                                                                                        \
    } while (0)

/* ---- directory inspection ---- */

static int count_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int tmp_files(bfixture *f)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/tmp", f->root);
    return count_files_in(tmp);
}

static const char *walk_root; /* nftw has no user pointer */
static int walk_objects, walk_strays;

static int check_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    const char *rel = path + strlen(walk_root) + 1;
    if (strncmp(rel, "index.db", 8) == 0 || strcmp(rel, "lock") == 0)
        return 0;
    /* objects/<2 hex>/<64 hex>.<32 hex> with the directory named by the hash's first two digits */
    bool ok = strncmp(rel, "objects/", 8) == 0 && strlen(rel) == 8 + 3 + 64 + 1 + 32 && rel[10] == '/' &&
              strncmp(rel + 8, rel + 11, 2) == 0 && strspn(rel + 11, "0123456789abcdef") == 64 &&
              rel[11 + 64] == '.' && strspn(rel + 11 + 65, "0123456789abcdef") == 32;
    if (ok)
        walk_objects++;
    else
        walk_strays++;
    return 0;
}

/* Counts object files under root; fails on anything that is not the index, the lock or an object file. */
static int object_files(bfixture *f)
{
    walk_root = f->root;
    walk_objects = walk_strays = 0;
    nftw(f->root, check_entry, 8, FTW_PHYS);
    assert_int_equal(walk_strays, 0);
    return walk_objects;
}

/* The SHA-256 of bucket "\0" key in hex: the stem of the object's file names. */
static void sha256_hex(const char *bucket, const char *key, size_t keylen, char hex[65])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, bucket, strlen(bucket) + 1);
    EVP_DigestUpdate(c, key, keylen);
    EVP_DigestFinal_ex(c, d, &n);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* The path of the one file of the key's object (<hash>.<version>); fails unless there is exactly one. */
static void object_path_of(bfixture *f, const char *bucket, const char *key, size_t keylen, char *out, size_t outlen)
{
    char hex[65], dir[256];
    sha256_hex(bucket, key, keylen, hex);
    snprintf(dir, sizeof dir, "%s/objects/%.2s", f->root, hex);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, hex, 64) == 0 && e->d_name[64] == '.') {
            snprintf(out, outlen, "%s/%s", dir, e->d_name);
            found++;
        }
    closedir(d);
    assert_int_equal(found, 1);
}

/* ---- buckets ---- */

static void test_bucket_names(void **state)
{
    bfixture *f = *state;
    const char *good[] = {"examplebucket-1250000000", "a-1", "0abc-12", "a-b-c-1250000000",
                          "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi-1"}; /* 49 + "-1" */
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(blob_bucket_create(f->bs, good[i]), BLOB_OK);
        assert_true(blob_bucket_exists(f->bs, good[i]));
    }
    const char *bad[] = {"", "-a-1", "Abc-1", "abc", "abc-", "abc-12a", "a_b-1", "-1", "a.b-1", "../x-1",
                         "abc-1/..", "abc -1", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(blob_bucket_create(f->bs, bad[i]), BLOB_INVALID);
        assert_false(blob_bucket_exists(f->bs, bad[i]));
    }
    assert_int_equal(blob_bucket_create(f->bs, NULL), BLOB_INVALID);
    /* idempotent */
    assert_int_equal(blob_bucket_create(f->bs, BUCKET), BLOB_OK);
    assert_false(blob_bucket_exists(f->bs, "other-1250000000"));
}

/* The health check asks the storage now: a bucket known before reads as missing once it is gone
 * from under the store (fs: the objects directory renamed away), and back once it returns. */
static void test_bucket_check(void **state)
{
    bfixture *f = *state;
    char why[400];
    assert_int_equal(blob_bucket_check(f->bs, BUCKET, why, sizeof why), BLOB_OK);
    assert_string_equal(why, "");
    assert_int_equal(blob_bucket_check(f->bs, "other-1250000000", why, sizeof why), BLOB_NO_BUCKET);
    assert_non_null(strstr(why, "other-1250000000"));
    assert_int_equal(blob_bucket_check(f->bs, "Bad", why, sizeof why), BLOB_INVALID);
    if (!bfx_s3()) {
        char objects[256], away[256];
        snprintf(objects, sizeof objects, "%s/objects", f->root);
        snprintf(away, sizeof away, "%s/objects.away", f->root);
        assert_int_equal(rename(objects, away), 0);
        assert_int_equal(blob_bucket_check(f->bs, BUCKET, why, sizeof why), BLOB_IO);
        assert_non_null(strstr(why, "objects"));
        assert_non_null(strstr(why, "No such file"));
        assert_true(blob_bucket_exists(f->bs, BUCKET)); /* the index alone still knows it */
        assert_int_equal(rename(away, objects), 0);
        assert_int_equal(blob_bucket_check(f->bs, BUCKET, why, sizeof why), BLOB_OK);
    }
}

/* ---- objects ---- */

static void test_put_head_read_delete(void **state)
{
    bfixture *f = *state;
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "dir/hello.txt", "hello", 5, "text/plain", &info), BLOB_OK);
    assert_int_equal(info.size, 5);
    assert_string_equal(info.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_string_equal(info.content_type, "text/plain");
    assert_true(info.mtime_ms > 0);

    blob_info head;
    assert_int_equal(blob_head(f->bs, BUCKET, "dir/hello.txt", 13, &head), BLOB_OK);
    assert_int_equal(head.size, 5);
    assert_string_equal(head.etag, info.etag);
    assert_string_equal(head.content_type, "text/plain");
    assert_int_equal(head.mtime_ms, info.mtime_ms);

    size_t n;
    char *data = bfx_read(f->bs, BUCKET, "dir/hello.txt", 13, &n, &head);
    assert_int_equal(n, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);

    char path[512];
    FS_ONLY(object_path_of(f, BUCKET, "dir/hello.txt", 13, path, sizeof path); assert_int_equal(access(path, R_OK), 0);
            assert_int_equal(object_files(f), 1));

    assert_int_equal(blob_delete(f->bs, BUCKET, "dir/hello.txt", 13), BLOB_OK);
    assert_int_equal(blob_head(f->bs, BUCKET, "dir/hello.txt", 13, &head), BLOB_NO_KEY);
    int fd = 123;
    assert_int_equal(blob_open_read(f->bs, BUCKET, "dir/hello.txt", 13, &fd, &head), BLOB_NO_KEY);
    assert_int_equal(fd, -1);
    assert_int_equal(blob_delete(f->bs, BUCKET, "dir/hello.txt", 13), BLOB_NO_KEY);
    FS_ONLY(assert_int_equal(object_files(f), 0));
}

static void test_missing_bucket_and_key(void **state)
{
    bfixture *f = *state;
    const char *nb = "nobucket-1250000000";
    blob_info info;
    blob_writer *w = (blob_writer *)1;
    assert_int_equal(blob_put(f->bs, nb, "k", "x", 1, NULL, &info), BLOB_NO_BUCKET);
    assert_int_equal(blob_put_begin(f->bs, nb, "k", 1, NULL, &w), BLOB_NO_BUCKET);
    assert_null(w);
    assert_int_equal(blob_head(f->bs, nb, "k", 1, &info), BLOB_NO_BUCKET);
    int fd;
    assert_int_equal(blob_open_read(f->bs, nb, "k", 1, &fd, &info), BLOB_NO_BUCKET);
    assert_int_equal(blob_delete(f->bs, nb, "k", 1), BLOB_NO_BUCKET);
    blob_list_result r;
    assert_int_equal(blob_list(f->bs, nb, NULL, NULL, NULL, 10, &r), BLOB_NO_BUCKET);
    assert_int_equal(blob_head(f->bs, BUCKET, "k", 1, &info), BLOB_NO_KEY);
    assert_int_equal(blob_head(f->bs, "Bad_Bucket", "k", 1, &info), BLOB_INVALID);
    FS_ONLY(assert_int_equal(tmp_files(f), 0));
}

static void test_empty_object_and_default_type(void **state)
{
    bfixture *f = *state;
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "empty", "", 0, NULL, &info), BLOB_OK);
    assert_int_equal(info.size, 0);
    assert_string_equal(info.etag, "d41d8cd98f00b204e9800998ecf8427e");
    assert_string_equal(info.content_type, "application/octet-stream");
    size_t n = 99;
    char *data = bfx_read(f->bs, BUCKET, "empty", 5, &n, &info);
    assert_int_equal(n, 0);
    free(data);
}

static void test_overwrite_replaces(void **state)
{
    bfixture *f = *state;
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "k", "first version", 13, "text/plain", &info), BLOB_OK);
    int old_fd;
    assert_int_equal(blob_open_read(f->bs, BUCKET, "k", 1, &old_fd, &info), BLOB_OK);
    assert_int_equal(blob_put(f->bs, BUCKET, "k", "2nd", 3, "application/x-2", &info), BLOB_OK);
    size_t n;
    blob_info head;
    char *data = bfx_read(f->bs, BUCKET, "k", 1, &n, &head);
    assert_int_equal(n, 3);
    assert_memory_equal(data, "2nd", 3);
    free(data);
    char md5[33];
    bfx_md5_hex("2nd", 3, md5);
    assert_string_equal(head.etag, md5);
    assert_string_equal(head.content_type, "application/x-2");
    assert_int_equal(head.size, 3);
    /* a reader that opened the old version keeps reading it whole */
    char old[32];
    assert_int_equal(read(old_fd, old, sizeof old), 13);
    assert_memory_equal(old, "first version", 13);
    close(old_fd);
    FS_ONLY(assert_int_equal(object_files(f), 1); assert_int_equal(tmp_files(f), 0));
}

static void test_streaming_put_and_abort(void **state)
{
    bfixture *f = *state;
    blob_writer *w;
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "stream", 6, "audio/wav", &w), BLOB_OK);
    FS_ONLY(assert_int_equal(tmp_files(f), 1));
    buf all;
    buf_init(&all);
    for (int i = 0; i < 50; i++) {
        char chunk[1000];
        memset(chunk, 'a' + i % 26, sizeof chunk);
        assert_int_equal(blob_put_write(w, chunk, (size_t)(i * 20)), BLOB_OK);
        buf_append(&all, chunk, (size_t)(i * 20));
    }
    /* not visible before commit */
    blob_info info;
    assert_int_equal(blob_head(f->bs, BUCKET, "stream", 6, &info), BLOB_NO_KEY);
    assert_int_equal(blob_put_commit(w, &info), BLOB_OK);
    char md5[33];
    bfx_md5_hex(all.data, all.len, md5);
    assert_string_equal(info.etag, md5);
    assert_int_equal(info.size, (int64_t)all.len);
    buf_free(&all);
    FS_ONLY(assert_int_equal(tmp_files(f), 0));

    /* an aborted put leaves nothing, and does not touch the existing object */
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "stream", 6, NULL, &w), BLOB_OK);
    assert_int_equal(blob_put_write(w, "xyz", 3), BLOB_OK);
    blob_put_abort(w);
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "never", 5, NULL, &w), BLOB_OK);
    assert_int_equal(blob_put_write(w, "xyz", 3), BLOB_OK);
    blob_put_abort(w);
    FS_ONLY(assert_int_equal(tmp_files(f), 0));
    assert_int_equal(blob_head(f->bs, BUCKET, "never", 5, &info), BLOB_NO_KEY);
    blob_info head;
    assert_int_equal(blob_head(f->bs, BUCKET, "stream", 6, &head), BLOB_OK);
    assert_string_equal(head.etag, md5);
    assert_string_equal(head.content_type, "audio/wav");
    FS_ONLY(assert_int_equal(object_files(f), 1));
}

static void test_size_limit(void **state)
{
    bfixture *f = *state;
    blob_close(f->bs);
    bfx_reopen(f, 1000);
    char data[600];
    memset(data, 'x', sizeof data);
    blob_writer *w;
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "big", 3, NULL, &w), BLOB_OK);
    assert_int_equal(blob_put_write(w, data, 600), BLOB_OK);
    assert_int_equal(blob_put_write(w, data, 400), BLOB_OK); /* exactly the limit */
    assert_int_equal(blob_put_write(w, data, 1), BLOB_TOO_LARGE);
    assert_int_equal(blob_put_write(w, data, 1), BLOB_TOO_LARGE);
    blob_info info;
    assert_int_equal(blob_put_commit(w, &info), BLOB_TOO_LARGE);
    assert_int_equal(blob_head(f->bs, BUCKET, "big", 3, &info), BLOB_NO_KEY);
    FS_ONLY(assert_int_equal(tmp_files(f), 0));
    char big[1001];
    memset(big, 'y', sizeof big);
    assert_int_equal(blob_put(f->bs, BUCKET, "big", big, 1001, NULL, &info), BLOB_TOO_LARGE);
    assert_int_equal(blob_put(f->bs, BUCKET, "big", big, 1000, NULL, &info), BLOB_OK);
    FS_ONLY(assert_int_equal(tmp_files(f), 0));
}

/* ---- ranged reads ---- */

typedef struct want_range {
    int64_t off, len;   /* len -1: decline (an unsatisfiable range) */
    int64_t seen_size;  /* the size choose was shown */
} want_range;

static bool choose_range(void *ud, const blob_info *info, int64_t *off, int64_t *len)
{
    want_range *w = ud;
    w->seen_size = info->size;
    if (w->len < 0)
        return false;
    *off = w->off;
    *len = w->len;
    return true;
}

/* Reads the range through blob_open_range and checks it against data. */
static void check_range(bfixture *f, const char *key, const char *data, size_t size, int64_t off, int64_t len)
{
    want_range w = {.off = off, .len = len};
    blob_reader rd;
    blob_info info;
    assert_int_equal(blob_open_range(f->bs, BUCKET, key, strlen(key), choose_range, &w, &rd, &info), BLOB_OK);
    assert_int_equal(w.seen_size, (int64_t)size);
    assert_int_equal(info.size, (int64_t)size);
    assert_true(rd.fd >= 0);
    assert_int_equal(rd.length, len);
    char *got = xmalloc((size_t)len + 1);
    int64_t n = 0;
    if (rd.seekable) {
        ssize_t r;
        while (n < len && (r = pread(rd.fd, got + n, (size_t)(len - n), rd.offset + n)) > 0)
            n += r;
    } else {
        ssize_t r;
        while ((r = read(rd.fd, got + n, (size_t)(len - n) + 1)) > 0) /* + 1: EOF must follow */
            n += r;
    }
    close(rd.fd);
    assert_int_equal(n, len);
    assert_memory_equal(got, data + off, (size_t)len);
    free(got);
}

static void test_open_range(void **state)
{
    bfixture *f = *state;
    enum { SIZE = 300000 };
    char *data = xmalloc(SIZE);
    for (int i = 0; i < SIZE; i++)
        data[i] = (char)('a' + (i * 7 + i / 251) % 26);
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "r/obj", data, SIZE, "audio/wav", &info), BLOB_OK);
    check_range(f, "r/obj", data, SIZE, 0, SIZE);
    check_range(f, "r/obj", data, SIZE, 0, 1);
    check_range(f, "r/obj", data, SIZE, 12345, 100000);
    check_range(f, "r/obj", data, SIZE, SIZE - 1, 1);
    check_range(f, "r/obj", data, SIZE, 100, 0);

    /* declined: no descriptor, but the size was seen */
    want_range w = {.len = -1};
    blob_reader rd;
    assert_int_equal(blob_open_range(f->bs, BUCKET, "r/obj", 5, choose_range, &w, &rd, &info), BLOB_OK);
    assert_int_equal(rd.fd, -1);
    assert_int_equal(w.seen_size, SIZE);
    char md5[33];
    bfx_md5_hex(data, SIZE, md5);
    assert_string_equal(info.etag, md5);
    assert_string_equal(info.content_type, "audio/wav");

    /* an empty object, a missing key, a missing bucket, a bad key */
    assert_int_equal(blob_put(f->bs, BUCKET, "r/empty", "", 0, NULL, &info), BLOB_OK);
    check_range(f, "r/empty", "", 0, 0, 0);
    w = (want_range){.off = 0, .len = 0};
    assert_int_equal(blob_open_range(f->bs, BUCKET, "r/none", 6, choose_range, &w, &rd, &info), BLOB_NO_KEY);
    assert_int_equal(rd.fd, -1);
    assert_int_equal(blob_open_range(f->bs, "nobucket-1250000000", "k", 1, choose_range, &w, &rd, &info),
                     BLOB_NO_BUCKET);
    assert_int_equal(blob_open_range(f->bs, BUCKET, "a\0b", 3, choose_range, &w, &rd, &info), BLOB_INVALID);

    /* a reader that stops early and closes: nothing hangs (blob_close waits for S3 readers) */
    w = (want_range){.off = 0, .len = SIZE};
    assert_int_equal(blob_open_range(f->bs, BUCKET, "r/obj", 5, choose_range, &w, &rd, &info), BLOB_OK);
    char few[10];
    assert_int_equal(read(rd.fd, few, sizeof few), (ssize_t)sizeof few);
    close(rd.fd);
    free(data);
}

/* ---- odd and hostile keys ---- */

/* Keys either backend must store as opaque text: path-like, URL-like, blanks, unicode, long. */
static void test_odd_keys_round_trip(void **state)
{
    bfixture *f = *state;
    char long_key[BLOB_MAX_KEY + 1];
    for (int i = 0; i < BLOB_MAX_KEY; i++)
        long_key[i] = "../"[i % 3];
    long_key[BLOB_MAX_KEY] = '\0';
    const char *keys[] = {"../../etc/passwd", "/abs", "/", "a//b", "..", ".", "../x", "a/../../b", "~root",
                          "C:\\windows\\x", "%2e%2e/x", "a b", " lead and trail ", "a+b=c&d", "100%", "what?x=1",
                          "#frag", "semi;colon,comma", "\xe4\xb8\xad\xe6\x96\x87/\xf0\x9f\x8e\xa4.wav", "index.db",
                          "quote\"'<&>", long_key};
    size_t nkeys = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < nkeys; i++) {
        blob_info info;
        assert_int_equal(blob_put(f->bs, BUCKET, keys[i], keys[i], strlen(keys[i]), "text/plain", &info), BLOB_OK);
    }
    for (size_t i = 0; i < nkeys; i++) {
        size_t klen = strlen(keys[i]), n;
        blob_info info;
        assert_int_equal(blob_head(f->bs, BUCKET, keys[i], klen, &info), BLOB_OK);
        assert_int_equal(info.size, (int64_t)klen);
        char *data = bfx_read(f->bs, BUCKET, keys[i], klen, &n, &info);
        assert_int_equal(n, klen);
        assert_memory_equal(data, keys[i], klen);
        free(data);
    }
    /* the listing gives every key back exactly, in byte order */
    blob_list_result r;
    assert_int_equal(blob_list(f->bs, BUCKET, NULL, NULL, NULL, 1000, &r), BLOB_OK);
    assert_int_equal(r.n, nkeys);
    for (size_t i = 0; i < r.n; i++) {
        bool found = false;
        for (size_t k = 0; k < nkeys && !found; k++)
            found = strcmp(r.entries[i].key, keys[k]) == 0;
        assert_true(found);
        if (i)
            assert_true(strcmp(r.entries[i - 1].key, r.entries[i].key) < 0);
        assert_int_equal(r.entries[i].info.size, (int64_t)strlen(r.entries[i].key));
    }
    blob_list_free(&r);
    for (size_t i = 0; i < nkeys; i++)
        assert_int_equal(blob_delete(f->bs, BUCKET, keys[i], strlen(keys[i])), BLOB_OK);
    assert_int_equal(blob_list(f->bs, BUCKET, NULL, NULL, NULL, 1000, &r), BLOB_OK);
    assert_int_equal(r.n, 0);
    blob_list_free(&r);
}

static void test_hostile_keys_stay_inside_root(void **state)
{
    bfixture *f = *state;
    char long_key[BLOB_MAX_KEY + 2];
    for (int i = 0; i < BLOB_MAX_KEY; i++)
        long_key[i] = "../"[i % 3];
    long_key[BLOB_MAX_KEY] = '\0';
    const char *keys[] = {"../../etc/passwd", "/abs", "/", "a//b", "..", ".", "../x", "a/../../b", "~root",
                          "C:\\windows\\x", "%2e%2e/x", "tmp/../../../escape", "index.db", "objects/../index.db",
                          "\xff\xfe", "\n", long_key};
    size_t nkeys = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < nkeys; i++) {
        blob_info info;
        assert_int_equal(blob_put(f->bs, BUCKET, keys[i], keys[i], strlen(keys[i]), NULL, &info), BLOB_OK);
    }
    for (size_t i = 0; i < nkeys; i++) {
        size_t klen = strlen(keys[i]), n;
        blob_info info;
        char *data = bfx_read(f->bs, BUCKET, keys[i], klen, &n, &info);
        assert_int_equal(n, klen);
        assert_memory_equal(data, keys[i], klen);
        free(data);
        char path[512];
        object_path_of(f, BUCKET, keys[i], klen, path, sizeof path);
        assert_int_equal(access(path, R_OK), 0);
    }
    /* nothing beside the root, nothing in the root but the index and object files */
    assert_int_equal(count_files_in(f->dir), 1);
    assert_int_equal(object_files(f), (int)nkeys);
    assert_int_equal(access("/tmp/escape", F_OK), -1);

    /* keys that are refused outright */
    long_key[BLOB_MAX_KEY] = 'x';
    long_key[BLOB_MAX_KEY + 1] = '\0';
    blob_info info;
    blob_writer *w;
    assert_int_equal(blob_put(f->bs, BUCKET, long_key, "x", 1, NULL, &info), BLOB_INVALID);
    assert_int_equal(blob_put(f->bs, BUCKET, "", "x", 1, NULL, &info), BLOB_INVALID);
    assert_int_equal(blob_put(f->bs, BUCKET, NULL, "x", 1, NULL, &info), BLOB_INVALID);
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "a\0../../b", 9, NULL, &w), BLOB_INVALID);
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "\0", 1, NULL, &w), BLOB_INVALID);
    assert_int_equal(blob_head(f->bs, BUCKET, "..\0x", 4, &info), BLOB_INVALID);
    assert_int_equal(blob_delete(f->bs, BUCKET, "..\0x", 4), BLOB_INVALID);
    int fd;
    assert_int_equal(blob_open_read(f->bs, BUCKET, "..\0x", 4, &fd, &info), BLOB_INVALID);
    assert_int_equal(blob_put_begin(f->bs, "../../tmp-1", "k", 1, NULL, &w), BLOB_INVALID);
    assert_int_equal(count_files_in(f->dir), 1);
    assert_int_equal(object_files(f), (int)nkeys);
    assert_int_equal(tmp_files(f), 0);
}

/* ---- listing ---- */

static void put_keys(bfixture *f, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        blob_info info;
        assert_int_equal(blob_put(f->bs, BUCKET, keys[i], keys[i], strlen(keys[i]), NULL, &info), BLOB_OK);
    }
}

/* Lists one page and renders it as "key,key|prefix,prefix|T:marker" for compact assertions. */
static char *list_page(bfixture *f, const char *prefix, const char *marker, const char *delim, int max)
{
    blob_list_result r;
    assert_int_equal(blob_list(f->bs, BUCKET, prefix, marker, delim, max, &r), BLOB_OK);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < r.n; i++) {
        buf_printf(&b, "%s%s", i ? "," : "", r.entries[i].key);
        assert_int_equal(r.entries[i].info.size, (int64_t)strlen(r.entries[i].key));
    }
    buf_puts(&b, "|");
    for (size_t i = 0; i < r.nprefixes; i++)
        buf_printf(&b, "%s%s", i ? "," : "", r.common_prefixes[i]);
    if (r.truncated)
        buf_printf(&b, "|T:%s", r.next_marker);
    else
        assert_null(r.next_marker);
    blob_list_free(&r);
    return buf_steal(&b);
}

#define ASSERT_PAGE(expect, ...)                                                                                 \
    do {                                                                                                         \
        char *got_ = list_page(f, __VA_ARGS__);                                                                  \
        assert_string_equal(got_, expect);                                                                       \
        free(got_);                                                                                              \
    } while (0)

static void test_list_prefix_marker_delimiter(void **state)
{
    bfixture *f = *state;
    const char *keys[] = {"d", "a/2", "b", "a", "c/x/y", "a/1", "a/b/1", "b/1", "Z", "z", "\xc3\xa9t\xc3\xa9"};
    put_keys(f, keys, sizeof keys / sizeof keys[0]);

    ASSERT_PAGE("Z,a,a/1,a/2,a/b/1,b,b/1,c/x/y,d,z,\xc3\xa9t\xc3\xa9|", NULL, NULL, NULL, 1000);
    ASSERT_PAGE("Z,a,a/1,a/2,a/b/1,b,b/1,c/x/y,d,z,\xc3\xa9t\xc3\xa9|", "", "", "", 0);
    ASSERT_PAGE("a/1,a/2,a/b/1|", "a/", NULL, NULL, 100);
    ASSERT_PAGE("a,a/1,a/2,a/b/1|", "a", NULL, NULL, 100);
    ASSERT_PAGE("|", "nothing", NULL, NULL, 100);
    ASSERT_PAGE("Z,a,b,d,z,\xc3\xa9t\xc3\xa9|a/,b/,c/", NULL, NULL, "/", 100);
    ASSERT_PAGE("a/1,a/2|a/b/", "a/", NULL, "/", 100);
    ASSERT_PAGE("|c/x/", "c/", NULL, "/", 100);
    ASSERT_PAGE("a/2,a/b/1,b,b/1,c/x/y,d,z,\xc3\xa9t\xc3\xa9|", NULL, "a/1", NULL, 100);
    ASSERT_PAGE("a/2|a/b/", "a/", "a/1", "/", 100);
    ASSERT_PAGE("|", NULL, "\xc3\xa9t\xc3\xa9", NULL, 100);
    /* a marker below the prefix starts at the prefix; one above it ends the listing */
    ASSERT_PAGE("b,b/1|", "b", "a", NULL, 100);
    ASSERT_PAGE("|", "a", "b", NULL, 100);
    /* a multi-character delimiter */
    ASSERT_PAGE("Z,a,a/1,a/2,b,b/1,c/x/y,d,z,\xc3\xa9t\xc3\xa9|a/b/", NULL, NULL, "/b/", 100);

    /* paging with a delimiter: a prefix counts as one item and is never repeated */
    ASSERT_PAGE("Z,a|a/|T:a/", NULL, NULL, "/", 3);
    ASSERT_PAGE("b|b/,c/|T:c/", NULL, "a/", "/", 3);
    ASSERT_PAGE("d,z,\xc3\xa9t\xc3\xa9|", NULL, "c/", "/", 3);
    /* a marker inside a rolled-up prefix does not bring the prefix back */
    ASSERT_PAGE("b,d|b/,c/|T:d", NULL, "a/1", "/", 4);
    /* truncation exactly at the end is not truncation */
    ASSERT_PAGE("a/1,a/2,a/b/1|", "a/", NULL, NULL, 3);
    ASSERT_PAGE("a/1,a/2||T:a/2", "a/", NULL, NULL, 2);
}

static void test_list_paging_sees_every_key_once(void **state)
{
    bfixture *f = *state;
    enum { N = 257 };
    char *keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = xmalloc(32);
        /* a high last character: \xff on disk; S3 keys are UTF-8, so U+00FF there */
        if (i % 3 == 2 && bfx_s3())
            snprintf(keys[i], 32, "k/%03d/\xc3\xbf", (i * 37) % N);
        else
            snprintf(keys[i], 32, "k/%03d/%c", (i * 37) % N, "xy\xff"[i % 3]);
    }
    put_keys(f, (const char *const *)keys, N);
    int seen = 0;
    char *marker = NULL, *prev = xstrdup("");
    for (int page = 0; page < 100; page++) {
        blob_list_result r;
        assert_int_equal(blob_list(f->bs, BUCKET, "k/", marker, NULL, 10, &r), BLOB_OK);
        for (size_t i = 0; i < r.n; i++) {
            assert_true(strcmp(prev, r.entries[i].key) < 0); /* strictly increasing: no repeats */
            free(prev);
            prev = xstrdup(r.entries[i].key);
            seen++;
        }
        free(marker);
        marker = r.truncated ? xstrdup(r.next_marker) : NULL;
        bool more = r.truncated;
        blob_list_free(&r);
        if (!more)
            break;
    }
    assert_int_equal(seen, N);
    free(prev);
    free(marker);
    for (int i = 0; i < N; i++)
        free(keys[i]);
}

static void test_list_high_byte_prefix(void **state)
{
    bfixture *f = *state;
    const char *keys[] = {"\xff", "\xff\xff", "\xff" "a", "z", "\xfe\xff"};
    put_keys(f, keys, sizeof keys / sizeof keys[0]);
    ASSERT_PAGE("\xff,\xff" "a,\xff\xff|", "\xff", NULL, NULL, 100);
    ASSERT_PAGE("\xfe\xff|", "\xfe", NULL, NULL, 100);
    ASSERT_PAGE("z|\xfe\xff,\xff", NULL, "a", "\xff", 100);
}

/* ---- concurrency ---- */

enum { PUTTERS = 8, PUTS_EACH = 12 };

typedef struct putter {
    blob_store *bs;
    int id;
    int failures;
} putter;

static void *put_same_key(void *arg)
{
    putter *p = arg;
    size_t size = 1024 + (size_t)p->id * 7919;
    char *data = xmalloc(size);
    memset(data, 'A' + p->id, size);
    for (int i = 0; i < PUTS_EACH; i++) {
        blob_writer *w;
        blob_info info;
        if (blob_put_begin(p->bs, BUCKET, "shared/key", 10, NULL, &w) != BLOB_OK) {
            p->failures++;
            continue;
        }
        /* several chunks, so writers interleave */
        for (size_t off = 0; off < size; off += 4096)
            blob_put_write(w, data + off, size - off < 4096 ? size - off : 4096);
        if (blob_put_commit(w, &info) != BLOB_OK || info.size != (int64_t)size)
            p->failures++;
    }
    free(data);
    return NULL;
}

typedef struct reader_ctx {
    blob_store *bs;
    atomic_int stop;
    int bad;
    int reads;
} reader_ctx;

/* Whatever a reader opens is one writer's whole object, matching the head it was given. */
static void *read_shared(void *arg)
{
    reader_ctx *c = arg;
    while (!c->stop) {
        int fd;
        blob_info info;
        if (blob_open_read(c->bs, BUCKET, "shared/key", 10, &fd, &info) != BLOB_OK)
            continue;
        struct stat st;
        char first = 0, b = 0;
        bool ok = fstat(fd, &st) == 0 && st.st_size == info.size && read(fd, &first, 1) == 1;
        size_t expect = 1024 + (size_t)(first - 'A') * 7919;
        ok = ok && (size_t)info.size == expect && pread(fd, &b, 1, info.size - 1) == 1 && b == first;
        close(fd);
        if (!ok)
            c->bad++;
        c->reads++;
    }
    return NULL;
}

static void test_concurrent_puts_of_one_key(void **state)
{
    bfixture *f = *state;
    putter p[PUTTERS];
    pthread_t t[PUTTERS], rt;
    reader_ctx rc = {.bs = f->bs};
    /* s3rver rewrites an object's file in place, so a read racing a write there can be torn; S3
     * replaces objects atomically, but s3rver cannot show it: no concurrent reader on S3 */
    bool reader = !bfx_s3();
    if (reader)
        pthread_create(&rt, NULL, read_shared, &rc);
    for (int i = 0; i < PUTTERS; i++) {
        p[i] = (putter){.bs = f->bs, .id = i};
        pthread_create(&t[i], NULL, put_same_key, &p[i]);
    }
    for (int i = 0; i < PUTTERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(p[i].failures, 0);
    }
    rc.stop = 1;
    if (reader)
        pthread_join(rt, NULL);
    assert_int_equal(rc.bad, 0);

    size_t n;
    blob_info head, opened;
    assert_int_equal(blob_head(f->bs, BUCKET, "shared/key", 10, &head), BLOB_OK);
    char *data = bfx_read(f->bs, BUCKET, "shared/key", 10, &n, &opened);
    char md5[33];
    bfx_md5_hex(data, n, md5);
    assert_string_equal(head.etag, md5);
    assert_int_equal(head.size, (int64_t)n);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(data[i], data[0]);
    free(data);
    FS_ONLY(assert_int_equal(tmp_files(f), 0); assert_int_equal(object_files(f), 1));
}

/* ---- persistence and crash debris ---- */

static void make_file(const char *path, time_t age_s)
{
    assert_true(fs_write_file_atomic(path, "x", 1, 0644));
    if (age_s) {
        struct timespec t[2] = {{time(NULL) - age_s, 0}, {time(NULL) - age_s, 0}};
        assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    }
}

/* Debris of killed puts: temp files, and object files no row names. While another handle holds the
 * root open only old debris may go (it could be a live put's); opened alone, the store removes all. */
static void test_reopen_keeps_objects_and_clears_debris(void **state)
{
    bfixture *f = *state;
    blob_info info;
    assert_int_equal(blob_put(f->bs, BUCKET, "kept", "data", 4, "text/plain", &info), BLOB_OK);
    char hex[65], dir[256], stale[256], fresh[256], stale_orphan[512], fresh_orphan[512];
    snprintf(stale, sizeof stale, "%s/tmp/old.part", f->root);
    snprintf(fresh, sizeof fresh, "%s/tmp/new.part", f->root);
    sha256_hex(BUCKET, "gone", 4, hex);
    snprintf(dir, sizeof dir, "%s/objects/%.2s", f->root, hex);
    mkdir(dir, 0755);
    snprintf(stale_orphan, sizeof stale_orphan, "%s/%s.%032d", dir, hex, 1);
    snprintf(fresh_orphan, sizeof fresh_orphan, "%s/%s.%032d", dir, hex, 2);
    make_file(stale, 3 * 86400);
    make_file(fresh, 0);
    make_file(stale_orphan, 3 * 86400);
    make_file(fresh_orphan, 0);

    blob_store *second = bfx_open(f->root, 0); /* shares the root with f->bs */
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(stale_orphan, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(access(fresh_orphan, F_OK), 0);
    blob_info head;
    assert_int_equal(blob_head(second, BUCKET, "kept", 4, &head), BLOB_OK);
    blob_close(second);

    blob_close(f->bs);
    f->bs = bfx_open(f->root, 0); /* alone now */
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(access(fresh_orphan, F_OK), -1);
    assert_int_equal(tmp_files(f), 0);
    assert_int_equal(object_files(f), 1);
    assert_true(blob_bucket_exists(f->bs, BUCKET));
    assert_int_equal(blob_head(f->bs, BUCKET, "kept", 4, &head), BLOB_OK);
    assert_string_equal(head.etag, info.etag);
    assert_string_equal(head.content_type, "text/plain");
    size_t n;
    char *data = bfx_read(f->bs, BUCKET, "kept", 4, &n, &head);
    assert_int_equal(n, 4);
    assert_memory_equal(data, "data", 4);
    free(data);
}

static int user_version(const char *root)
{
    char path[256];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A data directory written by index version 1 (one file per object, named by the bare hash, and an
 * index without file names) opens, reads, and moves each object to a versioned file on its next put. */
static void test_upgrade_from_version_1(void **state)
{
    bfixture *f = *state;
    blob_close(f->bs);
    nftw(f->root, brm_entry, 8, FTW_DEPTH | FTW_PHYS);
    char hex[65], dir[256], legacy[512], path[256];
    sha256_hex(BUCKET, "old/key", 7, hex);
    snprintf(dir, sizeof dir, "%s/objects/%.2s", f->root, hex);
    assert_true(fs_mkdirs(dir, 0755));
    snprintf(path, sizeof path, "%s/tmp", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(legacy, sizeof legacy, "%s/%s", dir, hex);
    assert_true(fs_write_file_atomic(legacy, "version one", 11, 0644));
    char md5[33];
    bfx_md5_hex("version one", 11, md5);

    snprintf(path, sizeof path, "%s/index.db", f->root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* version 1's schema, as it wrote it */
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE buckets(name TEXT PRIMARY KEY, create_ms INTEGER NOT NULL);"
                                  "CREATE TABLE objects(bucket TEXT NOT NULL, key BLOB NOT NULL,"
                                  " size INTEGER NOT NULL, etag TEXT NOT NULL, mtime_ms INTEGER NOT NULL,"
                                  " content_type TEXT NOT NULL, PRIMARY KEY(bucket, key)) WITHOUT ROWID;"
                                  "PRAGMA user_version = 1;"
                                  "INSERT INTO buckets VALUES('" BUCKET "', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO objects VALUES(?1, ?2, 11, ?3, 1000, 'text/plain')", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, BUCKET, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, "old/key", 7, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, md5, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);

    f->bs = bfx_open(f->root, 0);
    assert_int_equal(user_version(f->root), 2);
    blob_info head;
    assert_int_equal(blob_head(f->bs, BUCKET, "old/key", 7, &head), BLOB_OK);
    assert_string_equal(head.etag, md5);
    size_t n;
    char *data = bfx_read(f->bs, BUCKET, "old/key", 7, &n, &head);
    assert_int_equal(n, 11);
    assert_memory_equal(data, "version one", 11);
    free(data);
    blob_list_result list;
    assert_int_equal(blob_list(f->bs, BUCKET, "old/", NULL, NULL, 10, &list), BLOB_OK);
    assert_int_equal(list.n, 1);
    blob_list_free(&list);

    /* the next put moves the object to a versioned file and removes the old one */
    assert_int_equal(blob_put(f->bs, BUCKET, "old/key", "version two", 11, NULL, &head), BLOB_OK);
    assert_int_equal(access(legacy, F_OK), -1);
    assert_int_equal(object_files(f), 1);
    blob_close(f->bs);
    f->bs = bfx_open(f->root, 0); /* reopening an upgraded index changes nothing */
    assert_int_equal(user_version(f->root), 2);
    data = bfx_read(f->bs, BUCKET, "old/key", 7, &n, &head);
    assert_int_equal(n, 11);
    assert_memory_equal(data, "version two", 11);
    free(data);
    assert_int_equal(blob_delete(f->bs, BUCKET, "old/key", 7), BLOB_OK);
    assert_int_equal(object_files(f), 0);
}

static void test_rc_messages(void **state)
{
    (void)state;
    for (int rc = BLOB_OK; rc <= BLOB_IO; rc++)
        assert_true(strlen(blob_rc_message((blob_rc)rc)) > 0);
    assert_string_not_equal(blob_rc_message(BLOB_NO_KEY), blob_rc_message(BLOB_NO_BUCKET));
}

int main(void)
{
    if (!bfx_backend_available())
        return 77;
    const struct CMUnitTest both[] = {
        cmocka_unit_test_setup_teardown(test_bucket_names, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_bucket_check, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_put_head_read_delete, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_missing_bucket_and_key, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_object_and_default_type, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_replaces, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_streaming_put_and_abort, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_open_range, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_odd_keys_round_trip, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_list_prefix_marker_delimiter, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_list_paging_sees_every_key_once, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts_of_one_key, bfx_setup, bfx_teardown),
        cmocka_unit_test(test_rc_messages),
    };
    /* the file-system backend's own promises, and keys only it can hold */
    const struct CMUnitTest fs_only[] = {
        cmocka_unit_test_setup_teardown(test_hostile_keys_stay_inside_root, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_list_high_byte_prefix, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_objects_and_clears_debris, bfx_setup, bfx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_version_1, bfx_setup, bfx_teardown),
    };
    int failed = cmocka_run_group_tests_name(bfx_s3() ? "both backends (s3)" : "both backends (fs)", both, NULL, NULL);
    if (!bfx_s3())
        failed += cmocka_run_group_tests_name("fs only", fs_only, NULL, NULL);
    return failed;
}
