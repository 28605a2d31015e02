/* blob_fixture.h — what the object-store tests share: a mkdtemp directory holding the store's root
 * (so files escaping the root would be visible beside it), MD5 helpers, reading an object back. */
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

typedef struct bfixture {
    char dir[64];   /* the mkdtemp directory: holds only root/ */
    char root[128]; /* dir/root */
    blob_store *bs;
} bfixture;

static inline int brm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

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

static inline int bfx_setup(void **state)
{
    bfixture *f = xcalloc(1, sizeof *f);
    strlcpy_ok(f->dir, "/tmp/cicada-blob-XXXXXX", sizeof f->dir);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->dir);
    f->bs = bfx_open(f->root, 0);
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
