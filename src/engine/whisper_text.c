/* whisper_text.c — the text half of the whisper engine: words from whisper's sub-word tokens, and
 * the guards against whisper's best-known hallucinations (text where there is only silence or
 * noise, subtitle credits, phrases looping). Kept apart from engine_whisper.c so that the rules
 * can be tested on plain strings and applied unchanged to whisper-cli's output by the parity test.
 * Everything works on UTF-8 codepoints with a small character classification of our own. */
#include "engine/whisper_text.h"

#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PHRASE_UNITS 10   /* longest repeated phrase collapsed, in words or CJK characters */
#define MIN_REPEATS 3         /* a phrase must occur this many times in a row to be collapsed */
#define MAX_COLLAPSE_PASSES 8 /* collapsing can expose a longer repeat; a few passes suffice */

/* ---- UTF-8 and character classes ---- */

#define REPLACEMENT_CHAR 0xFFFDu

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Decodes the character at s (len > 0 bytes available) into *cp and returns its length; returns 0
 * when the bytes are the start of a character that continues past len. Invalid bytes decode as
 * one U+FFFD each, so every input makes progress. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07;
    } else {
        *cp = REPLACEMENT_CHAR;
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= len)
            return 0;
        if (!is_continuation(s[i])) {
            *cp = REPLACEMENT_CHAR;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    bool overlong = (need == 3 && v < 0x800) || (need == 4 && v < 0x10000);
    if (overlong || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = REPLACEMENT_CHAR;
        return 1;
    }
    *cp = v;
    return need;
}

typedef enum char_class { CC_SPACE, CC_PUNCT, CC_CJK, CC_OTHER } char_class;

static bool in_range(uint32_t cp, uint32_t lo, uint32_t hi)
{
    return cp >= lo && cp <= hi;
}

static bool is_space_cp(uint32_t cp)
{
    return cp == ' ' || in_range(cp, '\t', '\r') || cp == 0xA0 || in_range(cp, 0x2000, 0x200B) ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* Punctuation and symbols: ASCII, Latin-1, general punctuation, arrows to dingbats (♪ is U+266A),
 * CJK and fullwidth punctuation, and U+FFFD (what broken UTF-8 from the model decodes to). */
static bool is_punct_cp(uint32_t cp)
{
    if (cp < 0x80)
        return in_range(cp, 0x21, 0x2F) || in_range(cp, 0x3A, 0x40) || in_range(cp, 0x5B, 0x60) ||
               in_range(cp, 0x7B, 0x7E);
    return in_range(cp, 0xA1, 0xBF) || cp == 0xD7 || cp == 0xF7 || in_range(cp, 0x2010, 0x2027) ||
           in_range(cp, 0x2030, 0x205E) || in_range(cp, 0x2190, 0x27BF) || in_range(cp, 0x3001, 0x3004) ||
           in_range(cp, 0x3008, 0x303F) || cp == 0x30FB || in_range(cp, 0xFE30, 0xFE6F) ||
           in_range(cp, 0xFF01, 0xFF0F) || in_range(cp, 0xFF1A, 0xFF20) || in_range(cp, 0xFF3B, 0xFF40) ||
           in_range(cp, 0xFF5B, 0xFF65) || cp == REPLACEMENT_CHAR;
}

/* Scripts written without spaces, where each character is a word (src/util's one definition). */
static bool is_cjk_cp(uint32_t cp) { return utf8_is_spaceless(cp); }

static char_class classify(uint32_t cp)
{
    if (is_space_cp(cp))
        return CC_SPACE;
    if (is_punct_cp(cp))
        return CC_PUNCT;
    if (is_cjk_cp(cp))
        return CC_CJK;
    return CC_OTHER;
}

/* Fullwidth and CJK punctuation: no space is written after it (src/util's one definition). */
static bool is_wide_punct_cp(uint32_t cp) { return utf8_is_wide_punct(cp); }

static uint32_t first_cp(const char *s)
{
    size_t len = strlen(s);
    uint32_t cp = 0;
    if (len > 0 && utf8_decode((const unsigned char *)s, len, &cp) == 0)
        cp = REPLACEMENT_CHAR;
    return cp;
}

static uint32_t last_cp(const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return 0;
    size_t start = len - 1;
    while (start > 0 && len - start < 4 && is_continuation((unsigned char)s[start]))
        start--;
    uint32_t cp = 0;
    if (utf8_decode((const unsigned char *)s + start, len - start, &cp) == 0)
        cp = REPLACEMENT_CHAR;
    return cp;
}

/* Letters only, ASCII lower-cased: what two texts are compared on. Heap string. */
static char *letters_key(const char *text)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            break;
        char_class cc = classify(cp);
        if (cc == CC_OTHER || cc == CC_CJK) {
            if (cp >= 'A' && cp <= 'Z')
                buf_putc(&b, (char)(cp - 'A' + 'a'));
            else
                buf_append(&b, s + i, n);
        }
        i += n;
    }
    return buf_steal(&b);
}

