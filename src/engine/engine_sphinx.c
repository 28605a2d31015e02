/* engine_sphinx.c — the pocketsphinx (0.8+5prealpha) engine. It owns the decoder pool: a decoder
 * holds a loaded model plus per-utterance state, so the first is built when the engine is created
 * and more only when several callers decode at once (at most one per CPU; callers beyond that wait
 * on a condvar). Each call decodes the whole utterance in one pass (full_utt), exactly as
 * pocketsphinx_batch does, then turns the word segmentation into timed segments split at long
 * silences. pocketsphinx's own logging is routed to our debug log.
 *
 * Times: the front end's voice activity detection (-remove_silence, on by default) drops the frames
 * it judges silent before the search sees them, so the search numbers only the frames it kept and
 * every stretch it dropped (leading silence or noise, a pause mid-window) would pull all later
 * words early. We therefore run the decoder's own front end here, a frame at a time, note which
 * audio frame each kept frame is, and hand the decoder those cepstra (ps_process_cep): the same
 * frames and the same hypothesis as ps_process_raw, with times on the audio's own clock. */
#include "engine/engine.h"

#include "util/util.h"

#include <ctype.h>
#include <math.h>
#include <pocketsphinx.h>
#include <pthread.h>
#include <sphinxbase/cmd_ln.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SEGMENT_GAP_MS 500
#define DEFAULT_SAMPLE_RATE 16000

/* Audio per call: one utterance, whose search memory grows with its length. */
#define SPHINX_WINDOW_MS (2 * 60 * 1000)

typedef struct sphinx_engine {
    engine base;
    char *hmm, *lm, *dict;
    int sample_rate;
    bool join_without_spaces;
    int64_t segment_gap_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    ps_decoder_t **idle;      /* decoders not in use; room for max_decoders */
    int nidle;
    int ncreated;             /* idle + in use + being built */
    int max_decoders;
} sphinx_engine;

sphinx_params sphinx_default_params(void)
{
    return (sphinx_params){
        .hmm = CICADA_SPHINX_EN_DIR "/en-us",
        .lm = CICADA_SPHINX_EN_DIR "/en-us.lm.bin",
        .dict = CICADA_SPHINX_EN_DIR "/cmudict-en-us.dict",
        .sample_rate = DEFAULT_SAMPLE_RATE,
        .join_without_spaces = false,
        .segment_gap_ms = DEFAULT_SEGMENT_GAP_MS,
    };
}

/* ---- logging ---- */

static void sphinx_log_callback(void *user_data, err_lvl_t lvl, const char *fmt, ...)
{
    (void)user_data;
    if (lvl < ERR_WARN)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    log_debug("pocketsphinx: %s", line);
}

/* The callback gets E_INFO/E_ERROR messages; disabling the log stream also stops the
 * configuration table that cmd_ln prints straight to it. */
static void install_sphinx_logging(void)
{
    err_set_logfp(NULL);
    err_set_callback(sphinx_log_callback, NULL);
}

static pthread_once_t g_sphinx_log_once = PTHREAD_ONCE_INIT;

/* ---- model files ---- */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Checks up front what pocketsphinx would otherwise report only in its log (or by exiting). */
static bool validate_model_files(const sphinx_params *p, char *err, size_t errlen)
{
    static const char *const hmm_files[] = {"mdef", "means", "variances", "transition_matrices"};
    if (!p->hmm || !p->lm || !p->dict) {
        snprintf(err, errlen, "pocketsphinx model needs hmm, lm and dict paths");
        return false;
    }
    if (!is_dir(p->hmm)) {
        snprintf(err, errlen, "acoustic model directory %s does not exist", p->hmm);
        return false;
    }
    for (size_t i = 0; i < sizeof hmm_files / sizeof hmm_files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", p->hmm, hmm_files[i]);
        if (!is_readable_file(path)) {
            snprintf(err, errlen, "acoustic model directory %s has no readable %s", p->hmm, hmm_files[i]);
            return false;
        }
    }
    if (!is_readable_file(p->lm)) {
        snprintf(err, errlen, "language model %s is missing or unreadable", p->lm);
        return false;
    }
    if (!is_readable_file(p->dict)) {
        snprintf(err, errlen, "dictionary %s is missing or unreadable", p->dict);
        return false;
    }
    if (p->sample_rate < 8000 || p->sample_rate > 48000) {
        snprintf(err, errlen, "unsupported pocketsphinx sample rate %d", p->sample_rate);
        return false;
    }
    return true;
}

