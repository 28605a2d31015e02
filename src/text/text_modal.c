/* text_modal.c — FilterModal: removing filler particles and hesitations, Mandarin and English.
 * What a removal leaves behind is tidied as text_filter.c describes.
 *
 * Mandarin. Fillers: 嗯 啊 呃 哦 额 唔 噢 喔 呣 呀. A "run" is one or more fillers in a row.
 *   1  removes standalone runs: a run with the sentence edge, a punctuation mark or a space on each
 *      side: "嗯，我觉得可以" → "我觉得可以"; "我觉得，呃，可以" → "我觉得，可以"; "好的，嗯。" →
 *      "好的。"; "嗯嗯。" → ""; but "金额" and "我呃觉得" stay.
 *   2  also removes
 *      - runs of two or more fillers anywhere (repeated hesitation): "我呃呃觉得" → "我觉得";
 *      - the pure hesitations 呃 嗯 呣 anywhere: "我呃觉得" → "我觉得", "那个嗯方案" → "那个方案";
 *      - a sentence- or clause-final particle 啊 呀 哦 噢 喔 唔 (one character after a word, before
 *        a mark or the end): "好啊。" → "好。"; "是这样哦，对吧" → "是这样，对吧"; except 呀 in
 *        the interjections 哎呀 咿呀 哇呀 哟呀 唉呀, and in reduplications (好啊好啊, 对呀对呀).
 *        额 is never a final particle (金额, 名额).
 *      Question particles (吗 呢 吧) are content and always stay.
 * English. Fillers are whole words, any case, except all-capital ones (UM, UH are acronyms):
 *   um umm uh uhh uhm hm hmm mm mmm er erm (and longer spellings: ummm, hmmm); not in the answers
 *   "uh-huh", "mm-hmm", "uh huh".
 *   1  removes them: "Um, I think so." → "I think so."; "I uh think" → "I think". When the filler
 *      opened a sentence with a capital, the next word gets one: "Um, the plan." → "The plan."
 *      (text_filter.c does that for every removal).
 *   2  also removes ah, ahh, eh, oh, huh when set off by punctuation or the sentence edges:
 *      "Oh, I see." → "I see."; "Huh?" → ""; but "oh" in "two oh five" stays. */
#include "text/text_internal.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t zh_fillers[] = {0x55EF /*嗯*/, 0x554A /*啊*/, 0x5443 /*呃*/, 0x54E6 /*哦*/,
                                      0x989D /*额*/, 0x5514 /*唔*/, 0x5662 /*噢*/, 0x5594 /*喔*/,
                                      0x5463 /*呣*/, 0x5440 /*呀*/};
static const uint32_t zh_hesitations[] = {0x5443 /*呃*/, 0x55EF /*嗯*/, 0x5463 /*呣*/};
static const uint32_t zh_finals[] = {0x554A /*啊*/, 0x5440 /*呀*/, 0x54E6 /*哦*/, 0x5662 /*噢*/,
                                     0x5594 /*喔*/, 0x5514 /*唔*/};
/* 呀 after these is part of an interjection (哎呀), not a particle. */
static const uint32_t ya_partners[] = {0x54CE /*哎*/, 0x54BF /*咿*/, 0x54C7 /*哇*/, 0x54DF /*哟*/,
                                       0x5509 /*唉*/};
#define YA 0x5440u

static bool in_set(uint32_t cp, const uint32_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == cp)
            return true;
    return false;
}
#define IN(cp, set) in_set((cp), (set), sizeof(set) / sizeof((set)[0]))

static bool zh_filler(const tx_piece *p)
{
    return p->kind == TK_HAN && IN(p->cp, zh_fillers);
}

/* The sentence edge, a mark or a space: what makes a run standalone. */
static bool boundary(const tx_seq *s, size_t i)
{
    return i >= s->n || s->p[i].kind == TK_PUNCT || s->p[i].kind == TK_SPACE;
}

static bool final_particle(const tx_seq *s, size_t i)
{
    uint32_t cp = s->p[i].cp;
    if (!IN(cp, zh_finals) || i == 0 || boundary(s, i - 1))
        return false;
    if (cp == YA && s->p[i - 1].kind == TK_HAN && IN(s->p[i - 1].cp, ya_partners))
        return false;
    /* reduplication: 好啊好啊, 对呀对呀 */
    return !(i >= 3 && s->p[i - 2].cp == cp && s->p[i - 3].cp == s->p[i - 1].cp &&
             s->p[i - 3].kind == TK_HAN);
}

