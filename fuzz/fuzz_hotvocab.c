/* fuzz_hotvocab.c — libFuzzer target for the base64 decoder behind the hot-vocabulary body's
 * VocabularyWeightStr (src/util/base64.c, base64_decode). The input, cut at its first NUL, is
 * decoded as the API decodes that element's text. Besides crashes, leaks and UB it checks: a
 * success gives 3 bytes per 4 digits (rounded down), and those bytes, encoded again by OpenSSL
 * (EVP_EncodeBlock), decode to the same bytes. The other way round, the raw input encoded by
 * OpenSSL always decodes back to itself, also without its padding and when broken into
 * 76-character lines with CRLF (MIME style).
 * The "word|weight" lines inside are not fuzzed here: their checks (word_problem, parse_weight,
 * duplicates, the word limit) report through api_error and fill a store_hotvocab, so they cannot
 * be called without the API's request and response types (see fuzz/README.md).
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus
 * (corpus/hotvocab).
 *
 * Run:      build-fuzz/fuzz/fuzz_hotvocab -dict=fuzz/fuzz_hotvocab.dict -max_total_time=600 WORK fuzz/corpus/hotvocab
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_hotvocab -merge=1 NEW WORK fuzz/corpus/hotvocab;
 *           replace corpus/hotvocab with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "util/util.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_hotvocab: broken promise: %s\n", what);
        abort();
    }
}

/* OpenSSL's standard base64 of n bytes, NUL-terminated (padded, one line). */
static char *encode(const void *p, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    check(len >= 0 && (size_t)len == 4 * ((n + 2) / 3), "EVP_EncodeBlock's length");
    out[len] = '\0';
    return out;
}

/* Decodes text, which must succeed and give exactly want (n bytes). */
static void expect_decodes(const char *text, const void *want, size_t n, const char *what)
{
    buf out;
    buf_init(&out);
    check(base64_decode(text, &out), what);
    check(out.len == n && (n == 0 || memcmp(out.data, want, n) == 0), what);
    buf_free(&out);
}

static size_t count_digits(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s != '=' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n';
    return n;
}

/* The raw bytes, as OpenSSL encodes them, decode back: padded, unpadded, in CRLF lines. */
static void check_encoded(const uint8_t *data, size_t size)
{
    char *enc = encode(data, size);
    expect_decodes(enc, data, size, "OpenSSL's base64 decodes back");
    buf lines;
    buf_init(&lines);
    size_t len = strlen(enc);
    for (size_t at = 0; at < len; at += 76) {
        buf_append(&lines, enc + at, len - at < 76 ? len - at : 76);
        buf_puts(&lines, "\r\n");
    }
    expect_decodes(lines.data ? lines.data : "", data, size, "MIME lines decode back");
    buf_free(&lines);
    while (len > 0 && enc[len - 1] == '=')
        enc[--len] = '\0';
    expect_decodes(enc, data, size, "unpadded base64 decodes back");
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char *text = xstrndup((const char *)data, size);
    buf out;
    buf_init(&out);
    if (base64_decode(text, &out)) {
        check(out.len == count_digits(text) * 3 / 4, "3 bytes per 4 digits");
        char *again = encode(out.data, out.len);
        expect_decodes(again, out.data, out.len, "decode, encode, decode: the same bytes");
        free(again);
    }
    buf_free(&out);
    free(text);
    check_encoded(data, size);
    return 0;
}
