/* blob_internal.h — what blob.c (backend-independent: dispatch, name checks, the size limit and the
 * MD5 of a put) shares with a backend (blob_fs.c, blob_s3.c). Not part of the public API.
 *
 * blob.c checks every bucket name and key before a backend sees it, counts a put's bytes against
 * max_object_size and computes its MD5; a backend stores, reads and lists. */
#ifndef CICADA_BLOB_INTERNAL_H
#define CICADA_BLOB_INTERNAL_H

#include "blob/blob.h"

#define BLOB_BUCKET_MAX 63
#define BLOB_BACKEND_VERSION 1   /* bump when a member's meaning changes */

/* A backend: every call gets the backend's own handle (impl) or its own writer (w). Buckets and
 * keys are already valid (blob_bucket_valid, blob_key_valid and the backend's key_ok). */
typedef struct blob_backend {
    int version;                 /* BLOB_BACKEND_VERSION */
    const char *name;            /* "fs", "s3" */
    void (*close)(void *impl);
    /* Extra key rule of the backend (S3: UTF-8 text); NULL = none. */
    bool (*key_ok)(const char *key, size_t keylen);
    blob_rc (*bucket_create)(void *impl, const char *bucket);
    /* BLOB_OK (exists), BLOB_NO_BUCKET, or BLOB_IO */
    blob_rc (*bucket_exists)(void *impl, const char *bucket);
    /* Asks the storage itself now, no cache: OK when the bucket can be read and written,
     * BLOB_NO_BUCKET, or BLOB_IO with what failed in why. */
    blob_rc (*bucket_check)(void *impl, const char *bucket, char *why, size_t whylen);
    /* The bucket is known to exist. content_type is never NULL or "". */
    blob_rc (*put_begin)(void *impl, const char *bucket, const char *key, size_t keylen,
                         const char *content_type, void **w);
    blob_rc (*put_write)(void *w, const void *data, size_t n);
    /* md5: the content's hex MD5, size: its length (both computed by blob.c). Frees w. */
    blob_rc (*put_commit)(void *w, const char *md5, int64_t size, blob_info *out);
    void (*put_abort)(void *w);  /* frees w */
    blob_rc (*head)(void *impl, const char *bucket, const char *key, size_t keylen, blob_info *out);
    blob_rc (*open_read)(void *impl, const char *bucket, const char *key, size_t keylen, int *fd,
                         blob_info *out);
    blob_rc (*open_range)(void *impl, const char *bucket, const char *key, size_t keylen,
                          blob_range_fn choose, void *ud, blob_reader *out, blob_info *info);
    blob_rc (*del)(void *impl, const char *bucket, const char *key, size_t keylen);
    /* prefix, marker, delimiter never NULL ("" = none); 1 <= max_keys <= 1000; out zeroed. */
    blob_rc (*list)(void *impl, const char *bucket, const char *prefix, const char *marker,
                    const char *delimiter, int max_keys, blob_list_result *out);
} blob_backend;

/* The file-system backend (p->root): its handle, or NULL with a message in err. */
void *blob_fs_open(const blob_params *p, char *err, size_t errlen);
extern const blob_backend blob_fs_backend;
/* The S3 backend (p->s3): the same. */
void *blob_s3_open(const blob_params *p, char *err, size_t errlen);
extern const blob_backend blob_s3_backend;

/* ^[a-z0-9][a-z0-9-]{0,48}-[0-9]+$, at most 63 characters (the COS bucket rule). */
bool blob_bucket_valid(const char *bucket);
/* 1..BLOB_MAX_KEY bytes without NUL. */
bool blob_key_valid(const char *key, size_t keylen);

/* Shared list building (both backends): append an entry (key copied) or a common prefix. */
typedef struct blob_list_builder {
    blob_list_result *out;
    size_t entries_cap, prefixes_cap;
} blob_list_builder;
blob_entry *blob_list_add_entry(blob_list_builder *b, const char *key, size_t keylen);
void blob_list_add_prefix(blob_list_builder *b, const char *prefix, size_t len);

/* Byte-wise comparison of two byte strings (a shorter prefix sorts first). */
int blob_bytes_cmp(const char *a, size_t an, const char *b, size_t bn);

#endif
