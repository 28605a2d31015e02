/* output.h — turns engine results into what a job writes back. output_build() makes the list of
 * sentences once, for the job's ResTextFormat (0-3), SentenceMaxLength and ChannelNum; renderers
 * then write that list as the API's Result lines, SubRip, WebVTT, a JSON document, or the
 * ResultDetail array (the `.detail` object). Pure: no I/O, no globals.
 *
 * Sentences per ResTextFormat:
 *   0  one per engine segment, FinalSentence = the engine's segment text, words as the engine gave them;
 *   1  one per segment, punctuation removed from the sentence and the words (a word that is only
 *      punctuation is dropped; the others keep their times; "don't", "3.5", "1,000" keep their
 *      inner mark);
 *   2  one per segment, with punctuation;
 *   3  re-segmented at punctuation: every word ending in a break mark (. , ! ? ; : … 。 ， 、 ！ ？ ；
 *      ： and their full-width forms) ends a sentence, except for a few English abbreviations
 *      ("Mr.", "Dr.", "e.g.", single initials); a sentence longer than sentence_max_length (code
 *      points, spaces excluded) is split greedily between words, never inside one (a single longer
 *      word stands alone). Segment boundaries are always sentence boundaries.
 * Formats 1-3 build FinalSentence from the words: a space between two words unless the side
 * touching it is Chinese/Japanese (a Han or kana character or CJK punctuation); there a segment
 * with text but no words counts as one word spanning the segment. Empty segments give no sentence.
 * All text is cleaned: malformed UTF-8 becomes U+FFFD, whitespace runs one space, trimmed.
 *
 * Engines without punctuation (pocketsphinx): with punctuate_from_pauses, formats 2 and 3 first
 * give the words marks from the pauses between them: a gap >= pause_sentence_ms ends a sentence
 * ("." / "。"), a gap >= pause_comma_ms adds a comma ("," / "，"), and a segment's last word gets
 * the final mark; nothing is added to a word already ending in a break mark. Marks are the CJK ones
 * when the language hint is zh/ja/yue (any region suffix) or the word ends in a CJK character.
 * Defaults 800 / 300 ms: in read and conversational speech, pauses inside a clause are mostly
 * under 200-250 ms, clause pauses 300-600 ms and sentence pauses 700 ms and more. (Cicada's
 * pocketsphinx engine already opens a new segment at a 500 ms silence, so with it the
 * sentence-pause rule acts only when its segment_gap_ms is raised; the comma rule acts inside.)
 *
 * Channels: each output_channel is one recognised channel; sentences of all channels are
 * interleaved by StartMs (ties: lower channel index first, then engine order), each carrying its
 * channel's speaker_id. With more than one channel the Result lines are prefixed by the channel
 * index ("0 [0:1.000,0:2.500]  text") and WebVTT cues carry a voice tag (<v 0>); SubRip cues carry
 * no channel mark (use vtt or json to tell the speakers apart).
 *
 * Speakers (SpeakerDiarization 1): a channel given who spoke when (output_channel.speakers) labels
 * each word with the speaker holding most of its time; a stretch of words shorter than
 * SPEAKER_MIN_RUN_MS between two stretches of one other speaker takes their label (a boundary
 * word half-heard, not a turn). A segment is then cut where the label changes, before the
 * sentences are made, so that no sentence of any ResTextFormat mixes speakers; a piece's
 * FinalSentence is joined from its words. Each sentence carries its speaker as SpeakerId (0, 1, ...
 * by first appearance), the Result lines stay as they are, SubRip cues open with "[SPEAKER_<id>] "
 * (the bracketed tag subtitle editors and most players show as text) and WebVTT cues with the
 * voice span "<v Speaker <id>>" (WebVTT's own way to name a speaker; players show or style it). */
#ifndef CICADA_OUTPUT_H
#define CICADA_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diarize/diarize.h"
#include "engine/engine.h"

