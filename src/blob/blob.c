/* blob.c — the object store's one public interface in front of its backends (blob_fs.c, blob_s3.c;
 * see blob_internal.h): picks the backend at open, checks every bucket name and key once for both,
 * counts a streamed put against max_object_size and computes its MD5 ETag on the way, so the two
 * backends cannot differ on those rules. */
#include "blob/blob_internal.h"

#include "util/util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct blob_store {
    const blob_backend *be;
    void *impl;
    int64_t max_size;
};

struct blob_writer {
    blob_store *bs;
    void *impl;         /* the backend's writer */
    EVP_MD_CTX *md5;
    int64_t size;
    blob_rc failed;     /* BLOB_OK while healthy; sticky once not */
};

blob_params blob_default_params(void)
{
    blob_params p = {
        .root = "objects",
        .max_object_size = 5LL * 1024 * 1024 * 1024,
        .s3_region = "us-east-1",
        .s3_prefix = "",
        .s3_path_style = -1,
        .s3_part_size = 16LL * 1024 * 1024,
        .s3_connect_timeout_ms = 5000,
        .s3_idle_timeout_ms = 30000,
        .s3_retries = 3,
    };
    return p;
}

const char *blob_rc_message(blob_rc rc)
{
    switch (rc) {
    case BLOB_OK: return "ok";
    case BLOB_NO_BUCKET: return "the bucket does not exist";
    case BLOB_NO_KEY: return "the key does not exist";
    case BLOB_INVALID: return "invalid bucket name or key";
    case BLOB_TOO_LARGE: return "the object is larger than the maximum object size";
    case BLOB_IO: return "storage failure";
    }
    return "unknown error";
}

/* ---- names ---- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool blob_bucket_valid(const char *b)
{
    if (!b)
        return false;
    size_t len = strnlen(b, BLOB_BUCKET_MAX + 1);
    const char *dash = strrchr(b, '-');
    if (len > BLOB_BUCKET_MAX || !dash || !dash[1])
        return false;
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    size_t name_len = (size_t)(dash - b);
    if (name_len < 1 || name_len > 49 || !is_lower_alnum(b[0]))
        return false;
    for (size_t i = 1; i < name_len; i++)
        if (!is_lower_alnum(b[i]) && b[i] != '-')
            return false;
    return true;
}

bool blob_key_valid(const char *key, size_t keylen)
{
    return key && keylen >= 1 && keylen <= BLOB_MAX_KEY && !memchr(key, '\0', keylen);
}

static bool object_ok(const blob_store *bs, const char *bucket, const char *key, size_t keylen)
{
    return blob_bucket_valid(bucket) && blob_key_valid(key, keylen) &&
           (!bs->be->key_ok || bs->be->key_ok(key, keylen));
}

int blob_bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* ---- open / close ---- */

blob_store *blob_open(const blob_params *p, char *err, size_t errlen)
{
    blob_params def = blob_default_params();
    if (!p)
        p = &def;
    const blob_backend *be = p->s3_endpoint && p->s3_endpoint[0] ? &blob_s3_backend : &blob_fs_backend;
    void *impl = be == &blob_s3_backend ? blob_s3_open(p, err, errlen) : blob_fs_open(p, err, errlen);
    if (!impl)
        return NULL;
    blob_store *bs = xcalloc(1, sizeof *bs);
    bs->be = be;
    bs->impl = impl;
    bs->max_size = p->max_object_size > 0 ? p->max_object_size : def.max_object_size;
    return bs;
}

void blob_close(blob_store *bs)
{
    if (!bs)
        return;
    bs->be->close(bs->impl);
    free(bs);
}

const char *blob_backend_name(const blob_store *bs)
{
    return bs->be->name;
}

/* ---- buckets ---- */

blob_rc blob_bucket_create(blob_store *bs, const char *bucket)
{
    if (!blob_bucket_valid(bucket))
        return BLOB_INVALID;
    return bs->be->bucket_create(bs->impl, bucket);
}

bool blob_bucket_exists(blob_store *bs, const char *bucket)
{
    return blob_bucket_valid(bucket) && bs->be->bucket_exists(bs->impl, bucket) == BLOB_OK;
}

blob_rc blob_bucket_check(blob_store *bs, const char *bucket, char *why, size_t whylen)
{
    if (whylen)
        why[0] = '\0';
    if (!blob_bucket_valid(bucket)) {
        err_printf(why, whylen, "bucket %s: not a valid bucket name", bucket);
        return BLOB_INVALID;
    }
    blob_rc rc = bs->be->bucket_check(bs->impl, bucket, why, whylen);
    if (rc == BLOB_NO_BUCKET)
        err_printf(why, whylen, "bucket %s does not exist", bucket);
    return rc;
}

/* ---- streaming put ---- */

blob_rc blob_put_begin(blob_store *bs, const char *bucket, const char *key, size_t keylen, const char *content_type,
                       blob_writer **out)
{
    *out = NULL;
    if (!object_ok(bs, bucket, key, keylen))
        return BLOB_INVALID;
    blob_rc rc = bs->be->bucket_exists(bs->impl, bucket);
    if (rc != BLOB_OK)
        return rc;
    blob_writer *w = xcalloc(1, sizeof *w);
    w->bs = bs;
    w->md5 = EVP_MD_CTX_new();
    if (!w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        log_error("blob: MD5 unavailable");
        EVP_MD_CTX_free(w->md5);
        free(w);
        return BLOB_IO;
    }
    char ctype[128];
    strlcpy_ok(ctype, content_type && content_type[0] ? content_type : "application/octet-stream", sizeof ctype);
    rc = bs->be->put_begin(bs->impl, bucket, key, keylen, ctype, &w->impl);
    if (rc != BLOB_OK) {
        EVP_MD_CTX_free(w->md5);
        free(w);
        return rc;
    }
    *out = w;
    return BLOB_OK;
}

