/* blob_s3.c — the object store's S3-compatible backend (see blob.h and blob_internal.h), on
 * s3_client.c's signed requests and s3_xml.c's parsers.
 *
 * Mapping: one S3 bucket holds everything. COS bucket B, key K is the S3 object "<prefix>B/K";
 * bucket B exists when the empty marker object "<prefix>.buckets/B" does (COS bucket names never
 * start with '.', so markers and objects cannot meet). Known buckets are cached: buckets are never
 * deleted through this interface.
 *
 * Puts stream: bytes are buffered up to part_size; an object that ends within one part is one
 * PutObject, a longer one a multipart upload (CreateMultipartUpload, one UploadPart per full
 * buffer, CompleteMultipartUpload; AbortMultipartUpload on abort or failure), so at most one part
 * per writer is ever in memory. A multipart object's S3 ETag is not the MD5 of its content, so the
 * commit copies the object onto itself (CopyObject, metadata REPLACE, which writes a single-part
 * object whose ETag is the MD5): HEAD, GET and listings then agree with the MD5 blob.c computed.
 * Each body carries its Content-MD5, so S3 refuses bytes damaged on the way. After the last step a
 * HEAD reads back what S3 recorded (size, Last-Modified, type) for blob_info.
 *
 * Reads: blob_open_read streams a GET into an unlinked file in tmp_dir (seekable, as FFmpeg needs);
 * blob_open_range HEADs the object, lets the caller choose the range, and starts a thread whose
 * ranged GET (If-Match the ETag seen, so the range and the bytes belong to one version) feeds a
 * pipe: the call returns once S3 has answered, so errors are still errors and not short bodies.
 *
 * Listing: ListObjects (v1) under "<prefix>B/" + prefix, pages of at most S3_LIST_PAGE keys,
 * entries and common prefixes merged in byte order and translated back, a common prefix at or
 * before the marker dropped (it was on an earlier page), until max_keys items are in or S3 has no
 * more. S3 keys are UTF-8 text: keys that are not UTF-8, or that hold control characters (which
 * XML listings cannot carry), are refused as BLOB_INVALID. */
#include "blob/blob_internal.h"

#include "blob/s3_client.h"
#include "blob/s3_xml.h"
#include "blob/sigv4.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_PART_SIZE (5LL * 1024 * 1024)  /* S3's smallest part (all but the last) */
#define MAX_PARTS 10000                    /* S3's most parts per upload */
#define MAX_PREFIX 100                     /* "<prefix>B/K" must stay within S3's 1024-byte keys */
#define S3_LIST_PAGE 500                   /* keys per ListObjects: its XML stays under src/xml's 1 MiB of text */
#define PIPE_SIZE (1 << 20)                /* a ranged read's pipe buffer (best effort) */
#define RANGE_TRIES 3                      /* HEAD + ranged GET rounds when the object changes in between */
#define LIST_ROUNDS_MAX 10000              /* ListObjects calls one blob_list may make */

typedef struct s3_store {
    s3_client *cl;
    char *prefix;          /* "" or ends with '/' */
    char *tmp_dir;
    int64_t part_size;
    int idle_timeout_ms;
    pthread_mutex_t mu;    /* guards buckets, nbuckets, bcap and streams */
    pthread_cond_t idle;   /* signalled when streams drops to 0 */
    char **buckets;        /* COS buckets known to exist; linear search, a service has few */
    size_t nbuckets, bcap;
    int streams;           /* ranged-read threads still running (blob_close waits for them) */
} s3_store;

typedef struct s3_writer {
    s3_store *st;
    char bucket[BLOB_BUCKET_MAX + 1];
    char *skey;            /* the S3 key */
    size_t skeylen;
    char content_type[128];
    char *part;            /* the current part's bytes; capacity grows up to part_size */
    size_t plen, pcap;
    char upload_id[S3_UPLOAD_ID_MAX]; /* "" until a multipart upload starts */
    char (*etags)[S3_ETAG_MAX];       /* uploaded parts' ETags, part i + 1 at i */
    int nparts, etag_cap;
} s3_writer;

/* ---- names ---- */

static bool s3_key_ok(const char *key, size_t keylen)
{
    size_t chars, bad;
    bool malformed;
    return utf8_text_valid(key, keylen, &chars, &bad, &malformed);
}

/* "<prefix>bucket/" */
static void object_base(const s3_store *st, const char *bucket, buf *out)
{
    buf_reset(out);
    buf_printf(out, "%s%s/", st->prefix, bucket);
}

static char *object_key(const s3_store *st, const char *bucket, const char *key, size_t keylen, size_t *n)
{
    buf b;
    buf_init(&b);
    object_base(st, bucket, &b);
    buf_append(&b, key, keylen);
    *n = b.len;
    return buf_steal(&b);
}

static char *marker_key(const s3_store *st, const char *bucket, size_t *n)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s.buckets/%s", st->prefix, bucket);
    *n = b.len;
    return buf_steal(&b);
}

/* ---- small helpers ---- */

static void content_md5_header(const void *data, size_t n, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE], b64[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(out, outlen, "Content-MD5: %s", (const char *)b64);
}

