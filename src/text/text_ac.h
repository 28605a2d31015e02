/* text_ac.h — private to src/text (and its tests): an Aho–Corasick automaton over Unicode code
 * points. Patterns are added, the automaton is compiled once, and then it is read-only: any number
 * of threads may search with it at the same time. */
#ifndef CICADA_TEXT_AC_H
#define CICADA_TEXT_AC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tx_ac tx_ac;

tx_ac *tx_ac_new(void);
void tx_ac_free(tx_ac *ac);
/* Adds a pattern of n > 0 code points before tx_ac_compile. A pattern added twice keeps the first
 * id. Returns false for an empty pattern or after compiling. */
bool tx_ac_add(tx_ac *ac, const uint32_t *cps, size_t n, uint32_t id);
void tx_ac_compile(tx_ac *ac);
size_t tx_ac_count(const tx_ac *ac);   /* distinct patterns */

/* Calls fn for every occurrence of every pattern in text (overlapping ones included), in order of
 * their end, longest first among those ending at the same place: [start, end) in code points. */
typedef void (*tx_ac_fn)(void *ctx, size_t start, size_t end, uint32_t id);
void tx_ac_search(const tx_ac *ac, const uint32_t *text, size_t n, tx_ac_fn fn, void *ctx);

#endif
