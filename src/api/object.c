/* object.c — the embedded object store's COS calls on the same port and signature (spec section
 * 8): PUT (streamed to the store, never held in memory), GET with Range (streamed from the store:
 * a file, or a pipe from S3), HEAD, DELETE, list, and bucket create/head. Keys go to blob as opaque
 * bytes; blob guarantees they never become paths. */
#include "api/api_internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void http_date(int64_t ms, char out[64])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void iso_utc(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

/* Maps a blob failure to the API's error. */
static void blob_error(api_response *r, const api_request *q, blob_rc rc, const char *key)
{
    switch (rc) {
    case BLOB_NO_BUCKET:
        api_error(r, q, 404, "NoSuchBucket", "bucket %s does not exist", q->bucket);
        break;
    case BLOB_NO_KEY:
        api_error(r, q, 404, "NoSuchKey", "object %s does not exist in bucket %s", key, q->bucket);
        break;
    case BLOB_INVALID:
        api_error(r, q, 400, "InvalidArgument", "invalid object key (1 to %d bytes)", BLOB_MAX_KEY);
        break;
    case BLOB_TOO_LARGE:
        api_error(r, q, 400, "EntityTooLarge", "the object is larger than this server accepts");
        break;
    default:
        api_error(r, q, 500, "InternalError", "%s", blob_rc_message(rc));
    }
}

static void object_headers(api_response *r, const blob_info *info)
{
    char v[160];
    snprintf(v, sizeof v, "\"%s\"", info->etag);
    api_response_header(r, "ETag", v);
    http_date(info->mtime_ms, v);
    api_response_header(r, "Last-Modified", v);
    api_response_header(r, "Accept-Ranges", "bytes");
}

/* The Range header against the object's size once the store knows it (blob_open_range). */
typedef struct range_choice {
    const char *header;
    range_result result;
    int64_t off, len;   /* the bytes chosen */
} range_choice;

static bool choose_range(void *ud, const blob_info *info, int64_t *off, int64_t *len)
{
    range_choice *c = ud;
    c->result = range_parse(c->header, info->size, &c->off, &c->len);
    if (c->result == RANGE_NONE) {
        c->off = 0;
        c->len = info->size;
    }
    *off = c->off;
    *len = c->len;
    return c->result != RANGE_UNSATISFIABLE;
}

/* GET and HEAD. The body is never copied first: a file-system object is sent from its file at the
 * range's offset, an S3 object streams from a ranged GET through a pipe (blob_open_range). HEAD
 * only looks the object up; its (empty) pipe carries the length for Content-Length. */
void api_object_get(api *a, api_request *q, api_response *r, const char *key)
{
    bool head = strcmp(q->method, "HEAD") == 0;
    range_choice rc = {.header = api_header(q, "Range")};
    blob_info info;
    blob_reader rd = {.fd = -1};
    blob_rc brc;
    if (head) {
        brc = blob_head(a->d.blobs, q->bucket, key, strlen(key), &info);
        if (brc == BLOB_OK && choose_range(&rc, &info, &rd.offset, &rd.length)) {
            int fds[2];
            if (pipe2(fds, O_CLOEXEC) != 0) {
                brc = BLOB_IO;
            } else {
                close(fds[1]);
                rd.fd = fds[0];
                rd.seekable = false;
            }
        }
    } else {
        brc = blob_open_range(a->d.blobs, q->bucket, key, strlen(key), choose_range, &rc, &rd, &info);
    }
    if (brc != BLOB_OK) {
        blob_error(r, q, brc, key);
        return;
    }
    r->status = 200;
    r->content_type = NULL;
    object_headers(r, &info);
    api_response_header(r, "Content-Type", info.content_type[0] ? info.content_type : "application/octet-stream");
    if (rc.result == RANGE_UNSATISFIABLE) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%" PRId64, info.size);
        api_error(r, q, 416, "InvalidRange", "the requested range is not satisfiable for %" PRId64 " bytes", info.size);
        api_response_header(r, "Content-Range", cr);
        return;
    }
    if (rc.result == RANGE_OK) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, rc.off, rc.off + rc.len - 1, info.size);
        api_response_header(r, "Content-Range", cr);
        r->status = 206;
    }
    r->fd = rd.fd;
    r->fd_stream = !rd.seekable;
    r->fd_offset = rd.seekable ? rd.offset : 0;
    r->fd_length = rd.length;
}

