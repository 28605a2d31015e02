/* blob.h — the object store behind the bucket/object API and the job pipeline's input and output.
 * One interface, two backends, chosen by blob_params at blob_open:
 *
 *  - file system (the default, params.root): each object is one file named by the SHA-256 of
 *    (bucket, key) and a random version (a new file per put) under the data directory, plus a
 *    SQLite index for listing whose row names each object's current file, so no key (with "..",
 *    "//", NUL or a leading "/") can ever name a path outside it. Writes stream to a temporary file
 *    and become visible atomically at the index commit, also across a crash: after kill -9 an
 *    object is wholly old or wholly new, and blob_open removes what interrupted puts left. Several
 *    processes may open one root (see blob_fs.c on clean-up).
 *  - S3-compatible (params.s3_endpoint set): one S3 bucket holds everything; COS bucket B, key K is
 *    the S3 object "<s3_prefix>B/K", and bucket B exists when the marker object
 *    "<s3_prefix>.buckets/B" does. Puts stream (one PutObject up to s3_part_size, a multipart upload
 *    beyond it, never the whole object in memory); reads stream into an unlinked temporary file
 *    (blob_open_read) or a pipe (blob_open_range). S3 keys are UTF-8 text, so this backend refuses
 *    (BLOB_INVALID) keys that are not UTF-8 or hold control characters; everything else behaves as
 *    the file-system backend does (one test suite runs against both).
 *
 * Every call on a blob_store is thread-safe; a blob_writer belongs to one thread at a time. ETags
 * are the hex MD5 of the content on both backends (multipart S3 objects included). Failures are
 * returned as a blob_rc; the detail of a BLOB_IO (the file, or the S3 endpoint, HTTP status and S3
 * error code and message) is logged at error level where it happens.
 *
 * Usage:
 *     blob_params p = blob_default_params();
 *     p.root = "/var/lib/cicada/objects";          // or p.s3_endpoint = "http://127.0.0.1:9000", ...
 *     char err[512];
 *     blob_store *bs = blob_open(&p, err, sizeof err);
 *     if (!bs) die("%s", err);
 *     blob_bucket_create(bs, "examplebucket-1250000000");
 *     blob_writer *w;
 *     if (blob_put_begin(bs, "examplebucket-1250000000", "a.wav", 5, "audio/wav", &w) == BLOB_OK) {
 *         blob_rc rc = blob_put_write(w, data, n);     // any number of times
 *         if (rc == BLOB_OK) rc = blob_put_commit(w, &info); else blob_put_abort(w);
 *     }
 *     blob_close(bs);
 */
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
    BLOB_IO,           /* disk or S3 failure; the detail is logged */
} blob_rc;

typedef struct blob_params {
    const char *root;          /* file system: directory, created if missing */
    int64_t max_object_size;   /* default 5 GiB */
    /* The S3-compatible backend (CICADA_S3_*), used when s3_endpoint is set: */
    const char *s3_endpoint;   /* "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com";
                                  NULL or "" = the file-system backend */
    const char *s3_bucket;     /* the one S3 bucket that holds everything (must exist) */
    const char *s3_prefix;     /* "" or a key prefix ('/' added when missing); at most 100 bytes */
    const char *s3_region;     /* default "us-east-1" */
    const char *s3_access_key, *s3_secret_key;
    const char *s3_session_token; /* NULL or "" = none */
    int s3_path_style;         /* 1: endpoint/bucket/key; 0: bucket.host/key; -1 (default): path
                                  style unless the endpoint's host ends in "amazonaws.com" */
    int64_t s3_part_size;      /* multipart part size; default 16 MiB, at least 5 MiB */
    int s3_connect_timeout_ms; /* default 5000 */
    int s3_idle_timeout_ms;    /* a transfer with no progress this long fails; default 30000 */
    int s3_retries;            /* retries of an idempotent request after a 5xx or a connection
                                  failure, with back-off; default 3 */
    const char *tmp_dir;       /* S3: where reads are spooled (unlinked files); default $TMPDIR or /tmp */
} blob_params;
blob_params blob_default_params(void);
/* Opens the store. S3: checks the settings and that the bucket answers (a HEAD), so a wrong
 * endpoint, bucket or key fails here with a message naming the endpoint. NULL + err on failure. */
