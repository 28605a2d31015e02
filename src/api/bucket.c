/* bucket.c — POST/DELETE/GET /asrbucket: turning speech recognition on and off for a bucket and
 * listing the caller's ASR buckets. Opening creates the bucket in the object store (a fresh install
 * needs no other step) and its default queue. */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

static void write_bucket_response(api_response *r, const api_request *q, const store_bucket *b)
{
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    xw_open(&w, "AsrBucket");
    char ct[TIME_FMT_LEN];
    time_format(b->create_ms, ct);
    xw_text_elem(&w, "BucketId", b->name);
    xw_text_elem(&w, "Name", b->name);
    xw_text_elem(&w, "Region", b->region);
    xw_text_elem(&w, "CreateTime", ct);
    xw_close(&w, "AsrBucket");
    xw_close(&w, "Response");
}

void api_bucket_open(api *a, api_request *q, api_response *r)
{
    /* The old clients' <Request><Bucket>…</Bucket></Request> body is ignored, as the spec says. */
    blob_rc brc = blob_bucket_create(a->d.blobs, q->bucket);
    if (brc != BLOB_OK) {
        api_error(r, q, 500, "InternalError", "cannot create bucket %s: %s", q->bucket, blob_rc_message(brc));
        return;
    }
    store_bucket b = {0};
    snprintf(b.name, sizeof b.name, "%s", q->bucket);
    snprintf(b.appid, sizeof b.appid, "%s", q->appid);
    snprintf(b.region, sizeof b.region, "%s", a->region);
    b.create_ms = time_now_ms();
    store_queue dq;
    if (store_bucket_open(a->d.st, &b, &dq) != STORE_OK) {
        api_error(r, q, 500, "InternalError", "cannot open ASR on %s: %s", q->bucket, store_last_error());
        return;
    }
    store_bucket_get(a->d.st, q->bucket, &b);
    write_bucket_response(r, q, &b);
}

bool api_asr_open(api *a, const api_request *q, api_response *r)
{
    store_bucket b;
    store_rc rc = store_bucket_get(a->d.st, q->bucket, &b);
    if (rc == STORE_NOT_FOUND)
        api_error(r, q, 404, "NoSuchBucket",
                  "speech recognition is not enabled on bucket %s: open it with POST /asrbucket first", q->bucket);
    else if (rc != STORE_OK)
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    return rc == STORE_OK;
}

void api_bucket_close(api *a, api_request *q, api_response *r)
{
    store_rc rc = store_bucket_close(a->d.st, q->bucket);
    if (rc == STORE_NOT_FOUND) {
        api_error(r, q, 404, "NoSuchBucket", "speech recognition is not enabled on bucket %s", q->bucket);
        return;
    }
    if (rc != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
        return;
    }
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    xw_text_elem(&w, "AsrBucket", q->bucket);
    xw_close(&w, "Response");
}

/* A comma list from the query (regions, bucketNames) as the store takes it: items trimmed of spaces,
 * empty items dropped; "" when nothing is left or when an item is "All" (no filter). False when it
 * does not fit dst. */
static bool comma_list(const char *v, char *dst, size_t cap)
{
    size_t used = 0;
    const char *item;
    size_t k;
    dst[0] = '\0';
    for (const char *p = v ? v : ""; comma_next(&p, &item, &k);) {
        if (k == 3 && strncmp(item, "All", 3) == 0) {
            dst[0] = '\0';
            return true;
        }
        if (!comma_append(dst, &used, cap, item, k))
            return false;
    }
    return true;
}

/* Filters as the CI API defines them: regions and bucketNames are comma lists (bucketNames of full
 * names), bucketName is a prefix search; all three narrow the list together. */
void api_bucket_list(api *a, api_request *q, api_response *r)
{
    char regions[1024], names[4096];
    if (!comma_list(api_param(q, "regions"), regions, sizeof regions) ||
        !comma_list(api_param(q, "bucketNames"), names, sizeof names)) {
        api_error(r, q, 400, "InvalidArgument", "regions or bucketNames is too long (at most %zu bytes)",
                  sizeof names - 1);
        return;
    }
    store_bucket_filter f = {.appid = q->appid, .regions = regions, .names = names,
                             .name_prefix = api_param(q, "bucketName")};
    if (!api_int_param(r, q, "pageNumber", 1, 1000000, 1, &f.page_number) ||
        !api_int_param(r, q, "pageSize", 1, 100, 10, &f.page_size))
        return;
    store_bucket list[100];
    size_t n = 0;
    int64_t total = 0;
    if (store_bucket_list(a->d.st, &f, list, &n, &total) != STORE_OK) {
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
        return;
    }
    xml_writer w;
    api_list_begin(r, q, &w, total, f.page_number, f.page_size);
    tree_out *t = tree_xml(&w);
    for (size_t i = 0; i < n; i++)
        render_bucket(t, &list[i]);
    tree_free(t);
    xw_close(&w, "Response");
}
