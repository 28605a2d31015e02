/* output.c — owns the sentence model of a job's result (see output.h): cleaning engine words,
 * punctuation from pauses, the ResTextFormat 0-3 sentence rules, interleaving channels, and the
 * renderers (Result lines, SubRip, WebVTT, ResultDetail/JSON). Kept apart from the engines so
 * every engine's output comes out in exactly the same form, and pure so it is tested on hand-made
 * results. */
#include "output/output.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

/* ---- UTF-8 ---- */

/* The code point at s (a NUL-terminated string, normally already cleaned by clean_text); a
 * malformed byte reads as itself. */
static size_t next_cp(const char *s, uint32_t *cp)
{
    size_t n = utf8_decode_strict(s, strnlen(s, 4), cp);
    if (n == 0) {
        *cp = (unsigned char)s[0];
        n = 1;
    }
    return n;
}

static uint32_t first_cp(const char *s)
{
    uint32_t cp = 0;
    if (*s)
        next_cp(s, &cp);
    return cp;
}

/* Where the code point that ends at s[end] (end > 0) starts. */
static size_t cp_start_before(const char *s, size_t end)
{
    size_t at = end - 1;
    while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80)
        at--;
    return at;
}

static uint32_t last_cp(const char *s)
{
    size_t i = strlen(s);
    if (i == 0)
        return 0;
    uint32_t cp;
    next_cp(s + cp_start_before(s, i), &cp);
    return cp;
}

/* ---- character classes ---- */

static bool in_range(uint32_t cp, uint32_t lo, uint32_t hi)
{
    return cp >= lo && cp <= hi;
}

/* Control characters and Unicode spaces count as whitespace (a line break never reaches a line). */
static bool is_space(uint32_t cp)
{
    return cp <= 0x20 || cp == 0x7F || cp == 0x85 || cp == 0xA0 || in_range(cp, 0x2000, 0x200A)
        || in_range(cp, 0x2028, 0x2029) || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Marks that are not content. Symbols that carry meaning (% & # @ $ + = / *) are not punctuation. */
static bool is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return cp != 0 && strchr("!\"'(),-.:;?[]{}`", (int)cp) != NULL;
    return cp == 0xA1 || cp == 0xAB || cp == 0xB7 || cp == 0xBB || cp == 0xBF || in_range(cp, 0x2010, 0x2027)
        || in_range(cp, 0x2039, 0x203A) || in_range(cp, 0x203C, 0x203D) || in_range(cp, 0x2047, 0x2049)
        || in_range(cp, 0x2E3A, 0x2E3B) || in_range(cp, 0x3001, 0x3003) || in_range(cp, 0x3008, 0x3011)
        || in_range(cp, 0x3014, 0x301F) || cp == 0x3030 || cp == 0x30FB || in_range(cp, 0xFE10, 0xFE19)
        || in_range(cp, 0xFE30, 0xFE4F) || in_range(cp, 0xFE50, 0xFE5E) || cp == 0xFF01 || cp == 0xFF02
        || in_range(cp, 0xFF07, 0xFF09) || in_range(cp, 0xFF0C, 0xFF0E) || in_range(cp, 0xFF1A, 0xFF1B)
        || cp == 0xFF1F || cp == 0xFF3B || cp == 0xFF3D || cp == 0xFF5B || cp == 0xFF5D
        || in_range(cp, 0xFF5F, 0xFF65);
}

/* Marks after which format 3 ends a sentence: sentence ends and clause breaks. */
static bool is_break_mark(uint32_t cp)
{
    if (cp < 0x80)
        return cp != 0 && strchr(".,!?;:", (int)cp) != NULL;
    return cp == 0x2026 || in_range(cp, 0x203C, 0x203D) || in_range(cp, 0x2047, 0x2049)
        || in_range(cp, 0x3001, 0x3002) || cp == 0xFF01 || cp == 0xFF0C || cp == 0xFF0E
        || in_range(cp, 0xFF1A, 0xFF1B) || cp == 0xFF1F || cp == 0xFF61 || cp == 0xFF64
        || in_range(cp, 0xFE10, 0xFE16) || in_range(cp, 0xFE50, 0xFE57);
}

/* Marks that stay inside a word in format 1: "don't", "3.5", "1,000", "well-known", "克里斯·保罗". */
static bool keeps_inside_word(uint32_t cp)
{
    return cp == '\'' || cp == '-' || cp == '.' || cp == ',' || cp == 0xB7 || cp == 0x2010 || cp == 0x2019
        || cp == 0x2027 || cp == 0x30FB;
}

/* Written without spaces (src/util's one definition): Han and kana, and their punctuation on a side. */
static bool is_cjk_char(uint32_t cp) { return utf8_is_spaceless(cp); }
static bool is_cjk_side(uint32_t cp) { return utf8_is_spaceless(cp) || utf8_is_wide_punct(cp); }

/* ---- text helpers ---- */

/* Valid UTF-8 (a malformed byte becomes U+FFFD), whitespace runs as one space, trimmed. */
static char *clean_text(const char *s)
{
    buf b;
    buf_init(&b);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    bool pending_space = false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode_strict((const char *)p + i, n - i, &cp);
        bool bad = len == 0;
        if (bad)
            len = 1;
        if (!bad && is_space(cp)) {
            pending_space = b.len > 0;
        } else {
            if (pending_space)
                buf_putc(&b, ' ');
            pending_space = false;
            if (bad)
                buf_puts(&b, "\xEF\xBF\xBD");
            else
                buf_append(&b, p + i, len);
        }
        i += len;
    }
    return buf_steal(&b);
}

