/* pipeline.c — one job's life from input to result: turn its hot-vocabulary table into the
 * engine's hot words, resolve the input object (or download the Input/Url) to a readable file,
 * decode it as a stream (mixed to mono, channel 0 alone, or each of two channels on its own; read as
 * the job's Format declares, else as its content shows) and recognise it
 * window by window (audio, engine: at most one window of PCM in memory; the diarizer, asked for,
 * hears the same samples and keeps only summaries), build its sentences
 * (output) and write the output objects. After each window the job's progress (the share of all
 * its passes over the audio recognised) is recorded in the store: the engine and the audio layer
 * only count samples. Every failure becomes a precise Code and Message on the job; nothing here
 * can leave a job Running. */
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audio/audio.h"
#include "fetch/fetch.h"
#include "output/output.h"
#include "util/util.h"

void pipeline_result_free(pipeline_result *r)
{
    for (int c = 0; c < PIPELINE_MAX_CHANNELS; c++)
        engine_result_free(&r->channels[c]);
    diarize_result_free(&r->speakers);
}

pipeline_request pipeline_default_request(const char *engine_model_type)
{
    return (pipeline_request){.engine_model_type = engine_model_type, .channel_num = 1};
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
        engine_stats_copy(&d->stats, &s->stats);
    }
}

/* Hands the diarizer the samples the engine gets; it is made at the first samples, when the
 * recording's own rate is known. */
static bool feed_diarizer(audio_reader *ar, diarize_params *dp, diarizer **dz, const float *x, size_t n,
                          pipeline_result *r)
{
    diarize_rc rc = DIARIZE_OK;
    if (!*dz) {
        dp->input_rate = audio_reader_input_rate(ar);
        rc = diarize_new(dp, dz);
    }
    if (rc == DIARIZE_OK)
        rc = diarize_feed(*dz, x, n);
    if (rc != DIARIZE_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "speaker diarization: %s", diarize_rc_message(rc));
        set_failure(r->code, r->message, sizeof r->message, "DiarizationFailed", msg);
    }
    return rc == DIARIZE_OK;
}

/* Where one pass over the audio (the mix, or one channel) stands in the whole recognition. */
typedef struct pass_progress {
    const pipeline_request *req;   /* its progress hook */
    int pass, npasses;             /* this pass, from 0, of npasses */
} pass_progress;

/* Tells the request's hook how far the recognition has come: done_ms of this pass's audio
 * recognised, of the length the audio layer expects (unknown: the pass counts as just begun until
 * it ends); ended: the pass's last window is done. */
static void report_progress(const pass_progress *pp, const audio_reader *ar, int64_t done_ms, bool ended)
{
    if (!pp->req->progress)
        return;
    double part = 1;
    if (!ended) {
        int64_t expected = audio_reader_expected_ms(ar);
        part = expected <= 0 ? 0 : done_ms >= expected ? 1 : (double)done_ms / (double)expected;
    }
    double done = (pp->pass + part) / pp->npasses;
    pp->req->progress(pp->req->progress_arg, done < PIPELINE_PROGRESS_MAX ? done : PIPELINE_PROGRESS_MAX);
}

/* Streams the audio through the engine one window at a time, and through the diarizer when dp is
 * not NULL, reporting progress after each window. On the recognition's last pass (its last
 * channel) the seat learns before the last call that it will need no more cores after it. */
static bool recognise_windows(engine *e, const engine_opts *opts, audio_reader *ar, size_t window,
                              const pass_progress *pp, diarize_params *dp, diarizer **dz, engine_result *out,
                              pipeline_result *r)
{
    bool final = pp->pass == pp->npasses - 1;
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
        if (dp && got > 0 && !feed_diarizer(ar, dp, dz, buf + n, got, r)) {
            ok = false;
            break;
        }
        n += got;
        last = n < window;    /* a short read means the stream ended */
        size_t cut = last ? n : quietest_cut(buf, n, rate);
        if (opts->seat) {
            engine_seat_expect(opts->seat, (int64_t)cut * 1000 / rate);
            if (last && final)
                engine_seat_finishing(opts->seat);
        }
        if (cut > 0) {
            engine_result part = {0};
            if (engine_transcribe(e, buf, cut, opts, &part, err, sizeof err) != 0) {
                set_failure(r->code, r->message, sizeof r->message, "RecognitionFailed", err);
                ok = false;
            } else {
                append_shifted(out, &part, offset * 1000 / rate);
            }
            engine_result_free(&part);
        }
        memmove(buf, buf + cut, (n - cut) * sizeof *buf);
        n -= cut;
        offset += (int64_t)cut;
        if (ok && (cut > 0 || last))
            report_progress(pp, ar, offset * 1000 / rate, last);
    }
    free(buf);
    return ok;
}