blob_store *blob_open(const blob_params *p, char *err, size_t errlen);
void blob_close(blob_store *bs);
/* "fs" or "s3". */
const char *blob_backend_name(const blob_store *bs);

#define BLOB_MAX_KEY 850

typedef struct blob_info {
    int64_t size;
    int64_t mtime_ms;          /* S3: whole seconds (what S3's Last-Modified carries) */
    char etag[40];             /* quoted-less hex MD5 of the content */
    char content_type[128];
} blob_info;

/* Buckets. Creating an existing bucket is BLOB_OK. */
blob_rc blob_bucket_create(blob_store *bs, const char *bucket);
bool blob_bucket_exists(blob_store *bs, const char *bucket);
/* For health checks: asks the storage itself now (bypassing what the backend caches) whether the
 * bucket can be used. BLOB_OK, or another code with a one-line reason in why. */
blob_rc blob_bucket_check(blob_store *bs, const char *bucket, char *why, size_t whylen);

/* Streaming put: begin, write any number of chunks, then commit (or abort). Nothing is visible
 * before the commit, and the commit replaces the object atomically. A write past max_object_size
 * fails with BLOB_TOO_LARGE, as do later writes and the commit. */
blob_rc blob_put_begin(blob_store *bs, const char *bucket, const char *key, size_t keylen,
                       const char *content_type, blob_writer **out);
blob_rc blob_put_write(blob_writer *w, const void *data, size_t n);
blob_rc blob_put_commit(blob_writer *w, blob_info *out);   /* frees w */
void blob_put_abort(blob_writer *w);                        /* frees w; leaves nothing behind */
/* Convenience: whole buffer in one call. */
blob_rc blob_put(blob_store *bs, const char *bucket, const char *key, const void *data, size_t n,
                 const char *content_type, blob_info *out);

blob_rc blob_head(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out);
/* Opens the object for reading; *fd is a seekable, read-only descriptor of exactly the object's
 * bytes (an unlinked copy on S3), which the caller closes. */
blob_rc blob_open_read(blob_store *bs, const char *bucket, const char *key, size_t keylen,
                       int *fd, blob_info *out);

/* Ranged reads for serving an object (GET with Range) without copying it first. choose is called
 * once the object's current size is known: it sets *off and *len (off >= 0, len >= 0,
 * off + len <= info->size) and returns true, or returns false to read nothing (an unsatisfiable
 * range): then the call returns BLOB_OK with out->fd = -1. */
typedef bool (*blob_range_fn)(void *ud, const blob_info *info, int64_t *off, int64_t *len);
typedef struct blob_reader {
    int fd;                    /* the caller closes it; -1 when choose declined */
    bool seekable;             /* true: a regular file holding the range at [offset, offset + length);
                                  false: a pipe carrying exactly length bytes, then end of file (a
                                  store failure midway ends it early: a short read IS the failure) */
    int64_t offset, length;
} blob_reader;
blob_rc blob_open_range(blob_store *bs, const char *bucket, const char *key, size_t keylen,
                        blob_range_fn choose, void *ud, blob_reader *out, blob_info *info);

/* Deleting a missing key is BLOB_NO_KEY (the API turns it into success, as S3 does). */
blob_rc blob_delete(blob_store *bs, const char *bucket, const char *key, size_t keylen);

typedef struct blob_entry {
    char *key;                 /* heap */
    blob_info info;            /* content_type: "" from S3, which does not list it */
} blob_entry;
typedef struct blob_list_result {
    blob_entry *entries;
    size_t n;
    char **common_prefixes;    /* when a delimiter is given */
    size_t nprefixes;
    bool truncated;
    char *next_marker;         /* heap or NULL */
} blob_list_result;
/* Lists keys > marker starting with prefix, in byte order, at most max_keys (1..1000) entries and
 * common prefixes together; a common prefix at or before the marker is not repeated. */
blob_rc blob_list(blob_store *bs, const char *bucket, const char *prefix, const char *marker,
                  const char *delimiter, int max_keys, blob_list_result *out);
void blob_list_free(blob_list_result *r);

const char *blob_rc_message(blob_rc rc);

#endif
