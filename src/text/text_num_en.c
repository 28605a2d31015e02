/* text_num_en.c — ConvertNumMode for English: spoken numbers to digits, conservatively.
 *
 * A number is a sequence of number words (any case) joined by single spaces or hyphens: zero, one
 * to nineteen, twenty to ninety, hundred, thousand, million, billion, trillion, with "and" allowed
 * after hundred, thousand, million… ("one hundred and five"). It is read as:
 *   cardinal      twenty five → 25; twenty-five → 25; one hundred and five → 105; three thousand
 *                 two hundred → 3200; two million → 2 million; three hundred thousand → 300000
 *   year          a teen or a ten, then a second pair or "hundred" or "oh" and a digit:
 *                 nineteen eighty four → 1984; twenty twenty three → 2023; nineteen oh five →
 *                 1905; nineteen hundred → 1900
 *   digit string  three or more digit words (oh = 0 inside): one two three → 123; five five five
 *                 oh one two three → 5550123
 * Mode 1 rules:
 *   decimal       three point five → 3.5; zero point two five → 0.25; two point five million →
 *                 2.5 million
 *   percent       fifty percent → 50%; five per cent → 5%; three point five percent → 3.5%
 *   units         a lone digit converts before a currency or measure: five dollars → 5 dollars;
 *                 three kilometers → 3 kilometers; seven o'clock → 7 o'clock
 *   plain         two or more number words, or one word worth ten or more: twelve → 12,
 *                 twenty → 20
 * Guards: a lone single digit stays ("one of them", "two people", "no one"); a bare scale word
 *   stays ("a hundred", "thousands"); a number followed by an ordinal stays ("twenty first
 *   century"); words that do not read as one number stay ("five six"); guard phrases stay
 *   ("forty winks", "twenty four seven", "one another", "catch twenty two", "nine to five").
 * Mode 3 adds math words between numbers (operands convert even when lone): plus +, minus -,
 *   times ×, multiplied by ×, divided by ÷, equals =, and squared ², cubed ³ after a number; minus
 *   before a number that starts the sentence or follows an operator is a sign:
 *   two plus two equals four → 2 + 2 = 4; five squared → 5²; minus three → -3. */
#include "text/text_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 32
#define MAX_VALUE 1000000000000000LL

static const char *const guards[] = {
    "forty winks", "twenty four seven", "twenty-four seven", "one another", "catch twenty two",
    "catch-twenty-two", "nine to five", "one or two", "a hundred percent",
};

const char *const *tx_num_en_guards(size_t *n)
{
    *n = sizeof guards / sizeof guards[0];
    return guards;
}

/* ---- vocabulary ---- */

typedef enum word_type { W_NONE, W_ZERO, W_OH, W_UNIT, W_TEEN, W_TENS, W_HUNDRED, W_SCALE, W_AND } word_type;

typedef struct en_word {
    word_type type;
    int64_t value;
    size_t piece;
} en_word;

static const char *const units[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                    "nine"};
static const char *const teens[] = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                    "seventeen", "eighteen", "nineteen"};
static const char *const tens[] = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
static const char *const ordinals[] = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth",
    "seventieth", "eightieth", "ninetieth", "hundredth", "thousandth", "millionth", "billionth"};
static const char *const measures[] = {
    "dollar", "dollars", "cent", "cents", "euro", "euros", "pound", "pounds", "yuan", "kilometer",
    "kilometers", "kilometre", "kilometres", "kilogram", "kilograms", "kilo", "kilos", "meter",
    "meters", "metre", "metres", "centimeter", "centimeters", "centimetre", "centimetres",
    "millimeter", "millimeters", "mile", "miles", "feet", "foot", "inch", "inches", "degree",
    "degrees", "o'clock", "percent"};

static int index_in(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return (int)i;
    return -1;
}
#define INDEX(w, list) index_in((w), (list), sizeof(list) / sizeof((list)[0]))

