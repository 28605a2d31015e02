/* text_dirty.c — the dirty-word list FilterDirty matches: the small built-in list, and reading an
 * operator's replacement file (text_engine_params.dirty_words_file).
 *
 * The built-in list (below) holds common Mandarin and English profanity and insults, chosen so that
 * no entry is also an everyday word or part of one: "逼" alone is not listed (逼迫 "to force"), nor
 * "ass" (class), "dick" (a name), "damn" or "hell". Words are matched case-insensitively and across
 * full-width letters; an entry that starts or ends with an ASCII letter or digit matches only at a
 * word boundary on that side ("shit" does not match inside "shitake"; list "shitty" as well).
 *
 * File format: UTF-8 text, one word or phrase per line; blank lines and lines whose first non-blank
 * character is '#' are skipped; whitespace around a word is trimmed; a word has at most 256 bytes.
 * A line that is not valid UTF-8 or too long fails the whole file with "FILE:LINE: reason". */
#include "text/text_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORD_BYTES 256

static const char *const builtin[] = {
    /* Mandarin */
    "傻逼", "傻b", "傻屄", "煞笔", "沙比", "傻叉", "妈的", "他妈的", "你妈的", "操你妈", "草泥马",
    "肏", "屌丝", "王八蛋", "狗日的", "狗娘养的", "婊子", "贱人", "贱货", "混蛋", "尼玛", "卧槽", "我操",
    "妈逼", "牛逼", "装逼", "你大爷的",
    /* English */
    "fuck", "fucks", "fucked", "fucker", "fuckers", "fucking", "motherfucker", "shit", "shits",
    "shitty", "bullshit", "bitch", "bitches", "asshole", "assholes", "bastard", "bastards", "cunt",
    "dickhead", "wanker",
};

const char *const *tx_dirty_builtin(size_t *n)
{
    *n = sizeof builtin / sizeof builtin[0];
    return builtin;
}

bool tx_ac_add_utf8(tx_ac *ac, const char *word, size_t len, uint32_t id)
{
    uint32_t *cps = xmalloc((len + 1) * sizeof *cps);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = utf8_decode_strict(word + i, len - i, &cp);
        if (l == 0) {
            free(cps);
            return false;
        }
        cps[n++] = tx_fold(cp);
        i += l;
    }
    bool ok = tx_ac_add(ac, cps, n, id);
    free(cps);
    return ok;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Adds one line of the file; false with err for a bad line. */
static bool add_line(tx_ac *ac, char *line, size_t len, const char *path, size_t lineno, size_t *count,
                     char *err, size_t errlen)
{
    size_t from = 0;
    while (from < len && blank(line[from]))
        from++;
    while (len > from && blank(line[len - 1]))
        len--;
    if (from == len || line[from] == '#')
        return true;
    if (len - from > MAX_WORD_BYTES) {
        err_printf(err, errlen, "%s:%zu: a word may have at most %d bytes", path, lineno, MAX_WORD_BYTES);
        return false;
    }
    if (memchr(line + from, '\0', len - from) || !tx_ac_add_utf8(ac, line + from, len - from, (uint32_t)*count)) {
        err_printf(err, errlen, "%s:%zu: not valid UTF-8", path, lineno);
        return false;
    }
    (*count)++;
    return true;
}

bool tx_dirty_load(tx_ac *ac, const char *path, size_t *count, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_printf(err, errlen, "cannot read the dirty-word list %s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    bool ok = true;
    *count = 0;
    while (ok && (len = getline(&line, &cap, f)) >= 0)
        ok = add_line(ac, line, (size_t)len, path, ++lineno, count, err, errlen);
    if (ok && ferror(f)) {
        err_printf(err, errlen, "cannot read the dirty-word list %s: %s", path, strerror(errno));
        ok = false;
    }
    free(line);
    fclose(f);
    return ok;
}
