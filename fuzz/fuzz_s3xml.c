/* fuzz_s3xml.c — libFuzzer target for the parsers of S3's answers (src/blob/s3_xml.c): the bytes an
 * S3-compatible server sends back are untrusted. Every input goes through each parser
 * (ListBucketResult, Error, InitiateMultipartUploadResult, CopyObjectResult and
 * CompleteMultipartUploadResult, ListMultipartUploadsResult) and the ISO time and ETag helpers.
 * Besides crashes, leaks and UB it checks each parser's promises: a failure has a one-line reason and
 * leaves nothing allocated; an error's code and message hold no control characters; a listing's keys and prefixes are non-empty, NUL-free and well inside
 * the input's size, its sizes non-negative, its times whole seconds, its ETags clean (letters,
 * digits, '-', no quotes) — and cleaning an ETag again changes nothing; an upload id fits its
 * buffer. Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus
 * (corpus/s3xml: answers as AWS documents them and as s3rver writes them, plus broken ones).
 *
 * Run:      build-fuzz/fuzz/fuzz_s3xml -dict=fuzz/fuzz_xml.dict -max_len=8192 -max_total_time=300 WORK fuzz/corpus/s3xml
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_s3xml -merge=1 NEW WORK fuzz/corpus/s3xml; replace
 *           corpus/s3xml with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "blob/s3_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_s3xml: broken promise: %s\n", what);
        abort();
    }
}

static void check_reason(const char *err)
{
    check(err[0] != '\0', "a failure without a reason");
    check(strchr(err, '\n') == NULL, "a reason on more than one line");
}

static void check_etag(const char *e)
{
    size_t n = strlen(e);
    check(n > 0 && n < S3_ETAG_MAX, "an ETag's length");
    for (size_t i = 0; i < n; i++)
        check((e[i] >= '0' && e[i] <= '9') || (e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' && e[i] <= 'Z') ||
                  e[i] == '-',
              "an ETag character");
    char again[S3_ETAG_MAX];
    check(s3_etag_clean(e, again) && strcmp(again, e) == 0, "a clean ETag cleans to itself");
}

static void check_name(const char *s, size_t input)
{
    size_t n = strlen(s);
    /* expat turns each input byte into at most 3 bytes of UTF-8 (Latin-1 input) */
    check(n > 0 && n <= 3 * input, "a key or prefix's length");
}

static void list(const char *doc, size_t size)
{
    s3_list_page pg;
    char err[256] = "";
    if (!s3_xml_list(doc, size, &pg, err, sizeof err)) {
        check_reason(err);
        check(!pg.entries && !pg.prefixes && !pg.next_marker && !pg.n && !pg.nprefixes, "a failed list left data");
        return;
    }
    for (size_t i = 0; i < pg.n; i++) {
        check_name(pg.entries[i].key, size);
        check(pg.entries[i].size >= 0, "a negative size");
        check(pg.entries[i].mtime_ms % 1000 == 0 && pg.entries[i].mtime_ms >= 0, "a time not in whole seconds");
        check_etag(pg.entries[i].etag);
    }
    for (size_t i = 0; i < pg.nprefixes; i++)
        check_name(pg.prefixes[i], size);
    if (pg.next_marker)
        check_name(pg.next_marker, size);
    s3_list_page_free(&pg);
}

static void others(const char *doc, size_t size)
{
    char code[64], msg[256], err[256] = "";
    if (s3_xml_error(doc, size, code, sizeof code, msg, sizeof msg)) {
        check(strlen(code) < sizeof code && strlen(msg) < sizeof msg, "an error's code or message overflows");
        for (const char *p = code; *p; p++)
            check((unsigned char)*p >= 0x20 && *p != 0x7f, "a control character in an error's code");
        for (const char *p = msg; *p; p++)
            check((unsigned char)*p >= 0x20 && *p != 0x7f, "a control character in an error's message");
    }

    char id[S3_UPLOAD_ID_MAX];
    if (s3_xml_upload_id(doc, size, id, sizeof id, err, sizeof err))
        check(id[0] && strlen(id) < sizeof id, "an upload id");
    else
        check_reason(err);

    const char *roots[] = {"CopyObjectResult", "CompleteMultipartUploadResult"};
    for (int r = 0; r < 2; r++) {
        char etag[S3_ETAG_MAX];
        err[0] = '\0';
        if (s3_xml_etag_result(doc, size, roots[r], etag, err, sizeof err))
            check_etag(etag);
        else
            check_reason(err);
    }

    s3_upload *u;
    size_t n;
    bool truncated;
    err[0] = '\0';
    if (s3_xml_uploads(doc, size, &u, &n, &truncated, err, sizeof err)) {
        for (size_t i = 0; i < n; i++) {
            check_name(u[i].key, size);
            check_name(u[i].upload_id, size);
        }
        s3_uploads_free(u, n);
    } else {
        check_reason(err);
        check(!u && !n, "a failed upload list left data");
    }
}

/* The helpers on the raw text (up to the first NUL). */
static void helpers(const char *text)
{
    int64_t ms;
    if (s3_iso_time(text, &ms))
        check(ms >= 0 && ms % 1000 == 0, "an ISO time not in whole seconds");
    char e[S3_ETAG_MAX];
    if (s3_etag_clean(text, e))
        check_etag(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *doc = malloc(size + 1);
    if (!doc)
        return 0;
    memcpy(doc, data, size);
    doc[size] = '\0';
    list(doc, size);
    others(doc, size);
    helpers(doc);
    free(doc);
    return 0;
}
