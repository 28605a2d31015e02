/* text_ac.c — the Aho–Corasick automaton the dirty-word filter and the number guards search with:
 * one pass over the text's code points finds every listed word, however long the list. Nodes of
 * the trie keep their edges sorted by code point (binary search: the alphabet is all of Unicode),
 * a failure link (the longest proper suffix that is also a trie path) and a dictionary link (the
 * nearest terminal node along the failure chain) so that every match is reported. */
#include "text/text_ac.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct ac_edge {
    uint32_t cp;
    uint32_t to;
} ac_edge;

typedef struct ac_node {
    ac_edge *edges;      /* sorted by cp once compiled */
    uint32_t nedges, cap;
    uint32_t fail;
    int64_t dict;        /* nearest terminal node on the failure chain, -1 none */
    uint32_t depth;      /* pattern length when terminal */
    bool terminal;
    uint32_t id;
} ac_node;

struct tx_ac {
    ac_node *nodes;
    size_t n, cap;
    size_t patterns;
    bool compiled;
};

static uint32_t new_node(tx_ac *ac, uint32_t depth)
{
    if (ac->n == ac->cap) {
        ac->cap = ac->cap ? ac->cap * 2 : 64;
        ac->nodes = xrealloc(ac->nodes, ac->cap * sizeof *ac->nodes);
    }
    ac_node *nd = &ac->nodes[ac->n];
    memset(nd, 0, sizeof *nd);
    nd->dict = -1;
    nd->depth = depth;
    return (uint32_t)ac->n++;
}

tx_ac *tx_ac_new(void)
{
    tx_ac *ac = xcalloc(1, sizeof *ac);
    new_node(ac, 0);
    return ac;
}

void tx_ac_free(tx_ac *ac)
{
    if (!ac)
        return;
    for (size_t i = 0; i < ac->n; i++)
        free(ac->nodes[i].edges);
    free(ac->nodes);
    free(ac);
}

size_t tx_ac_count(const tx_ac *ac)
{
    return ac->patterns;
}

/* Before compiling, edges are unsorted: a linear scan. */
static int64_t child_linear(const ac_node *nd, uint32_t cp)
{
    for (uint32_t i = 0; i < nd->nedges; i++)
        if (nd->edges[i].cp == cp)
            return nd->edges[i].to;
    return -1;
}

static int64_t child_sorted(const ac_node *nd, uint32_t cp)
{
    uint32_t lo = 0, hi = nd->nedges;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (nd->edges[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nd->nedges && nd->edges[lo].cp == cp ? (int64_t)nd->edges[lo].to : -1;
}

static void add_edge(tx_ac *ac, uint32_t from, uint32_t cp, uint32_t to)
{
    ac_node *nd = &ac->nodes[from];
    if (nd->nedges == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 2;
        nd->edges = xrealloc(nd->edges, nd->cap * sizeof *nd->edges);
    }
    nd->edges[nd->nedges++] = (ac_edge){cp, to};
}

bool tx_ac_add(tx_ac *ac, const uint32_t *cps, size_t n, uint32_t id)
{
    if (ac->compiled || n == 0)
        return false;
    uint32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t next = child_linear(&ac->nodes[at], cps[i]);
        if (next < 0) {
            uint32_t made = new_node(ac, (uint32_t)(i + 1));
            add_edge(ac, at, cps[i], made);
            next = made;
        }
        at = (uint32_t)next;
    }
    if (!ac->nodes[at].terminal) {
        ac->nodes[at].terminal = true;
        ac->nodes[at].id = id;
        ac->patterns++;
    }
    return true;
}

static int cmp_edge(const void *a, const void *b)
{
    uint32_t x = ((const ac_edge *)a)->cp, y = ((const ac_edge *)b)->cp;
    return x < y ? -1 : x > y;
}

/* The state reached from `from` on cp, following failure links: the automaton's goto function. */
static uint32_t step(const tx_ac *ac, uint32_t from, uint32_t cp)
{
    for (;;) {
        int64_t next = child_sorted(&ac->nodes[from], cp);
        if (next >= 0)
            return (uint32_t)next;
        if (from == 0)
            return 0;
        from = ac->nodes[from].fail;
    }
}

/* Breadth-first: a node's failure link depends only on shallower nodes. */
static void link_node(tx_ac *ac, uint32_t parent, uint32_t cp, uint32_t child)
{
    ac_node *c = &ac->nodes[child];
    c->fail = parent == 0 ? 0 : step(ac, ac->nodes[parent].fail, cp);
    const ac_node *f = &ac->nodes[c->fail];
    c->dict = f->terminal ? (int64_t)c->fail : f->dict;
}

void tx_ac_compile(tx_ac *ac)
{
    if (ac->compiled)
        return;
    for (size_t i = 0; i < ac->n; i++)
        if (ac->nodes[i].nedges > 1)
            qsort(ac->nodes[i].edges, ac->nodes[i].nedges, sizeof(ac_edge), cmp_edge);
    uint32_t *queue = xmalloc(ac->n * sizeof *queue);
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t u = queue[head++];
        for (uint32_t k = 0; k < ac->nodes[u].nedges; k++) {
            ac_edge e = ac->nodes[u].edges[k];
            link_node(ac, u, e.cp, e.to);
            queue[tail++] = e.to;
        }
    }
    free(queue);
    ac->compiled = true;
}

static void report(const tx_ac *ac, uint32_t state, size_t end, tx_ac_fn fn, void *ctx)
{
    int64_t at = ac->nodes[state].terminal ? (int64_t)state : ac->nodes[state].dict;
    while (at >= 0) {
        const ac_node *nd = &ac->nodes[at];
        fn(ctx, end - nd->depth, end, nd->id);
        at = nd->dict;
    }
}

void tx_ac_search(const tx_ac *ac, const uint32_t *text, size_t n, tx_ac_fn fn, void *ctx)
{
    if (!ac->compiled)
        return;
    uint32_t state = 0;
    for (size_t i = 0; i < n; i++) {
        state = step(ac, state, text[i]);
        report(ac, state, i + 1, fn, ctx);
    }
}