/* Decodes one channel of `path` (or all of them mixed, channel -1) and recognises it into out, as
 * pass pp of the recognition. */
static bool recognise_channel(engine *e, const engine_opts *opts, const char *path, const pass_progress *pp,
                              int channel, diarizer **dz, engine_result *out, pipeline_result *r)
{
    const pipeline_request *req = pp->req;
    audio_params ap = audio_default_params();
    ap.sample_rate = engine_sample_rate(e);
    ap.channel = channel;
    if (req->max_audio_ms > 0)
        ap.max_duration_ms = req->max_audio_ms;
    if (req->max_input_bytes > 0)
        ap.max_input_bytes = req->max_input_bytes;
    if (req->raw_pcm) {
        ap.raw_pcm = true;
        ap.raw_rate = ap.sample_rate;
        ap.raw_channels = req->channel_num;
    }
    ap.container = req->container;
    audio_reader *ar;
    char err[512];
    audio_rc arc = audio_open(path, &ap, &ar, err, sizeof err);
    if (arc != AUDIO_OK) {
        set_failure(r->code, r->message, sizeof r->message, audio_rc_code(arc), err);
        return false;
    }
    int64_t window_ms = req->window_ms > 0 ? req->window_ms : engine_window_ms(e);
    if (window_ms <= 0)
        window_ms = PIPELINE_WINDOW_MS;
    diarize_params dp = diarize_default_params();
    dp.sample_rate = ap.sample_rate;
    dp.speakers = req->speakers;
    bool ok = recognise_windows(e, opts, ar, (size_t)(window_ms * ap.sample_rate / 1000), pp, dz ? &dp : NULL, dz,
                                out, r);
    if (channel <= 0)
        r->audio_ms = audio_reader_duration_ms(ar);
    audio_close(ar);
    return ok;
}

/* Shared by jobs and `cicada transcribe`. */
bool pipeline_recognise(engine_registry *engines, const char *path, const pipeline_request *req,
                        pipeline_result *r)
{
    memset(r, 0, sizeof *r);
    engine *e = NULL;
    engine_opts opts = {0};
    char hint[512];
    engine_lookup lk = engine_registry_get(engines, req->engine_model_type, &e, &opts, hint, sizeof hint);
    if (lk != ENGINE_FOUND) {
        set_failure(r->code, r->message, sizeof r->message,
                    lk == ENGINE_UNKNOWN_TYPE ? "InvalidEngineModelType" : "EngineNotInstalled", hint);
        return false;
    }
    opts.hotwords = req->hotwords;
    opts.translate = req->translate;
    r->engine_kind = e->vt->kind;
    r->punctuated = e->vt->punctuates;
    r->language = opts.language;
    if (req->channel_num < 1 || req->channel_num > PIPELINE_MAX_CHANNELS) {
        set_failure(r->code, r->message, sizeof r->message, "InvalidArgument", "ChannelNum must be 1 or 2");
        return false;
    }
    r->nchannels = req->channel_num;
    /* the last channel first: a mono file sent as ChannelNum 2 fails at once, not after channel 0 */
    int mono = req->first_channel_only ? 0 : -1;   /* ChannelNum 1: channel 0 alone, or all mixed */
    if (req->diarize && (req->speakers < 0 || req->speakers > DIARIZE_MAX_SPEAKERS)) {
        set_failure(r->code, r->message, sizeof r->message, "InvalidArgument", "SpeakerNumber must be 0 to 10");
        return false;
    }
    bool diarize = req->diarize && r->nchannels == 1;   /* ChannelNum 2: each channel is its speaker */
    diarizer *dz = NULL;
    opts.seat = engine_seat_open(engine_registry_cores(engines));   /* this recognition's share of the cores */
    bool ok = true;
    for (int c = r->nchannels - 1; ok && c >= 0; c--) {
        pass_progress pp = {req, r->nchannels - 1 - c, r->nchannels};
        ok = recognise_channel(e, &opts, path, &pp, r->nchannels == 1 ? mono : c, diarize ? &dz : NULL,
                               &r->channels[c], r);
    }
    engine_seat_close(opts.seat);
    if (ok && diarize) {   /* no audio at all: no speakers, and no diarizer was made */
        diarize_rc rc = dz ? diarize_finish(dz, &r->speakers) : DIARIZE_OK;
        if (rc != DIARIZE_OK) {
            char msg[128];
            snprintf(msg, sizeof msg, "speaker diarization: %s", diarize_rc_message(rc));
            set_failure(r->code, r->message, sizeof r->message, "DiarizationFailed", msg);
            ok = false;
        }
        r->diarized = ok;
    }
    diarize_free(dz);
    if (!ok)
        return false;
    snprintf(r->code, sizeof r->code, "Success");
    r->message[0] = '\0';
    return true;
}