/* Lower-cased ASCII text of a letters piece into out; false when it is not one. */
static bool word_text(const tx_seq *s, size_t i, char *out, size_t cap)
{
    if (i >= s->n || s->p[i].kind != TK_LETTERS || s->p[i].len + 1 > cap)
        return false;
    const char *t = tx_text(s, i);
    for (size_t k = 0; k < s->p[i].len; k++) {
        char c = t[k];
        if (c == '\xE2')          /* ’ in o’clock */
            return false;
        out[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    out[s->p[i].len] = '\0';
    return true;
}

static bool word_is(const tx_seq *s, size_t i, const char *w)
{
    char t[24];
    return word_text(s, i, t, sizeof t) && strcmp(t, w) == 0;
}

static en_word classify(const tx_seq *s, size_t i)
{
    en_word w = {.type = W_NONE, .piece = i};
    char t[24];
    if (!word_text(s, i, t, sizeof t) || (s->p[i].flags & TF_PROTECTED))
        return w;
    int k;
    if (strcmp(t, "zero") == 0)
        w.type = W_ZERO;
    else if (strcmp(t, "oh") == 0)
        w.type = W_OH;
    else if ((k = INDEX(t, units)) > 0)
        w = (en_word){W_UNIT, k, i};
    else if ((k = INDEX(t, teens)) >= 0)
        w = (en_word){W_TEEN, 10 + k, i};
    else if ((k = INDEX(t, tens)) >= 0)
        w = (en_word){W_TENS, 20 + 10 * k, i};
    else if (strcmp(t, "hundred") == 0)
        w = (en_word){W_HUNDRED, 100, i};
    else if (strcmp(t, "thousand") == 0)
        w = (en_word){W_SCALE, 1000, i};
    else if (strcmp(t, "million") == 0)
        w = (en_word){W_SCALE, 1000000, i};
    else if (strcmp(t, "billion") == 0)
        w = (en_word){W_SCALE, 1000000000, i};
    else if (strcmp(t, "trillion") == 0)
        w = (en_word){W_SCALE, 1000000000000LL, i};
    else if (strcmp(t, "and") == 0)
        w.type = W_AND;
    return w;
}

/* The piece after i once one joiner (a space or a hyphen) is skipped; SIZE_MAX when none. */
static size_t after_joiner(const tx_seq *s, size_t i)
{
    size_t j = i + 1;
    if (j < s->n && (s->p[j].kind == TK_SPACE || (s->p[j].kind == TK_PUNCT && s->p[j].cp == '-')))
        return j + 1 < s->n ? j + 1 : SIZE_MAX;
    return SIZE_MAX;
}

/* Gathers the number words starting at piece i; "and" only between a scale and a number word. */
static size_t gather(const tx_seq *s, size_t i, en_word *w)
{
    size_t n = 0;
    for (size_t at = i; at != SIZE_MAX && n < MAX_WORDS;) {
        en_word x = classify(s, at);
        if (x.type == W_NONE)
            break;
        if (x.type == W_AND) {
            size_t next = after_joiner(s, at);
            if (n == 0 || (w[n - 1].type != W_HUNDRED && w[n - 1].type != W_SCALE) || next == SIZE_MAX)
                break;
            word_type t = classify(s, next).type;
            if (t != W_UNIT && t != W_TEEN && t != W_TENS)
                break;
        }
        w[n++] = x;
        at = after_joiner(s, at);
    }
    while (n > 0 && w[n - 1].type == W_AND)
        n--;
    return n;
}

/* ---- readings ---- */

static bool read_cardinal(const en_word *w, size_t n, int64_t *out)
{
    int64_t total = 0, current = 0, last_scale = 0;
    word_type last = W_NONE;
    if (n == 1 && w[0].type == W_ZERO) {
        *out = 0;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        word_type t = w[i].type;
        bool fresh = current % 100 == 0 && last != W_UNIT && last != W_TEEN && last != W_TENS;
        if (t == W_AND) {
            continue;
        } else if (t == W_UNIT) {
            if (!fresh && !(last == W_TENS && current % 10 == 0))
                return false;
            current += w[i].value;
        } else if (t == W_TEEN || t == W_TENS) {
            if (!fresh)
                return false;
            current += w[i].value;
        } else if (t == W_HUNDRED) {
            if (last != W_UNIT || current >= 10)
                return false;
            current *= 100;
        } else if (t == W_SCALE) {
            if (current == 0 || (last_scale && w[i].value >= last_scale) || current >= 1000)
                return false;
            total += current * w[i].value;
            last_scale = w[i].value;
            current = 0;
        } else {
            return false;
        }
        if (total > MAX_VALUE)
            return false;
        last = t;
    }
    *out = total + current;
    return last != W_NONE;
}

/* 10-99 from one or two words (a ten and a unit), or a teen. */
static bool pair_value(const en_word *w, size_t n, int64_t *v)
{
    if (n == 1 && (w[0].type == W_TEEN || w[0].type == W_TENS)) {
        *v = w[0].value;
        return true;
    }
    if (n == 2 && w[0].type == W_TENS && w[1].type == W_UNIT) {
        *v = w[0].value + w[1].value;
        return true;
    }
    if (n == 2 && w[0].type == W_OH && w[1].type == W_UNIT) {
        *v = w[1].value;
        return true;
    }
    return false;
}

static bool read_year(const en_word *w, size_t n, int64_t *out)
{
    int64_t hi, lo;
    if (n < 2 || n > 3 || !pair_value(w, 1, &hi))
        return false;
    if (n == 2 && w[1].type == W_HUNDRED) {
        *out = hi * 100;
        return true;
    }
    if (!pair_value(w + 1, n - 1, &lo))
        return false;
    *out = hi * 100 + lo;
    return true;
}

static bool read_digits(const en_word *w, size_t n, char *out)
{
    if (n < 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (w[i].type == W_ZERO || (w[i].type == W_OH && i > 0))
            out[i] = '0';
        else if (w[i].type == W_UNIT)
            out[i] = (char)('0' + w[i].value);
        else
            return false;
    }
    out[n] = '\0';
    return true;
}

static void format_cardinal(const en_word *w, size_t n, int64_t v, char *out, size_t cap)
{
    int64_t scale = w[n - 1].type == W_SCALE ? w[n - 1].value : 0;
    if (scale >= 1000000 && v % scale == 0)
        snprintf(out, cap, "%" PRId64 " %s", v / scale,
                 scale == 1000000 ? "million" : scale == 1000000000 ? "billion" : "trillion");
    else
        snprintf(out, cap, "%" PRId64, v);
}

/* ---- the scan ---- */

typedef struct en_ctx {
    const tx_seq *s;
    int mode;
    tx_ops ops;
} en_ctx;

/* "point" and digit words after the number ending at piece last: fills frac, returns the last
 * piece used (or last). */
static size_t decimal_part(const tx_seq *s, size_t last, char *frac, size_t cap)
{
    frac[0] = '\0';
    size_t p = after_joiner(s, last);
    if (p == SIZE_MAX || !word_is(s, p, "point"))
        return last;
    size_t n = 0, at = after_joiner(s, p), end = last;
    while (at != SIZE_MAX && n + 1 < cap) {
        en_word x = classify(s, at);
        if (x.type != W_ZERO && x.type != W_OH && x.type != W_UNIT)
            break;
        frac[n++] = x.type == W_UNIT ? (char)('0' + x.value) : '0';
        end = at;
        at = after_joiner(s, at);
    }
    frac[n] = '\0';
    return end;
}

static bool ordinal_after(const tx_seq *s, size_t last)
{
    size_t p = after_joiner(s, last);
    char t[24];
    return p != SIZE_MAX && word_text(s, p, t, sizeof t) && INDEX(t, ordinals) >= 0;
}

static size_t percent_after(const tx_seq *s, size_t last)
{
    size_t p = after_joiner(s, last);
    if (p == SIZE_MAX)
        return 0;
    if (word_is(s, p, "percent"))
        return p;
    size_t q = word_is(s, p, "per") ? after_joiner(s, p) : SIZE_MAX;
    return q != SIZE_MAX && word_is(s, q, "cent") ? q : 0;
}

static bool measure_after(const tx_seq *s, size_t last)
{
    size_t p = after_joiner(s, last);
    char t[24];
    return p != SIZE_MAX && word_text(s, p, t, sizeof t) && INDEX(t, measures) >= 0;
}

/* The number's text and the last piece it covers; false when it stays words. */
static bool read_number(en_ctx *c, const en_word *w, size_t n, char *out, size_t cap, size_t *last)
{
    const tx_seq *s = c->s;
    int64_t v;
    char frac[MAX_WORDS + 1];
    bool strong = false;
    for (size_t i = 0; i < n; i++)
        strong |= (s->p[w[i].piece].flags & TF_STRONG) != 0;
    *last = w[n - 1].piece;
    if (ordinal_after(s, *last))
        return false;
    if (read_cardinal(w, n, &v)) {
        size_t end = decimal_part(s, *last, frac, sizeof frac);
        if (frac[0] && w[n - 1].type != W_SCALE) {
            size_t scale_at = after_joiner(s, end);
            en_word sc = scale_at != SIZE_MAX ? classify(s, scale_at) : (en_word){0};
            snprintf(out, cap, "%" PRId64 ".%s", v, frac);
            if (sc.type == W_SCALE && sc.value >= 1000000) {
                size_t len = strlen(out);
                snprintf(out + len, cap - len, " %s", sc.value == 1000000 ? "million"
                                                      : sc.value == 1000000000 ? "billion" : "trillion");
                end = scale_at;
            }
            *last = end;
            return true;
        }
        bool lone = n == 1 && (w[0].type == W_UNIT || w[0].type == W_ZERO || w[0].type == W_HUNDRED ||
                               w[0].type == W_SCALE);
        if (w[0].type == W_HUNDRED || w[0].type == W_SCALE)
            return false;
        if (lone && !strong && !percent_after(s, *last) && !measure_after(s, *last))
            return false;
        format_cardinal(w, n, v, out, cap);
        return true;
    }
    if (read_year(w, n, &v)) {
        snprintf(out, cap, "%" PRId64, v);
        return true;
    }
    return cap > n && read_digits(w, n, out);
}

/* Converts the number starting at piece i; returns where the scan goes on. */
static size_t convert_at(en_ctx *c, size_t i)
{
    en_word w[MAX_WORDS];
    size_t n = gather(c->s, i, w);
    if (n == 0)
        return i + 1;
    char text[96];
    size_t last;
    if (!read_number(c, w, n, text, sizeof text - 1, &last))
        return w[n - 1].piece + 1;
    size_t pct = percent_after(c->s, last);
    if (pct) {
        strcat(text, "%");
        last = pct;
    }
    tx_ops_add(&c->ops, i, last + 1, text);
    return last + 1;
}

/* ---- mode 3 ---- */

typedef struct en_operator {
    const char *first, *second, *symbol;
} en_operator;

static const en_operator operators[] = {
    {"plus", NULL, "+"}, {"minus", NULL, "-"}, {"times", NULL, "×"}, {"multiplied", "by", "×"},
    {"divided", "by", "÷"}, {"equals", NULL, "="},
};

static bool number_word_at(const tx_seq *s, size_t i)
{
    word_type t = i < s->n ? classify(s, i).type : W_NONE;
    return t == W_ZERO || t == W_UNIT || t == W_TEEN || t == W_TENS;
}

/* The operator at i and the piece holding its last word (*end); NULL if none. */
static const en_operator *operator_at(const tx_seq *s, size_t i, size_t *end)
{
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        if (!word_is(s, i, operators[k].first))
            continue;
        size_t e = i;
        if (operators[k].second) {
            e = after_joiner(s, i);
            if (e == SIZE_MAX || !word_is(s, e, operators[k].second))
                continue;
        }
        *end = e;
        return &operators[k];
    }
    return NULL;
}

/* Marks the operand words around math words, so that lone digits convert. */
static void mark_operands(tx_seq *s)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t end;
        if (!operator_at(s, i, &end))
            continue;
        size_t next = after_joiner(s, end);
        bool before = i >= 2 && number_word_at(s, i - 2) && s->p[i - 1].kind == TK_SPACE;
        bool sign = word_is(s, i, "minus") && (i == 0 || !before);
        if (next != SIZE_MAX && number_word_at(s, next) && (before || sign)) {
            s->p[next].flags |= TF_STRONG;
            if (before)
                s->p[i - 2].flags |= TF_STRONG;
        }
    }
    for (size_t i = 2; i < s->n; i++)
        if ((word_is(s, i, "squared") || word_is(s, i, "cubed")) && number_word_at(s, i - 2) &&
            s->p[i - 1].kind == TK_SPACE)
            s->p[i - 2].flags |= TF_STRONG;
}