/* ---- words from tokens ---- */

typedef struct word_builder {
    engine_segment *seg;
    buf word;                 /* the open word, not yet added */
    int64_t start_ms, end_ms;
    bool open;
    bool space_since_last;    /* whitespace seen since the last word was added */
} word_builder;

static void wb_close(word_builder *b)
{
    if (b->open && b->word.len > 0) {
        engine_segment_add_word(b->seg, b->word.data, b->start_ms, b->end_ms);
        b->space_since_last = false;
    }
    buf_reset(&b->word);
    b->open = false;
}

static void wb_open(word_builder *b, const char *bytes, size_t n, int64_t t0, int64_t t1)
{
    buf_reset(&b->word);
    buf_append(&b->word, bytes, n);
    b->start_ms = t0;
    b->end_ms = t1;
    b->open = true;
}

static void wb_extend(word_builder *b, const char *bytes, size_t n, int64_t t1)
{
    buf_append(&b->word, bytes, n);
    if (t1 > b->end_ms)
        b->end_ms = t1;
}

/* Punctuation right after a finished word (no space between) belongs to it: "你好，" -> "好，". */
static void append_to_last_word(engine_segment *seg, const char *bytes, size_t n, int64_t t1)
{
    engine_word *w = &seg->words[seg->nwords - 1];
    size_t len = strlen(w->text);
    w->text = xrealloc(w->text, len + n + 1);
    memcpy(w->text + len, bytes, n);
    w->text[len + n] = '\0';
    if (t1 > w->end_ms)
        w->end_ms = t1;
}

static void wb_char(word_builder *b, const char *bytes, size_t n, uint32_t cp, int64_t t0, int64_t t1)
{
    switch (classify(cp)) {
    case CC_SPACE:
        wb_close(b);
        b->space_since_last = true;
        break;
    case CC_CJK:
        wb_close(b);
        wb_open(b, bytes, n, t0, t1);
        wb_close(b);
        break;
    case CC_PUNCT:
        if (b->open)
            wb_extend(b, bytes, n, t1);
        else if (b->seg->nwords > 0 && !b->space_since_last)
            append_to_last_word(b->seg, bytes, n, t1);
        else
            wb_open(b, bytes, n, t0, t1);
        break;
    case CC_OTHER:
        if (b->open)
            wb_extend(b, bytes, n, t1);
        else
            wb_open(b, bytes, n, t0, t1);
        break;
    }
}

typedef struct decoded_char {
    size_t off, len;
    uint32_t cp;
} decoded_char;

/* Feeds one token's characters to the builder. `pending` holds the bytes of a character the
 * previous token started; it is completed here or carried on. */
static void wb_token(word_builder *b, buf *pending, int64_t *pending_t0, const wt_token *tok)
{
    int64_t t0 = tok->t0_ms, t1 = tok->t1_ms > tok->t0_ms ? tok->t1_ms : tok->t0_ms;
    bool had_pending = pending->len > 0;
    int64_t first_t0 = had_pending ? *pending_t0 : t0;
    buf_puts(pending, tok->text ? tok->text : "");
    const unsigned char *s = (const unsigned char *)pending->data;
    size_t len = pending->len;

    decoded_char *chars = xcalloc(len + 1, sizeof *chars);
    size_t nchars = 0, ncjk = 0, used = 0;
    while (used < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + used, len - used, &cp);
        if (n == 0)
            break;   /* an incomplete character: wait for the next token */
        chars[nchars++] = (decoded_char){.off = used, .len = n, .cp = cp};
        ncjk += classify(cp) == CC_CJK;
        used += n;
    }
    size_t icjk = 0;
    for (size_t i = 0; i < nchars; i++) {
        if (chars[i].cp == REPLACEMENT_CHAR)
            continue;   /* bytes that are not UTF-8 (or U+FFFD itself) say nothing */
        int64_t c0 = i == 0 ? first_t0 : t0, c1 = t1;
        if (classify(chars[i].cp) == CC_CJK) {
            /* several characters in one token share its time equally */
            c0 = t0 + (t1 - t0) * (int64_t)icjk / (int64_t)ncjk;
            c1 = t0 + (t1 - t0) * (int64_t)(icjk + 1) / (int64_t)ncjk;
            if (i == 0 && had_pending && first_t0 < c0)
                c0 = first_t0;
            icjk++;
        }
        wb_char(b, (const char *)s + chars[i].off, chars[i].len, chars[i].cp, c0, c1);
    }
    free(chars);

    size_t rest = len - used;
    if (rest > 0 && (used > 0 || !had_pending))
        *pending_t0 = t0;   /* the unfinished character started in this token */
    memmove(pending->data, pending->data + used, rest);
    pending->len = rest;
    pending->data[rest] = '\0';
}

