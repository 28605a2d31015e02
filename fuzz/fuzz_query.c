/* fuzz_query.c — libFuzzer target for what the server does with a request target's bytes: the
 * percent-decoding of the path and each query name and value (src/util/url.c, the same decoder the
 * HTTP layer installs in libmicrohttpd) and the refusal of repeated parameter names
 * (auth_repeated_param). The input is the target "path?a=b&c=d". Checks, besides crashes, leaks
 * and UB: decoding never lengthens a string; a "%00" is reported exactly when the raw text holds
 * one, and no NUL byte is ever produced; encoding a decoded string (auth_uri_encode) and decoding
 * it again gives it back; auth_repeated_param names a repeated parameter exactly when two names
 * are equal ignoring case. Built with a replay main() (fuzz_replay.c) it replays corpus/query.
 *
 * Run: build-fuzz/fuzz/fuzz_query -max_total_time=300 WORK fuzz/corpus/query */
#include "auth/auth.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_query: broken promise: %s\n", what);
        abort();
    }
}

/* Decodes s in place and checks the decoder's promises on it. */
static void decode(char *s)
{
    size_t raw = strlen(s);
    bool expect_nul = strstr(s, "%00") != NULL;
    char *before = xstrdup(s);
    bool nul = false;
    size_t n = url_unescape(s, &nul);
    check(n == strlen(s) && n <= raw, "never longer, length returned");
    check(nul == expect_nul, "%00 reported exactly when present");
    if (!nul) {
        size_t cap = 3 * n + 1;
        char *enc = xmalloc(cap), *again;
        auth_uri_encode(s, enc, cap);
        again = xstrdup(enc);
        url_unescape(again, NULL);
        check(strcmp(again, s) == 0, "decode(encode(x)) == x");
        free(enc);
        free(again);
    }
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *t = xstrndup((const char *)data, size);   /* stops at a NUL, as a request line would */
    char *q = strchr(t, '?');
    if (q)
        *q++ = '\0';
    decode(t);
    auth_kv params[MAX_PARAMS];
    size_t n = 0;
    for (char *save = NULL, *p = q ? strtok_r(q, "&", &save) : NULL; p && n < MAX_PARAMS; p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        decode(p);
        if (eq)
            decode(eq);
        params[n++] = (auth_kv){.name = p, .value = eq ? eq : ""};
    }
    const char *dup = auth_repeated_param(params, n);
    bool twins = false;
    for (size_t i = 0; i < n && !twins; i++)
        for (size_t j = i + 1; j < n && !twins; j++)
            twins = strcasecmp(params[i].name, params[j].name) == 0;
    check((dup != NULL) == twins, "a repeated name is found exactly when there is one");
    free(t);
    return 0;
}