/* Code points, spaces excluded: what SentenceMaxLength counts. */
static size_t char_count(const char *s)
{
    size_t count = 0;
    for (size_t i = 0; s[i];) {
        uint32_t cp;
        i += next_cp(s + i, &cp);
        count += cp != ' ';
    }
    return count;
}

/* The word without punctuation, except marks between two content characters (see keeps_inside_word). */
static char *strip_punct(const char *w)
{
    buf b;
    buf_init(&b);
    uint32_t prev = 0;
    for (size_t i = 0; w[i];) {
        uint32_t cp, next = 0;
        size_t len = next_cp(w + i, &cp);
        if (w[i + len])
            next_cp(w + i + len, &next);
        bool content = !is_punct(cp);
        bool inner = keeps_inside_word(cp) && prev && !is_punct(prev) && !is_space(prev) && next
                  && !is_punct(next) && !is_space(next);
        if (content || inner)
            buf_append(&b, w + i, len);
        prev = content || inner ? cp : ' ';
        i += len;
    }
    char *raw = buf_steal(&b);
    char *clean = clean_text(raw);
    free(raw);
    return clean;
}

/* The trailing punctuation of a word contains a break mark ("word.", "word?\"", "好，"). */
static bool ends_with_break_mark(const char *w)
{
    size_t i = strlen(w);
    while (i > 0) {
        size_t start = cp_start_before(w, i);
        uint32_t cp;
        next_cp(w + start, &cp);
        if (!is_punct(cp))
            return false;
        if (is_break_mark(cp))
            return true;
        i = start;
    }
    return false;
}

/* A full stop that does not end a sentence: "Mr.", "e.g.", an initial "J.". */
static bool is_abbreviation(const char *w)
{
    static const char *const abbrevs[] = {"mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "st.", "vs.",
                                          "mt.", "e.g.", "i.e."};
    size_t len = strlen(w);
    if (len == 2 && w[1] == '.' && w[0] >= 'A' && w[0] <= 'Z')
        return true;
    for (size_t i = 0; i < sizeof abbrevs / sizeof abbrevs[0]; i++)
        if (strcasecmp(w, abbrevs[i]) == 0)
            return true;
    return false;
}

static bool ends_sentence_piece(const char *w)
{
    return ends_with_break_mark(w) && !is_abbreviation(w);
}

/* ---- word lists ---- */

typedef struct word_list {
    output_word *w;
    size_t n, cap;
} word_list;

static void words_push(word_list *l, char *text, int64_t start_ms, int64_t end_ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->w = xrealloc(l->w, l->cap * sizeof *l->w);
    }
    if (start_ms < 0)
        start_ms = 0;
    if (end_ms < start_ms)
        end_ms = start_ms;
    l->w[l->n++] = (output_word){.text = text, .start_ms = start_ms, .end_ms = end_ms};
}

static void words_free(word_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->w[i].text);
    free(l->w);
    *l = (word_list){0};
}