void wt_add_words(engine_segment *seg, const wt_token *toks, size_t n)
{
    word_builder b = {.seg = seg};
    buf_init(&b.word);
    buf pending;
    buf_init(&pending);
    buf_puts(&pending, "");
    int64_t pending_t0 = 0;
    for (size_t i = 0; i < n; i++)
        wb_token(&b, &pending, &pending_t0, &toks[i]);
    wb_close(&b);   /* a character still incomplete at the end was never valid: dropped */
    buf_free(&pending);
    buf_free(&b.word);
}

char *wt_clean_utf8(const char *text)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t len = strlen((const char *)s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            break;   /* an unfinished character at the end */
        if (cp != REPLACEMENT_CHAR)
            buf_append(&b, s + i, n);
        i += n;
    }
    return buf_steal(&b);
}

/* ---- junk-only segments ---- */

static int bracket_delta(uint32_t cp)
{
    switch (cp) {
    case '[': case '(': case 0xFF08: case 0x3010: return 1;    /* [ ( （ 【 */
    case ']': case ')': case 0xFF09: case 0x3011: return -1;   /* ] ) ） 】 */
    default: return 0;
    }
}

/* Whether text has a letter; with skip_annotations, letters inside balanced brackets do not count.
 * Returns false for skip_annotations when the brackets do not balance (the caller retries). */
static bool has_letters(const char *text, bool skip_annotations, bool *balanced)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    int depth = 0;
    bool found = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            break;
        i += n;
        int d = skip_annotations ? bracket_delta(cp) : 0;
        if (d != 0) {
            depth += d;
            if (depth < 0)
                depth = 0;
            continue;
        }
        char_class cc = classify(cp);
        if (depth == 0 && (cc == CC_OTHER || cc == CC_CJK))
            found = true;
    }
    *balanced = depth == 0;
    return found;
}

bool wt_is_junk(const char *text)
{
    if (!text)
        return true;
    bool balanced;
    if (has_letters(text, true, &balanced))
        return false;
    if (balanced)
        return true;
    return !has_letters(text, false, &balanced);   /* "(I think so" is speech, not an annotation */
}

/* ---- blacklist ---- */

static const char *const k_default_blacklist[] = {
    "字幕由Amara.org社区提供",
    "字幕由Amara.org社區提供",
    "Subtitles by the Amara.org community",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
    "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
    "Thank you for watching",
    "ご視聴ありがとうございました",
};

const char *const *wt_default_blacklist(size_t *n)
{
    *n = sizeof k_default_blacklist / sizeof k_default_blacklist[0];
    return k_default_blacklist;
}

static bool key_matches_blacklist(const char *key, const char *const *phrases, size_t nphrases)
{
    bool hit = false;
    for (size_t i = 0; i < nphrases && !hit; i++) {
        if (!phrases[i])
            continue;
        char *p = letters_key(phrases[i]);
        hit = p[0] != '\0' && strstr(key, p) != NULL;
        free(p);
    }
    return hit;
}

bool wt_matches_blacklist(const char *text, const char *const *phrases, size_t nphrases)
{
    if (!text || !phrases)
        return false;
    char *key = letters_key(text);
    bool hit = key_matches_blacklist(key, phrases, nphrases);
    free(key);
    return hit;
}

/* ---- repeated phrases ---- */

/* The units a segment's text is made of: its words, or words split from its text. */
typedef struct units {
    engine_segment split;     /* owns the words when split from text */
    const engine_word *w;
    size_t n;
    char **keys;              /* comparison key of each unit */
} units;

static void units_init(units *u, const engine_segment *seg)
{
    memset(u, 0, sizeof *u);
    if (seg->nwords > 0) {
        u->w = seg->words;
        u->n = seg->nwords;
    } else {
        wt_token whole = {.text = seg->text ? seg->text : ""};
        wt_add_words(&u->split, &whole, 1);
        u->w = u->split.words;
        u->n = u->split.nwords;
    }
    u->keys = xcalloc(u->n + 1, sizeof *u->keys);
    for (size_t i = 0; i < u->n; i++) {
        char *k = letters_key(u->w[i].text);
        if (k[0] == '\0') {   /* punctuation-only unit: compare it as written */
            free(k);
            k = xstrdup(u->w[i].text);
        }
        u->keys[i] = k;
    }
}