static void content_md5_from_hex(const char *hex, char *out, size_t outlen)
{
    unsigned char md[16], b64[32];
    for (int i = 0; i < 16; i++)
        md[i] = (unsigned char)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
    EVP_EncodeBlock(b64, md, 16);
    snprintf(out, outlen, "Content-MD5: %s", (const char *)b64);
}

static void info_from(const s3_response *r, blob_info *out)
{
    memset(out, 0, sizeof *out);
    out->size = r->content_length >= 0 ? r->content_length : 0;
    out->mtime_ms = r->last_modified_ms >= 0 ? r->last_modified_ms : 0;
    snprintf(out->etag, sizeof out->etag, "%s", r->etag);
    snprintf(out->content_type, sizeof out->content_type, "%s",
             r->content_type[0] ? r->content_type : "application/octet-stream");
}

static bool simple(s3_store *st, const char *method, const char *skey, size_t skeylen, const char *query,
                   const char *const *headers, size_t nheaders, const void *body, size_t body_len, bool idempotent,
                   s3_response *r)
{
    s3_request rq = {.method = method, .key = skey, .keylen = skeylen, .query = query, .headers = headers,
                     .nheaders = nheaders, .body = body, .body_len = body_len, .idempotent = idempotent};
    return s3_perform(st->cl, &rq, r);
}

/* ---- buckets ---- */

static bool cached(s3_store *st, const char *bucket)
{
    bool found = false;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->nbuckets && !found; i++)
        found = strcmp(st->buckets[i], bucket) == 0;
    pthread_mutex_unlock(&st->mu);
    return found;
}

static void remember(s3_store *st, const char *bucket)
{
    pthread_mutex_lock(&st->mu);
    bool found = false;
    for (size_t i = 0; i < st->nbuckets && !found; i++)
        found = strcmp(st->buckets[i], bucket) == 0;
    if (!found) {
        if (st->nbuckets == st->bcap) {
            st->bcap = st->bcap ? 2 * st->bcap : 8;
            st->buckets = xrealloc(st->buckets, st->bcap * sizeof *st->buckets);
        }
        st->buckets[st->nbuckets++] = xstrdup(bucket);
    }
    pthread_mutex_unlock(&st->mu);
}

static blob_rc s3_bucket_create(void *impl, const char *bucket)
{
    s3_store *st = impl;
    if (cached(st, bucket))
        return BLOB_OK;
    size_t n;
    char *mk = marker_key(st, bucket, &n);
    char md5[64];
    content_md5_header("", 0, md5, sizeof md5);
    const char *h[] = {"Content-Type: application/octet-stream", md5};
    s3_response r;
    s3_response_init(&r);
    bool ok = simple(st, "PUT", mk, n, NULL, h, 2, "", 0, true, &r);
    if (ok)
        remember(st, bucket);
    else
        log_error("blob: creating bucket %s: %s", bucket, r.err);
    s3_response_free(&r);
    free(mk);
    return ok ? BLOB_OK : BLOB_IO;
}

/* One HEAD of the bucket's marker, retried (lookups) or not (health probes, which want the
 * answer of now, and soon): BLOB_OK, BLOB_NO_BUCKET, or BLOB_IO with S3's error in why. */
static blob_rc head_marker(s3_store *st, const char *bucket, bool retry, char *why, size_t whylen)
{
    size_t n;
    char *mk = marker_key(st, bucket, &n);
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    if (simple(st, "HEAD", mk, n, NULL, NULL, 0, NULL, 0, retry, &r)) {
        rc = BLOB_OK;
    } else if (r.status == 404) {
        rc = BLOB_NO_BUCKET;
    } else {
        err_printf(why, whylen, "%s", r.err);
    }
    s3_response_free(&r);
    free(mk);
    return rc;
}

static blob_rc s3_bucket_exists(void *impl, const char *bucket)
{
    s3_store *st = impl;
    if (cached(st, bucket))
        return BLOB_OK;
    char why[800];   /* s3_response.err and a little */
    blob_rc rc = head_marker(st, bucket, true, why, sizeof why);
    if (rc == BLOB_OK)
        remember(st, bucket);
    else if (rc == BLOB_IO)
        log_error("blob: looking up bucket %s: %s", bucket, why);
    return rc;
}

/* Past the cache: see blob_bucket_check. */
static blob_rc s3_bucket_check(void *impl, const char *bucket, char *why, size_t whylen)
{
    return head_marker(impl, bucket, false, why, whylen);
}

/* After a 404 on an object: was it the key or the whole bucket? */
static blob_rc missing(s3_store *st, const char *bucket)
{
    blob_rc rc = s3_bucket_exists(st, bucket);
    return rc == BLOB_OK ? BLOB_NO_KEY : rc;
}

/* ---- streaming put ---- */

static blob_rc s3_put_begin(void *impl, const char *bucket, const char *key, size_t keylen, const char *content_type,
                            void **out)
{
    s3_store *st = impl;
    s3_writer *w = xcalloc(1, sizeof *w);
    w->st = st;
    snprintf(w->bucket, sizeof w->bucket, "%s", bucket);
    w->skey = object_key(st, bucket, key, keylen, &w->skeylen);
    snprintf(w->content_type, sizeof w->content_type, "%s", content_type);
    *out = w;
    return BLOB_OK;
}

static void writer_free(s3_writer *w)
{
    free(w->skey);
    free(w->part);
    free(w->etags);
    free(w);
}

