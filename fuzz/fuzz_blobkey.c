/* fuzz_blobkey.c — libFuzzer target for object keys and bucket names in the embedded object store
 * (src/blob). The first input byte holds flags: bit 0 takes the bucket name from the input too
 * (up to its first NUL; else the bucket is a fixed, existing one), bit 1 creates that bucket first,
 * bit 2 overwrites the object once more, bit 3 lists with "/" as the delimiter. The rest is the key,
 * NULs included. Every input runs put (streamed in two chunks), head, open_read, list, delete, on
 * one store in a temporary directory (/dev/shm when there is one, for speed) created on the first
 * input. Besides crashes, leaks and UB it checks the store's promises: a bucket and key accepted by
 * the rules (bucket ^[a-z0-9][a-z0-9-]{0,48}-[0-9]+$, at most 63 bytes; key 1..BLOB_MAX_KEY bytes
 * without NUL, checked here independently) put and read back the same bytes with the MD5 ETag, are
 * listed under their own prefix and deleted; anything else gives BLOB_INVALID from every call; the
 * file read is inside the store's objects/; no temp file is left; and nothing
 * appears beside the root and every file in it is the index, its lock or an object file (checked
 * after each of the first 256 inputs, then after every 256th).
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over corpus/blobkey.
 *
 * Run:      build-fuzz/fuzz/fuzz_blobkey -jobs=1 -runs=1000000 WORK fuzz/corpus/blobkey */