/* ---- decoder pool ---- */

/* The same configuration pocketsphinx_batch builds from "-hmm -lm -dict -samprate": ps_args()
 * defaults plus the model's feat.params. Each decoder gets its own config: ps_init edits it. */
static ps_decoder_t *decoder_new(const sphinx_engine *se)
{
    char rate[16];
    snprintf(rate, sizeof rate, "%d", se->sample_rate);
    cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", se->hmm, "-lm", se->lm, "-dict", se->dict,
                                "-samprate", rate, NULL);
    if (!cfg)
        return NULL;
    ps_decoder_t *ps = ps_init(cfg);
    cmd_ln_free_r(cfg);   /* the decoder holds its own reference */
    return ps;
}

static ps_decoder_t *pool_acquire(sphinx_engine *se, char *err, size_t errlen)
{
    pthread_mutex_lock(&se->mu);
    for (;;) {
        if (se->nidle > 0) {
            ps_decoder_t *ps = se->idle[--se->nidle];
            pthread_mutex_unlock(&se->mu);
            return ps;
        }
        if (se->ncreated < se->max_decoders) {
            se->ncreated++;
            pthread_mutex_unlock(&se->mu);
            int64_t t0 = time_mono_ms();
            ps_decoder_t *ps = decoder_new(se);
            pthread_mutex_lock(&se->mu);
            if (ps) {
                pthread_mutex_unlock(&se->mu);
                log_debug("%s: decoder %d ready in %lld ms", se->base.name, se->ncreated,
                          (long long)(time_mono_ms() - t0));
                return ps;
            }
            /* Probably out of memory: stop growing and share the decoders that exist. */
            se->ncreated--;
            se->max_decoders = se->ncreated;
            if (se->ncreated == 0) {
                pthread_mutex_unlock(&se->mu);
                snprintf(err, errlen, "%s: cannot create a decoder", se->base.name);
                return NULL;
            }
            continue;
        }
        pthread_cond_wait(&se->cv, &se->mu);
    }
}

static void pool_release(sphinx_engine *se, ps_decoder_t *ps)
{
    pthread_mutex_lock(&se->mu);
    se->idle[se->nidle++] = ps;
    pthread_cond_signal(&se->cv);
    pthread_mutex_unlock(&se->mu);
}

/* ---- decoding ---- */

static int16_t *float_to_s16(const float *pcm, size_t n)
{
    int16_t *out = xmalloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        long v = lrintf(pcm[i] * 32768.0f);
        out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    return out;
}

/* The decoder's frames on the audio's clock: at[i] is the audio frame (from 0, at the frame rate)
 * that the decoder's frame i was computed from. Increasing; a jump is a stretch the front end
 * removed as silence. */
typedef struct frame_map {
    int32_t *at;
    size_t n;
} frame_map;

static void frame_map_free(frame_map *m)
{
    free(m->at);
    m->at = NULL;
    m->n = 0;
}

/* The audio frame of decoder frame f. The search may name one frame past the last it was given
 * (the end of the utterance): continue the clock from the last known frame. */
static int64_t audio_frame(const frame_map *m, int f)
{
    if (f < 0 || m->n == 0)
        return f < 0 ? 0 : f;
    if ((size_t)f < m->n)
        return m->at[f];
    return (int64_t)m->at[m->n - 1] + (f - (int64_t)m->n + 1);
}