/* The segment's words, cleaned; with text_as_word, a segment with text but no words gives one
 * word spanning it. */
static word_list segment_words(const engine_segment *s, bool text_as_word)
{
    word_list l = {0};
    for (size_t i = 0; i < s->nwords; i++) {
        char *t = clean_text(s->words[i].text);
        if (t[0])
            words_push(&l, t, s->words[i].start_ms, s->words[i].end_ms);
        else
            free(t);
    }
    if (s->nwords == 0 && text_as_word) {
        char *t = clean_text(s->text);
        if (t[0])
            words_push(&l, t, s->start_ms, s->end_ms);
        else
            free(t);
    }
    return l;
}

/* Format 1: words without punctuation; words that were only punctuation are dropped. */
static void words_strip_punct(word_list *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        char *t = strip_punct(l->w[i].text);
        free((char *)l->w[i].text);
        if (!t[0]) {
            free(t);
            continue;
        }
        l->w[kept] = l->w[i];
        l->w[kept++].text = t;
    }
    l->n = kept;
}

/* FilterPunc 1: s without the punctuation (and spaces) it ends with. In place. */
static void strip_final_punct(char *s)
{
    size_t end = strlen(s);
    while (end > 0) {
        size_t at = cp_start_before(s, end);
        uint32_t cp;
        next_cp(s + at, &cp);
        if (!is_punct(cp) && !is_space(cp))
            break;
        end = at;
    }
    s[end] = '\0';
}

/* "zh", "zh-CN", "zh_TW" all have the primary language "zh". */
static bool primary_language_is(const char *lang, const char *code)
{
    size_t n = strlen(code);
    return strncasecmp(lang, code, n) == 0 && (lang[n] == '\0' || lang[n] == '-' || lang[n] == '_');
}

static bool language_is_cjk(const char *lang)
{
    return lang && (primary_language_is(lang, "zh") || primary_language_is(lang, "ja")
                    || primary_language_is(lang, "yue"));
}

static void word_append(output_word *w, const char *mark)
{
    size_t len = strlen(w->text), add = strlen(mark);
    char *t = xrealloc((char *)w->text, len + add + 1);
    memcpy(t + len, mark, add + 1);
    w->text = t;
}

/* Marks from pauses for engines that give none (see output.h). */
static void words_punctuate_from_pauses(word_list *l, const output_params *p)
{
    bool cjk_lang = language_is_cjk(p->language);
    for (size_t i = 0; i < l->n; i++) {
        output_word *w = &l->w[i];
        if (ends_with_break_mark(w->text))
            continue;
        bool last = i + 1 == l->n;
        int64_t gap = last ? 0 : l->w[i + 1].start_ms - w->end_ms;
        bool full_stop = last || gap >= p->pause_sentence_ms;
        if (!full_stop && gap < p->pause_comma_ms)
            continue;
        bool cjk = cjk_lang || is_cjk_char(last_cp(w->text));
        word_append(w, full_stop ? (cjk ? "\xE3\x80\x82" : ".") : (cjk ? "\xEF\xBC\x8C" : ","));
    }
}

/* FinalSentence from words: a space between two words unless the touching side is CJK. */
static char *join_words(const output_word *w, size_t n)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !is_cjk_side(last_cp(w[i - 1].text)) && !is_cjk_side(first_cp(w[i].text)))
            buf_putc(&b, ' ');
        buf_puts(&b, w[i].text);
    }
    return buf_steal(&b);
}

static char *slice_words(const output_word *w, size_t n)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_putc(&b, ' ');
        buf_puts(&b, w[i].text);
    }
    return buf_steal(&b);
}

/* ---- the document ---- */

typedef struct entry {
    output_sentence s;
    size_t seq;                   /* build order: keeps the interleave stable */
} entry;

struct output_doc {
    entry *e;
    size_t n, cap;
    size_t nchannels;
    int filter_punc;   /* FilterPunc 1: each sentence loses its final marks */
    bool diarized;     /* a channel came with speakers: subtitle cues name them */
};

output_params output_default_params(void)
{
    return (output_params){.res_text_format = 0, .sentence_max_length = 0, .language = NULL,
                           .punctuate_from_pauses = false, .pause_sentence_ms = 800, .pause_comma_ms = 300};
}