static void abort_upload(s3_writer *w)
{
    if (!w->upload_id[0])
        return;
    buf q;
    buf_init(&q);
    buf_puts(&q, "uploadId=");
    s3_query_escape(&q, w->upload_id, strlen(w->upload_id));
    s3_response r;
    s3_response_init(&r);
    if (!simple(w->st, "DELETE", w->skey, w->skeylen, q.data, NULL, 0, NULL, 0, true, &r) && r.status != 404)
        log_error("blob: aborting the multipart upload of %s: %s", w->skey, r.err);
    s3_response_free(&r);
    buf_free(&q);
    w->upload_id[0] = '\0';
}

static void s3_put_abort(void *wp)
{
    s3_writer *w = wp;
    if (!w)
        return;
    abort_upload(w);
    writer_free(w);
}

static blob_rc start_upload(s3_writer *w)
{
    char ctype[160];
    snprintf(ctype, sizeof ctype, "Content-Type: %s", w->content_type);
    const char *h[] = {ctype};
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    char why[300];
    if (!simple(w->st, "POST", w->skey, w->skeylen, "uploads", h, 1, "", 0, false, &r))
        log_error("blob: starting a multipart upload: %s", r.err);
    else if (!s3_xml_upload_id(r.body.data, r.body.len, w->upload_id, sizeof w->upload_id, why, sizeof why))
        log_error("blob: starting a multipart upload of %s at %s: %s", w->skey, s3_client_endpoint(w->st->cl), why);
    else
        rc = BLOB_OK;
    s3_response_free(&r);
    return rc;
}

/* Uploads the buffered part as part nparts + 1 (starting the upload first if need be). */
static blob_rc upload_part(s3_writer *w)
{
    if (!w->upload_id[0] && start_upload(w) != BLOB_OK)
        return BLOB_IO;
    if (w->nparts == MAX_PARTS) {
        log_error("blob: %s needs more than %d parts", w->skey, MAX_PARTS);
        return BLOB_IO;
    }
    buf q;
    buf_init(&q);
    buf_printf(&q, "partNumber=%d&uploadId=", w->nparts + 1);
    s3_query_escape(&q, w->upload_id, strlen(w->upload_id));
    char md5[64];
    content_md5_header(w->part, w->plen, md5, sizeof md5);
    const char *h[] = {md5};
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    if (!simple(w->st, "PUT", w->skey, w->skeylen, q.data, h, 1, w->part, w->plen, true, &r)) {
        log_error("blob: uploading part %d: %s", w->nparts + 1, r.err);
    } else if (!r.etag[0]) {
        log_error("blob: S3 %s answered part %d of %s without an ETag", s3_client_endpoint(w->st->cl), w->nparts + 1,
                  w->skey);
    } else {
        if (w->nparts == w->etag_cap) {
            w->etag_cap = w->etag_cap ? 2 * w->etag_cap : 16;
            w->etags = xrealloc(w->etags, (size_t)w->etag_cap * sizeof *w->etags);
        }
        memcpy(w->etags[w->nparts++], r.etag, S3_ETAG_MAX);
        w->plen = 0;
        rc = BLOB_OK;
    }
    s3_response_free(&r);
    buf_free(&q);
    return rc;
}

static blob_rc s3_put_write(void *wp, const void *data, size_t n)
{
    s3_writer *w = wp;
    size_t part_size = (size_t)w->st->part_size;
    const char *p = data;
    while (n > 0) {
        /* a full buffer goes out only once more bytes arrive: an object that ends exactly at the
         * part size is still one PutObject */
        if (w->plen == part_size && upload_part(w) != BLOB_OK)
            return BLOB_IO;
        size_t take = part_size - w->plen < n ? part_size - w->plen : n;
        if (w->plen + take > w->pcap) {
            size_t cap = w->pcap ? w->pcap : 64 * 1024;
            while (cap < w->plen + take)
                cap *= 2;
            w->pcap = cap < part_size ? cap : part_size;
            w->part = xrealloc(w->part, w->pcap);
        }
        memcpy(w->part + w->plen, p, take);
        w->plen += take;
        p += take;
        n -= take;
    }
    return BLOB_OK;
}

/* Fills out for the object just written (S3 has acknowledged it): its size, MD5 and type as
 * written, and the time S3 recorded, read back with a HEAD. When that HEAD fails or finds another
 * writer's object (the last writer wins anyway), the time is now, in whole seconds. */
static void head_written(s3_writer *w, const char *md5, int64_t size, blob_info *out)
{
    memset(out, 0, sizeof *out);
    out->size = size;
    snprintf(out->etag, sizeof out->etag, "%s", md5);
    snprintf(out->content_type, sizeof out->content_type, "%s", w->content_type);
    out->mtime_ms = time_now_ms() / 1000 * 1000;
    s3_response r;
    s3_response_init(&r);
    if (!simple(w->st, "HEAD", w->skey, w->skeylen, NULL, NULL, 0, NULL, 0, true, &r))
        log_warn("blob: reading back %s after writing it: %s", w->skey, r.err);
    else if (r.content_length == size && strcmp(r.etag, md5) == 0 && r.last_modified_ms >= 0)
        out->mtime_ms = r.last_modified_ms;
    else if (r.content_length == size && !strchr(r.etag, '-'))
        log_warn("blob: S3 %s gives %s the ETag %s, not its MD5 %s (another writer, or server-side encryption?)",
                 s3_client_endpoint(w->st->cl), w->skey, r.etag, md5);
    s3_response_free(&r);
}