static bool is_number_piece(const tx_seq *s, size_t i)
{
    return i < s->n && (s->p[i].kind == TK_DIGITS || (s->p[i].flags & TF_NUMBER));
}

static void replace_operators(tx_seq *s)
{
    tx_ops ops;
    tx_ops_init(&ops);
    for (size_t i = 0; i < s->n; i++) {
        size_t end;
        const en_operator *op = operator_at(s, i, &end);
        size_t next = op ? after_joiner(s, end) : SIZE_MAX;
        bool before = i >= 2 && is_number_piece(s, i - 2) && s->p[i - 1].kind == TK_SPACE;
        if (op && next != SIZE_MAX && is_number_piece(s, next) && before) {
            tx_ops_add(&ops, i, end + 1, op->symbol);
            i = end;
        } else if (op && next == end + 2 && is_number_piece(s, next) && word_is(s, i, "minus")) {
            tx_ops_add(&ops, i, next, "-");     /* a sign: "minus three" → "-3" */
            i = next;
        } else if (before && (word_is(s, i, "squared") || word_is(s, i, "cubed"))) {
            tx_ops_add(&ops, i - 1, i + 1, word_is(s, i, "squared") ? "²" : "³");
        }
    }
    tx_ops_apply(s, &ops);
}

void tx_num_en(tx_seq *s, int mode)
{
    if (mode == 3)
        mark_operands(s);
    en_ctx c = {.s = s, .mode = mode};
    tx_ops_init(&c.ops);
    for (size_t i = 0; i < s->n;) {
        en_word w = classify(s, i);
        bool starts = w.type == W_ZERO || w.type == W_UNIT || w.type == W_TEEN || w.type == W_TENS ||
                      w.type == W_HUNDRED || w.type == W_SCALE;
        i = starts ? convert_at(&c, i) : i + 1;
    }
    tx_ops_apply(s, &c.ops);
    if (mode == 3)
        replace_operators(s);
}