static void mark_zh_run(const tx_seq *s, bool *drop, size_t a, size_t b, int mode)
{
    bool standalone = (a == 0 || boundary(s, a - 1)) && boundary(s, b);
    if (standalone || (mode == 2 && b - a >= 2)) {
        for (size_t i = a; i < b; i++)
            drop[i] = true;
        return;
    }
    if (mode < 2)
        return;
    for (size_t i = a; i < b; i++)
        drop[i] = IN(s->p[i].cp, zh_hesitations);
    if (b - a == 1 && boundary(s, b) && final_particle(s, a))
        drop[a] = true;
}

static bool mark_zh(const tx_seq *s, bool *drop, int mode)
{
    bool any = false;
    for (size_t i = 0; i < s->n;) {
        if (!zh_filler(&s->p[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < s->n && zh_filler(&s->p[j]))
            j++;
        mark_zh_run(s, drop, i, j, mode);
        for (size_t k = i; k < j; k++)
            any |= drop[k];
        i = j;
    }
    return any;
}

/* ---- English ---- */

/* Lower-cased ASCII copy of a letters piece into out (false if not ASCII or too long). */
static bool lower_word(const tx_seq *s, size_t i, char *out, size_t cap)
{
    const tx_piece *p = &s->p[i];
    if (p->kind != TK_LETTERS || p->len + 1 > cap)
        return false;
    const char *t = tx_text(s, i);
    bool upper = true;
    for (size_t k = 0; k < p->len; k++) {
        unsigned char c = (unsigned char)t[k];
        if (c >= 0x80)
            return false;
        upper &= c >= 'A' && c <= 'Z';
        out[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[p->len] = '\0';
    return !(upper && p->len >= 2);   /* UM, UH: acronyms */
}

/* w matches first+ second+ (each letter repeated one or more times; second may be empty). */
static bool repeated(const char *w, char first, const char *second)
{
    if (*w != first)
        return false;
    while (*w == first)
        w++;
    for (const char *c = second; *c; c++) {
        if (*w != *c)
            return false;
        while (*w == *c)
            w++;
    }
    return *w == '\0';
}

static bool en_filler(const char *w)
{
    return repeated(w, 'u', "m") || repeated(w, 'u', "h") || repeated(w, 'u', "hm") ||
           repeated(w, 'h', "m") || (repeated(w, 'm', "") && strlen(w) >= 2) || strcmp(w, "er") == 0 ||
           repeated(w, 'e', "rm");
}

static bool en_interjection(const char *w)
{
    return repeated(w, 'a', "h") || repeated(w, 'e', "h") || repeated(w, 'o', "h") || strcmp(w, "huh") == 0;
}

/* Set off by punctuation or the sentence edges on both sides (spaces looked through). */
static bool set_off(const tx_seq *s, size_t i)
{
    size_t l = i, r = i + 1;
    while (l > 0 && s->p[l - 1].kind == TK_SPACE)
        l--;
    while (r < s->n && s->p[r].kind == TK_SPACE)
        r++;
    return (l == 0 || s->p[l - 1].kind == TK_PUNCT) && (r >= s->n || s->p[r].kind == TK_PUNCT);
}

static bool hyphen_at(const tx_seq *s, size_t i)
{
    return i < s->n && s->p[i].kind == TK_PUNCT && s->p[i].cp == '-';
}

/* "uh-huh", "mm-hmm", "uh huh": answers, not hesitations. */
static bool part_of_answer(const tx_seq *s, size_t i)
{
    char next[16];
    if (hyphen_at(s, i + 1) || (i > 0 && hyphen_at(s, i - 1)))
        return true;
    return i + 2 < s->n && s->p[i + 1].kind == TK_SPACE && lower_word(s, i + 2, next, sizeof next) &&
           strcmp(next, "huh") == 0;
}

static bool mark_en(tx_seq *s, bool *drop, int mode)
{
    bool any = false;
    char w[16];
    for (size_t i = 0; i < s->n; i++) {
        if (!lower_word(s, i, w, sizeof w) || part_of_answer(s, i))
            continue;
        if (en_filler(w) || (mode == 2 && en_interjection(w) && set_off(s, i))) {
            drop[i] = any = true;
        }
    }
    return any;
}

void tx_filter_modal(tx_seq *s, char lang, int mode)
{
    bool *drop = xcalloc(s->n + 1, sizeof *drop);
    bool any = lang == 'z' ? mark_zh(s, drop, mode) : mark_en(s, drop, mode);
    if (any)
        tx_remove_marked(s, drop);
    free(drop);
}
