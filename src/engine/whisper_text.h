/* whisper_text.h — private to the whisper engine (and its tests): turning whisper's tokens into
 * words, and the hallucination guards applied to every transcript (junk-only segments, blacklisted
 * phrases, repeated phrases, repeated segments). Pure text functions: no whisper.cpp types, so the
 * tests (and the parity test, which applies the same guards to whisper-cli's output) can call them
 * on plain strings. */
#ifndef CICADA_ENGINE_WHISPER_TEXT_H
#define CICADA_ENGINE_WHISPER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* One text token of a segment (special and timestamp tokens already left out), times in ms. */
typedef struct wt_token {
    const char *text;
    int64_t t0_ms, t1_ms;
} wt_token;

/* Appends the words the tokens spell to seg. A token starting with a space starts a new word;
 * every CJK character (Han, kana) is a word of its own, timed by an equal share of its token;
 * punctuation sticks to the word before it; UTF-8 characters split across tokens are joined and
 * bytes that never form a character are left out. */
void wt_add_words(engine_segment *seg, const wt_token *toks, size_t n);

/* A copy of text without the bytes that are not UTF-8 (whisper's byte-level tokens can leave
 * half a character at a segment's edge, and random weights produce any bytes), nor U+FFFD. */
char *wt_clean_utf8(const char *text);

/* True when text says nothing: only whitespace, punctuation and symbols (e.g. "♪", "...", U+FFFD),
 * possibly inside bracketed annotations such as "[BLANK_AUDIO]" or "(music)". */
bool wt_is_junk(const char *text);

/* True when text contains one of the phrases, compared on letters only: whitespace and
 * punctuation are ignored and ASCII is case-folded ("Thank you for watching!" matches
 * "thank you for watching"). Phrases with no letters never match. */
bool wt_matches_blacklist(const char *text, const char *const *phrases, size_t nphrases);

/* The built-in blacklist: subtitle credits and sign-offs whisper is known to invent on silence. */
const char *const *wt_default_blacklist(size_t *n);

/* Collapses a phrase of 1-10 words (CJK: characters) repeated 3 or more times in a row into one
 * occurrence, keeping the first occurrence's words and timings; rebuilds seg->text when anything
 * changed. A segment without words is split into words from its text. Returns true if changed. */
bool wt_collapse_repeats(engine_segment *seg);

/* Applies every guard to a transcript in order: drops junk-only and blacklisted segments,
 * collapses repeats inside segments, then drops a segment whose text equals the one kept
 * before it. phrases NULL = the built-in blacklist. Returns the number of segments dropped. */
size_t wt_apply_guards(engine_result *r, const char *const *phrases, size_t nphrases);

#endif
