/* fuzz_utf8text.c — libFuzzer target for the user-text check (src/util/utf8.c, utf8_text_valid),
 * which reads UserData and any other text a user wants stored and echoed. Besides crashes and UB
 * it checks the answer against a second, byte-pattern reading of RFC 3629 written here: the text
 * is accepted exactly when every sequence is well formed and no code point is a control character;
 * on success *chars is the number of lead bytes; on failure *bad points at the first offending
 * sequence, everything before it is accepted text of *chars characters, and *malformed says which
 * of the two rules failed. Built with a replay main() (fuzz_replay.c) it is an ordinary test over
 * the seed corpus (corpus/utf8text).
 *
 * Run:      build-fuzz/fuzz/fuzz_utf8text -max_len=256 -max_total_time=300 WORK fuzz/corpus/utf8text
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_utf8text -merge=1 NEW WORK fuzz/corpus/utf8text; replace
 *           corpus/utf8text with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_utf8text: broken promise: %s\n", what);
        abort();
    }
}

static bool cont(uint8_t b)
{
    return b >= 0x80 && b <= 0xbf;
}

/* Length of the well-formed sequence at d (RFC 3629's table of byte ranges), 0 when ill formed. */
static size_t reference_len(const uint8_t *d, size_t n)
{
    uint8_t b = d[0];
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return n >= 2 && cont(d[1]) ? 2 : 0;
    if (b >= 0xe0 && b <= 0xef) {
        uint8_t lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
        return n >= 3 && d[1] >= lo && d[1] <= hi && cont(d[2]) ? 3 : 0;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        uint8_t lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
        return n >= 4 && d[1] >= lo && d[1] <= hi && cont(d[2]) && cont(d[3]) ? 4 : 0;
    }
    return 0;
}

/* A control character by its bytes: C0 and DEL are single bytes, C1 is 0xc2 0x80-0x9f. */
static bool reference_control(const uint8_t *d, size_t len)
{
    return (len == 1 && (d[0] < 0x20 || d[0] == 0x7f)) || (len == 2 && d[0] == 0xc2 && d[1] <= 0x9f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    size_t at = 0, count = 0, len = 0;
    while (at < size && (len = reference_len(data + at, size - at)) > 0 && !reference_control(data + at, len)) {
        at += len;
        count++;
    }
    size_t chars = SIZE_MAX, bad = SIZE_MAX;
    bool malformed = false;
    bool ok = utf8_text_valid((const char *)data, size, &chars, &bad, &malformed);
    check(ok == (at == size), "accepted exactly when every sequence is good text");
    check(chars == count, "the count of characters (before the first bad one)");
    if (ok) {
        check(bad == SIZE_MAX, "no offset on success");
    } else {
        check(bad == at, "the offset of the first offending sequence");
        check(malformed == (len == 0), "broken UTF-8 told apart from a control character");
        size_t c2, b2;
        bool m2;
        check(utf8_text_valid((const char *)data, bad, &c2, &b2, &m2) && c2 == count, "the prefix is good text");
    }
    return 0;
}