#include "blob/blob.h"
#include "util/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_BUCKET "fuzzbucket-1250000000"
#define FUZZ_MAX_INPUT 2048 /* keys stop at 850 bytes; longer inputs only slow the search down */
#define FULL_CHECK_EVERY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];    /* the temporary directory: holds only root/ */
static char root[128];  /* dir/root */
static blob_store *bs;
static unsigned long inputs;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_blobkey: broken promise: %s\n", what);
        abort();
    }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    blob_close(bs);
    bs = NULL;
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void open_store(void)
{
    strlcpy_ok(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/fuzz-blob-XXXXXX" : "/tmp/fuzz-blob-XXXXXX", sizeof dir);
    check(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(root, sizeof root, "%s/root", dir);
    blob_params p = blob_default_params();
    p.root = root;
    char err[256];
    bs = blob_open(&p, err, sizeof err);
    check(bs != NULL, err);
    check(blob_bucket_create(bs, FUZZ_BUCKET) == BLOB_OK, "create the fixed bucket");
    atexit(cleanup);
}

/* The rules, written again from the documentation rather than shared with blob_fs.c. */
static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool expect_bucket_ok(const char *b)
{
    size_t n = strlen(b), dash = n;
    while (dash > 0 && b[dash - 1] != '-')
        dash--;
    if (n > 63 || dash < 2 || dash == n || !lower_alnum(b[0]) || dash - 1 > 49)
        return false;
    for (size_t i = dash; i < n; i++)
        if (b[i] < '0' || b[i] > '9')
            return false;
    for (size_t i = 1; i + 1 < dash; i++)
        if (!lower_alnum(b[i]) && b[i] != '-')
            return false;
    return true;
}

static bool expect_key_ok(const char *key, size_t n)
{
    return n >= 1 && n <= BLOB_MAX_KEY && !memchr(key, '\0', n);
}

static void md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    check(EVP_Digest(p, n, d, &len, EVP_md5(), NULL) == 1, "MD5");
    hex_encode(d, len, out);
}

static int files_in(const char *path)
{
    DIR *d = opendir(path);
    check(d != NULL, "opendir");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool hex_name(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Nothing beside root; in root only the index, the lock, tmp/ (empty) and objects/<2 hex>/ holding
 * <64 hex>.<32 hex> files whose directory matches their name. */
static void check_tree(void)
{
    check(files_in(dir) == 1, "nothing appears beside the store root");
    char sub[256];
    snprintf(sub, sizeof sub, "%s/tmp", root);
    check(files_in(sub) == 0, "no temp file is left");
    DIR *d = opendir(root);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        check(e->d_name[0] == '.' || strncmp(e->d_name, "index.db", 8) == 0 || strcmp(e->d_name, "lock") == 0 ||
                  strcmp(e->d_name, "tmp") == 0 || strcmp(e->d_name, "objects") == 0,
              "only the store's own names in the root");
    closedir(d);
    snprintf(sub, sizeof sub, "%s/objects", root);
    d = opendir(sub);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        check(hex_name(e->d_name, 2), "objects/ holds only <2 hex> directories");
        char path[512];
        snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
        DIR *o = opendir(path);
        check(o != NULL, "objects/<2 hex> is a directory");
        for (struct dirent *f; (f = readdir(o)) != NULL;)
            check(f->d_name[0] == '.' || (strncmp(f->d_name, e->d_name, 2) == 0 && strlen(f->d_name) == 97 &&
                                          f->d_name[64] == '.' && strspn(f->d_name, "0123456789abcdef") == 64),
                  "object file names");
        closedir(o);
    }
    closedir(d);
}

/* Reads the object back: the same bytes, the same ETag, a file inside objects/. */
static void check_read(const char *bucket, const char *key, size_t keylen, const char *body, size_t n,
                       const char *etag)
{
    blob_info head, opened;
    check(blob_head(bs, bucket, key, keylen, &head) == BLOB_OK, "head of a put object");
    check(head.size == (int64_t)n && strcmp(head.etag, etag) == 0, "head describes the put");
    int fd = -1;
    check(blob_open_read(bs, bucket, key, keylen, &fd, &opened) == BLOB_OK && fd >= 0, "open of a put object");
    check(strcmp(opened.etag, etag) == 0, "open_read's info describes the put");
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t tl = readlink(link, target, sizeof target - 1);
    if (tl > 0) {
        target[tl] = '\0';
        char objects[160];
        snprintf(objects, sizeof objects, "%s/objects/", root);
        check(strncmp(target, objects, strlen(objects)) == 0, "the file read is inside objects/");
    }
    char *got = xmalloc(n + 1);
    size_t have = 0;
    ssize_t r;
    while (have <= n && (r = read(fd, got + have, n + 1 - have)) > 0)
        have += (size_t)r;
    close(fd);
    check(have == n && memcmp(got, body, n) == 0, "the same bytes come back");
    free(got);
}

static blob_rc put(const char *bucket, const char *key, size_t keylen, const char *body, size_t n, blob_info *info)
{
    blob_writer *w;
    blob_rc rc = blob_put_begin(bs, bucket, key, keylen, "application/x-fuzz", &w);
    if (rc != BLOB_OK)
        return rc;
    size_t half = n / 2;
    check(blob_put_write(w, body, half) == BLOB_OK && blob_put_write(w, body + half, n - half) == BLOB_OK,
          "writes to a begun put");
    return blob_put_commit(w, info);
}

static void check_listed(const char *bucket, const char *key, size_t keylen, bool delimit)
{
    char *prefix = xstrndup(key, keylen);
    blob_list_result list;
    check(blob_list(bs, bucket, prefix, NULL, delimit ? "/" : NULL, 2, &list) == BLOB_OK, "list");
    /* the key is the smallest with itself as prefix: listed first, unless the delimiter rolls it
     * into a common prefix (a "/" after the prefix, which is the whole key: never) */
    check(list.n >= 1 && strcmp(list.entries[0].key, prefix) == 0, "the key lists under its own prefix");
    blob_list_free(&list);
    free(prefix);
}

static void valid_round(const char *bucket, const char *key, size_t keylen, uint8_t flags)
{
    char etag[33];
    blob_info info;
    const char *body = key;
    size_t n = keylen;
    check(put(bucket, key, keylen, body, n, &info) == BLOB_OK, "a valid key puts");
    md5_hex(body, n, etag);
    check(strcmp(info.etag, etag) == 0 && info.size == (int64_t)n, "the put's ETag is the MD5");
    if (flags & 4) { /* an overwrite with other bytes */
        body = "overwritten";
        n = 11;
        check(put(bucket, key, keylen, body, n, &info) == BLOB_OK, "an overwrite puts");
        md5_hex(body, n, etag);
    }
    check_read(bucket, key, keylen, body, n, etag);
    check_listed(bucket, key, keylen, flags & 8);
    check(blob_delete(bs, bucket, key, keylen) == BLOB_OK, "delete of a put object");
    blob_info head;
    check(blob_head(bs, bucket, key, keylen, &head) == BLOB_NO_KEY, "a deleted key is gone");
    check(blob_delete(bs, bucket, key, keylen) == BLOB_NO_KEY, "a second delete finds nothing");
}

static void invalid_round(const char *bucket, const char *key, size_t keylen, bool bucket_ok)
{
    blob_info info;
    blob_writer *w = NULL;
    int fd = 7;
    check(blob_put_begin(bs, bucket, key, keylen, NULL, &w) == BLOB_INVALID && !w, "put of an invalid name");
    check(blob_head(bs, bucket, key, keylen, &info) == BLOB_INVALID, "head of an invalid name");
    check(blob_open_read(bs, bucket, key, keylen, &fd, &info) == BLOB_INVALID && fd == -1, "open of an invalid name");
    check(blob_delete(bs, bucket, key, keylen) == BLOB_INVALID, "delete of an invalid name");
    blob_list_result list;
    blob_rc rc = blob_list(bs, bucket, "", NULL, NULL, 10, &list);
    check(bucket_ok ? rc != BLOB_INVALID : rc == BLOB_INVALID, "list judges the bucket alone");
    if (rc == BLOB_OK)
        blob_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (!bs)
        open_store();
    uint8_t flags = data[0];
    const char *rest = (const char *)data + 1;
    size_t restlen = size - 1;
    char *bucket;
    const char *key = rest;
    size_t keylen = restlen;
    if (flags & 1) {
        const char *nul = memchr(rest, '\0', restlen);
        size_t blen = nul ? (size_t)(nul - rest) : restlen;
        bucket = xstrndup(rest, blen);
        key = nul ? nul + 1 : rest + restlen;
        keylen = nul ? restlen - blen - 1 : 0;
    } else {
        bucket = xstrdup(FUZZ_BUCKET);
    }
    bool bucket_ok = expect_bucket_ok(bucket), key_ok = expect_key_ok(key, keylen);
    if (flags & 2)
        check(blob_bucket_create(bs, bucket) == (bucket_ok ? BLOB_OK : BLOB_INVALID), "bucket create");
    bool exists = blob_bucket_exists(bs, bucket);
    check(!exists || bucket_ok, "only valid buckets exist");
    check(exists || !(flags & 2) || !bucket_ok, "a created bucket exists");
    if (bucket_ok && key_ok && exists) {
        valid_round(bucket, key, keylen, flags);
    } else if (bucket_ok && key_ok) {
        blob_writer *w = NULL;
        check(blob_put_begin(bs, bucket, key, keylen, NULL, &w) == BLOB_NO_BUCKET && !w, "put to a missing bucket");
    } else {
        invalid_round(bucket, key, keylen, bucket_ok);
    }
    free(bucket);
    if (inputs < FULL_CHECK_EVERY || inputs % FULL_CHECK_EVERY == 0) /* every input of a replay */
        check_tree();
    inputs++;
    return 0;
}
