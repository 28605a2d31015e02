/* output.c — formatting of recognition results into the API's text shapes (see output.h). Kept
 * apart from the engines so every engine's segments come out in exactly the same form. */
#include "output/output.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

char *output_result_lines(const engine_result *r)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < r->nsegs; i++) {
        const engine_segment *s = &r->segs[i];
        char t0[32], t1[32];
        time_format_offset(s->start_ms, t0);
        time_format_offset(s->end_ms, t1);
        if (i > 0)
            buf_putc(&b, '\n');
        buf_printf(&b, "[%s,%s]  %s", t0, t1, s->text ? s->text : "");
    }
    return buf_steal(&b);
}

static void srt_time(buf *b, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    buf_printf(b, "%02lld:%02lld:%02lld,%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
               (long long)(ms / 1000 % 60), (long long)(ms % 1000));
}

char *output_srt(const engine_result *r)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < r->nsegs; i++) {
        const engine_segment *s = &r->segs[i];
        buf_printf(&b, "%zu\n", i + 1);
        srt_time(&b, s->start_ms);
        buf_puts(&b, " --> ");
        srt_time(&b, s->end_ms);
        buf_printf(&b, "\n%s\n\n", s->text ? s->text : "");
    }
    return buf_steal(&b);
}

static json_t *sentence_json(const engine_segment *s, int speaker_id)
{
    json_t *words = json_array();
    buf slice;
    buf_init(&slice);
    for (size_t w = 0; w < s->nwords; w++) {
        const engine_word *wd = &s->words[w];
        json_array_append_new(words, json_pack("{s:s, s:I, s:I}", "Word", wd->text,
                                               "OffsetStartMs", (json_int_t)(wd->start_ms - s->start_ms),
                                               "OffsetEndMs", (json_int_t)(wd->end_ms - s->start_ms)));
        if (w > 0)
            buf_putc(&slice, ' ');
        buf_puts(&slice, wd->text);
    }
    double secs = (double)(s->end_ms - s->start_ms) / 1000.0;
    double speed = secs > 0 ? (double)s->nwords / secs : 0.0;
    speed = (double)(long long)(speed * 10.0 + 0.5) / 10.0;   /* one decimal, like the service */
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:i, s:o}",
                          "FinalSentence", s->text ? s->text : "",
                          "SliceSentence", slice.data ? slice.data : "",
                          "StartMs", (json_int_t)s->start_ms, "EndMs", (json_int_t)s->end_ms,
                          "WordsNum", (json_int_t)s->nwords, "SpeechSpeed", speed,
                          "SpeakerId", speaker_id, "Words", words);
    buf_free(&slice);
    return o;
}

char *output_detail_json(const engine_result *r, int speaker_id)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->nsegs; i++)
        json_array_append_new(arr, sentence_json(&r->segs[i], speaker_id));
    char *s = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(arr);
    char *copy = xstrdup(s ? s : "[]");
    free(s);
    return copy;
}
