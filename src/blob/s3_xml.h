/* s3_xml.h — reading the XML documents an S3-compatible server answers with (internal to src/blob):
 * ListBucketResult (ListObjects v1), InitiateMultipartUploadResult, CompleteMultipartUploadResult,
 * CopyObjectResult, ListMultipartUploadsResult and Error. The bytes are untrusted (fuzz/fuzz_s3xml.c
 * throws arbitrary ones at every parser): each parser goes through src/xml (expat, bounded depth,
 * elements and text) and either fills its output completely or fails with a one-line reason and
 * leaves nothing allocated. */
#ifndef CICADA_BLOB_S3_XML_H
#define CICADA_BLOB_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_ETAG_MAX 40      /* unquoted ETag: 32 hex, or "<32 hex>-<parts>" */
#define S3_UPLOAD_ID_MAX 1024

typedef struct s3_list_entry {
    char *key;                /* heap, as the server sent it (no NUL inside) */
    int64_t size;             /* >= 0 */
    int64_t mtime_ms;         /* whole seconds */
    char etag[S3_ETAG_MAX];   /* quotes removed */
} s3_list_entry;

typedef struct s3_list_page {
    s3_list_entry *entries;   /* in the order sent */
    size_t n;
    char **prefixes;          /* CommonPrefixes/Prefix, heap */
    size_t nprefixes;
    bool truncated;           /* IsTruncated */
    char *next_marker;        /* NextMarker, heap; NULL when absent */
} s3_list_page;

/* ListBucketResult. false + err when the document is not one (or is malformed). */
bool s3_xml_list(const char *body, size_t len, s3_list_page *out, char *err, size_t errlen);
void s3_list_page_free(s3_list_page *p);

/* An <Error> document: true with its Code and Message (either may be ""; control characters
 * turned into blanks, so they fit on one log line), false when the body is not an Error document.
 * Every parser's err is one line too. */
bool s3_xml_error(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen);

/* InitiateMultipartUploadResult/UploadId. */
bool s3_xml_upload_id(const char *body, size_t len, char *upload_id, size_t idlen, char *err, size_t errlen);

/* CopyObjectResult or CompleteMultipartUploadResult (root names which one is expected): its ETag,
 * unquoted. A 200 answer may still carry an <Error> document (S3 does that for both): that fails,
 * with the error's code and message in err. */
bool s3_xml_etag_result(const char *body, size_t len, const char *root, char etag[S3_ETAG_MAX], char *err,
                        size_t errlen);

typedef struct s3_upload {
    char *key;                /* heap */
    char *upload_id;          /* heap */
} s3_upload;
/* ListMultipartUploadsResult: the pending uploads. */
bool s3_xml_uploads(const char *body, size_t len, s3_upload **out, size_t *n, bool *truncated, char *err,
                    size_t errlen);
void s3_uploads_free(s3_upload *u, size_t n);

/* "2009-10-12T17:50:30.000Z" (fractions optional, 'Z' required) as ms since the epoch, truncated
 * to whole seconds; false when it is not that form or not a real date. */
bool s3_iso_time(const char *s, int64_t *ms);
/* An ETag as sent (quoted or not, surrounding blanks allowed) into out without quotes; false when
 * it is empty, too long or holds anything but letters, digits and '-'. */
bool s3_etag_clean(const char *in, char out[S3_ETAG_MAX]);

#endif
