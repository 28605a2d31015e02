/* pipeline.c — one job's life from input to result: turn its hot-vocabulary table into the
 * engine's hot words, resolve the input object to a readable file, decode it as a stream and
 * recognise it window by window (audio, engine: at most one window of PCM in memory), format it
 * (output) and write the output objects. Every failure becomes a precise Code and Message on the
 * job; nothing here can leave a job Running. */
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "output/output.h"
#include "util/util.h"

void pipeline_result_free(pipeline_result *r)
{
    engine_result_free(&r->segs);
}

static void set_failure(char code[64], char *msg, size_t msglen, const char *c, const char *m)
{
    snprintf(code, 64, "%s", c);
    snprintf(msg, msglen, "%s", m);
}

#define CUT_SEARCH_MS 5000
#define CUT_FRAME_MS 100

/* Where to end a full window: the start of the quietest 100 ms frame in its last 5 seconds, so a
 * cut falls in a pause rather than inside a word. */
static size_t quietest_cut(const float *x, size_t n, int rate)
{
    size_t frame = (size_t)rate * CUT_FRAME_MS / 1000, search = (size_t)rate * CUT_SEARCH_MS / 1000;
    if (n < search + frame)
        return n;
    size_t best = n, lo = n - search;
    double best_energy = -1;
    for (size_t at = lo; at + frame <= n; at += frame / 2) {
        double e = 0;
        for (size_t i = at; i < at + frame; i++)
            e += (double)x[i] * x[i];
        if (best_energy < 0 || e < best_energy) {
            best_energy = e;
            best = at;
        }
    }
    return best;
}

/* Appends src's segments to dst with every time moved by offset_ms. */
static void append_shifted(engine_result *dst, const engine_result *src, int64_t offset_ms)
{
    for (size_t i = 0; i < src->nsegs; i++) {
        const engine_segment *s = &src->segs[i];
        engine_segment *d = engine_result_add_segment(dst, s->start_ms + offset_ms, s->end_ms + offset_ms);
        free(d->text);
        d->text = xstrdup(s->text ? s->text : "");
        for (size_t w = 0; w < s->nwords; w++)
            engine_segment_add_word(d, s->words[w].text, s->words[w].start_ms + offset_ms,
                                    s->words[w].end_ms + offset_ms);
    }
}

/* Streams the audio through the engine one window at a time. */
static bool recognise_windows(engine *e, const engine_opts *opts, audio_reader *ar, size_t window,
                              pipeline_result *r)
{
    int rate = engine_sample_rate(e);
    float *buf = xmalloc(window * sizeof *buf);
    size_t n = 0;
    int64_t offset = 0;   /* samples before buf[0] */
    char err[512];
    bool ok = true, last = false;
    while (ok && !last) {
        size_t got;
        audio_rc arc = audio_read(ar, buf + n, window - n, &got, err, sizeof err);
        if (arc != AUDIO_OK) {
            set_failure(r->code, r->message, sizeof r->message, audio_rc_code(arc), err);
            ok = false;
            break;
        }
        n += got;
        last = n < window;    /* a short read means the stream ended */
        size_t cut = last ? n : quietest_cut(buf, n, rate);
        if (cut > 0) {
            engine_result part = {0};
            if (engine_transcribe(e, buf, cut, opts, &part, err, sizeof err) != 0) {
                set_failure(r->code, r->message, sizeof r->message, "RecognitionFailed", err);
                ok = false;
            } else {
                append_shifted(&r->segs, &part, offset * 1000 / rate);
            }
            engine_result_free(&part);
        }
        memmove(buf, buf + cut, (n - cut) * sizeof *buf);
        n -= cut;
        offset += (int64_t)cut;
    }
    free(buf);
    return ok;
}

/* Decodes `path` and runs the recogniser; shared by jobs and `cicada transcribe`. hotwords: the
 * engine's hot words, NULL for none. */
