/* fuzz_form.c — libFuzzer target for multipart/form-data bodies (src/api/form.c), what the
 * OpenAI-compatible endpoint reads from any client. The input up to its first line break is the
 * Content-Type header (cut at a NUL), the rest is the body. Besides crashes, leaks and UB it
 * checks: an accepted form has at most API_FORM_MAX_PARTS parts, each with a name, each part's
 * content lies inside the body, in order and without overlap, and is followed there by the
 * delimiter; a refusal says why; api_form_get finds the first part of each name.
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus
 * (corpus/form).
 *
 * Run:      build-fuzz/fuzz/fuzz_form -max_total_time=600 WORK fuzz/corpus/form
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_form -merge=1 NEW WORK fuzz/corpus/form;
 *           replace corpus/form with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "api/api_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_form: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *ctype = malloc(hlen + 1);
    memcpy(ctype, data, hlen);
    ctype[hlen] = '\0';
    size_t blen = nl ? size - hlen - 1 : 0;
    char *body = malloc(blen ? blen : 1);   /* its own allocation: ASan sees any read past it */
    if (blen)
        memcpy(body, nl + 1, blen);
    api_form *f = malloc(sizeof *f);
    char why[256] = "";
    bool ok = api_form_parse(ctype, blen ? body : NULL, blen, f, why, sizeof why);
    if (!ok) {
        check(why[0] != '\0', "a refusal says why");
    } else {
        char boundary[72];
        check(api_form_boundary(ctype, boundary, NULL, 0), "an accepted form has a boundary");
        size_t dlen = strlen(boundary) + 4;
        check(f->n <= API_FORM_MAX_PARTS, "at most API_FORM_MAX_PARTS parts");
        const char *prev_end = body;
        for (size_t i = 0; i < f->n; i++) {
            const api_form_part *p = &f->part[i];
            check(p->name[0] != '\0', "every part has a name");
            check(strlen(p->filename) < sizeof p->filename && strlen(p->content_type) < sizeof p->content_type,
                  "copied strings fit");
            check(p->data >= prev_end && p->data + p->len <= body + blen, "content inside the body, in order");
            check((size_t)(body + blen - (p->data + p->len)) >= dlen &&
                      memcmp(p->data + p->len, "\r\n--", 4) == 0 &&
                      memcmp(p->data + p->len + 4, boundary, strlen(boundary)) == 0,
                  "content is followed by the delimiter");
            prev_end = p->data + p->len;
            const api_form_part *first = api_form_get(f, p->name);
            check(first && first <= p && strcmp(first->name, p->name) == 0, "api_form_get finds the first of a name");
        }
    }
    free(f);
    free(body);
    free(ctype);
    return 0;
}