pipeline_shape pipeline_default_shape(void)
{
    return (pipeline_shape){.text = text_default_params()};
}

pipeline_shape pipeline_job_shape(const job_params *p, const text_engine *texts)
{
    pipeline_shape sh = pipeline_default_shape();
    sh.res_text_format = p->res_text_format;
    sh.sentence_max_length = p->sentence_max_length;
    sh.text.convert_num_mode = p->convert_num_mode;
    sh.text.filter_modal = p->filter_modal;
    sh.text.filter_dirty = p->filter_dirty;
    sh.text.filter_punc = p->filter_punc;
    sh.texts = texts;
    return sh;
}

/* One segment through the text options (all but FilterPunc, which acts on the built sentences). */
static void text_segment(const text_engine *te, const text_params *tp, const engine_segment *seg, engine_result *out)
{
    size_t n = seg->nwords ? seg->nwords : 1;
    text_word *in = xcalloc(n, sizeof *in);
    if (seg->nwords == 0)
        in[0] = (text_word){seg->text ? seg->text : "", seg->start_ms, seg->end_ms};
    for (size_t w = 0; w < seg->nwords; w++)
        in[w] = (text_word){seg->words[w].text, seg->words[w].start_ms, seg->words[w].end_ms};
    text_result tr;
    char err[128];
    text_process_words(te, tp, in, n, &tr, err, sizeof err);   /* params were validated by the caller */
    engine_segment *d = engine_result_add_segment(out, seg->start_ms, seg->end_ms);
    free(d->text);
    d->text = tr.text;
    tr.text = NULL;
    for (size_t w = 0; seg->nwords && w < tr.nwords; w++)
        engine_segment_add_word(d, tr.words[w].text, tr.words[w].start_ms, tr.words[w].end_ms);
    engine_stats_copy(&d->stats, &seg->stats);
    text_result_free(&tr);
    free(in);
}

static void text_result_of(const text_engine *te, const text_params *tp, const engine_result *in, engine_result *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < in->nsegs; i++)
        text_segment(te, tp, &in->segs[i], out);
}

static bool text_options_ok(const pipeline_shape *sh, text_params *tp, const char *language, char *err, size_t errlen)
{
    *tp = sh->text;
    tp->filter_punc = 0;
    tp->language = language && strcmp(language, "auto") != 0 ? language : NULL;
    if (!text_params_valid(&sh->text, err, errlen))
        return false;
    if (!text_params_noop(tp) && !sh->texts) {
        err_printf(err, errlen, "text options were asked for but this pipeline has no text engine");
        return false;
    }
    return true;
}

output_doc *pipeline_output(const pipeline_result *r, const pipeline_shape *shape, char *err, size_t errlen)
{
    text_params tp;
    if (!text_options_ok(shape, &tp, r->language, err, errlen))
        return NULL;
    bool process = !text_params_noop(&tp);
    engine_result processed[PIPELINE_MAX_CHANNELS];
    output_channel ch[PIPELINE_MAX_CHANNELS];
    for (int c = 0; c < r->nchannels; c++) {
        if (process)
            text_result_of(shape->texts, &tp, &r->channels[c], &processed[c]);
        ch[c] = (output_channel){.r = process ? &processed[c] : &r->channels[c], .speaker_id = c,
                                 .speakers = r->diarized ? &r->speakers : NULL};
    }
    output_params op = output_default_params();
    op.res_text_format = shape->res_text_format;
    op.sentence_max_length = shape->sentence_max_length;
    op.filter_punc = shape->text.filter_punc;
    op.language = r->language;
    op.punctuate_from_pauses = !r->punctuated;
    output_doc *doc = output_build(ch, (size_t)r->nchannels, &op, err, errlen);
    for (int c = 0; process && c < r->nchannels; c++)
        engine_result_free(&processed[c]);
    return doc;
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
static bool open_input_object(const pipeline_deps *d, store_job *j, int *fd, char path[64])
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
    if (info.size == 0) {   /* (a size over the limit is refused by the audio reader, for URLs too) */
        close(*fd);
        set_failure(j->code, j->message, sizeof j->message, "AudioEmpty", "the input object is empty (0 bytes)");
        return false;
    }
    snprintf(path, 64, "/proc/self/fd/%d", *fd);
    return true;
}