typedef struct sentence_source {
    size_t channel;
    int speaker_id;
    int64_t seg_start_ms, seg_end_ms;   /* -1: bounds from the words only */
    const engine_stats *stats;          /* the engine segment's */
} sentence_source;

/* Adds a sentence owning copies of the words; final NULL = joined from the words. */
static void doc_add(output_doc *d, const sentence_source *src, const output_word *w, size_t n, const char *final)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->e = xrealloc(d->e, d->cap * sizeof *d->e);
    }
    output_word *copy = n ? xmalloc(n * sizeof *copy) : NULL;
    int64_t start = src->seg_start_ms >= 0 ? src->seg_start_ms : (n ? w[0].start_ms : 0);
    int64_t end = src->seg_end_ms >= 0 ? src->seg_end_ms : start;
    for (size_t i = 0; i < n; i++) {
        copy[i] = (output_word){.text = xstrdup(w[i].text), .start_ms = w[i].start_ms, .end_ms = w[i].end_ms};
        if (w[i].start_ms < start)
            start = w[i].start_ms;
        if (w[i].end_ms > end)
            end = w[i].end_ms;
    }
    if (end < start)
        end = start;
    char *text = final ? xstrdup(final) : NULL;
    if (d->filter_punc == 1) {   /* the sentence's final marks go, from its text and its last word */
        if (text)
            strip_final_punct(text);
        while (n > 0 && (strip_final_punct((char *)copy[n - 1].text), !copy[n - 1].text[0]))
            free((char *)copy[--n].text);
    }
    entry *e = &d->e[d->n];
    e->seq = d->n++;
    e->s = (output_sentence){.final_sentence = text ? text : join_words(copy, n),
                             .slice_sentence = slice_words(copy, n), .start_ms = start, .end_ms = end,
                             .speaker_id = src->speaker_id, .channel = src->channel, .words = copy, .nwords = n};
    engine_stats_copy(&e->s.stats, src->stats);
}

/* Format 3 within one clause: greedy pieces of at most `limit` characters, split between words. */
static void add_limited(output_doc *d, const sentence_source *src, const output_word *w, size_t n, int limit)
{
    size_t begin = 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = char_count(w[i].text);
        if (limit > 0 && i > begin && len + c > (size_t)limit) {
            doc_add(d, src, w + begin, i - begin, NULL);
            begin = i;
            len = 0;
        }
        len += c;
    }
    if (n > begin)
        doc_add(d, src, w + begin, n - begin, NULL);
}

static void add_resegmented(output_doc *d, const sentence_source *src, const word_list *l, int limit)
{
    size_t begin = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i + 1 == l->n || ends_sentence_piece(l->w[i].text)) {
            add_limited(d, src, l->w + begin, i + 1 - begin, limit);
            begin = i + 1;
        }
    }
}

#define SPEAKER_MIN_RUN_MS 600   /* shorter stretches between two of one other speaker are that speaker's */

/* Each word's speaker (see output.h): the speaker holding most of its time, short stretches
 * between two of one other speaker smoothed away. */
static int *word_speakers(const word_list *l, const diarize_result *spk)
{
    int *who = xmalloc((l->n ? l->n : 1) * sizeof *who);
    for (size_t i = 0; i < l->n; i++)
        who[i] = diarize_speaker_of(spk, l->w[i].start_ms, l->w[i].end_ms > l->w[i].start_ms ? l->w[i].end_ms
                                                                                           : l->w[i].start_ms + 1);
    for (size_t a = 0; a < l->n;) {
        size_t b = a;
        while (b < l->n && who[b] == who[a])
            b++;
        /* words [a, b) are one stretch; between two stretches of one other speaker, a short one joins them */
        if (a > 0 && b < l->n && who[a - 1] == who[b] && l->w[b - 1].end_ms - l->w[a].start_ms < SPEAKER_MIN_RUN_MS) {
            for (size_t i = a; i < b; i++)
                who[i] = who[b];
            while (a > 0 && who[a - 1] == who[b])   /* go on from the start of the merged stretch */
                a--;
            continue;
        }
        a = b;
    }
    return who;
}