void api_object_delete(api *a, api_request *q, api_response *r, const char *key)
{
    blob_rc rc = blob_delete(a->d.blobs, q->bucket, key, strlen(key));
    if (rc == BLOB_NO_KEY)
        rc = BLOB_OK;   /* S3/COS semantics: deleting a missing key succeeds */
    if (rc != BLOB_OK) {
        blob_error(r, q, rc, key);
        return;
    }
    r->status = 204;
    r->content_type = NULL;
}

static void write_list(api_response *r, const api_request *q, const blob_list_result *lr, const char *prefix,
                       const char *marker, const char *delim, int max_keys)
{
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "ListBucketResult");
    xw_text_elem(&w, "Name", q->bucket);
    xw_text_elem(&w, "Prefix", prefix);
    xw_text_elem(&w, "Marker", marker);
    xw_int_elem(&w, "MaxKeys", max_keys);
    if (delim)
        xw_text_elem(&w, "Delimiter", delim);
    xw_text_elem(&w, "IsTruncated", lr->truncated ? "true" : "false");
    if (lr->truncated && lr->next_marker)
        xw_text_elem(&w, "NextMarker", lr->next_marker);
    for (size_t i = 0; i < lr->nprefixes; i++) {
        xw_open(&w, "CommonPrefixes");
        xw_text_elem(&w, "Prefix", lr->common_prefixes[i]);
        xw_close(&w, "CommonPrefixes");
    }
    for (size_t i = 0; i < lr->n; i++) {
        const blob_entry *e = &lr->entries[i];
        char t[40], etag[48];
        iso_utc(e->info.mtime_ms, t);
        snprintf(etag, sizeof etag, "\"%s\"", e->info.etag);
        xw_open(&w, "Contents");
        xw_text_elem(&w, "Key", e->key);
        xw_text_elem(&w, "LastModified", t);
        xw_text_elem(&w, "ETag", etag);
        xw_int_elem(&w, "Size", e->info.size);
        xw_text_elem(&w, "StorageClass", "STANDARD");
        xw_close(&w, "Contents");
    }
    xw_close(&w, "ListBucketResult");
}

void api_object_list(api *a, api_request *q, api_response *r)
{
    int max_keys;
    if (!api_int_param(r, q, "max-keys", 1, 1000, 1000, &max_keys))
        return;
    const char *prefix = api_param(q, "prefix"), *marker = api_param(q, "marker");
    const char *delim = api_param(q, "delimiter");
    blob_list_result lr = {0};
    blob_rc rc = blob_list(a->d.blobs, q->bucket, prefix ? prefix : "", marker ? marker : "", delim, max_keys, &lr);
    if (rc != BLOB_OK) {
        blob_error(r, q, rc, "");
        return;
    }
    write_list(r, q, &lr, prefix ? prefix : "", marker ? marker : "", delim, max_keys);
    blob_list_free(&lr);
}

void api_bucket_create(api *a, api_request *q, api_response *r)
{
    blob_rc rc = blob_bucket_create(a->d.blobs, q->bucket);
    if (rc != BLOB_OK) {
        blob_error(r, q, rc, "");
        return;
    }
    r->status = 200;
    r->content_type = NULL;
}

void api_bucket_head(api *a, api_request *q, api_response *r)
{
    if (!blob_bucket_exists(a->d.blobs, q->bucket)) {
        api_error(r, q, 404, "NoSuchBucket", "bucket %s does not exist", q->bucket);
        return;
    }
    r->status = 200;
    r->content_type = NULL;
}

bool api_object_put_begin(api *a, api_request *q, api_response *r, const char *key, blob_writer **w)
{
    const char *ctype = api_header(q, "Content-Type");
    blob_rc rc = blob_put_begin(a->d.blobs, q->bucket, key, strlen(key), ctype ? ctype : "application/octet-stream", w);
    if (rc != BLOB_OK) {
        blob_error(r, q, rc, key);
        return false;
    }
    return true;
}

blob_rc api_object_put_chunk(blob_writer *w, const void *data, size_t n)
{
    return blob_put_write(w, data, n);
}

void api_object_put_end(api *a, api_request *q, api_response *r, blob_writer *w, blob_rc status)
{
    (void)a;
    if (status != BLOB_OK) {
        blob_put_abort(w);
        blob_error(r, q, status, "");
        return;
    }
    blob_info info;
    blob_rc rc = blob_put_commit(w, &info);
    if (rc != BLOB_OK) {
        blob_error(r, q, rc, "");
        return;
    }
    r->status = 200;
    r->content_type = NULL;
    object_headers(r, &info);
}
