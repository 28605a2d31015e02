/* s3_client.h — one signed HTTP request to an S3-compatible endpoint, with retries (internal to
 * src/blob; blob_s3.c builds the operations on it). Thread-safe: a small pool of libcurl easy
 * handles (each keeping its connections) is shared by the threads of one client. */
#ifndef CICADA_BLOB_S3_CLIENT_H
#define CICADA_BLOB_S3_CLIENT_H

#include "blob/blob.h"
#include "blob/s3_xml.h"
#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct s3_client s3_client;

/* Checks and keeps p (endpoint, bucket, credentials, timeouts; copied). NULL + err when the
 * settings are unusable (no scheme, no bucket, no keys...). Sends nothing. */
s3_client *s3_client_new(const blob_params *p, char *err, size_t errlen);
void s3_client_free(s3_client *c);
/* The endpoint as configured, for messages. */
const char *s3_client_endpoint(const s3_client *c);
/* The S3 bucket. */
const char *s3_client_bucket(const s3_client *c);

typedef struct s3_response s3_response;

typedef struct s3_request {
    const char *method;            /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    const char *key;               /* the S3 object key (raw bytes, encoded here); NULL: the bucket */
    size_t keylen;
    const char *query;             /* already URI-encoded, without '?'; NULL = none */
    const char *const *headers;    /* extra "Name: value" lines, all signed */
    size_t nheaders;
    const void *body;              /* PUT/POST body, sent from memory (re-sent on a retry) */
    size_t body_len;
    bool idempotent;               /* retry after a 5xx, a 429 or a connection failure */
    /* Streaming the body of a 2xx answer: sink gets it in pieces (return false to stop the
     * transfer: it then fails); NULL = collect it into the response's body. Error answers are
     * always collected (up to 64 KiB) so their <Error> can be read. A request that has passed
     * bytes to its sink is never retried. */
    bool (*sink)(void *ud, const char *data, size_t n);
    /* Called once, from inside the transfer, when the final answer's status and headers are in
     * (before any of its body): lets a streaming caller learn the outcome early. May be NULL. */
    void (*on_headers)(void *ud, const s3_response *r);
    void *ud;
    size_t max_body;               /* cap on a collected 2xx body; 0 = 8 MiB */
} s3_request;

struct s3_response {
    long status;                   /* HTTP status of the final answer; 0 = none came */
    buf body;                      /* collected body (see s3_request.sink) */
    int64_t content_length;        /* -1 when absent */
    char etag[S3_ETAG_MAX];        /* "" when absent or unusable */
    int64_t last_modified_ms;      /* whole seconds; -1 when absent */
    char content_type[128];
    int64_t range_total;           /* the "/total" of Content-Range; -1 when absent */
    char s3_code[64];              /* the <Error>'s Code of a failed answer, else "" */
    char err[768];                 /* a failure in one line: endpoint, method, key, status, S3 code
                                      and message, or the connection error */
};
void s3_response_init(s3_response *r);
void s3_response_free(s3_response *r);

/* Sends rq (signing each attempt anew). true when a 2xx answer came; false otherwise, with
 * resp->status (0 when no answer came at all) and resp->err describing the failure. */
bool s3_perform(s3_client *c, const s3_request *rq, s3_response *resp);

/* A query value URI-encoded (every byte but A-Z a-z 0-9 - . _ ~ as %XX) appended to b. */
void s3_query_escape(buf *b, const char *s, size_t n);

#endif