/* Input/Url: downloaded into an unlinked temporary file (nothing to clean up if we die), then read
 * through its descriptor like an object. */
static bool open_input_url(const pipeline_deps *d, store_job *j, int *fd, char path[64])
{
    char tmpl[1024];
    snprintf(tmpl, sizeof tmpl, "%s/url-XXXXXX", d->tmp_dir && d->tmp_dir[0] ? d->tmp_dir : "/tmp");
    *fd = mkstemp(tmpl);
    if (*fd < 0) {
        set_failure(j->code, j->message, sizeof j->message, "InternalError", "cannot create a temporary file");
        return false;
    }
    unlink(tmpl);
    fetch_params fp = fetch_default_params();
    if (d->max_input_bytes > 0)
        fp.max_bytes = d->max_input_bytes;
    if (d->url_timeout_ms > 0)
        fp.timeout_ms = d->url_timeout_ms;
    fp.allow_private = d->url_allow_private;
    int64_t bytes;
    char err[280];
    fetch_rc rc = fetch_to_fd(j->input_url, &fp, *fd, &bytes, err, sizeof err);
    if (rc != FETCH_OK) {
        close(*fd);
        set_failure(j->code, j->message, sizeof j->message, fetch_rc_code(rc), "");
        snprintf(j->message, sizeof j->message, "cannot fetch Input/Url %.200s: %s", j->input_url, err);
        return false;
    }
    if (bytes == 0) {
        close(*fd);
        set_failure(j->code, j->message, sizeof j->message, "AudioEmpty", "the Input/Url answered an empty body");
        return false;
    }
    log_debug("job %s: fetched %lld bytes from %s", j->id, (long long)bytes, j->input_url);
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
        j->state = JOB_FAILED;
        set_failure(j->code, j->message, sizeof j->message, "OutputWriteFailed", "");
        snprintf(j->message, sizeof j->message, "cannot write output object %.300s to bucket %s: %s", key,
                 output_bucket_of(j), blob_rc_message(rc));
        return false;
    }
    return true;
}

bool pipeline_publish(const pipeline_deps *d, store_job *j)
{
    if (!j->object_name[0])
        return true;
    return write_object(d, j, j->object_name, j->output_body ? j->output_body : "",
                        j->output_content_type[0] ? j->output_content_type : "text/plain") &&
           write_object(d, j, j->detail_object_name, j->result_detail ? j->result_detail : "[]", "application/json");
}

/* WordInfo 1 or 2 on a ResTextFormat 0 job: the ResultDetail sentences (and the .detail object) as
 * ResTextFormat 1 or 2 builds them, while the Result lines and the output file stay format 0's.
 * NULL when WordInfo asks for nothing (or the sentences cannot be built: the format 0 detail stays). */
static char *word_info_detail(const pipeline_result *r, const pipeline_shape *shape, int word_info)
{
    if (shape->res_text_format != 0 || word_info < 1 || word_info > 2)
        return NULL;
    pipeline_shape words = *shape;
    words.res_text_format = word_info;
    char err[256];
    output_doc *doc = pipeline_output(r, &words, err, sizeof err);
    char *detail = doc ? output_doc_detail_json(doc) : NULL;
    output_doc_free(doc);
    return detail;
}

/* Fills the result fields from the sentences, with the content of the text object (in
 * OutputFileType) that pipeline_publish writes beside the .detail object (the ResultDetail
 * sentences). */
