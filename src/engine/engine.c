/* engine.c — the engine-neutral half of engine.h: building and freeing engine_result (segments
 * owning their words and strings) and the transcribe/destroy dispatch that every caller goes
 * through, so argument checks and "no partial result on failure" live in one place. */
#include "engine/engine.h"

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void engine_stats_copy(engine_stats *dst, const engine_stats *src)
{
    *dst = src ? *src : (engine_stats){0};
    dst->tokens = NULL;
    if (src && src->ntokens) {
        dst->tokens = xmalloc(src->ntokens * sizeof *dst->tokens);
        memcpy(dst->tokens, src->tokens, src->ntokens * sizeof *dst->tokens);
    }
}

void engine_stats_free(engine_stats *s)
{
    free(s->tokens);
    *s = (engine_stats){0};
}

static void segment_free(engine_segment *s)
{
    for (size_t i = 0; i < s->nwords; i++)
        free(s->words[i].text);
    free(s->words);
    free(s->text);
    engine_stats_free(&s->stats);
}

void engine_result_free(engine_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsegs; i++)
        segment_free(&r->segs[i]);
    free(r->segs);
    r->segs = NULL;
    r->nsegs = 0;
}

/* The returned pointer is valid until the next add_segment on the same result. Its text starts
 * as "" and is the engine's to replace (free + xstrdup) once the words are known. */
engine_segment *engine_result_add_segment(engine_result *r, int64_t start_ms, int64_t end_ms)
{
    r->segs = xrealloc(r->segs, (r->nsegs + 1) * sizeof *r->segs);
    engine_segment *s = &r->segs[r->nsegs++];
    *s = (engine_segment){.text = xstrdup(""), .start_ms = start_ms, .end_ms = end_ms};
    return s;
}

void engine_segment_add_word(engine_segment *s, const char *text, int64_t start_ms, int64_t end_ms)
{
    s->words = xrealloc(s->words, (s->nwords + 1) * sizeof *s->words);
    s->words[s->nwords++] = (engine_word){.text = xstrdup(text), .start_ms = start_ms, .end_ms = end_ms};
}

int engine_transcribe(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                      char *err, size_t errlen)
{
    static const engine_opts no_opts = {0};
    *out = (engine_result){0};
    if (err && errlen)
        err[0] = '\0';
    if (!e || (!pcm && n > 0)) {
        if (err && errlen)
            snprintf(err, errlen, "transcribe called without %s", e ? "audio" : "an engine");
        return -1;
    }
    int rc = e->vt->transcribe(e, pcm, n, o ? o : &no_opts, out, err, errlen);
    if (rc != 0) {
        engine_result_free(out);
        if (err && errlen && err[0] == '\0')
            snprintf(err, errlen, "%s failed without giving a reason", e->name);
    }
    return rc;
}

void engine_destroy(engine *e)
{
    if (e)
        e->vt->destroy(e);
}