static blob_rc put_single(s3_writer *w, const char *md5)
{
    char ctype[160], cmd5[64];
    snprintf(ctype, sizeof ctype, "Content-Type: %s", w->content_type);
    content_md5_from_hex(md5, cmd5, sizeof cmd5);
    const char *h[] = {ctype, cmd5};
    s3_response r;
    s3_response_init(&r);
    bool ok = simple(w->st, "PUT", w->skey, w->skeylen, NULL, h, 2, w->part ? w->part : "", w->plen, true, &r);
    if (!ok)
        log_error("blob: %s", r.err);
    s3_response_free(&r);
    return ok ? BLOB_OK : BLOB_IO;
}

static blob_rc complete_upload(s3_writer *w)
{
    buf body, q;
    buf_init(&body);
    buf_init(&q);
    buf_puts(&body, "<CompleteMultipartUpload>");
    for (int i = 0; i < w->nparts; i++)
        buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1, w->etags[i]);
    buf_puts(&body, "</CompleteMultipartUpload>");
    buf_puts(&q, "uploadId=");
    s3_query_escape(&q, w->upload_id, strlen(w->upload_id));
    const char *h[] = {"Content-Type: application/xml"};
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    char etag[S3_ETAG_MAX], why[400];
    if (!simple(w->st, "POST", w->skey, w->skeylen, q.data, h, 1, body.data, body.len, false, &r))
        log_error("blob: completing the multipart upload: %s", r.err);
    else if (!s3_xml_etag_result(r.body.data, r.body.len, "CompleteMultipartUploadResult", etag, why, sizeof why))
        log_error("blob: completing the multipart upload of %s at %s: %s", w->skey, s3_client_endpoint(w->st->cl),
                  why);
    else
        rc = BLOB_OK;
    if (rc == BLOB_OK)
        w->upload_id[0] = '\0'; /* nothing left to abort */
    s3_response_free(&r);
    buf_free(&body);
    buf_free(&q);
    return rc;
}

/* Rewrites the object as a single-part copy of itself, whose ETag is its MD5. */
static blob_rc copy_onto_itself(s3_writer *w)
{
    buf src;
    buf_init(&src);
    buf_printf(&src, "x-amz-copy-source: /%s/", s3_client_bucket(w->st->cl));
    char *enc = sigv4_uri_encode_path(w->skey, w->skeylen);
    buf_puts(&src, enc);
    free(enc);
    char ctype[160];
    snprintf(ctype, sizeof ctype, "Content-Type: %s", w->content_type);
    const char *h[] = {ctype, src.data, "x-amz-metadata-directive: REPLACE"};
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    char etag[S3_ETAG_MAX], why[400];
    if (!simple(w->st, "PUT", w->skey, w->skeylen, NULL, h, 3, "", 0, true, &r))
        log_error("blob: rewriting a multipart object as one part: %s", r.err);
    else if (!s3_xml_etag_result(r.body.data, r.body.len, "CopyObjectResult", etag, why, sizeof why))
        log_error("blob: rewriting %s at %s as one part: %s", w->skey, s3_client_endpoint(w->st->cl), why);
    else
        rc = BLOB_OK;
    s3_response_free(&r);
    buf_free(&src);
    return rc;
}

static blob_rc s3_put_commit(void *wp, const char *md5, int64_t size, blob_info *out)
{
    s3_writer *w = wp;
    blob_rc rc;
    if (w->nparts == 0) {
        rc = put_single(w, md5);
    } else {
        rc = upload_part(w); /* the last part (never empty: a full buffer waits for more bytes) */
        if (rc == BLOB_OK)
            rc = complete_upload(w);
        if (rc == BLOB_OK)
            rc = copy_onto_itself(w);
    }
    if (rc == BLOB_OK)
        head_written(w, md5, size, out);
    s3_put_abort(w); /* aborts an upload still open; frees w */
    return rc;
}

/* ---- reads ---- */

static blob_rc s3_head(void *impl, const char *bucket, const char *key, size_t keylen, blob_info *out)
{
    s3_store *st = impl;
    size_t n;
    char *sk = object_key(st, bucket, key, keylen, &n);
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    if (simple(st, "HEAD", sk, n, NULL, NULL, 0, NULL, 0, true, &r)) {
        info_from(&r, out);
        rc = BLOB_OK;
    } else if (r.status == 404) {
        rc = missing(st, bucket);
    } else {
        log_error("blob: %s", r.err);
    }
    s3_response_free(&r);
    free(sk);
    return rc;
}

/* A fresh unlinked file in dir, read-write. */
static int temp_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cicada-s3-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

typedef struct spool {
    int fd;
    int64_t written;
    int err;               /* errno of a failed write */
} spool;

static bool spool_sink(void *ud, const char *data, size_t n)
{
    spool *s = ud;
    if (!write_all(s->fd, data, n)) {
        s->err = errno;
        return false;
    }
    s->written += (int64_t)n;
    return true;
}

