/* fuzz_modelspec.c — libFuzzer target for the CICADA_ENGINES parser (src/models/spec.c,
 * "TYPE=ENGINE:MODEL[:LANGUAGE],..."). The input, cut at its first NUL, is parsed as the spec;
 * the first byte's low 7 bits also set the entry limit (0..127, so that "too many entries" is
 * reached too). Besides crashes and UB it checks the parser's promises: a failure has a reason; a
 * success has at most the limit of entries, each with a non-empty, trimmed, unique type free of
 * '=' and ','; engine whisper or sphinx; a non-empty trimmed model free of ':' and ','; a language
 * that is "", "auto" or two or three lowercase letters; and the entries written back as a spec
 * parse again to the same entries. Built with a replay main() (fuzz_replay.c) it is an ordinary
 * test over the seed corpus (corpus/modelspec).
 *
 * Run:      build-fuzz/fuzz/fuzz_modelspec -dict=fuzz/fuzz_modelspec.dict -max_total_time=600 WORK fuzz/corpus/modelspec
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_modelspec -merge=1 NEW WORK fuzz/corpus/modelspec;
 *           replace corpus/modelspec with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "models/models.h"
#include "util/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_modelspec: broken promise: %s\n", what);
        abort();
    }
}

static bool trimmed(const char *s)
{
    size_t n = strlen(s);
    return n == 0 || (!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]));
}

static bool language_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || strcmp(s, "auto") == 0)
        return true;
    return (n == 2 || n == 3) && strspn(s, "abcdefghijklmnopqrstuvwxyz") == n;
}

static void check_entry(const models_engine_entry *e)
{
    check(e->type[0] && trimmed(e->type) && !strpbrk(e->type, "=,"), "type non-empty, trimmed, no '=' or ','");
    check(strcmp(e->engine, "whisper") == 0 || strcmp(e->engine, "sphinx") == 0, "engine whisper or sphinx");
    check(e->model[0] && trimmed(e->model) && !strpbrk(e->model, ":,"), "model non-empty, trimmed, no ':' or ','");
    check(language_ok(e->language), "language a code");
}

/* The entries as a spec again, parsed back: the same entries. */
static void check_rewrite(const models_engine_entry *e, size_t n)
{
    buf spec;
    buf_init(&spec);
    for (size_t i = 0; i < n; i++) {
        buf_printf(&spec, "%s%s=%s:%s", i ? "," : "", e[i].type, e[i].engine, e[i].model);
        if (e[i].language[0])
            buf_printf(&spec, ":%s", e[i].language);
    }
    models_engine_entry *again = xcalloc(n + 1, sizeof *again);
    size_t m = 0;
    char err[512] = "";
    bool ok = models_engines_parse(spec.data ? spec.data : "", again, n, &m, err, sizeof err);
    if (!ok)
        fprintf(stderr, "rewritten \"%s\": %s\n", spec.data, err);
    check(ok && m == n, "the rewritten spec parses");
    for (size_t i = 0; i < n; i++)
        check(memcmp(&e[i], &again[i], sizeof *e) == 0, "the rewritten spec gives the same entries");
    free(again);
    buf_free(&spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    size_t max = data[0] & 0x7f;
    char *spec = xstrndup((const char *)data + 1, size - 1);
    models_engine_entry *out = xcalloc(max + 1, sizeof *out);
    size_t n = 12345;
    char err[512];
    memset(err, 'x', sizeof err);
    bool ok = models_engines_parse(spec, out, max, &n, err, sizeof err);
    if (!ok) {
        size_t len = strnlen(err, sizeof err);
        check(len > 0 && len < sizeof err, "a failure has a reason");
    } else {
        check(n <= max, "at most max entries");
        for (size_t i = 0; i < n; i++) {
            check_entry(&out[i]);
            for (size_t j = 0; j < i; j++)
                check(strcmp(out[i].type, out[j].type) != 0, "types unique");
        }
        check(n > 0 || strspn(spec, " \t\n\v\f\r") == strlen(spec), "only a blank spec has no entries");
        check_rewrite(out, n);
    }
    free(out);
    free(spec);
    return 0;
}
