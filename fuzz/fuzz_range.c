/* fuzz_range.c — libFuzzer target for the Range header parser (src/util/range.c, range_parse),
 * which reads a header any client can send against a stored object's size. Bytes 0-7 of the input
 * give the size (non-negative; when byte 0 is odd it is cut to 0..1023 so that small objects come
 * up often), bytes 8-23 two numbers a and b, the rest the header. Besides crashes and UB (signed
 * overflow included) it checks: a satisfiable range lies inside [0, size) and is not empty; an
 * ignored or unsatisfiable one leaves *off and *len alone; anything but "bytes=" without a comma is
 * ignored. Then "bytes=a-b", "bytes=a-" and "bytes=-b" built from the two numbers must give exactly
 * what RFC 9110 section 14.1.2 computes. Built with a replay main() (fuzz_replay.c) it is an
 * ordinary test over the seed corpus (corpus/range).
 *
 * Run:      build-fuzz/fuzz/fuzz_range -dict=fuzz/fuzz_range.dict -max_len=128 -max_total_time=300 WORK fuzz/corpus/range
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_range -merge=1 NEW WORK fuzz/corpus/range; replace
 *           corpus/range with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "util/util.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 4096
#define UNTOUCHED (-7)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_range: broken promise: %s\n", what);
        abort();
    }
}

/* Eight bytes (zero past the end of the input) as a non-negative int64. */
static int64_t read_i64(const uint8_t *data, size_t size, size_t at)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (at + i < size ? data[at + i] : 0);
    return (int64_t)(v >> 1);
}

/* Parses h and checks the promises every answer keeps; returns the answer. */
static range_result parse_checked(const char *h, int64_t objsize, int64_t *off, int64_t *len)
{
    *off = *len = UNTOUCHED;
    range_result r = range_parse(h, objsize, off, len);
    check(r == RANGE_OK || r == RANGE_NONE || r == RANGE_UNSATISFIABLE, "a known answer");
    if (r == RANGE_OK) {
        check(*off >= 0 && *off < objsize, "the range starts inside the object");
        check(*len >= 1 && *len <= objsize - *off, "the range ends inside the object");
    } else {
        check(*off == UNTOUCHED && *len == UNTOUCHED, "no range, no output");
    }
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        check(r == RANGE_NONE, "other units and multi-ranges are ignored");
    return r;
}

static void expect(const char *h, int64_t objsize, range_result want, int64_t want_off, int64_t want_len)
{
    int64_t off, len;
    range_result r = parse_checked(h, objsize, &off, &len);
    if (r != want || (r == RANGE_OK && (off != want_off || len != want_len))) {
        fprintf(stderr, "\"%s\" of %" PRId64 ": got %d %" PRId64 "+%" PRId64 ", want %d %" PRId64 "+%" PRId64 "\n",
                h, objsize, r, off, len, want, want_off, want_len);
        check(0, "RFC 9110 arithmetic");
    }
}

/* The three single-range forms with non-negative numbers, against the RFC's arithmetic. */
static void check_forms(int64_t objsize, int64_t a, int64_t b)
{
    char h[64];
    snprintf(h, sizeof h, "bytes=%" PRId64 "-%" PRId64, a, b);
    if (a < objsize && a <= b) {
        int64_t last = b < objsize - 1 ? b : objsize - 1;
        expect(h, objsize, RANGE_OK, a, last - a + 1);
    } else {
        expect(h, objsize, RANGE_UNSATISFIABLE, 0, 0);
    }
    snprintf(h, sizeof h, "bytes=%" PRId64 "-", a);
    if (a < objsize)
        expect(h, objsize, RANGE_OK, a, objsize - a);
    else
        expect(h, objsize, RANGE_UNSATISFIABLE, 0, 0);
    snprintf(h, sizeof h, "bytes=-%" PRId64, b);
    if (b > 0 && objsize > 0) {
        int64_t n = b < objsize ? b : objsize;
        expect(h, objsize, RANGE_OK, objsize - n, n);
    } else {
        expect(h, objsize, RANGE_UNSATISFIABLE, 0, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    int64_t objsize = read_i64(data, size, 0);
    if (size > 0 && (data[0] & 1))
        objsize %= 1024;
    int64_t a = read_i64(data, size, 8), b = read_i64(data, size, 16);
    if (size > 16 && (data[16] & 1)) {   /* small numbers near the size, where the edges are */
        a %= 2048;
        b %= 2048;
    }
    check_forms(objsize, a, b);

    size_t skip = size < 24 ? size : 24;
    char *h = xstrndup((const char *)data + skip, size - skip);
    int64_t off, len;
    parse_checked(h, objsize, &off, &len);
    check(range_parse(NULL, objsize, &off, &len) == RANGE_NONE, "no header, no range");
    free(h);
    return 0;
}
