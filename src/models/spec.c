/* spec.c — the CICADA_ENGINES syntax: a comma list of TYPE=ENGINE:MODEL[:LANGUAGE], e.g.
 * "16k_zh=whisper:ggml-base.bin:zh,16k_en=sphinx:en-us" (the INI form, an [engines] section of
 * "TYPE = ENGINE:MODEL[:LANGUAGE]" lines, is joined into the same list by the CLI). Only the
 * syntax is checked here; the engine registry checks the types and the models themselves. */
#include "models/models.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define SPEC_FORM "TYPE=ENGINE:MODEL[:LANGUAGE], e.g. 16k_zh=whisper:ggml-base.bin:zh"

typedef struct span {
    const char *p;
    size_t n;
} span;

static span trim(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return (span){p, n};
}

static bool span_eq(span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool copy_span(span s, char *out, size_t outlen)
{
    if (s.n >= outlen)
        return false;
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return true;
}

/* whisper's language codes: two or three lowercase letters ("zh", "yue", "haw"), or "auto". */
static bool language_valid(span s)
{
    if (span_eq(s, "auto"))
        return true;
    if (s.n < 2 || s.n > 3)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < 'a' || s.p[i] > 'z')
            return false;
    return true;
}

static const char *memchr_or_end(span s, char c)
{
    const char *hit = memchr(s.p, c, s.n);
    return hit ? hit : s.p + s.n;
}

/* Splits ENGINE:MODEL[:LANGUAGE] into e. */
static bool parse_target(span target, const char *entry, models_engine_entry *e, char *err, size_t errlen)
{
    const char *c1 = memchr_or_end(target, ':');
    if (c1 == target.p + target.n) {
        err_printf(err, errlen, "entry \"%s\": expected " SPEC_FORM, entry);
        return false;
    }
    span engine = trim(target.p, (size_t)(c1 - target.p));
    span rest = {c1 + 1, (size_t)(target.p + target.n - c1 - 1)};
    const char *c2 = memchr_or_end(rest, ':');
    span model = trim(rest.p, (size_t)(c2 - rest.p));
    span lang = {"", 0};
    if (c2 < rest.p + rest.n) {
        lang = (span){c2 + 1, (size_t)(rest.p + rest.n - c2 - 1)};
        if (memchr(lang.p, ':', lang.n)) {
            err_printf(err, errlen, "entry \"%s\": too many ':' (expected ENGINE:MODEL[:LANGUAGE])", entry);
            return false;
        }
        lang = trim(lang.p, lang.n);
    }
    if (!span_eq(engine, "whisper") && !span_eq(engine, "sphinx")) {
        err_printf(err, errlen, "entry \"%s\": engine \"%.*s\" is neither whisper nor sphinx", entry, (int)engine.n,
                   engine.p);
        return false;
    }
    if (model.n == 0) {
        err_printf(err, errlen, "entry \"%s\": no model after \"%.*s:\"", entry, (int)engine.n, engine.p);
        return false;
    }
    if (c2 < rest.p + rest.n && !language_valid(lang)) {
        err_printf(err, errlen, "entry \"%s\": \"%.*s\" is not a language code (two or three lowercase letters "
                   "such as zh, en, yue, or auto)", entry, (int)lang.n, lang.p);
        return false;
    }
    if (!copy_span(engine, e->engine, sizeof e->engine) || !copy_span(lang, e->language, sizeof e->language) ||
        !copy_span(model, e->model, sizeof e->model)) {
        err_printf(err, errlen, "entry \"%s\": model name too long", entry);
        return false;
    }
    return true;
}

static bool parse_entry(span s, const models_engine_entry *done, size_t ndone, models_engine_entry *e, char *err,
                        size_t errlen)
{
    char entry[160];
    snprintf(entry, sizeof entry, "%.*s", (int)(s.n < 150 ? s.n : 150), s.p);
    if (s.n == 0) {
        err_printf(err, errlen, "entry %zu is empty (a stray comma?)", ndone + 1);
        return false;
    }
    const char *eq = memchr_or_end(s, '=');
    if (eq == s.p + s.n) {
        err_printf(err, errlen, "entry \"%s\": expected " SPEC_FORM, entry);
        return false;
    }
    span type = trim(s.p, (size_t)(eq - s.p));
    if (type.n == 0 || !copy_span(type, e->type, sizeof e->type)) {
        err_printf(err, errlen, "entry \"%s\": %s EngineModelType before '='", entry, type.n ? "an overlong" : "no");
        return false;
    }
    for (size_t i = 0; i < ndone; i++) {
        if (strcmp(done[i].type, e->type) == 0) {
            err_printf(err, errlen, "entry \"%s\": %s is mapped twice", entry, e->type);
            return false;
        }
    }
    span target = trim(eq + 1, (size_t)(s.p + s.n - eq - 1));
    return parse_target(target, entry, e, err, errlen);
}

bool models_engines_parse(const char *spec, models_engine_entry *out, size_t max, size_t *n, char *err,
                          size_t errlen)
{
    *n = 0;
    if (!spec || trim(spec, strlen(spec)).n == 0)
        return true;
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == max) {
            err_printf(err, errlen, "more than %zu entries", max);
            return false;
        }
        models_engine_entry e;
        memset(&e, 0, sizeof e);
        if (!parse_entry(trim(p, len), out, *n, &e, err, errlen))
            return false;
        out[(*n)++] = e;
        if (!comma)
            return true;
        p = comma + 1;
    }
}