static blob_rc s3_open_read(void *impl, const char *bucket, const char *key, size_t keylen, int *fd, blob_info *out)
{
    s3_store *st = impl;
    spool sp = {.fd = temp_file(st->tmp_dir)};
    if (sp.fd < 0) {
        log_error("blob: cannot create a temporary file in %s: %s", st->tmp_dir, strerror(errno));
        return BLOB_IO;
    }
    size_t n;
    char *sk = object_key(st, bucket, key, keylen, &n);
    s3_request rq = {.method = "GET", .key = sk, .keylen = n, .idempotent = true, .sink = spool_sink, .ud = &sp};
    s3_response r;
    s3_response_init(&r);
    blob_rc rc = BLOB_IO;
    if (s3_perform(st->cl, &rq, &r)) {
        if (r.content_length >= 0 && r.content_length != sp.written)
            log_error("blob: S3 %s sent %lld bytes of %s, announcing %lld", s3_client_endpoint(st->cl),
                      (long long)sp.written, sk, (long long)r.content_length);
        else
            rc = BLOB_OK;
    } else if (r.status == 404) {
        rc = missing(st, bucket);
    } else if (sp.err) {
        log_error("blob: spooling %s into %s: %s", sk, st->tmp_dir, strerror(sp.err));
    } else {
        log_error("blob: %s", r.err);
    }
    if (rc == BLOB_OK) {
        info_from(&r, out);
        out->size = sp.written;
        /* hand out a read-only descriptor of the unlinked file, at offset 0 */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", sp.fd);
        int ro = open(self, O_RDONLY | O_CLOEXEC);
        if (ro >= 0) {
            close(sp.fd);
            sp.fd = ro;
        } else if (lseek(sp.fd, 0, SEEK_SET) != 0) {
            log_error("blob: rewinding the spooled %s: %s", sk, strerror(errno));
            rc = BLOB_IO;
        }
    }
    if (rc == BLOB_OK) {
        *fd = sp.fd;
    } else {
        close(sp.fd);
    }
    s3_response_free(&r);
    free(sk);
    return rc;
}

/* ---- ranged reads through a pipe ---- */

/* Shared by the opener and the feeding thread; the last of the two to let go frees it. */
typedef struct feeder {
    s3_store *st;
    char *skey;
    size_t skeylen;
    char range[80];        /* "Range: bytes=a-b" */
    char if_match[80];     /* "If-Match: \"etag\"" */
    int wfd;               /* the pipe's write end (non-blocking), owned by the thread */
    int idle_timeout_ms;
    pthread_mutex_t mu;    /* guards everything below */
    pthread_cond_t cv;
    bool answered;         /* the GET's status (or its failure) is known */
    bool done;             /* the transfer is over (err holds its failure, if any) */
    long status;
    int64_t content_length;
    char err[768];
    int refs;
} feeder;

static void feeder_release(feeder *f)
{
    pthread_mutex_lock(&f->mu);
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->skey);
    free(f);
}

static void feeder_headers(void *ud, const s3_response *r)
{
    feeder *f = ud;
    pthread_mutex_lock(&f->mu);
    if (!f->answered) {
        f->answered = true;
        f->status = r->status;
        f->content_length = r->content_length;
        pthread_cond_signal(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
}

/* Writes into the pipe, waiting for room at most idle_timeout_ms each time (a reader that stops
 * reading does not hold the thread forever). false when the reader is gone or stalled. */
static bool feeder_sink(void *ud, const char *data, size_t n)
{
    feeder *f = ud;
    while (n > 0) {
        ssize_t w = write(f->wfd, data, n);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = f->wfd, .events = POLLOUT};
            int r = poll(&p, 1, f->idle_timeout_ms);
            if (r > 0 || (r < 0 && errno == EINTR))
                continue;
        }
        return false; /* EPIPE (SIGPIPE is blocked in this thread), a stalled reader, or worse */
    }
    return true;
}

