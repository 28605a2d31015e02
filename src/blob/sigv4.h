/* sigv4.h — AWS Signature Version 4 for the S3-compatible blob backend (internal to src/blob).
 * Our own signer on OpenSSL: libcurl 7.88's CURLOPT_AWS_SIGV4 mis-signs multipart queries. It signs
 * exactly what the caller sends: the path as it goes on the wire (already URI-encoded, not encoded
 * again — S3's rule), the raw query (decoded and re-encoded per SigV4, sorted), the Host header, any
 * extra headers, and the payload hash. Pure functions of their arguments (the time is passed in);
 * safe to call from any thread. */
#ifndef CICADA_BLOB_SIGV4_H
#define CICADA_BLOB_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sigv4_key {          /* credentials and scope */
    const char *access_key, *secret_key;
    const char *session_token;      /* NULL or "" = none; else sent and signed as x-amz-security-token */
    const char *region;             /* "us-east-1" */
    const char *service;            /* "s3" */
} sigv4_key;

typedef struct sigv4_request {
    const char *method;             /* "PUT" */
    const char *host;               /* exactly the Host header sent: "127.0.0.1:9000" or "b.s3.amazonaws.com" */
    const char *path;               /* the request path exactly as sent on the wire, already URI-encoded
                                       ("/bucket/a%20b.wav"); NULL or "" signs as "/"; not re-encoded */
    const char *query;              /* the raw query as sent, without '?', or NULL/"": each name/value is
                                       decoded (%XX, and '+' as a space, as S3 servers read it) and
                                       re-encoded per SigV4 (RFC 3986 unreserved kept, everything else
                                       %XX upper-case), sorted by name then value; "uploads" (no '=')
                                       is name "uploads", value ""; empty pieces ("a&&b") are skipped;
                                       a '%' without two hex digits, a space, control byte or '#' is
                                       an error (raw UTF-8 is taken). Send spaces as %20 */
    const char *const *headers;     /* extra headers to sign, "Name: value" (content-type, content-md5,
                                       x-amz-meta-*, range, x-amz-copy-source...); may be NULL. Must not
                                       repeat host, x-amz-date, x-amz-content-sha256 or
                                       x-amz-security-token: the signer adds those itself */
    size_t nheaders;
    const char *payload_sha256;     /* lower-hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    bool omit_content_sha256;       /* false for S3 (which wants it). true only for other services
                                       (and AWS's generic test suite): x-amz-content-sha256 is then
                                       neither signed nor returned (content_sha256 "") */
} sigv4_request;

/* What to add to the request: each a full "Name: value" header line (no CRLF). */
typedef struct sigv4_signed {
    char authorization[1024];       /* "Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
    char amz_date[64];              /* "x-amz-date: 20150830T123600Z" */
    char content_sha256[128];       /* "x-amz-content-sha256: ..." */
    char security_token[2048];      /* "x-amz-security-token: ..." or "" when no session token */
} sigv4_signed;

/* Signs r at now_s (unix seconds, 1970-9999) into out. Header names are lower-cased, values trimmed
 * with inner runs of spaces/tabs collapsed to one space, repeated names joined with ',' in the order
 * given; host, x-amz-date, x-amz-content-sha256 (unless omitted) and x-amz-security-token (with a
 * token) are always signed. false + err (and out all "") on bad input: NULL/empty key parts or a
 * '/' in them, a method that is not an HTTP token, a host with spaces or '/', a path not starting
 * with '/' or not URI-encoded, a bad payload hash or query escape, a header without "Name:", with a
 * control character or naming one of the headers above, or an Authorization line over 1023 bytes. */
bool sigv4_sign(const sigv4_key *k, const sigv4_request *r, int64_t now_s, sigv4_signed *out,
                char *err, size_t errlen);

/* A presigned URL: base + path + '?' + query auth (the caller's query params plus X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host, X-Amz-Security-Token when
 * set, X-Amz-Signature last), payload UNSIGNED-PAYLOAD. base is "http://host:port" (scheme + host
 * exactly as Host); path and query as in sigv4_request. expires_s 1..604800. Heap string (free()),
 * or NULL + err. */
char *sigv4_presign(const sigv4_key *k, const char *method, const char *base, const char *host,
                    const char *path, const char *query, int64_t now_s, int expires_s,
                    char *err, size_t errlen);

/* Lower-hex SHA-256 of a buffer. */
void sigv4_sha256_hex(const void *data, size_t n, char out[65]);

/* URI-encodes an object key for a request path: every byte except A-Z a-z 0-9 - . _ ~ and '/' as
 * %XX (upper-case). Heap string (free()); aborts on out-of-memory like every util/buf user. */
char *sigv4_uri_encode_path(const char *s, size_t n);

#endif