static bool build_outputs(const pipeline_deps *d, store_job *j, const pipeline_result *r)
{
    char err[256];
    pipeline_shape shape = pipeline_job_shape(&j->params, d->texts);
    output_doc *doc = pipeline_output(r, &shape, err, sizeof err);
    if (!doc) {
        set_failure(j->code, j->message, sizeof j->message, "InvalidArgument", err);
        return false;
    }
    j->result = output_doc_result_lines(doc);
    j->result_detail = word_info_detail(r, &shape, atoi(j->params.word_info));
    if (!j->result_detail)
        j->result_detail = output_doc_detail_json(doc);
    j->audio_time = (double)r->audio_ms / 1000.0;
    bool ok = true;
    if (j->output_object[0]) {
        const char *ctype;
        char *text = output_doc_file(doc, j->params.output_file_type, &ctype);
        ok = text != NULL;
        if (!text)
            set_failure(j->code, j->message, sizeof j->message, "InvalidArgument", "unknown OutputFileType");
        else {
            free(j->output_body);
            j->output_body = text;
            snprintf(j->output_content_type, sizeof j->output_content_type, "%s", ctype);
            snprintf(j->object_name, sizeof j->object_name, "%s", j->output_object);
            snprintf(j->detail_object_name, sizeof j->detail_object_name, "%s.detail", j->output_object);
        }
    }
    output_doc_free(doc);
    return ok;
}

/* Format and FirstChannelOnly were checked at submit (api/speech.c): "pcm", a container or "". */
static pipeline_request job_request(const pipeline_deps *d, const store_job *j, const char *hotwords)
{
    pipeline_request req = pipeline_default_request(j->params.engine_model_type);
    req.hotwords = hotwords;
    req.channel_num = j->params.channel_num;
    req.first_channel_only = strcmp(j->params.first_channel_only, "1") == 0;
    req.raw_pcm = strcasecmp(j->params.format, "pcm") == 0;
    req.container = j->params.format[0] && !req.raw_pcm ? j->params.format : NULL;
    req.max_audio_ms = d->max_audio_ms;
    req.max_input_bytes = d->max_input_bytes;
    req.window_ms = d->window_ms;
    req.diarize = j->params.speaker_diarization == 1;
    req.speakers = j->params.speaker_number;
    req.translate = j->params.translate == 1;
    return req;
}

/* The engine's prompt: the job's own prompt (OpenAI's `prompt`), then its hot words; heap or NULL. */
static char *job_prompt(const store_job *j, char *hotwords)
{
    if (!j->params.prompt[0])
        return hotwords;
    buf b;
    buf_init(&b);
    buf_puts(&b, j->params.prompt);
    if (hotwords && hotwords[0]) {
        buf_putc(&b, ' ');
        buf_puts(&b, hotwords);
    }
    free(hotwords);
    return buf_steal(&b);
}

/* A job's progress hook: records each report through the store, fenced by the job's lease, unless
 * it would show the same (three decimals) as the last one recorded. */
typedef struct job_progress {
    store *st;
    const store_job *j;
    long shown;            /* the last value recorded, in thousandths; -1: none yet */
} job_progress;

static void record_progress(void *arg, double done)
{
    job_progress *jp = arg;
    long shown = (long)(done * 1000 + 0.5);
    if (!jp->st || shown <= jp->shown)
        return;
    store_rc rc = store_job_progress(jp->st, jp->j, done);
    if (rc == STORE_OK)
        jp->shown = shown;
    else if (rc == STORE_CONFLICT)   /* the lease was lost: the worker drops the job after the run */
        log_debug("job %s: progress not recorded: %s", jp->j->id, store_last_error());
    else
        log_warn("job %s: cannot record its progress: %s", jp->j->id, store_last_error());
}

void pipeline_run_job(const pipeline_deps *d, store_job *j)
{
    j->state = JOB_FAILED;
    char *hotwords = NULL;
    if (!job_hotwords(d, j, &hotwords))
        return;
    hotwords = job_prompt(j, hotwords);
    int fd = -1;
    char path[64];
    bool opened = j->input_object[0] ? open_input_object(d, j, &fd, path) : open_input_url(d, j, &fd, path);
    if (!opened) {
        free(hotwords);
        return;
    }
    pipeline_request req = job_request(d, j, hotwords);
    job_progress jp = {d->st, j, -1};
    req.progress = record_progress;
    req.progress_arg = &jp;
    pipeline_result r;
    bool ok = pipeline_recognise(d->engines, path, &req, &r);
    close(fd);
    free(hotwords);
    if (!ok)
        set_failure(j->code, j->message, sizeof j->message, r.code, r.message);
    else if (build_outputs(d, j, &r)) {
        j->state = JOB_SUCCESS;
        snprintf(j->code, sizeof j->code, "Success");
        j->message[0] = '\0';
    }
    pipeline_result_free(&r);
}