/* The sentences of words [0, n) of one speaker's stretch of a segment (or of the whole segment). */
static void add_words(output_doc *d, const output_params *p, const sentence_source *whole,
                      const sentence_source *pieces, const word_list *l, const char *text)
{
    if (p->res_text_format == 0) {
        if ((text && text[0]) || l->n)
            doc_add(d, whole, l->w, l->n, text && text[0] ? text : NULL);
    } else if (l->n > 0 && p->res_text_format < 3) {
        doc_add(d, whole, l->w, l->n, NULL);
    } else if (l->n > 0) {
        add_resegmented(d, pieces, l, p->sentence_max_length);
    }
}

static void add_segment(output_doc *d, const output_params *p, size_t channel, const output_channel *ch,
                        const engine_segment *seg)
{
    int64_t seg_start = seg->start_ms < 0 ? 0 : seg->start_ms;
    int64_t seg_end = seg->end_ms < seg_start ? seg_start : seg->end_ms;
    int speaker_id = ch->speaker_id;
    if (ch->speakers && ch->speakers->nturns > 0)   /* a segment without words: its span's speaker */
        speaker_id = diarize_speaker_of(ch->speakers, seg_start, seg_end > seg_start ? seg_end : seg_start + 1);
    sentence_source whole = {channel, speaker_id, seg_start, seg_end, &seg->stats};
    sentence_source pieces = {channel, speaker_id, -1, -1, &seg->stats};
    word_list l = segment_words(seg, p->res_text_format > 0);
    if (p->res_text_format >= 2 && p->punctuate_from_pauses && p->filter_punc < 2)
        words_punctuate_from_pauses(&l, p);
    if (p->res_text_format == 1 || p->filter_punc == 2)
        words_strip_punct(&l);
    char *text = NULL;   /* format 0's FinalSentence: the engine's segment text */
    if (p->res_text_format == 0)
        text = p->filter_punc == 2 ? strip_punct(seg->text) : clean_text(seg->text);
    int *who = ch->speakers && ch->speakers->nturns > 0 && l.n > 0 ? word_speakers(&l, ch->speakers) : NULL;
    bool split = false;
    for (size_t i = 1; who && i < l.n; i++)
        split = split || who[i] != who[0];
    if (!split) {
        if (who)
            whole.speaker_id = pieces.speaker_id = who[0];
        add_words(d, p, &whole, &pieces, &l, text);
    } else {
        /* one piece per stretch; the first keeps the segment's start, the last its end */
        for (size_t a = 0; a < l.n;) {
            size_t b = a;
            while (b < l.n && who[b] == who[a])
                b++;
            word_list part = {.w = l.w + a, .n = b - a};
            sentence_source pw = {channel, who[a], a == 0 ? seg_start : -1, b == l.n ? seg_end : -1, &seg->stats};
            sentence_source pp = {channel, who[a], -1, -1, &seg->stats};
            add_words(d, p, &pw, &pp, &part, NULL);
            a = b;
        }
    }
    free(who);
    free(text);
    words_free(&l);
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->s.start_ms != y->s.start_ms)
        return x->s.start_ms < y->s.start_ms ? -1 : 1;
    if (x->s.channel != y->s.channel)
        return x->s.channel < y->s.channel ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool params_valid(const output_params *p, char *err, size_t errlen)
{
    if (p->res_text_format < 0 || p->res_text_format > 3) {
        err_printf(err, errlen, "ResTextFormat must be 0, 1, 2 or 3 (got %d)", p->res_text_format);
        return false;
    }
    if (p->sentence_max_length != 0 && (p->sentence_max_length < 6 || p->sentence_max_length > 40)) {
        err_printf(err, errlen, "SentenceMaxLength must be 0 or from 6 to 40 (got %d)", p->sentence_max_length);
        return false;
    }
    if (p->filter_punc < 0 || p->filter_punc > 2) {
        err_printf(err, errlen, "FilterPunc must be 0, 1 or 2 (got %d)", p->filter_punc);
        return false;
    }
    if (p->pause_sentence_ms < 0 || p->pause_comma_ms < 0) {
        err_printf(err, errlen, "pause thresholds must not be negative");
        return false;
    }
    return true;
}