static void *feeder_main(void *arg)
{
    feeder *f = arg;
    const char *h[] = {f->range, f->if_match};
    s3_request rq = {.method = "GET", .key = f->skey, .keylen = f->skeylen, .headers = h, .nheaders = 2,
                     .idempotent = true, .sink = feeder_sink, .on_headers = feeder_headers, .ud = f};
    s3_response r;
    s3_response_init(&r);
    bool ok = s3_perform(f->st->cl, &rq, &r);
    close(f->wfd); /* end of file for the reader: complete, or short on failure */
    pthread_mutex_lock(&f->mu);
    if (!f->answered) {
        f->answered = true;
        f->status = r.status;
        f->content_length = r.content_length;
    }
    snprintf(f->err, sizeof f->err, "%s", r.err);
    f->done = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (!ok && r.status >= 200 && r.status < 300)
        log_info("blob: a ranged read of %s stopped early: %s", f->skey, r.err);
    s3_response_free(&r);
    s3_store *st = f->st;
    feeder_release(f);
    pthread_mutex_lock(&st->mu);
    if (--st->streams == 0)
        pthread_cond_broadcast(&st->idle);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Starts the ranged GET of [off, off + len) and waits for S3's answer. *retry is set when the
 * object changed since its HEAD (412). */
static blob_rc start_feeder(s3_store *st, const char *sk, size_t n, const blob_info *info, int64_t off, int64_t len,
                            blob_reader *out, bool *retry)
{
    *retry = false;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        log_error("blob: pipe: %s", strerror(errno));
        return BLOB_IO;
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* best effort */
    (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
    feeder *f = xcalloc(1, sizeof *f);
    f->st = st;
    f->skey = xstrndup(sk, n);
    f->skeylen = n;
    snprintf(f->range, sizeof f->range, "Range: bytes=%lld-%lld", (long long)off, (long long)(off + len - 1));
    snprintf(f->if_match, sizeof f->if_match, "If-Match: \"%s\"", info->etag);
    f->wfd = fds[1];
    f->idle_timeout_ms = st->idle_timeout_ms;
    f->refs = 2;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_mutex_lock(&st->mu);
    st->streams++;
    pthread_mutex_unlock(&st->mu);
    /* the thread starts with SIGPIPE blocked: a reader that goes away is EPIPE, not a signal */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int e = pthread_create(&t, &attr, feeder_main, f);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        log_error("blob: cannot start a reader thread: %s", strerror(e));
        close(fds[0]);
        close(fds[1]);
        pthread_mutex_lock(&st->mu);
        st->streams--;
        pthread_mutex_unlock(&st->mu);
        f->refs = 1;
        feeder_release(f);
        return BLOB_IO;
    }
    pthread_mutex_lock(&f->mu);
    while (!f->answered)
        pthread_cond_wait(&f->cv, &f->mu);
    long status = f->status;
    int64_t clen = f->content_length;
    bool whole = status == 200 && off == 0 && len == info->size;
    blob_rc rc = BLOB_IO;
    if ((status == 206 || whole) && (clen < 0 || clen == len)) {
        rc = BLOB_OK;
    } else if (status == 412) {
        *retry = true;
    } else if (status == 404) {
        rc = BLOB_NO_KEY;
    } else if (status >= 200 && status < 300) {
        log_error("blob: S3 %s answered the range %s of %s with HTTP %ld and %lld bytes", s3_client_endpoint(st->cl),
                  f->range + 7, sk, status, (long long)clen);
    } else {
        while (!f->done) /* an error answer is short: wait for its message */
            pthread_cond_wait(&f->cv, &f->mu);
        log_error("blob: ranged read: %s", f->err);
    }
    pthread_mutex_unlock(&f->mu);
    feeder_release(f);
    if (rc != BLOB_OK) {
        close(fds[0]); /* the thread, if still sending, gets EPIPE and stops */
        return rc;
    }
    out->fd = fds[0];
    out->seekable = false;
    out->offset = 0;
    out->length = len;
    return BLOB_OK;
}

static blob_rc s3_open_range(void *impl, const char *bucket, const char *key, size_t keylen, blob_range_fn choose,
                             void *ud, blob_reader *out, blob_info *info)
{
    s3_store *st = impl;
    size_t n;
    char *sk = object_key(st, bucket, key, keylen, &n);
    blob_rc rc = BLOB_IO;
    for (int round = 0; round < RANGE_TRIES; round++) {
        rc = s3_head(st, bucket, key, keylen, info);
        if (rc != BLOB_OK)
            break;
        int64_t off = 0, len = info->size;
        if (!choose(ud, info, &off, &len))
            break; /* BLOB_OK with no descriptor */
        if (len == 0) {
            int fds[2];
            if (pipe2(fds, O_CLOEXEC) != 0) {
                log_error("blob: pipe: %s", strerror(errno));
                rc = BLOB_IO;
                break;
            }
            close(fds[1]); /* an empty range: end of file at once */
            out->fd = fds[0];
            out->seekable = false;
            out->offset = out->length = 0;
            break;
        }
        bool retry;
        rc = start_feeder(st, sk, n, info, off, len, out, &retry);
        if (rc == BLOB_NO_KEY)
            rc = missing(st, bucket);
        if (!retry)
            break;
        rc = BLOB_IO;
        log_info("blob: %s changed while it was being opened; looking again", sk);
    }
    free(sk);
    return rc;
}

/* ---- deletes ---- */

static blob_rc s3_delete(void *impl, const char *bucket, const char *key, size_t keylen)
{
    s3_store *st = impl;
    /* S3 deletes a missing key happily: look first, so a missing key is BLOB_NO_KEY as on disk */
    blob_info info;
    blob_rc rc = s3_head(st, bucket, key, keylen, &info);
    if (rc != BLOB_OK)
        return rc;
    size_t n;
    char *sk = object_key(st, bucket, key, keylen, &n);
    s3_response r;
    s3_response_init(&r);
    if (!simple(st, "DELETE", sk, n, NULL, NULL, 0, NULL, 0, true, &r)) {
        log_error("blob: %s", r.err);
        rc = BLOB_IO;
    }
    s3_response_free(&r);
    free(sk);
    return rc;
}

/* ---- listing ---- */

/* One item of a page, entries and common prefixes merged. */
typedef struct item {
    const char *name;      /* S3 key or prefix */
    const s3_list_entry *e; /* NULL for a common prefix */
} item;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return blob_bytes_cmp(x->name, strlen(x->name), y->name, strlen(y->name));
}

typedef struct list_ctx {
    s3_store *st;
    blob_list_builder b;
    const char *marker;    /* COS marker */
    size_t base_len;       /* strlen("<prefix>B/") */
    const char *base;
    int max, count;
    char *last;            /* last COS item added (heap) */
} list_ctx;

