/* fuzz_template.c — libFuzzer target for the rules of src/api/template.c that read untrusted bytes
 * without the API's request types: a template Name (template_name_valid) and the list's ids= query
 * (template_ids_clean). The first input byte chooses: even, the rest (cut at its first NUL) is a
 * Name; odd, an ids list, cleaned into a full-size buffer and (bit 1) into a 40-byte one. Besides
 * crashes, leaks and UB it checks: an accepted Name is strict UTF-8 of 1 to 64 characters, each a
 * Chinese character, an ASCII letter or digit, _, - or *, and fits a stored name; an accepted ids
 * list holds `count` distinct items, each printable ASCII without spaces or commas, at most 63
 * bytes, found in the input, and cleaning it again changes nothing; every refusal says why, naming
 * Name or ids.
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus
 * (corpus/template).
 *
 * Run:      build-fuzz/fuzz/fuzz_template -max_total_time=600 WORK fuzz/corpus/template
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_template -merge=1 NEW WORK fuzz/corpus/template;
 *           replace corpus/template with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "api/api_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 16384
#define IDS_CAP (100 * 64 + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_template: broken promise: %s\n", what);
        abort();
    }
}

static bool allowed(uint32_t cp)
{
    if (cp >= 0x80)
        return utf8_is_han(cp);
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_' ||
           cp == '-' || cp == '*';
}

/* What the rules say about name, worked out here on its own. */
static bool name_expected(const char *name)
{
    size_t n = strlen(name), at = 0, chars = 0;
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(name + at, n - at, &cp);
        if (len == 0 || !allowed(cp))
            return false;
        at += len;
        chars++;
    }
    return chars >= 1 && chars <= 64;
}

static void fuzz_name(const char *name)
{
    char why[160] = "";
    bool ok = template_name_valid(name, why, sizeof why);
    check(ok == name_expected(name), "the Name rule as written in the spec");
    if (ok)
        check(strlen(name) < STORE_TEMPLATE_NAME_SIZE, "an accepted Name fits a stored one");
    else
        check(strncmp(why, "Name ", 5) == 0, "a refused Name says why, naming Name");
}

/* Every item of the cleaned list: well-formed, distinct, from the input. */
static void check_items(const char *in, const char *out, size_t count)
{
    const char *item[101];
    size_t len[101], n = 0;
    for (const char *p = out; *p; p += *p == ',') {
        size_t k = strcspn(p, ",");
        check(n < 101, "at most 100 ids");
        check(k >= 1 && k <= 63, "an id is 1 to 63 bytes");
        for (size_t i = 0; i < k; i++)
            check((unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f, "an id is printable ASCII");
        char *copy = xstrndup(p, k);
        check(strstr(in, copy) != NULL, "an id comes from the input");
        free(copy);
        for (size_t j = 0; j < n; j++)
            check(len[j] != k || memcmp(item[j], p, k) != 0, "ids are distinct");
        item[n] = p;
        len[n++] = k;
        p += k;
    }
    check(n == count && count <= 100, "count is the number of ids, at most 100");
}

static void fuzz_ids(const char *in, bool small)
{
    size_t cap = small ? 40 : IDS_CAP, count = 0;
    char *out = xmalloc(cap);
    char why[160] = "";
    if (template_ids_clean(in, out, cap, &count, why, sizeof why)) {
        check(strlen(out) < cap, "the list fits its buffer");
        check_items(in, out, count);
        char *again = xmalloc(cap);
        size_t count2 = 0;
        check(template_ids_clean(out, again, cap, &count2, why, sizeof why), "a cleaned list is clean");
        check(strcmp(out, again) == 0 && count2 == count, "cleaning twice changes nothing");
        free(again);
    } else {
        check(strncmp(why, "ids ", 4) == 0, "a refused list says why, naming ids");
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    char *text = xstrndup((const char *)data + 1, size - 1);
    if (data[0] & 1)
        fuzz_ids(text, (data[0] & 2) != 0);
    else
        fuzz_name(text);
    free(text);
    return 0;
}