/* Cepstra of the whole utterance from the decoder's own front end, with the audio frame of each
 * frame it keeps, in exactly the frames ps_process_raw(full_utt) would compute (same front end,
 * same configuration, same state; the front end's output does not depend on how its input is
 * split). Fed one frame of audio per call, so each call's output is known to end at the frame just
 * read: nothing while in silence, that frame while in speech, or at the turn to speech the frames
 * its pre-speech buffer held up to and including this one. Returns the frame count (0: all
 * silence) with *cep_out (rows of fe_get_output_size values, one block) and map filled; -1 when
 * the front end fails (nothing to free then). */
static int compute_cepstra(fe_t *fe, const int16_t *raw, size_t n, mfcc_t ***cep_out, frame_map *map)
{
    int shift = 0, size = 0;
    fe_get_input_size(fe, &shift, &size);
    int dim = fe_get_output_size(fe);
    if (shift <= 0 || size <= 0 || dim <= 0)
        return -1;
    /* At most one output frame per full input frame, plus the partial frame fe_end_utt makes. */
    size_t rows = n / (size_t)shift + 2;
    mfcc_t *block = xcalloc(rows * (size_t)dim, sizeof *block);
    mfcc_t **cep = xmalloc(rows * sizeof *cep);
    for (size_t i = 0; i < rows; i++)
        cep[i] = block + i * (size_t)dim;
    int32_t *at = xmalloc(rows * sizeof *at);

    size_t fed = 0, nout = 0;
    int64_t nin = 0;   /* full input frames read so far */
    if (fe_start_utt(fe) < 0)
        goto fail;
    while (fed < n) {
        size_t chunk = fed == 0 ? (size_t)size : (size_t)shift;
        if (chunk > n - fed)
            chunk = n - fed;
        const int16 *p = raw + fed;
        size_t left = chunk;
        int32 nf = (int32)(rows - 1 - nout);   /* one row stays free for fe_end_utt */
        if (fe_process_frames(fe, &p, &left, cep + nout, &nf, NULL) < 0)
            goto fail;
        fed += chunk;
        nin = fed < (size_t)size ? 0 : 1 + (int64_t)((fed - (size_t)size) / (size_t)shift);
        for (int32 k = 0; k < nf; k++)
            at[nout + (size_t)k] = (int32_t)(nin - nf + k);
        nout += (size_t)nf;
    }
    int32 ntail = 0;
    if (fe_end_utt(fe, cep[nout], &ntail) < 0)
        goto fail;
    if (ntail > 0)
        at[nout++] = (int32_t)nin;   /* the partial frame after the last full one */
    *cep_out = cep;
    map->at = at;
    map->n = nout;
    return (int)nout;
fail:
    free(at);
    free(cep);
    free(block);
    return -1;
}

static void free_cepstra(mfcc_t **cep)
{
    if (cep) {
        free(cep[0]);
        free(cep);
    }
}

/* One whole utterance in one pass: features and CMN over the full buffer, no live decoding (the
 * front end still drops what it judges silence: see compute_cepstra). A fresh
 * stream first, as ps_decode_raw (pocketsphinx_batch) does, so that nothing from the decoder's
 * previous job (front-end state) leaks in: results do not depend on which pooled decoder ran.
 * On success map holds the audio frame of every frame the search saw (see compute_cepstra); on
 * failure it is empty and err says why. */
static int decode_utterance(ps_decoder_t *ps, const int16_t *raw, size_t n, frame_map *map, char *err,
                            size_t errlen)
{
    if (ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0) {
        snprintf(err, errlen, "pocketsphinx could not start an utterance");
        return -1;
    }
    mfcc_t **cep = NULL;
    int nfr = compute_cepstra(ps_get_fe(ps), raw, n, &cep, map);
    if (nfr < 0 || (nfr > 0 && ps_process_cep(ps, cep, nfr, FALSE, TRUE) < 0)) {
        ps_end_utt(ps);
        free_cepstra(cep);
        frame_map_free(map);
        snprintf(err, errlen, "pocketsphinx failed to process %zu samples", n);
        return -1;
    }
    free_cepstra(cep);
    if (ps_end_utt(ps) < 0) {
        frame_map_free(map);
        snprintf(err, errlen, "pocketsphinx failed to finish the utterance");
        return -1;
    }
    return 0;
}

