/* blob.h — the object store behind the bucket/object API and the job pipeline's input and output.
 * The embedded backend keeps each object as one file named by the SHA-256 of (bucket, key) and a
 * random version (a new file per put) under the data directory, plus a SQLite index for listing
 * whose row names each object's current file, so no key (with "..", "//", NUL or a leading "/")
 * can ever name a path outside it. Writes stream to a temporary file and become visible atomically
 * at the index commit, also across a crash: after kill -9 an object is wholly old or wholly new,
 * and blob_open removes what interrupted puts left. Several processes may open one root (see
 * blob_fs.c on clean-up). An S3-compatible backend plugs in behind the same calls later. */
#ifndef CICADA_BLOB_H
#define CICADA_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blob_store blob_store;
typedef struct blob_writer blob_writer;

typedef enum blob_rc {
    BLOB_OK = 0,
    BLOB_NO_BUCKET,
    BLOB_NO_KEY,
    BLOB_INVALID,      /* bad bucket name or key */
    BLOB_TOO_LARGE,
    BLOB_IO,           /* disk failure; message in err */
} blob_rc;

typedef struct blob_params {
    const char *root;          /* directory; created if missing */
    int64_t max_object_size;   /* default 5 GiB */
} blob_params;
blob_params blob_default_params(void);
blob_store *blob_open(const blob_params *p, char *err, size_t errlen);
void blob_close(blob_store *bs);

#define BLOB_MAX_KEY 850

typedef struct blob_info {
    int64_t size;
    int64_t mtime_ms;
    char etag[40];             /* quoted-less hex MD5 of the content */
    char content_type[128];
} blob_info;

/* Buckets. Creating an existing bucket is BLOB_OK. */
blob_rc blob_bucket_create(blob_store *bs, const char *bucket);
bool blob_bucket_exists(blob_store *bs, const char *bucket);

/* Streaming put: begin, write any number of chunks, then commit (or abort). */
blob_rc blob_put_begin(blob_store *bs, const char *bucket, const char *key, size_t keylen,
                       const char *content_type, blob_writer **out);
blob_rc blob_put_write(blob_writer *w, const void *data, size_t n);
blob_rc blob_put_commit(blob_writer *w, blob_info *out);   /* frees w */
void blob_put_abort(blob_writer *w);                        /* frees w, removes the temp file */
/* Convenience: whole buffer in one call. */
blob_rc blob_put(blob_store *bs, const char *bucket, const char *key, const void *data, size_t n,
                 const char *content_type, blob_info *out);

blob_rc blob_head(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out);
/* Opens the object for reading; *fd is a read-only descriptor the caller closes. */
blob_rc blob_open_read(blob_store *bs, const char *bucket, const char *key, size_t keylen,
                       int *fd, blob_info *out);
blob_rc blob_delete(blob_store *bs, const char *bucket, const char *key, size_t keylen);

typedef struct blob_entry {
    char *key;                 /* heap */
    blob_info info;
} blob_entry;
typedef struct blob_list_result {
    blob_entry *entries;
    size_t n;
    char **common_prefixes;    /* when a delimiter is given */
    size_t nprefixes;
    bool truncated;
    char *next_marker;         /* heap or NULL */
} blob_list_result;
/* Lists keys > marker starting with prefix, in byte order, at most max_keys (1..1000). */
blob_rc blob_list(blob_store *bs, const char *bucket, const char *prefix, const char *marker,
                  const char *delimiter, int max_keys, blob_list_result *out);
void blob_list_free(blob_list_result *r);

const char *blob_rc_message(blob_rc rc);

#endif
