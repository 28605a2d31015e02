/* auth.h — COS/CI request signatures (q-sign-algorithm=sha1) and the keyring of
 * SecretId/SecretKey/appid triples. Pure functions over a request description; the HTTP layer
 * fills auth_request from whatever server it runs on. */
#ifndef CICADA_AUTH_H
#define CICADA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct auth_kv {
    const char *name;   /* as received (any case) */
    const char *value;  /* as received, percent-decoded for query params */
} auth_kv;

typedef struct auth_request {
    const char *method;           /* "GET", ... */
    const char *path;             /* percent-decoded path, e.g. "/asr_jobs/s1" */
    const auth_kv *params;        /* decoded query parameters */
    size_t nparams;
    const auth_kv *headers;       /* request headers */
    size_t nheaders;
    const char *authorization;    /* Authorization header, or NULL: then params are searched */
    int64_t now;                  /* unix seconds */
    int64_t max_skew;             /* seconds allowed outside [t0,t1]; default 60 */
    int64_t max_lifetime;         /* longest t1 - t0 accepted for either window; <= 0: no limit */
} auth_request;

typedef enum auth_status {
    AUTH_OK = 0,
    AUTH_MISSING,          /* no signature at all -> AccessDenied */
    AUTH_MALFORMED,        /* unparsable Authorization -> AccessDenied */
    AUTH_UNSUPPORTED,      /* q-sign-algorithm other than sha1 -> AccessDenied */
    AUTH_EXPIRED,          /* outside the time window -> RequestTimeTooSkewed / AccessDenied */
    AUTH_TOO_LONG,         /* a window longer than max_lifetime -> AccessDenied */
    AUTH_UNKNOWN_KEY,      /* SecretId not in keyring -> InvalidAccessKeyId */
    AUTH_BAD_SIGNATURE,    /* -> SignatureDoesNotMatch */
} auth_status;
const char *auth_status_code(auth_status s);     /* the API error Code */
const char *auth_status_message(auth_status s);  /* a human sentence */

/* ---- keyring ---- */
typedef struct auth_key {
    char secret_id[128];
    char secret_key[128];
    char appid[32];
} auth_key;

typedef struct auth_keyring auth_keyring;
auth_keyring *auth_keyring_new(void);
void auth_keyring_free(auth_keyring *kr);
bool auth_keyring_add(auth_keyring *kr, const char *secret_id, const char *secret_key, const char *appid);
/* Loads lines "SecretId SecretKey appid" (whitespace or comma separated, '#' comments).
 * Returns false with err set on an unreadable file or a malformed line. */
bool auth_keyring_load(auth_keyring *kr, const char *path, char *err, size_t errlen);
const auth_key *auth_keyring_find(const auth_keyring *kr, const char *secret_id);
size_t auth_keyring_count(const auth_keyring *kr);
/* Bearer keys: a list of KEY or KEY:APPID items separated by commas or line breaks (KEY APPID also
 * does, '#' comments), the appid defaulting to default_appid; each key is stored as SecretId and
 * SecretKey. Keys are 8-127 characters of letters, digits and -_.~+/=. False with err (naming the
 * item by position, never the key) on a malformed or repeated item; items before it stay added. */
bool auth_keyring_add_bearer(auth_keyring *kr, const char *list, const char *default_appid, char *err,
                             size_t errlen);
/* The entry whose SecretId is token, compared in time independent of the keys' contents. */
const auth_key *auth_keyring_find_secret(const auth_keyring *kr, const char *token);
const auth_key *auth_keyring_at(const auth_keyring *kr, size_t i);   /* NULL past the end */

/* The name of a parameter given twice (names compared ignoring case, as the check does), or NULL.
 * Such a request is ambiguous: the check takes the first, a handler might read another; refuse it.
 * O(n^2) over n names: callers bound n (the HTTP layer keeps at most 128). */
const char *auth_repeated_param(const auth_kv *params, size_t n);

/* Verifies r against kr. On AUTH_OK *out_key is the key that signed. The host-port rule of the
 * spec is applied: if the check fails and Host has a port, it is retried without the port. */
auth_status auth_verify(const auth_request *r, const auth_keyring *kr, const auth_key **out_key);

/* ---- buckets (bucket.c) ---- */
#define AUTH_BUCKET_MAX 64
/* A bucket name "<name>-<appid>" (^[a-z0-9][a-z0-9-]{0,48}-<digits>$); its appid into appid_out. */
bool auth_bucket_name_valid(const char *bucket, char appid_out[32]);
/* The bucket a Host header names (lower-cased), or default_bucket for an IP, localhost or any
 * other host. False, with out empty, for a service-level host ("ci.<region>.myqcloud.com"), a
 * bucket label of 64 bytes or more, or no default bucket. The name is not validated here. */
bool auth_bucket_from_host(const char *host, const char *default_bucket, char out[AUTH_BUCKET_MAX]);

/* ---- signing (used by tests, benchmarks and any outgoing request) ---- */
/* Writes a full Authorization value signing the given method/path/params/headers (every param and
 * header given is signed) for the window [t0,t1]. Returns false if out is too small. */
bool auth_sign(const char *secret_id, const char *secret_key, int64_t t0, int64_t t1,
               const char *method, const char *path,
               const auth_kv *params, size_t nparams, const auth_kv *headers, size_t nheaders,
               char *out, size_t outlen);

/* Building blocks, exposed for unit tests against the official vectors. */
void auth_sign_key(const char *secret_key, const char *key_time, char out_hex[41]);
void auth_http_string_sha1(const char *method, const char *path,
                           const auth_kv *params, size_t nparams, const char *param_list,
                           const auth_kv *headers, size_t nheaders, const char *header_list,
                           char out_hex[41]);
void auth_signature(const char *sign_key_hex, const char *key_time, const char *http_sha1_hex,
                    char out_hex[41]);
/* RFC 3986 encoding used for names and values. */
void auth_uri_encode(const char *in, char *out, size_t outlen);

#endif