/* <s>, </s>, <sil>, [NOISE], ++breath++ and the like mark silence or noise, not words. */
static bool is_filler(const char *w)
{
    size_t len = strlen(w);
    if (len == 0)
        return true;
    char first = w[0], last = w[len - 1];
    return (first == '<' && last == '>') || (first == '[' && last == ']') || (first == '+' && last == '+');
}

/* "word(2)" names the second pronunciation of "word": keep the word. */
static void strip_pronunciation_suffix(char *w)
{
    size_t len = strlen(w);
    if (len < 4 || w[len - 1] != ')')
        return;
    size_t i = len - 2;
    while (i > 0 && isdigit((unsigned char)w[i]))
        i--;
    if (i > 0 && i < len - 2 && w[i] == '(')
        w[i] = '\0';
}

static void join_segment_text(engine_segment *s, bool without_spaces)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < s->nwords; i++) {
        if (i > 0 && !without_spaces)
            buf_putc(&b, ' ');
        buf_puts(&b, s->words[i].text);
    }
    free(s->text);
    s->text = buf_steal(&b);
    if (s->nwords > 0) {
        s->start_ms = s->words[0].start_ms;
        s->end_ms = s->words[s->nwords - 1].end_ms;
    }
}

/* The audio frames [*first, *last] of a word the search gave decoder frames sf..ef. Where the front
 * end removed silence inside sf..ef, the word lies on the longest unbroken run of its frames: the
 * decoder never heard the removed stretch, so it is no part of the word (a word of noise before a
 * long removed pause would otherwise start seconds before the speech it joins). */
static void word_frames(const frame_map *m, int sf, int ef, int64_t *first, int64_t *last)
{
    int64_t run = audio_frame(m, sf), prev = run;
    *first = *last = run;
    for (int f = sf + 1; f <= ef; f++) {
        int64_t at = audio_frame(m, f);
        if (at != prev + 1)
            run = at;
        if (at - run > *last - *first) {
            *first = run;
            *last = at;
        }
        prev = at;
    }
}

/* Words in order with their times; a gap of silence/fillers >= segment_gap_ms opens a new segment. */
static void collect_segments(const sphinx_engine *se, ps_decoder_t *ps, const frame_map *map, engine_result *out)
{
    int frate = (int)cmd_ln_int32_r(ps_get_config(ps), "-frate");
    if (frate <= 0)
        frate = 100;
    engine_segment *cur = NULL;
    int64_t last_end_ms = 0;
    for (ps_seg_t *it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
        const char *word = ps_seg_word(it);
        if (!word || is_filler(word))
            continue;
        int sf = 0, ef = 0;
        ps_seg_frames(it, &sf, &ef);
        int64_t first, last;
        word_frames(map, sf, ef, &first, &last);
        int64_t start_ms = first * 1000 / frate;
        int64_t end_ms = (last + 1) * 1000 / frate;
        if (!cur || start_ms - last_end_ms >= se->segment_gap_ms)
            cur = engine_result_add_segment(out, start_ms, end_ms);
        char *clean = xstrdup(word);
        strip_pronunciation_suffix(clean);
        engine_segment_add_word(cur, clean, start_ms, end_ms);
        free(clean);
        last_end_ms = end_ms;
    }
    for (size_t i = 0; i < out->nsegs; i++)
        join_segment_text(&out->segs[i], se->join_without_spaces);
}

/* ---- vtable ---- */