/* Adds one page's items in order; false when one does not belong to the bucket. */
static bool take_page(list_ctx *l, const s3_list_page *pg, const char *s3_marker, int *taken)
{
    size_t ni = pg->n + pg->nprefixes;
    item *items = xmalloc((ni ? ni : 1) * sizeof *items);
    for (size_t i = 0; i < pg->n; i++)
        items[i] = (item){pg->entries[i].key, &pg->entries[i]};
    for (size_t i = 0; i < pg->nprefixes; i++)
        items[pg->n + i] = (item){pg->prefixes[i], NULL};
    qsort(items, ni, sizeof *items, item_cmp);
    bool ok = true;
    *taken = 0;
    for (size_t i = 0; i < ni && l->count < l->max; i++) {
        const char *name = items[i].name;
        size_t len = strlen(name);
        if (len < l->base_len || memcmp(name, l->base, l->base_len) != 0) {
            log_error("blob: S3 %s listed %.200s outside %s", s3_client_endpoint(l->st->cl), name, l->base);
            ok = false;
            break;
        }
        (*taken)++;
        const char *cos = name + l->base_len;
        size_t cos_len = len - l->base_len;
        if (!items[i].e) {
            /* a common prefix at or before a marker was on an earlier page */
            if (blob_bytes_cmp(cos, cos_len, l->marker, strlen(l->marker)) <= 0 ||
                (s3_marker && blob_bytes_cmp(name, len, s3_marker, strlen(s3_marker)) <= 0))
                continue;
            blob_list_add_prefix(&l->b, cos, cos_len);
        } else {
            blob_entry *e = blob_list_add_entry(&l->b, cos, cos_len);
            e->info.size = items[i].e->size;
            e->info.mtime_ms = items[i].e->mtime_ms;
            snprintf(e->info.etag, sizeof e->info.etag, "%s", items[i].e->etag);
        }
        free(l->last);
        l->last = xstrndup(cos, cos_len);
        l->count++;
    }
    free(items);
    return ok;
}

/* The last S3 name of a page in byte order (where the next page starts when S3 gives no NextMarker). */
static const char *page_last(const s3_list_page *pg)
{
    const char *last = NULL;
    for (size_t i = 0; i < pg->n; i++)
        if (!last || strcmp(pg->entries[i].key, last) > 0)
            last = pg->entries[i].key;
    for (size_t i = 0; i < pg->nprefixes; i++)
        if (!last || strcmp(pg->prefixes[i], last) > 0)
            last = pg->prefixes[i];
    return last;
}

static bool list_request(list_ctx *l, const char *s3_prefix, const char *s3_marker, const char *delimiter, int n,
                         s3_list_page *pg)
{
    buf q;
    buf_init(&q);
    if (delimiter[0]) {
        buf_puts(&q, "delimiter=");
        s3_query_escape(&q, delimiter, strlen(delimiter));
        buf_putc(&q, '&');
    }
    if (s3_marker) {
        buf_puts(&q, "marker=");
        s3_query_escape(&q, s3_marker, strlen(s3_marker));
        buf_putc(&q, '&');
    }
    buf_printf(&q, "max-keys=%d&prefix=", n);
    s3_query_escape(&q, s3_prefix, strlen(s3_prefix));
    s3_request rq = {.method = "GET", .query = q.data, .idempotent = true};
    s3_response r;
    s3_response_init(&r);
    bool ok = s3_perform(l->st->cl, &rq, &r);
    char why[400];
    if (!ok)
        log_error("blob: listing %s: %s", s3_prefix, r.err);
    else if (!(ok = s3_xml_list(r.body.data, r.body.len, pg, why, sizeof why)))
        log_error("blob: listing %s at %s: %s", s3_prefix, s3_client_endpoint(l->st->cl), why);
    s3_response_free(&r);
    buf_free(&q);
    return ok;
}