output_doc *output_build(const output_channel *ch, size_t nch, const output_params *p, char *err, size_t errlen)
{
    output_params defaults = output_default_params();
    if (!p)
        p = &defaults;
    if (!params_valid(p, err, errlen))
        return NULL;
    if (nch > 0 && !ch) {
        err_printf(err, errlen, "output_build: %zu channels but no channel array", nch);
        return NULL;
    }
    output_doc *d = xcalloc(1, sizeof *d);
    d->nchannels = nch;
    d->filter_punc = p->filter_punc;
    for (size_t c = 0; c < nch; c++) {
        const engine_result *r = ch[c].r;
        d->diarized = d->diarized || ch[c].speakers;
        for (size_t i = 0; r && i < r->nsegs; i++)
            add_segment(d, p, c, &ch[c], &r->segs[i]);
    }
    if (d->n > 1)
        qsort(d->e, d->n, sizeof *d->e, entry_cmp);
    return d;
}

void output_doc_free(output_doc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        output_sentence *s = &d->e[i].s;
        for (size_t w = 0; w < s->nwords; w++)
            free((char *)s->words[w].text);
        free((output_word *)s->words);
        free((char *)s->final_sentence);
        free((char *)s->slice_sentence);
        engine_stats_free(&s->stats);
    }
    free(d->e);
    free(d);
}

size_t output_doc_count(const output_doc *d)
{
    return d ? d->n : 0;
}

const output_sentence *output_doc_sentence(const output_doc *d, size_t i)
{
    return d && i < d->n ? &d->e[i].s : NULL;
}

double output_sentence_speed(const output_sentence *s)
{
    int64_t ms = s->end_ms - s->start_ms;
    if (ms <= 0)
        return 0.0;
    double speed = (double)s->nwords * 1000.0 / (double)ms;
    return (double)(long long)(speed * 10.0 + 0.5) / 10.0;
}

/* ---- renderers ---- */

char *output_doc_result_lines(const output_doc *d)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < output_doc_count(d); i++) {
        const output_sentence *s = &d->e[i].s;
        char t0[32], t1[32];
        time_format_offset(s->start_ms, t0);
        time_format_offset(s->end_ms, t1);
        if (i > 0)
            buf_putc(&b, '\n');
        if (d->nchannels > 1)
            buf_printf(&b, "%zu ", s->channel);
        buf_printf(&b, "[%s,%s]  %s", t0, t1, s->final_sentence);
    }
    return buf_steal(&b);
}

/* HH:MM:SS<sep>mmm, hours unbounded. */
static void clock_time(buf *b, int64_t ms, char sep)
{
    if (ms < 0)
        ms = 0;
    buf_printf(b, "%02lld:%02lld:%02lld%c%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
               (long long)(ms / 1000 % 60), sep, (long long)(ms % 1000));
}

char *output_doc_srt(const output_doc *d)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < output_doc_count(d); i++) {
        const output_sentence *s = &d->e[i].s;
        buf_printf(&b, "%zu\n", i + 1);
        clock_time(&b, s->start_ms, ',');
        buf_puts(&b, " --> ");
        clock_time(&b, s->end_ms, ',');
        buf_putc(&b, '\n');
        if (d->diarized)
            buf_printf(&b, "[SPEAKER_%d] ", s->speaker_id);
        buf_printf(&b, "%s\n\n", s->final_sentence);
    }
    return buf_steal(&b);
}

static void vtt_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            buf_puts(b, "&amp;");
        else if (*s == '<')
            buf_puts(b, "&lt;");
        else if (*s == '>')
            buf_puts(b, "&gt;");
        else
            buf_putc(b, *s);
    }
}

char *output_doc_vtt(const output_doc *d)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "WEBVTT\n");
    for (size_t i = 0; i < output_doc_count(d); i++) {
        const output_sentence *s = &d->e[i].s;
        buf_putc(&b, '\n');
        clock_time(&b, s->start_ms, '.');
        buf_puts(&b, " --> ");
        clock_time(&b, s->end_ms, '.');
        buf_putc(&b, '\n');
        if (d->diarized)
            buf_printf(&b, "<v Speaker %d>", s->speaker_id);
        else if (d->nchannels > 1)
            buf_printf(&b, "<v %zu>", s->channel);
        vtt_escaped(&b, s->final_sentence);
        buf_putc(&b, '\n');
    }
    return buf_steal(&b);
}