static int sphinx_sample_rate(const engine *e)
{
    return ((const sphinx_engine *)e)->sample_rate;
}

static int sphinx_transcribe(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                             char *err, size_t errlen)
{
    sphinx_engine *se = (sphinx_engine *)e;
    if (o && o->hotwords && o->hotwords[0])
        log_debug("%s: hot words are not supported, ignoring them", e->name);
    if (n == 0)
        return 0;
    int16_t *raw = float_to_s16(pcm, n);
    ps_decoder_t *ps = pool_acquire(se, err, errlen);
    if (!ps) {
        free(raw);
        return -1;
    }
    if (o && o->seat)
        engine_seat_begin(o->seat, 1, false, (int64_t)n * 1000 / se->sample_rate);   /* one decoder, one thread */
    frame_map map = {0};
    int rc = decode_utterance(ps, raw, n, &map, err, errlen);
    if (o && o->seat)
        engine_seat_end(o->seat);
    if (rc == 0)
        collect_segments(se, ps, &map, out);
    pool_release(se, ps);
    frame_map_free(&map);
    free(raw);
    return rc;
}

static void sphinx_destroy(engine *e)
{
    sphinx_engine *se = (sphinx_engine *)e;
    /* Callers must have finished transcribing: every decoder is idle again. */
    for (int i = 0; i < se->nidle; i++)
        ps_free(se->idle[i]);
    free(se->idle);
    pthread_cond_destroy(&se->cv);
    pthread_mutex_destroy(&se->mu);
    free(se->hmm);
    free(se->lm);
    free(se->dict);
    free(se);
}

static const engine_vtbl sphinx_vtbl = {
    .kind = "sphinx",
    .sample_rate = sphinx_sample_rate,
    .transcribe = sphinx_transcribe,
    .destroy = sphinx_destroy,
    .window_ms = SPHINX_WINDOW_MS,
    .punctuates = false,
};

static void name_after_model(sphinx_engine *se)
{
    const char *slash = strrchr(se->hmm, '/');
    const char *base = slash ? slash + 1 : se->hmm;
    if (!*base)
        base = "model";
    snprintf(se->base.name, sizeof se->base.name, "sphinx:%s", base);
}

engine *engine_sphinx_new(const sphinx_params *p, char *err, size_t errlen)
{
    sphinx_params defaults = sphinx_default_params();
    if (!p)
        p = &defaults;
    if (!validate_model_files(p, err, errlen))
        return NULL;
    pthread_once(&g_sphinx_log_once, install_sphinx_logging);

    sphinx_engine *se = xcalloc(1, sizeof *se);
    se->base.vt = &sphinx_vtbl;
    se->hmm = xstrdup(p->hmm);
    se->lm = xstrdup(p->lm);
    se->dict = xstrdup(p->dict);
    se->sample_rate = p->sample_rate;
    se->join_without_spaces = p->join_without_spaces;
    se->segment_gap_ms = p->segment_gap_ms > 0 ? p->segment_gap_ms : DEFAULT_SEGMENT_GAP_MS;
    se->max_decoders = fs_cpu_count() > 0 ? fs_cpu_count() : 1;
    se->idle = xcalloc((size_t)se->max_decoders, sizeof *se->idle);
    pthread_mutex_init(&se->mu, NULL);
    pthread_cond_init(&se->cv, NULL);
    name_after_model(se);

    int64_t t0 = time_mono_ms();
    ps_decoder_t *first = decoder_new(se);
    if (!first) {
        snprintf(err, errlen, "pocketsphinx could not load the model (hmm %s, lm %s, dict %s; "
                 "CICADA_LOG=debug shows why)", p->hmm, p->lm, p->dict);
        sphinx_destroy(&se->base);
        return NULL;
    }
    se->idle[se->nidle++] = first;
    se->ncreated = 1;
    log_info("%s: model loaded in %lld ms", se->base.name, (long long)(time_mono_ms() - t0));
    return &se->base;
}