static blob_rc s3_list(void *impl, const char *bucket, const char *prefix, const char *marker, const char *delimiter,
                       int max_keys, blob_list_result *out)
{
    s3_store *st = impl;
    blob_rc rc = s3_bucket_exists(st, bucket);
    if (rc != BLOB_OK)
        return rc;
    /* S3 names are UTF-8: a prefix that is not matches nothing; a marker or delimiter that is not
     * cannot be sent */
    if (!s3_key_ok(marker, strlen(marker)) || !s3_key_ok(delimiter, strlen(delimiter)))
        return BLOB_INVALID;
    if (!s3_key_ok(prefix, strlen(prefix)))
        return BLOB_OK;
    buf base, s3_prefix;
    buf_init(&base);
    buf_init(&s3_prefix);
    object_base(st, bucket, &base);
    buf_printf(&s3_prefix, "%s%s", base.data, prefix);
    list_ctx l = {.st = st, .b = {.out = out}, .marker = marker, .base = base.data, .base_len = base.len,
                  .max = max_keys};
    char *s3_marker = NULL;
    if (marker[0]) {
        buf m;
        buf_init(&m);
        buf_printf(&m, "%s%s", base.data, marker);
        s3_marker = buf_steal(&m);
    }
    bool more = true;
    for (int round = 0; rc == BLOB_OK && more && l.count < l.max; round++) {
        int want = l.max - l.count < S3_LIST_PAGE ? l.max - l.count : S3_LIST_PAGE;
        s3_list_page pg;
        if (round == LIST_ROUNDS_MAX || !list_request(&l, s3_prefix.data, s3_marker, delimiter, want, &pg)) {
            if (round == LIST_ROUNDS_MAX)
                log_error("blob: listing %s at %s took more than %d requests", s3_prefix.data,
                          s3_client_endpoint(st->cl), LIST_ROUNDS_MAX);
            rc = BLOB_IO;
            break;
        }
        int taken;
        if (!take_page(&l, &pg, s3_marker, &taken)) {
            rc = BLOB_IO;
        } else if (taken < (int)(pg.n + pg.nprefixes)) {
            more = true; /* we stopped inside the page: there is more */
            l.count = l.max;
        } else if (!pg.truncated) {
            more = false;
        } else {
            const char *next = pg.next_marker ? pg.next_marker : page_last(&pg);
            if (!next || (s3_marker && strcmp(next, s3_marker) <= 0)) {
                log_error("blob: listing %s at %s does not advance", s3_prefix.data, s3_client_endpoint(st->cl));
                rc = BLOB_IO;
            } else {
                free(s3_marker);
                s3_marker = xstrdup(next);
            }
        }
        s3_list_page_free(&pg);
    }
    if (rc == BLOB_OK && more && l.count >= l.max && l.last) {
        out->truncated = true;
        out->next_marker = xstrdup(l.last);
    }
    free(l.last);
    free(s3_marker);
    buf_free(&base);
    buf_free(&s3_prefix);
    return rc;
}

/* ---- open / close ---- */

static void s3_close(void *impl)
{
    s3_store *st = impl;
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    while (st->streams > 0)
        pthread_cond_wait(&st->idle, &st->mu);
    pthread_mutex_unlock(&st->mu);
    s3_client_free(st->cl);
    for (size_t i = 0; i < st->nbuckets; i++)
        free(st->buckets[i]);
    free(st->buckets);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->idle);
    free(st->prefix);
    free(st->tmp_dir);
    free(st);
}

void *blob_s3_open(const blob_params *p, char *err, size_t errlen)
{
    const char *prefix = p->s3_prefix ? p->s3_prefix : "";
    if (strlen(prefix) > MAX_PREFIX || !s3_key_ok(prefix, strlen(prefix)) || prefix[0] == '/') {
        err_printf(err, errlen, "S3 prefix \"%.120s\" must be UTF-8 text of at most %d bytes, not starting with '/'",
                   prefix, MAX_PREFIX);
        return NULL;
    }
    if (p->s3_part_size && p->s3_part_size < MIN_PART_SIZE) {
        err_printf(err, errlen, "S3 part size %lld is below S3's minimum of 5 MiB", (long long)p->s3_part_size);
        return NULL;
    }
    const char *tmp = p->tmp_dir && p->tmp_dir[0] ? p->tmp_dir : getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    int probe = temp_file(tmp);
    if (probe < 0) {
        err_printf(err, errlen, "cannot create temporary files in %.300s: %s", tmp, strerror(errno));
        return NULL;
    }
    close(probe);
    s3_client *cl = s3_client_new(p, err, errlen);
    if (!cl)
        return NULL;
    s3_store *st = xcalloc(1, sizeof *st);
    st->cl = cl;
    buf pf;
    buf_init(&pf);
    buf_puts(&pf, prefix);
    if (pf.len && pf.data[pf.len - 1] != '/')
        buf_putc(&pf, '/');
    st->prefix = buf_steal(&pf);
    st->tmp_dir = xstrdup(tmp);
    st->part_size = p->s3_part_size ? p->s3_part_size : 16LL * 1024 * 1024;
    st->idle_timeout_ms = p->s3_idle_timeout_ms > 0 ? p->s3_idle_timeout_ms : 30000;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->idle, NULL);
    /* does the bucket answer? (a wrong endpoint, bucket or key shows here, not at the first put) */
    s3_response r;
    s3_response_init(&r);
    s3_request rq = {.method = "HEAD", .idempotent = true};
    bool ok = s3_perform(cl, &rq, &r);
    if (!ok) {
        if (r.status == 404)
            err_printf(err, errlen, "%s: the bucket does not exist", r.err);
        else if (r.status == 403)
            err_printf(err, errlen, "%s: access denied (check the access key, secret key and region)", r.err);
        else
            err_printf(err, errlen, "%s", r.err);
    }
    s3_response_free(&r);
    if (!ok) {
        s3_close(st);
        return NULL;
    }
    return st;
}

const blob_backend blob_s3_backend = {
    .version = BLOB_BACKEND_VERSION,
    .name = "s3",
    .close = s3_close,
    .key_ok = s3_key_ok,
    .bucket_create = s3_bucket_create,
    .bucket_exists = s3_bucket_exists,
    .bucket_check = s3_bucket_check,
    .put_begin = s3_put_begin,
    .put_write = s3_put_write,
    .put_commit = s3_put_commit,
    .put_abort = s3_put_abort,
    .head = s3_head,
    .open_read = s3_open_read,
    .open_range = s3_open_range,
    .del = s3_delete,
    .list = s3_list,
};