static bool recognise_path(engine_registry *engines, const char *path, const char *type, const char *hotwords,
                           int64_t max_audio_ms, int64_t window_ms, pipeline_result *r)
{
    engine *e = NULL;
    engine_opts opts = {0};
    char hint[512];
    engine_lookup lk = engine_registry_get(engines, type, &e, &opts, hint, sizeof hint);
    if (lk != ENGINE_FOUND) {
        set_failure(r->code, r->message, sizeof r->message,
                    lk == ENGINE_UNKNOWN_TYPE ? "InvalidEngineModelType" : "EngineNotInstalled", hint);
        return false;
    }
    opts.hotwords = hotwords;
    audio_params ap = audio_default_params();
    ap.sample_rate = engine_sample_rate(e);
    if (max_audio_ms > 0)
        ap.max_duration_ms = max_audio_ms;
    audio_reader *ar;
    char err[512];
    audio_rc arc = audio_open(path, &ap, &ar, err, sizeof err);
    if (arc != AUDIO_OK) {
        set_failure(r->code, r->message, sizeof r->message, audio_rc_code(arc), err);
        return false;
    }
    size_t window = (size_t)((window_ms > 0 ? window_ms : PIPELINE_WINDOW_MS) * ap.sample_rate / 1000);
    bool ok = recognise_windows(e, &opts, ar, window, r);
    r->audio_ms = audio_reader_duration_ms(ar);
    audio_close(ar);
    if (!ok)
        return false;
    snprintf(r->code, sizeof r->code, "Success");
    r->message[0] = '\0';
    return true;
}

bool pipeline_recognise(engine_registry *engines, const char *path, const char *engine_model_type,
                        int64_t max_audio_ms, int64_t window_ms, pipeline_result *r)
{
    memset(r, 0, sizeof *r);
    return recognise_path(engines, path, engine_model_type, NULL, max_audio_ms, window_ms, r);
}

bool pipeline_transcribe_file(engine_registry *engines, const char *path, const char *engine_model_type,
                              int64_t max_audio_ms, pipeline_result *r)
{
    return pipeline_recognise(engines, path, engine_model_type, max_audio_ms, 0, r);
}

/* ---- hot words ---- */

typedef struct ranked_word {
    const store_hotword *w;
    size_t pos;   /* place in the table: breaks ties between equal weights */
} ranked_word;

static int by_weight_then_table_order(const void *pa, const void *pb)
{
    const ranked_word *a = pa, *b = pb;
    if (a->w->weight != b->w->weight)
        return a->w->weight > b->w->weight ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool has_han(const char *s)
{
    size_t n = strlen(s), at = 0;
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(s + at, n - at, &cp);
        if (len > 0 && utf8_is_han(cp))
            return true;
        at += len > 0 ? len : 1;
    }
    return false;
}

char *pipeline_hotwords(const store_hotvocab *h, size_t *nused)
{
    ranked_word *rank = xcalloc(h->nwords ? h->nwords : 1, sizeof *rank);
    bool han = false;
    for (size_t i = 0; i < h->nwords; i++) {
        rank[i] = (ranked_word){&h->words[i], i};
        han = han || has_han(h->words[i].word);
    }
    qsort(rank, h->nwords, sizeof *rank, by_weight_then_table_order);
    const char *sep = han ? "，" : ", ";
    buf b;
    buf_init(&b);
    size_t used = 0;
    for (; used < h->nwords; used++) {
        const char *w = rank[used].w->word;
        size_t add = (used ? strlen(sep) : 0) + strlen(w);
        if (b.len + add > PIPELINE_HOTWORDS_MAX_BYTES)
            break;
        buf_printf(&b, "%s%s", used ? sep : "", w);
    }
    free(rank);
    if (nused)
        *nused = used;
    return buf_steal(&b);
}

/* The job's hot words (heap) into *hotwords, NULL when it names no table; false with the job
 * Failed when its table is gone. */
static bool job_hotwords(const pipeline_deps *d, store_job *j, char **hotwords)
{
    const char *id = j->params.hot_vocabulary_table_id;
    *hotwords = NULL;
    if (!id[0])
        return true;
    store_hotvocab h;
    store_rc rc = d->st ? store_hotvocab_get(d->st, j->bucket, id, &h) : STORE_ERROR;
    if (rc == STORE_NOT_FOUND) {
        set_failure(j->code, j->message, sizeof j->message, "HotVocabularyTableNotFound", "");
        snprintf(j->message, sizeof j->message,
                 "the hot-vocabulary table %s (HotVocabularyTableId) no longer exists in bucket %s", id, j->bucket);
        return false;
    }
    if (rc != STORE_OK) {
        set_failure(j->code, j->message, sizeof j->message, "InternalError", "");
        snprintf(j->message, sizeof j->message, "cannot read hot-vocabulary table %s: %s", id,
                 d->st ? store_last_error() : "the pipeline has no store");
        return false;
    }
    size_t used = 0;
    *hotwords = pipeline_hotwords(&h, &used);
    log_debug("job %s: hot words from table %s (%zu of %zu words): %s", j->id, id, used, h.nwords, *hotwords);
    store_hotvocab_clear(&h);
    return true;
}