static void units_free(units *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->keys[i]);
    free(u->keys);
    for (size_t i = 0; i < u->split.nwords; i++)
        free(u->split.words[i].text);
    free(u->split.words);
}

static bool same_run(const units *u, const size_t *idx, size_t a, size_t b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (strcmp(u->keys[idx[a + i]], u->keys[idx[b + i]]) != 0)
            return false;
    return true;
}

/* One left-to-right pass over idx[0..*m): at each position the shortest phrase repeated at least
 * MIN_REPEATS times is kept once. Returns true if anything was removed. */
static bool collapse_pass(const units *u, size_t *idx, size_t *m)
{
    size_t out = 0, i = 0;
    bool changed = false;
    while (i < *m) {
        size_t phrase = 0, reps = 0;
        for (size_t len = 1; len <= MAX_PHRASE_UNITS && i + MIN_REPEATS * len <= *m; len++) {
            size_t k = 1;
            while (i + (k + 1) * len <= *m && same_run(u, idx, i, i + k * len, len))
                k++;
            if (k >= MIN_REPEATS) {
                phrase = len;
                reps = k;
                break;
            }
        }
        if (phrase > 0) {
            memmove(idx + out, idx + i, phrase * sizeof *idx);
            out += phrase;
            i += phrase * reps;
            changed = true;
        } else {
            idx[out++] = idx[i++];
        }
    }
    *m = out;
    return changed;
}

/* Joins words the way their script is written: no space next to CJK or after wide punctuation. */
static char *join_units(const units *u, const size_t *idx, size_t m)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t i = 0; i < m; i++) {
        const char *w = u->w[idx[i]].text;
        if (i > 0) {
            uint32_t before = last_cp(u->w[idx[i - 1]].text), after = first_cp(w);
            bool tight = is_cjk_cp(before) || is_wide_punct_cp(before) || is_cjk_cp(after);
            if (!tight)
                buf_putc(&b, ' ');
        }
        buf_puts(&b, w);
    }
    return buf_steal(&b);
}

static void keep_words(engine_segment *seg, const size_t *idx, size_t m)
{
    engine_word *kept = xcalloc(m + 1, sizeof *kept);
    bool *used = xcalloc(seg->nwords + 1, sizeof *used);
    for (size_t i = 0; i < m; i++) {
        kept[i] = seg->words[idx[i]];
        used[idx[i]] = true;
    }
    for (size_t i = 0; i < seg->nwords; i++)
        if (!used[i])
            free(seg->words[i].text);
    free(used);
    free(seg->words);
    seg->words = kept;
    seg->nwords = m;
}

bool wt_collapse_repeats(engine_segment *seg)
{
    units u;
    units_init(&u, seg);
    size_t m = u.n;
    size_t *idx = xcalloc(m + 1, sizeof *idx);
    for (size_t i = 0; i < m; i++)
        idx[i] = i;
    bool changed = false;
    for (int pass = 0; pass < MAX_COLLAPSE_PASSES && collapse_pass(&u, idx, &m); pass++)
        changed = true;
    if (changed) {
        char *text = join_units(&u, idx, m);
        free(seg->text);
        seg->text = text;
        if (seg->nwords > 0)
            keep_words(seg, idx, m);
    }
    free(idx);
    units_free(&u);
    return changed;
}

/* ---- all guards ---- */

static void segment_clear(engine_segment *s)
{
    for (size_t i = 0; i < s->nwords; i++)
        free(s->words[i].text);
    free(s->words);
    free(s->text);
    engine_stats_free(&s->stats);
    memset(s, 0, sizeof *s);
}

size_t wt_apply_guards(engine_result *r, const char *const *phrases, size_t nphrases)
{
    if (!phrases)
        phrases = wt_default_blacklist(&nphrases);
    size_t kept = 0, dropped = 0;
    char *prev_key = NULL;
    for (size_t i = 0; i < r->nsegs; i++) {
        engine_segment *s = &r->segs[i];
        bool drop = wt_is_junk(s->text) || wt_matches_blacklist(s->text, phrases, nphrases);
        char *key = NULL;
        if (!drop) {
            wt_collapse_repeats(s);
            key = letters_key(s->text);
            drop = prev_key && strcmp(prev_key, key) == 0;
        }
        if (drop) {
            free(key);
            segment_clear(s);
            dropped++;
            continue;
        }
        free(prev_key);
        prev_key = key;
        r->segs[kept++] = *s;
    }
    free(prev_key);
    r->nsegs = kept;
    return dropped;
}
