/* output_testutil.h — building engine results by hand for the output tests (header-only: two
 * small helpers shared by test_output.c and test_output_property.c). */
#ifndef CICADA_TESTS_OUTPUT_TESTUTIL_H
#define CICADA_TESTS_OUTPUT_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/util.h"

typedef struct test_word {
    const char *text;
    int64_t start_ms, end_ms;
} test_word;

/* Appends a segment with this text, span and words (copied). */
static inline void test_add_segment(engine_result *r, const char *text, int64_t start_ms, int64_t end_ms,
                                    const test_word *w, size_t n)
{
    engine_segment *seg = engine_result_add_segment(r, start_ms, end_ms);
    free(seg->text);
    seg->text = xstrdup(text);
    for (size_t i = 0; i < n; i++)
        engine_segment_add_word(seg, w[i].text, w[i].start_ms, w[i].end_ms);
}

/* Code points of s, spaces excluded (what SentenceMaxLength counts). */
static inline size_t test_char_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80 && *s != ' ';
    return n;
}

#endif
