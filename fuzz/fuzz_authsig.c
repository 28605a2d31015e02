/* fuzz_authsig.c — libFuzzer target for the signature check (src/auth/auth.c): the Authorization
 * header and the q-* query parameters of a presigned URL, parsed and verified. The input is lines:
 * line 1 the query string ("name=value&q-ak=...&q-signature=..." for a presigned URL), line 2 the
 * Authorization value (empty: the signature is looked for in the query), line 3 the method, line 4
 * the path, the rest "Name: value" headers. Besides crashes, leaks and UB it checks:
 *   - auth_verify returns a known status, and a key exactly when it says AUTH_OK;
 *   - signing the same method, path, parameters and headers (with names of unreserved characters)
 *     and verifying gives AUTH_OK with that key, and a changed path or method does not.
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over corpus/authsig.
 *
 * Run: build-fuzz/fuzz/fuzz_authsig -dict=fuzz/fuzz_authsig.dict -max_total_time=300 WORK fuzz/corpus/authsig */
#include "auth/auth.h"
#include "util/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KV 32
#define NOW 1795493300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_authsig: broken promise: %s\n", what);
        abort();
    }
}

/* Splits "a=b&c&d=e" in place into kv (decoded like the HTTP layer does). */
static size_t split_query(char *q, auth_kv *kv, size_t cap)
{
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(q, "&", &save); p && n < cap; p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        url_unescape(p, NULL);
        if (eq)
            url_unescape(eq + 1, NULL);
        kv[n++] = (auth_kv){.name = p, .value = eq ? eq + 1 : ""};
    }
    return n;
}

static bool plain_name(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.' && *s != '~')
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    static auth_keyring *kr;
    if (!kr) {
        kr = auth_keyring_new();
        auth_keyring_add(kr, "AKIDtestSecretId", "SK_TEST", "1250000000");
    }
    char *text = xstrndup((const char *)data, size);
    char *lines[MAX_KV + 4] = {0};
    size_t nlines = 0;
    for (char *p = text; p && nlines < MAX_KV + 4;) {   /* lines, empty ones kept */
        lines[nlines++] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    auth_kv params[MAX_KV], headers[MAX_KV];
    size_t nh = 0;
    char *query = xstrdup(lines[0] ? lines[0] : "");
    size_t np = split_query(query, params, MAX_KV);
    for (size_t i = 4; i < nlines && nh < MAX_KV; i++) {
        char *colon = strchr(lines[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        headers[nh++] = (auth_kv){.name = lines[i], .value = colon + 1};
    }
    const char *authorization = nlines > 1 && lines[1][0] ? lines[1] : NULL;
    const char *method = nlines > 2 ? lines[2] : "GET";
    const char *path = nlines > 3 ? lines[3] : "/";
    auth_request r = {.method = method, .path = path, .params = params, .nparams = np, .headers = headers,
                      .nheaders = nh, .authorization = authorization, .now = NOW, .max_skew = 60,
                      .max_lifetime = 7 * 86400};
    const auth_key *key = (const auth_key *)1;
    auth_status st = auth_verify(&r, kr, &key);
    check(st >= AUTH_OK && st <= AUTH_BAD_SIGNATURE, "a known status");
    check((st == AUTH_OK) == (key != NULL), "a key exactly on success");
    check(auth_status_code(st) && auth_status_message(st), "texts for every status");

    /* round trip over the same request, with names the lists carry unambiguously */
    size_t kp = 0, kh = 0;
    for (size_t i = 0; i < np; i++)
        if (plain_name(params[i].name))
            params[kp++] = params[i];
    for (size_t i = 0; i < nh; i++)
        if (plain_name(headers[i].name))
            headers[kh++] = headers[i];
    char authz[8192];
    if (auth_sign("AKIDtestSecretId", "SK_TEST", NOW - 10, NOW + 600, method, path, params, kp, headers, kh, authz,
                  sizeof authz)) {
        auth_request s = {.method = method, .path = path, .params = params, .nparams = kp, .headers = headers,
                          .nheaders = kh, .authorization = authz, .now = NOW, .max_skew = 60};
        key = NULL;
        check(auth_verify(&s, kr, &key) == AUTH_OK && key && strcmp(key->appid, "1250000000") == 0,
              "what was signed verifies");
        char *other = xmalloc(strlen(path) + 2);
        sprintf(other, "%sx", path);
        s.path = other;
        check(auth_verify(&s, kr, NULL) != AUTH_OK, "another path does not verify");
        s.path = path;
        s.method = strcasecmp(method, "PUT") == 0 ? "POST" : "PUT";
        check(auth_verify(&s, kr, NULL) != AUTH_OK, "another method does not verify");
        free(other);
    }
    free(query);
    free(text);
    return 0;
}