/* The input object as a path FFmpeg can open: the embedded store hands us a descriptor, which
 * /proc/self/fd names without copying the object. */
static bool open_input(const pipeline_deps *d, store_job *j, int *fd, char path[64])
{
    blob_info info;
    size_t keylen = strlen(j->input_object);
    blob_rc rc = blob_open_read(d->blobs, j->bucket, j->input_object, keylen, fd, &info);
    if (rc == BLOB_NO_KEY || rc == BLOB_NO_BUCKET || rc == BLOB_INVALID) {
        set_failure(j->code, j->message, sizeof j->message, "InputObjectNotFound", "");
        snprintf(j->message, sizeof j->message, "the input object %.400s does not exist in bucket %s",
                 j->input_object, j->bucket);
        return false;
    }
    if (rc != BLOB_OK) {
        set_failure(j->code, j->message, sizeof j->message, "InternalError", blob_rc_message(rc));
        return false;
    }
    if (d->max_input_bytes > 0 && info.size > d->max_input_bytes) {
        close(*fd);
        set_failure(j->code, j->message, sizeof j->message, "InputTooLarge", "");
        snprintf(j->message, sizeof j->message, "the input object is %lld bytes; the limit is %lld bytes",
                 (long long)info.size, (long long)d->max_input_bytes);
        return false;
    }
    if (info.size == 0) {
        close(*fd);
        set_failure(j->code, j->message, sizeof j->message, "AudioEmpty", "the input object is empty (0 bytes)");
        return false;
    }
    snprintf(path, 64, "/proc/self/fd/%d", *fd);
    return true;
}

static const char *output_bucket_of(const store_job *j)
{
    return j->output_bucket[0] ? j->output_bucket : j->bucket;
}

static bool write_object(const pipeline_deps *d, store_job *j, const char *key, const char *body,
                         const char *ctype)
{
    blob_info info;
    blob_rc rc = blob_put(d->blobs, output_bucket_of(j), key, body, strlen(body), ctype, &info);
    if (rc != BLOB_OK) {
        set_failure(j->code, j->message, sizeof j->message, "OutputWriteFailed", "");
        snprintf(j->message, sizeof j->message, "cannot write output object %.300s to bucket %s: %s", key,
                 output_bucket_of(j), blob_rc_message(rc));
        return false;
    }
    return true;
}

/* Writes the text object (txt or srt) and the .detail object, and fills the result fields. */
static bool write_outputs(const pipeline_deps *d, store_job *j, const pipeline_result *r)
{
    j->result = output_result_lines(&r->segs);
    j->result_detail = output_detail_json(&r->segs, 0);
    j->audio_time = (double)r->audio_ms / 1000.0;
    if (!j->output_object[0])
        return true;
    bool srt = strcmp(j->params.output_file_type, "srt") == 0;
    char *text = srt ? output_srt(&r->segs) : xstrdup(j->result);
    bool ok = write_object(d, j, j->output_object, text, srt ? "application/x-subrip" : "text/plain; charset=utf-8");
    free(text);
    if (!ok)
        return false;
    snprintf(j->object_name, sizeof j->object_name, "%s", j->output_object);
    snprintf(j->detail_object_name, sizeof j->detail_object_name, "%s.detail", j->output_object);
    return write_object(d, j, j->detail_object_name, j->result_detail, "application/json");
}

void pipeline_run_job(const pipeline_deps *d, store_job *j)
{
    j->state = JOB_FAILED;
    if (!j->input_object[0]) {
        set_failure(j->code, j->message, sizeof j->message, "InputUrlNotSupported",
                    "Input/Url jobs are not supported by this server yet; upload the audio and use Input/Object");
        return;
    }
    char *hotwords = NULL;
    if (!job_hotwords(d, j, &hotwords))
        return;
    int fd = -1;
    char path[64];
    if (!open_input(d, j, &fd, path)) {
        free(hotwords);
        return;
    }
    pipeline_result r;
    memset(&r, 0, sizeof r);
    bool ok = recognise_path(d->engines, path, j->params.engine_model_type, hotwords, d->max_audio_ms, d->window_ms,
                             &r);
    close(fd);
    free(hotwords);
    if (!ok) {
        set_failure(j->code, j->message, sizeof j->message, r.code, r.message);
        pipeline_result_free(&r);
        return;
    }
    if (write_outputs(d, j, &r)) {
        j->state = JOB_SUCCESS;
        snprintf(j->code, sizeof j->code, "Success");
        j->message[0] = '\0';
    }
    pipeline_result_free(&r);
}