blob_rc blob_put_write(blob_writer *w, const void *data, size_t n)
{
    if (w->failed != BLOB_OK)
        return w->failed;
    if (n > (uint64_t)(w->bs->max_size - w->size)) {
        w->failed = BLOB_TOO_LARGE;
        return w->failed;
    }
    if (EVP_DigestUpdate(w->md5, data, n) != 1) {
        log_error("blob: MD5 update failed");
        w->failed = BLOB_IO;
        return w->failed;
    }
    blob_rc rc = w->bs->be->put_write(w->impl, data, n);
    if (rc != BLOB_OK) {
        w->failed = rc;
        return rc;
    }
    w->size += (int64_t)n;
    return BLOB_OK;
}

static void writer_free(blob_writer *w)
{
    EVP_MD_CTX_free(w->md5);
    free(w);
}

void blob_put_abort(blob_writer *w)
{
    if (!w)
        return;
    w->bs->be->put_abort(w->impl);
    writer_free(w);
}

blob_rc blob_put_commit(blob_writer *w, blob_info *out)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (w->failed == BLOB_OK && (EVP_DigestFinal_ex(w->md5, digest, &dlen) != 1 || dlen != 16)) {
        log_error("blob: MD5 final failed");
        w->failed = BLOB_IO;
    }
    if (w->failed != BLOB_OK) {
        blob_rc rc = w->failed;
        blob_put_abort(w);
        return rc;
    }
    char md5[33];
    hex_encode(digest, dlen, md5);
    blob_info info;
    blob_rc rc = w->bs->be->put_commit(w->impl, md5, w->size, &info);
    writer_free(w);
    if (rc == BLOB_OK && out)
        *out = info;
    return rc;
}

blob_rc blob_put(blob_store *bs, const char *bucket, const char *key, const void *data, size_t n,
                 const char *content_type, blob_info *out)
{
    if (!key)
        return BLOB_INVALID;
    blob_writer *w;
    blob_rc rc = blob_put_begin(bs, bucket, key, strlen(key), content_type, &w);
    if (rc != BLOB_OK)
        return rc;
    rc = blob_put_write(w, data, n);
    if (rc != BLOB_OK) {
        blob_put_abort(w);
        return rc;
    }
    return blob_put_commit(w, out);
}

/* ---- reads and deletes ---- */

blob_rc blob_head(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out)
{
    if (!object_ok(bs, bucket, key, keylen))
        return BLOB_INVALID;
    blob_info info;
    blob_rc rc = bs->be->head(bs->impl, bucket, key, keylen, &info);
    if (rc == BLOB_OK && out)
        *out = info;
    return rc;
}

blob_rc blob_open_read(blob_store *bs, const char *bucket, const char *key, size_t keylen, int *fd, blob_info *out)
{
    *fd = -1;
    if (!object_ok(bs, bucket, key, keylen))
        return BLOB_INVALID;
    blob_info info;
    blob_rc rc = bs->be->open_read(bs->impl, bucket, key, keylen, fd, &info);
    if (rc == BLOB_OK && out)
        *out = info;
    return rc;
}

blob_rc blob_open_range(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_range_fn choose,
                        void *ud, blob_reader *out, blob_info *info)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (!object_ok(bs, bucket, key, keylen))
        return BLOB_INVALID;
    blob_info tmp;
    return bs->be->open_range(bs->impl, bucket, key, keylen, choose, ud, out, info ? info : &tmp);
}

blob_rc blob_delete(blob_store *bs, const char *bucket, const char *key, size_t keylen)
{
    if (!object_ok(bs, bucket, key, keylen))
        return BLOB_INVALID;
    return bs->be->del(bs->impl, bucket, key, keylen);
}

/* ---- listing ---- */

blob_entry *blob_list_add_entry(blob_list_builder *b, const char *key, size_t keylen)
{
    blob_list_result *r = b->out;
    if (r->n == b->entries_cap) {
        b->entries_cap = b->entries_cap ? 2 * b->entries_cap : 16;
        r->entries = xrealloc(r->entries, b->entries_cap * sizeof *r->entries);
    }
    blob_entry *e = &r->entries[r->n++];
    memset(e, 0, sizeof *e);
    e->key = xstrndup(key, keylen);
    return e;
}

void blob_list_add_prefix(blob_list_builder *b, const char *prefix, size_t len)
{
    blob_list_result *r = b->out;
    if (r->nprefixes == b->prefixes_cap) {
        b->prefixes_cap = b->prefixes_cap ? 2 * b->prefixes_cap : 8;
        r->common_prefixes = xrealloc(r->common_prefixes, b->prefixes_cap * sizeof *r->common_prefixes);
    }
    r->common_prefixes[r->nprefixes++] = xstrndup(prefix, len);
}

blob_rc blob_list(blob_store *bs, const char *bucket, const char *prefix, const char *marker, const char *delimiter,
                  int max_keys, blob_list_result *out)
{
    memset(out, 0, sizeof *out);
    if (!blob_bucket_valid(bucket))
        return BLOB_INVALID;
    blob_rc rc = bs->be->list(bs->impl, bucket, prefix ? prefix : "", marker ? marker : "", delimiter ? delimiter : "",
                              max_keys >= 1 && max_keys <= 1000 ? max_keys : 1000, out);
    if (rc != BLOB_OK)
        blob_list_free(out);
    return rc;
}

void blob_list_free(blob_list_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->entries[i].key);
    for (size_t i = 0; i < r->nprefixes; i++)
        free(r->common_prefixes[i]);
    free(r->entries);
    free(r->common_prefixes);
    free(r->next_marker);
    memset(r, 0, sizeof *r);
}