static json_t *sentence_json(const output_sentence *s)
{
    json_t *words = json_array();
    for (size_t w = 0; w < s->nwords; w++) {
        json_t *o = json_object();
        json_object_set_new(o, "Word", json_string(s->words[w].text));
        json_object_set_new(o, "OffsetStartMs", json_integer((json_int_t)(s->words[w].start_ms - s->start_ms)));
        json_object_set_new(o, "OffsetEndMs", json_integer((json_int_t)(s->words[w].end_ms - s->start_ms)));
        json_array_append_new(words, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "FinalSentence", json_string(s->final_sentence));
    json_object_set_new(o, "SliceSentence", json_string(s->slice_sentence));
    json_object_set_new(o, "StartMs", json_integer((json_int_t)s->start_ms));
    json_object_set_new(o, "EndMs", json_integer((json_int_t)s->end_ms));
    json_object_set_new(o, "WordsNum", json_integer((json_int_t)s->nwords));
    json_object_set_new(o, "SpeechSpeed", json_real(output_sentence_speed(s)));
    json_object_set_new(o, "SpeakerId", json_integer(s->speaker_id));
    json_object_set_new(o, "Words", words);
    if (s->stats.known) {   /* this server's own keys: the CI API's ResultDetail does not show them */
        json_t *toks = json_array();
        for (size_t i = 0; i < s->stats.ntokens; i++)
            json_array_append_new(toks, json_integer(s->stats.tokens[i]));
        json_object_set_new(o, "AvgLogprob", json_real(s->stats.avg_logprob));
        json_object_set_new(o, "NoSpeechProb", json_real(s->stats.no_speech_prob));
        json_object_set_new(o, "Tokens", toks);
    }
    return o;
}

static json_t *sentences_json(const output_doc *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < output_doc_count(d); i++)
        json_array_append_new(arr, sentence_json(&d->e[i].s));
    return arr;
}

/* Dumps and frees v; the copy is ours to free() (jansson's allocator may differ). */
static char *dump_json(json_t *v, size_t flags, const char *if_failed)
{
    char *s = json_dumps(v, flags | JSON_REAL_PRECISION(6));
    json_decref(v);
    char *copy = xstrdup(s ? s : if_failed);
    free(s);
    return copy;
}

char *output_doc_detail_json(const output_doc *d)
{
    return dump_json(sentences_json(d), JSON_COMPACT, "[]");
}

char *output_doc_json(const output_doc *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "Sentences", sentences_json(d));
    return dump_json(o, JSON_INDENT(2), "{\"Sentences\": []}");
}

/* ---- output files ---- */

typedef struct file_kind {
    const char *name, *content_type;
    char *(*render)(const output_doc *d);
} file_kind;

static const file_kind file_kinds[] = {
    {"txt", "text/plain; charset=utf-8", output_doc_result_lines},
    {"srt", "application/x-subrip", output_doc_srt},
    {"vtt", "text/vtt; charset=utf-8", output_doc_vtt},
    {"json", "application/json", output_doc_json},
};

static const file_kind *find_file_kind(const char *name)
{
    for (size_t i = 0; name && i < sizeof file_kinds / sizeof file_kinds[0]; i++)
        if (strcmp(name, file_kinds[i].name) == 0)
            return &file_kinds[i];
    return NULL;
}

bool output_file_type_known(const char *file_type)
{
    return find_file_kind(file_type) != NULL;
}

char *output_doc_file(const output_doc *d, const char *file_type, const char **content_type)
{
    const file_kind *t = find_file_kind(file_type);
    if (!t)
        return NULL;
    if (content_type)
        *content_type = t->content_type;
    return t->render(d);
}

/* ---- the format-0 shapes of one engine_result ---- */

static char *render_format0(const engine_result *r, int speaker_id, char *(*render)(const output_doc *))
{
    output_channel ch = {.r = r, .speaker_id = speaker_id};
    output_params p = output_default_params();
    output_doc *d = output_build(&ch, 1, &p, NULL, 0);
    char *s = render(d);
    output_doc_free(d);
    return s;
}

char *output_result_lines(const engine_result *r)
{
    return render_format0(r, 0, output_doc_result_lines);
}

char *output_srt(const engine_result *r)
{
    return render_format0(r, 0, output_doc_srt);
}

char *output_detail_json(const engine_result *r, int speaker_id)
{
    return render_format0(r, speaker_id, output_doc_detail_json);
}
