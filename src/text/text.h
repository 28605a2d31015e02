/* text.h — post-processing of recognised text: the SpeechRecognition options ConvertNumMode,
 * FilterModal, FilterDirty and FilterPunc, for Mandarin and English, applied to a sentence given as
 * timed words (the worker) or to a plain line (`cicada text`); plus the Traditional→Simplified
 * conversion and full-/half-width normalisation the engines use.
 *
 * A text_engine holds what is compiled once (the dirty-word automaton, the guard-word automaton of
 * the number converter, the OpenCC handle). It is immutable after text_engine_new() and safe to use
 * from many threads at once. Per-job options are a text_params value.
 *
 * Order of the passes: FilterDirty, FilterModal, ConvertNumMode, FilterPunc. The rules and their
 * examples are documented at the top of text_filter.c (fillers, dirty words, punctuation),
 * text_num_zh.c and text_num_en.c (numbers), text_width.c (width) and text.c (words and spans).
 *
 * Length bound: for an input of n bytes, every output (the sentence's text, the sum of its words,
 * a processed line, a width-normalised string) is at most TEXT_MAX_OUTPUT(n) bytes. */
#ifndef CICADA_TEXT_H
#define CICADA_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_MAX_OUTPUT(n) (4 * (size_t)(n) + 16)

typedef struct text_engine text_engine;

typedef struct text_engine_params {
    /* A dirty-word list: one word or phrase per line, UTF-8, '#' starts a comment line, blank lines
     * are ignored, surrounding whitespace is trimmed, at most 256 bytes a word. NULL = the built-in
     * list (text_dirty.c). An unreadable file or one that is not UTF-8 makes text_engine_new fail. */
    const char *dirty_words_file;
    /* Open OpenCC's t2s.json for text_t2s (default true). Fails text_engine_new when OpenCC's data
     * is missing. */
    bool t2s;
} text_engine_params;

text_engine_params text_engine_default_params(void);
/* NULL with a one-line reason in err on failure. */
text_engine *text_engine_new(const text_engine_params *p, char *err, size_t errlen);
void text_engine_free(text_engine *e);
/* How many words the engine's dirty-word list holds (the built-in list's or the file's). */
size_t text_engine_dirty_count(const text_engine *e);

typedef struct text_params {
    int convert_num_mode;   /* 0 keep; 1 Chinese/English spoken numbers to digits by context;
                               3 like 1 plus math words and symbols. Default 0 */
    int filter_modal;       /* 0 keep; 1 remove standalone fillers; 2 also sentence-final
                               particles and repeated hesitations. Default 0 */
    int filter_dirty;       /* 0 keep; 1 remove listed words; 2 replace each of their characters
                               with '*'. Default 0 */
    int filter_punc;        /* 0 keep; 1 drop sentence-final punctuation; 2 drop all. Default 0 */
    /* Which language's rules (numbers, fillers) apply: "zh", "yue", "cmn" or "zh-…" → Chinese;
     * "en" or "en-…" → English; NULL → decided per text: Chinese when it contains a Han character,
     * else English. Any other value (e.g. "ja") → no language rules: only FilterDirty and
     * FilterPunc act. Default NULL. */
    const char *language;
} text_params;

text_params text_default_params(void);
/* False with a reason when a mode is out of range (convert_num_mode 0, 1 or 3; others 0-2). */
bool text_params_valid(const text_params *p, char *err, size_t errlen);
/* True when the options change nothing (all modes 0): callers may skip processing. */
bool text_params_noop(const text_params *p);

/* One word of a recognised sentence, in order. Mandarin words are joined without a space, other
 * words with one (a space goes between two words unless the side touching it is Chinese or
 * Japanese: a Han or kana character or CJK punctuation). */
typedef struct text_word {
    const char *text;
    int64_t start_ms, end_ms;
} text_word;

/* What processing made of a sentence. words[i].text is owned by the result. */
typedef struct text_out_word {
    char *text;
    int64_t start_ms, end_ms;
} text_out_word;

typedef struct text_result {
    char *text;              /* the sentence: the words joined as above, whitespace runs as one space */
    text_out_word *words;    /* in order, none empty */
    size_t nwords;
} text_result;

/* Processes one sentence. A word that survives unchanged keeps its times; a word that is removed
 * disappears; a conversion inside one word keeps that word's times; a numeral spread over several
 * words becomes one word timed from the first to the last of them (min start, max end). Invalid
 * UTF-8 in a word reads as U+FFFD. Returns false (with err) only for invalid params; *out is
 * always set to something text_result_free accepts. */
bool text_process_words(const text_engine *e, const text_params *p, const text_word *words, size_t n,
                        text_result *out, char *err, size_t errlen);
void text_result_free(text_result *r);

/* Processes a plain line through the same machinery (the line is one word). Heap string; NULL
 * only for invalid params. */
char *text_process_line(const text_engine *e, const text_params *p, const char *line);

/* A copy of n bytes of s that is valid UTF-8: each byte that does not start a valid sequence, and
 * each NUL byte, becomes U+FFFD. Heap string, at most 3n bytes + 1. */
char *text_utf8_clean(const char *s, size_t n);

/* OpenCC Traditional→Simplified (t2s.json, phrases included). Heap string; NULL when the engine
 * was made without t2s or the conversion failed. */
char *text_t2s(const text_engine *e, const char *s);

/* Full-/half-width normalisation for engine output (the exact rule is documented in
 * text_width.c): full-width ASCII letters, digits and the ideographic space become half-width;
 * other full-width ASCII punctuation stays full-width next to CJK text and becomes half-width
 * elsewhere; half-width , . ! ? ; : right after a Han character and before a Han character or the
 * end of the text become full-width. Heap string. */
char *text_normalize_width(const char *s);

#endif