typedef struct output_params {
    int res_text_format;          /* 0-3; default 0 */
    int sentence_max_length;      /* 0 = off, or 6-40; used by format 3 only; default 0 */
    const char *language;         /* hint for inserted marks: "zh", "ja", "yue" use 。，; NULL/other . , */
    bool punctuate_from_pauses;   /* formats 2 and 3: marks from pauses (set for pocketsphinx); default off */
    int64_t pause_sentence_ms;    /* default 800 */
    int64_t pause_comma_ms;       /* default 300 */
    /* FilterPunc, applied to the sentences as built (after the marks from pauses): 1 drops each
     * sentence's final marks (from its text and its last word), 2 drops all punctuation as format 1
     * does (no marks from pauses either). Default 0. */
    int filter_punc;
} output_params;
output_params output_default_params(void);

typedef struct output_channel {
    const engine_result *r;       /* NULL = nothing recognised on this channel */
    int speaker_id;               /* SpeakerId of its sentences (the channel number for ChannelNum 2) */
    const diarize_result *speakers;   /* who spoke when (see Speakers above); NULL = speaker_id throughout */
} output_channel;

/* A read-only view of one sentence; times absolute in ms, words in order. */
typedef struct output_word {
    const char *text;
    int64_t start_ms, end_ms;
} output_word;

typedef struct output_sentence {
    const char *final_sentence;   /* FinalSentence */
    const char *slice_sentence;   /* SliceSentence: the words joined by single spaces */
    int64_t start_ms, end_ms;     /* cover every word */
    int speaker_id;
    size_t channel;               /* index into the output_build channels */
    const output_word *words;
    size_t nwords;
    engine_stats stats;           /* its engine segment's (every sentence cut from one segment has them) */
} output_sentence;

typedef struct output_doc output_doc;

/* Builds the sentences of nch channels (nch 0 gives an empty document). Returns NULL with err
 * filled when the params are out of range. */
output_doc *output_build(const output_channel *ch, size_t nch, const output_params *p, char *err,
                         size_t errlen);
void output_doc_free(output_doc *d);
size_t output_doc_count(const output_doc *d);
const output_sentence *output_doc_sentence(const output_doc *d, size_t i);   /* NULL past the end */
/* Words per second over the sentence's time span, rounded to one decimal (as the service shows
 * it); 0 for a sentence of zero length. */
double output_sentence_speed(const output_sentence *s);

/* Renderers: heap strings (free()). An empty document gives "" (Result lines, SubRip), "WEBVTT\n",
 * "[]" and {"Sentences": []}. Text never contains a line break (engine whitespace becomes one space). */
/* The API's Result: "[m:s.mmm,m:s.mmm]  text" per sentence (minutes unbounded), "\n"-joined, no
 * trailing newline; prefixed by "<channel> " when the document has more than one channel. */
char *output_doc_result_lines(const output_doc *d);
/* SubRip: numbered cues "HH:MM:SS,mmm --> HH:MM:SS,mmm" (hours grow past 99), a blank line after each. */
char *output_doc_srt(const output_doc *d);
/* WebVTT: "WEBVTT", then cues "HH:MM:SS.mmm --> HH:MM:SS.mmm"; text escaped (&amp; &lt; &gt;). */
char *output_doc_vtt(const output_doc *d);
/* The ResultDetail array: [{FinalSentence, SliceSentence, StartMs, EndMs, WordsNum, SpeechSpeed,
 * SpeakerId, Words:[{Word, OffsetStartMs, OffsetEndMs}]}], offsets relative to StartMs. Compact. */
char *output_doc_detail_json(const output_doc *d);
/* The `json` output file (a Cicada extension): {"Sentences": <the ResultDetail array>}, indented. */
char *output_doc_json(const output_doc *d);

/* Output files: "txt" (the Result lines), "srt", and the extensions "vtt" and "json". */
bool output_file_type_known(const char *file_type);
/* The body for a file type and its Content-Type; NULL for an unknown type. */
char *output_doc_file(const output_doc *d, const char *file_type, const char **content_type);

/* The single-channel, ResTextFormat 0 shapes of an engine_result, as before output_build existed
 * (kept for callers that have not switched; each builds a format-0 document and renders it). */
char *output_result_lines(const engine_result *r);
char *output_srt(const engine_result *r);
char *output_detail_json(const engine_result *r, int speaker_id);

#endif
