/* test_text_ac.c — the Aho–Corasick automaton against a naive matcher: random pattern sets over a
 * small alphabet of 1- to 4-byte code points (so that patterns share prefixes and suffixes and
 * overlap a lot), random texts; every occurrence must be reported exactly once, in order of its
 * end, longest first. Seeded, so a failure can be replayed (CICADA_AC_SEED). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_ac.h"

#define MAX_PAT 6
#define ROUNDS 2000

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const uint32_t alphabet[] = {'a', 'b', 'c', 0xE9, 0x4E2D, 0x6587, 0x1F600, 0x10FFFF};
#define ALPHA (sizeof alphabet / sizeof alphabet[0])

typedef struct pattern {
    uint32_t cp[MAX_PAT];
    size_t n;
} pattern;

typedef struct hit {
    size_t start, end;
    uint32_t id;
} hit;

typedef struct hits {
    hit *v;
    size_t n, cap;
} hits;

static void record(void *ctx, size_t start, size_t end, uint32_t id)
{
    hits *h = ctx;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        assert_non_null(h->v);
    }
    h->v[h->n++] = (hit){start, end, id};
}

/* Alphabet size for this round: 2 letters give dense overlaps, all 8 sparse ones. */
static void random_pattern(pattern *p, uint32_t letters)
{
    p->n = 1 + rnd(MAX_PAT);
    for (size_t i = 0; i < p->n; i++)
        p->cp[i] = alphabet[rnd(letters)];
}

static bool occurs_at(const pattern *p, const uint32_t *text, size_t n, size_t at)
{
    return at + p->n <= n && memcmp(text + at, p->cp, p->n * sizeof *p->cp) == 0;
}

/* Distinct occurrences (start, end) of any pattern, counted naively. */
static size_t naive_count(const pattern *pats, size_t npat, const uint32_t *text, size_t n)
{
    size_t count = 0;
    for (size_t end = 1; end <= n; end++)
        for (size_t len = 1; len <= MAX_PAT && len <= end; len++)
            for (size_t k = 0; k < npat; k++)
                if (pats[k].n == len && occurs_at(&pats[k], text, n, end - len)) {
                    count++;
                    break;
                }
    return count;
}

static void one_round(void)
{
    uint32_t letters = 2 + rnd(ALPHA - 1);
    size_t npat = 1 + rnd(60);
    pattern *pats = calloc(npat, sizeof *pats);
    tx_ac *ac = tx_ac_new();
    for (size_t k = 0; k < npat; k++) {
        random_pattern(&pats[k], letters);
        assert_true(tx_ac_add(ac, pats[k].cp, pats[k].n, (uint32_t)k));
    }
    tx_ac_compile(ac);
    size_t n = rnd(300);
    uint32_t *text = malloc((n + 1) * sizeof *text);
    for (size_t i = 0; i < n; i++)
        text[i] = alphabet[rnd(letters)];
    hits h = {0};
    tx_ac_search(ac, text, n, record, &h);
    assert_int_equal(h.n, naive_count(pats, npat, text, n));
    for (size_t i = 0; i < h.n; i++) {
        const hit *x = &h.v[i];
        assert_true(x->id < npat);
        assert_int_equal(x->end - x->start, pats[x->id].n);
        assert_true(occurs_at(&pats[x->id], text, n, x->start));
        if (i > 0) {
            const hit *prev = &h.v[i - 1];
            assert_true(prev->end < x->end || (prev->end == x->end && prev->start < x->start));
        }
    }
    free(h.v);
    free(text);
    free(pats);
    tx_ac_free(ac);
}

static void test_random_against_naive(void **state)
{
    (void)state;
    const char *seed = getenv("CICADA_AC_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : 0x9E3779B97F4A7C15ull;
    if (rng_state == 0)
        rng_state = 1;
    printf("seed %llu\n", (unsigned long long)rng_state);
    for (int r = 0; r < ROUNDS; r++)
        one_round();
}

static void test_duplicates_and_limits(void **state)
{
    (void)state;
    tx_ac *ac = tx_ac_new();
    const uint32_t he[] = {'h', 'e'}, she[] = {'s', 'h', 'e'}, hers[] = {'h', 'e', 'r', 's'};
    assert_false(tx_ac_add(ac, he, 0, 0));
    assert_true(tx_ac_add(ac, he, 2, 1));
    assert_true(tx_ac_add(ac, he, 2, 2));            /* a duplicate keeps id 1 */
    assert_true(tx_ac_add(ac, she, 3, 3));
    assert_true(tx_ac_add(ac, hers, 4, 4));
    assert_int_equal(tx_ac_count(ac), 3);
    hits h = {0};
    tx_ac_search(ac, she, 3, record, &h);             /* not compiled yet: nothing */
    assert_int_equal(h.n, 0);
    tx_ac_compile(ac);
    assert_false(tx_ac_add(ac, she, 3, 5));
    const uint32_t text[] = {'u', 's', 'h', 'e', 'r', 's'};
    tx_ac_search(ac, text, 6, record, &h);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.v[0].id, 3);                  /* she [1,4) */
    assert_int_equal(h.v[0].start, 1);
    assert_int_equal(h.v[1].id, 1);                  /* he [2,4) */
    assert_int_equal(h.v[2].id, 4);                  /* hers [2,6) */
    free(h.v);
    tx_ac_free(ac);
    tx_ac_free(NULL);
}

static void test_many_patterns(void **state)
{
    (void)state;
    /* 20,000 two-character CJK words: the automaton stays exact with a wide root */
    tx_ac *ac = tx_ac_new();
    for (uint32_t k = 0; k < 20000; k++) {
        uint32_t w[2] = {0x4E00 + k % 200, 0x4E00 + k / 200};
        tx_ac_add(ac, w, 2, k);
    }
    tx_ac_compile(ac);
    assert_int_equal(tx_ac_count(ac), 20000);
    uint32_t text[1000];
    for (size_t i = 0; i < 1000; i++)
        text[i] = 0x4E00 + (uint32_t)((i * 37) % 100);
    hits h = {0};
    tx_ac_search(ac, text, 1000, record, &h);
    assert_int_equal(h.n, 999);                      /* every adjacent pair is a pattern */
    free(h.v);
    tx_ac_free(ac);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_naive),
        cmocka_unit_test(test_duplicates_and_limits),
        cmocka_unit_test(test_many_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
