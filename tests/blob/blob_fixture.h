/* blob_fixture.h — what the object-store tests share: the backend under test, a mkdtemp directory
 * holding the store's root (so files escaping the root would be visible beside it), MD5 helpers,
 * reading an object back.
 *
 * One suite, two backends: with CICADA_TEST_BLOB=s3 the same tests run against the S3 backend on
 * the s3_server fixture's s3rver (tests/support; CICADA_TEST_S3_DIR holds its port file), each test
 * case under its own random S3 key prefix so cases never see each other's objects. A test main()
 * calls bfx_backend_available() first: it returns false (the test then exits 77) with the reason
 * printed when S3 was asked for and no server is there. */
#ifndef CICADA_TEST_BLOB_FIXTURE_H
#define CICADA_TEST_BLOB_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob/blob.h"
#include "util/util.h"

#define BUCKET "examplebucket-1250000000"

#define BFX_S3_BUCKET "cicada-test"   /* created by tests/support/s3rver/start.sh */
#define BFX_S3_PART (5LL * 1024 * 1024)

typedef struct bfixture {
    char dir[64];   /* the mkdtemp directory: holds only root/ */
    char root[128]; /* dir/root */
    char prefix[64]; /* S3: this case's key prefix */
    blob_store *bs;
} bfixture;

/* True when the tests run against the S3 backend. */
static inline bool bfx_s3(void)
{
    const char *b = getenv("CICADA_TEST_BLOB");
    return b && strcmp(b, "s3") == 0;
}

/* True when the S3 backend is to address the bucket as a virtual host (CICADA_TEST_S3_VHOST=1). */
static inline bool bfx_s3_vhost(void)
{
    const char *v = getenv("CICADA_TEST_S3_VHOST");
    return v && strcmp(v, "1") == 0;
}

/* "http://127.0.0.1:PORT" of the fixture's server into out ("http://s3.localhost:PORT" for virtual
 * hosts: the bucket's host is then cicada-test.s3.localhost, which run.js's s3rver maps to the
 * bucket); false with the reason in why. */
static inline bool bfx_s3_endpoint(char *out, size_t outlen, char *why, size_t whylen)
{
    const char *dir = getenv("CICADA_TEST_S3_DIR");
    if (!dir || !dir[0]) {
        snprintf(why, whylen, "CICADA_TEST_S3_DIR is not set: run through ctest (the s3_server fixture)");
        return false;
    }
    char path[512], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/unavailable", dir);
    if (fs_read_file(path, &text, &len, 4096)) {
        snprintf(why, whylen, "no S3 test server: %s", text);
        free(text);
        return false;
    }
    snprintf(path, sizeof path, "%s/port", dir);
    if (!fs_read_file(path, &text, &len, 64)) {
        snprintf(why, whylen, "no S3 test server: %s is missing (is the s3_server fixture running?)", path);
        return false;
    }
    snprintf(out, outlen, "http://%s:%d", bfx_s3_vhost() ? "s3.localhost" : "127.0.0.1", atoi(text));
    free(text);
    return true;
}

/* The params of the backend under test for root, with this case's prefix. */
static inline blob_params bfx_params(const char *root, const char *prefix, char *endpoint, size_t eplen)
{
    blob_params p = blob_default_params();
    p.root = root;
    if (bfx_s3()) {
        char why[600];
        if (!bfx_s3_endpoint(endpoint, eplen, why, sizeof why))
            fail_msg("%s", why);
        p.s3_endpoint = endpoint;
        p.s3_bucket = BFX_S3_BUCKET;
        p.s3_prefix = prefix;
        p.s3_access_key = "S3RVER"; /* s3rver's built-in account */
        p.s3_secret_key = "S3RVER";
        p.s3_part_size = BFX_S3_PART;
        p.s3_path_style = bfx_s3_vhost() ? 0 : -1;
    }
    return p;
}

/* Called by main() first: false (exit 77) when the chosen backend cannot run here. */
static inline bool bfx_backend_available(void)
{
    char ep[128], why[600];
    if (bfx_s3() && !bfx_s3_endpoint(ep, sizeof ep, why, sizeof why)) {
        printf("skip: %s\n", why);
        return false;
    }
    printf("object store backend under test: %s\n",
           !bfx_s3() ? "fs" : bfx_s3_vhost() ? "s3 (s3rver), virtual-host addressing" : "s3 (s3rver)");
    return true;
}

static inline int brm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Opens the file-system backend on root. */
static inline blob_store *bfx_open(const char *root, int64_t max_size)
{
    blob_params p = blob_default_params();
    p.root = root;
    if (max_size)
        p.max_object_size = max_size;
    char err[256] = "";
    blob_store *bs = blob_open(&p, err, sizeof err);
    if (!bs)
        fail_msg("blob_open(%s): %s", root, err);
    return bs;
}

/* (Re)opens f's store on the backend under test (f->bs is replaced; close it first). */
static inline blob_store *bfx_reopen(bfixture *f, int64_t max_size)
{
    char endpoint[128];
    blob_params p = bfx_params(f->root, f->prefix, endpoint, sizeof endpoint);
    if (max_size)
        p.max_object_size = max_size;
    char err[1024] = "";
    f->bs = blob_open(&p, err, sizeof err);
    if (!f->bs)
        fail_msg("blob_open(%s): %s", bfx_s3() ? endpoint : f->root, err);
    return f->bs;
}

static inline int bfx_setup(void **state)
{
    bfixture *f = xcalloc(1, sizeof *f);
    strlcpy_ok(f->dir, "/tmp/cicada-blob-XXXXXX", sizeof f->dir);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->dir);
    char rnd[17];
    ids_random_hex(rnd, 16);
    snprintf(f->prefix, sizeof f->prefix, "case-%s/", rnd);
    bfx_reopen(f, 0);
    if (blob_bucket_create(f->bs, BUCKET) != BLOB_OK)
        return -1;
    *state = f;
    return 0;
}

static inline int bfx_teardown(void **state)
{
    bfixture *f = *state;
    blob_close(f->bs);
    nftw(f->dir, brm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static inline void bfx_md5_hex(const void *data, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data, n, d, &len, EVP_md5(), NULL);
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Reads a whole (small) object back; caller frees. */
static inline char *bfx_read(blob_store *bs, const char *bucket, const char *key, size_t keylen, size_t *n,
                             blob_info *info)
{
    int fd = -1;
    blob_rc rc = blob_open_read(bs, bucket, key, keylen, &fd, info);
    if (rc != BLOB_OK)
        fail_msg("blob_open_read: %s", blob_rc_message(rc));
    buf b;
    buf_init(&b);
    char chunk[8192];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&b, chunk, (size_t)r);
    close(fd);
    *n = b.len;
    return buf_steal(&b);
}

#endif
