/* engine_whisper.c — the whisper.cpp engine. It owns one whisper_context (the weights, loaded once
 * after whisper_modelfile.c has checked the file) and a pool of at most max_concurrent call slots;
 * callers beyond that wait. A slot keeps its Silero VAD context across calls, but every call decodes
 * with a fresh whisper_state: whisper.cpp reseeds the sampling RNG of all decoders but the first at
 * each whisper_full call, so a reused state makes a call's result depend on the calls before it
 * (and differ from whisper-cli's). Creating a state costs ~20 ms for a base model. Decoding uses
 * whisper-cli's default parameters so that transcripts match whisper-cli's for the same model and
 * audio. VAD runs here rather than inside whisper.cpp, whose VAD path only serves the context's
 * built-in state: speech is cut out and joined exactly as whisper_full() does, and times are mapped
 * back the same way. The output is then turned into words (whisper_text.c), converted to
 * Simplified Chinese with OpenCC when asked, and passed through the hallucination guards.
 * Threads: a call on a seat (engine_opts.seat, see cores.c) decodes with the threads its grant
 * gives, and checks in with the seat before every encoder pass (also one it stopped partway for a
 * newcomer) and at every decoding step, where it pauses or, in its first encoder pass, begins again
 * with a smaller grant when a newcomer needs the cores; before a pass it also takes cores a
 * finished partner left (third_party/whisper.cpp/threads-per-pass.patch). A call without a seat
 * uses p->threads. VAD always runs on one thread (Silero is a small sequential model: more threads
 * do not help it), so it fits in any grant. */
#include "engine/engine.h"
#include "engine/whisper_engine.h"
#include "engine/whisper_modelfile.h"
#include "engine/whisper_text.h"

#include "text/text.h"
#include "util/util.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whisper.h>

#define DEFAULT_THREADS 2   /* a call without a seat; the registry passes the per-call cap */
/* Audio per call. Each cut costs whisper work (the window's last 30-second chunk is partial and
 * whisper starts afresh after it), so a file that fits one window is decoded exactly as whisper-cli
 * decodes it, at the same speed; longer files pay about half a chunk per cut (with random weights,
 * which decode erratically, a 200-second file cut at 2 minutes took 1.4x whisper-cli). The price is
 * memory: about 15 MB per minute of window per running job (peak RSS, one worker, VAD on: 284 MB at
 * 2 minutes, 352 at 5, 427 at 10; docs/benchmarks.md). */
#define WHISPER_WINDOW_MS (10 * 60 * 1000)
#define SAMPLE_RATE WHISPER_SAMPLE_RATE

/* whisper-cli's defaults (examples/cli/cli.cpp, whisper.cpp 1.9.1), kept identical for parity. */
#define CLI_BEAM_SIZE 5             /* -bs: beam search with 5 beams */
#define CLI_BEST_OF 5               /* -bo: candidates when sampling at temperature > 0 */
#define CLI_TEMPERATURE 0.0f        /* -tp */
#define CLI_TEMPERATURE_INC 0.2f    /* -tpi: fall back to 0.2, 0.4 ... 1.0 when a window fails */
#define CLI_ENTROPY_THOLD 2.40f     /* -et: too repetitive -> fallback */
#define CLI_LOGPROB_THOLD -1.00f    /* -lpt: too unlikely -> fallback */
#define CLI_NO_SPEECH_THOLD 0.6f    /* -nth: skip a window when also below the logprob threshold */
#define CLI_WORD_THOLD 0.01f        /* -wt: token timestamp probability threshold */
#define CLI_FLASH_ATTN true         /* -fa is on by default */

/* whisper_vad() joins speech segments with this much silence between them. */
#define VAD_GAP_SAMPLES (SAMPLE_RATE / 10)
/* whisper_full_get_segment_t1() stretches a VAD-mapped segment to at least this long. */
#define VAD_MIN_SEGMENT_CS 10

typedef struct slot {
    struct whisper_state *state;       /* NULL, or fresh: never used for a call */
    struct whisper_vad_context *vad;   /* NULL without VAD */
} slot;

typedef struct whisper_engine {
    engine base;
    struct whisper_context *ctx;
    char *vad_path;                    /* NULL = no VAD */
    int threads;
    float no_speech_thold;
    int beam_size;
    char **blacklist;                  /* NULL = the built-in list */
    size_t nblacklist;
    int n_languages;                   /* language tokens the model's vocabulary has */
    atomic_int pass_nodes;             /* abort-callback calls in one encoder pass (about its graph
                                          nodes), learned from the first decoded window; 0 = not yet */

    text_engine *texts;                /* OpenCC t2s (src/text); NULL when not converting */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *idle;                        /* room for max_slots */
    int nidle;
    int ncreated;                      /* idle + in use + being built */
    int max_slots;
} whisper_engine;

whisper_engine_params whisper_engine_default_params(void)
{
    int cores = fs_cpu_count();
    return (whisper_engine_params){
        .model_path = NULL,
        .vad_model_path = NULL,
        .threads = DEFAULT_THREADS,
        .max_concurrent = cores > 0 ? cores : 1,
        .to_simplified = true,
        .blacklist = NULL,
        .nblacklist = 0,
        .no_speech_thold = CLI_NO_SPEECH_THOLD,
        .beam_size = CLI_BEAM_SIZE,
    };
}

/* ---- logging ---- */

/* Set on the calling thread while a call is stopping to begin again: whisper.cpp then reports the
 * stop as an error ("encoder_begin_callback returned false"), which is logged at debug level
 * instead of as a warning. */
static _Thread_local bool t_stopping;

static void whisper_log_callback(enum ggml_log_level level, const char *text, void *user_data)
{
    (void)user_data;
    char line[512];
    snprintf(line, sizeof line, "%s", text ? text : "");
    size_t len = strlen(line);
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    if (len == 0)
        return;
    if (level == GGML_LOG_LEVEL_ERROR && !t_stopping)
        log_warn("whisper.cpp: %s", line);
    else
        log_debug("whisper.cpp: %s", line);
}

static void install_whisper_logging(void)
{
    whisper_log_set(whisper_log_callback, NULL);
}

static pthread_once_t g_whisper_log_once = PTHREAD_ONCE_INIT;

/* ---- state pool ---- */

static void slot_free(slot *s)
{
    if (s->vad)
        whisper_vad_free(s->vad);
    if (s->state)
        whisper_free_state(s->state);
    *s = (slot){0};
}

/* A slot's VAD context (when VAD is on); its state is made by slot_fresh_state. */
static bool slot_new(whisper_engine *we, slot *out)
{
    *out = (slot){0};
    if (we->vad_path) {
        struct whisper_vad_context_params vp = whisper_vad_default_context_params();
        vp.n_threads = 1;
        vp.use_gpu = false;
        out->vad = whisper_vad_init_from_file_with_params(we->vad_path, vp);
        if (!out->vad)
            return false;
    }
    return true;
}

static bool slot_fresh_state(whisper_engine *we, slot *s)
{
    if (!s->state)
        s->state = whisper_init_state(we->ctx);
    return s->state != NULL;
}

static bool pool_acquire(whisper_engine *we, slot *out, char *err, size_t errlen)
{
    pthread_mutex_lock(&we->mu);
    for (;;) {
        if (we->nidle > 0) {
            *out = we->idle[--we->nidle];
            pthread_mutex_unlock(&we->mu);
            return true;
        }
        if (we->ncreated < we->max_slots) {
            we->ncreated++;
            pthread_mutex_unlock(&we->mu);
            int64_t t0 = time_mono_ms();
            bool ok = slot_new(we, out);
            pthread_mutex_lock(&we->mu);
            if (ok) {
                log_debug("%s: call slot %d ready in %lld ms", we->base.name, we->ncreated,
                          (long long)(time_mono_ms() - t0));
                pthread_mutex_unlock(&we->mu);
                return true;
            }
            /* Probably out of memory: stop growing and share the states that exist. */
            we->ncreated--;
            we->max_slots = we->ncreated;
            if (we->ncreated == 0) {
                pthread_mutex_unlock(&we->mu);
                err_printf(err, errlen, "%s: cannot load the VAD model for a new call", we->base.name);
                return false;
            }
            continue;
        }
        pthread_cond_wait(&we->cv, &we->mu);
    }
}

/* The used state goes; the slot (and its VAD context) stays for the next caller. */
static void pool_release(whisper_engine *we, slot *s)
{
    if (s->state)
        whisper_free_state(s->state);
    s->state = NULL;
    pthread_mutex_lock(&we->mu);
    we->idle[we->nidle++] = *s;
    pthread_cond_signal(&we->cv);
    pthread_mutex_unlock(&we->mu);
}

/* ---- VAD: keep the speech, remember where it came from ---- */

/* Processed time -> original time, in centiseconds, as whisper.cpp maps segment times. */
typedef struct time_point {
    int64_t processed, original;
} time_point;

typedef struct time_map {
    time_point *p;
    size_t n, cap;
} time_map;

static void time_map_add(time_map *m, int64_t processed, int64_t original)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->p = xrealloc(m->p, m->cap * sizeof *m->p);
    }
    m->p[m->n++] = (time_point){processed, original};
}

/* Sorted by processed time (stable), one point per processed time (the first). */
static void time_map_finish(time_map *m)
{
    for (size_t i = 1; i < m->n; i++) {
        time_point x = m->p[i];
        size_t j = i;
        for (; j > 0 && m->p[j - 1].processed > x.processed; j--)
            m->p[j] = m->p[j - 1];
        m->p[j] = x;
    }
    size_t out = 0;
    for (size_t i = 0; i < m->n; i++)
        if (out == 0 || m->p[out - 1].processed != m->p[i].processed)
            m->p[out++] = m->p[i];
    m->n = out;
}

/* Piecewise-linear between the points, clamped at both ends. */
static int64_t time_map_apply(const time_map *m, int64_t t)
{
    if (m->n == 0)
        return t;
    if (t <= m->p[0].processed)
        return m->p[0].original;
    if (t >= m->p[m->n - 1].processed)
        return m->p[m->n - 1].original;
    size_t hi = 1;
    while (m->p[hi].processed < t)
        hi++;
    if (m->p[hi].processed == t)
        return m->p[hi].original;
    const time_point *a = &m->p[hi - 1], *b = &m->p[hi];
    int64_t span = b->processed - a->processed;
    if (span == 0)
        return a->original;
    return a->original + (t - a->processed) * (b->original - a->original) / span;
}

static int cs_to_samples(int64_t cs)
{
    return (int)((cs / 100.0) * SAMPLE_RATE + 0.5);
}

static int64_t samples_to_cs(int samples)
{
    return (int64_t)((samples / (double)SAMPLE_RATE) * 100.0 + 0.5);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

typedef struct speech {
    float *pcm;        /* the speech segments joined by short silences */
    int n;
    time_map map;
} speech;

static void speech_free(speech *sp)
{
    free(sp->pcm);
    free(sp->map.p);
    *sp = (speech){0};
}

/* Cuts the speech out of pcm the way whisper_full() does with VAD on: each segment (all but the last
 * extended by the overlap), 0.1 s of silence between segments, and a point in the time map at
 * every boundary. No speech leaves sp->n == 0. */
static bool extract_speech(struct whisper_vad_context *vad, const float *pcm, int n, speech *sp, char *err,
                           size_t errlen)
{
    *sp = (speech){0};
    struct whisper_vad_params vp = whisper_vad_default_params();   /* = whisper-cli's --vad-* defaults */
    struct whisper_vad_segments *segs = whisper_vad_segments_from_samples(vad, vp, pcm, n);
    if (!segs) {
        err_printf(err, errlen, "voice activity detection failed");
        return false;
    }
    int nseg = whisper_vad_segments_n_segments(segs);
    int overlap = (int)(vp.samples_overlap * SAMPLE_RATE);
    int64_t needed = 0;
    for (int i = 0; i < nseg; i++) {
        int start = cs_to_samples((int64_t)whisper_vad_segments_get_segment_t0(segs, i));
        int end = cs_to_samples((int64_t)whisper_vad_segments_get_segment_t1(segs, i));
        if (i < nseg - 1)
            end += overlap;
        needed += min_int(end, n - 1) - start;
    }
    if (nseg > 1)
        needed += (int64_t)(nseg - 1) * VAD_GAP_SAMPLES;
    if (nseg == 0 || needed <= 0) {
        whisper_vad_free_segments(segs);
        return true;
    }
    sp->pcm = xcalloc((size_t)needed, sizeof *sp->pcm);
    sp->n = (int)needed;
    int offset = 0;
    for (int i = 0; i < nseg; i++) {
        int64_t orig_start = (int64_t)whisper_vad_segments_get_segment_t0(segs, i);
        int64_t orig_end = (int64_t)whisper_vad_segments_get_segment_t1(segs, i);
        int start = min_int(cs_to_samples(orig_start), n - 1);
        int end = min_int(cs_to_samples(orig_end), n - 1);
        int speech_len = end - start;
        if (i < nseg - 1)
            end = min_int(end + overlap, n - 1);
        int len = end - start;
        if (len <= 0 || offset + len > sp->n)
            continue;
        time_map_add(&sp->map, samples_to_cs(offset), orig_start);
        time_map_add(&sp->map, samples_to_cs(offset + speech_len), orig_end);
        memcpy(sp->pcm + offset, pcm + start, (size_t)len * sizeof *pcm);
        offset += len;
        if (i < nseg - 1 && offset + VAD_GAP_SAMPLES <= sp->n) {
            int64_t next_start = (int64_t)whisper_vad_segments_get_segment_t0(segs, i + 1);
            time_map_add(&sp->map, samples_to_cs(offset), orig_end);
            time_map_add(&sp->map, samples_to_cs(offset + VAD_GAP_SAMPLES), next_start);
            offset += VAD_GAP_SAMPLES;   /* already zero */
        }
    }
    time_map_finish(&sp->map);
    whisper_vad_free_segments(segs);
    log_debug("VAD kept %d of %d samples in %d segments", sp->n, n, nseg);
    return true;
}

/* ---- decoding ---- */

/* whisper-cli's parameters (see the CLI_ constants), plus token timestamps for word times. */
struct whisper_full_params whisper_engine_full_params(const engine *e, const char *language, const char *hotwords)
{
    const whisper_engine *we = (const whisper_engine *)e;
    struct whisper_full_params wp = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    wp.strategy = we->beam_size > 1 ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY;
    wp.n_threads = we->threads;
    wp.print_realtime = false;
    wp.print_progress = false;
    wp.print_timestamps = true;
    wp.print_special = false;
    wp.translate = false;
    wp.language = language;
    wp.detect_language = false;
    wp.token_timestamps = true;   /* only adds times to tokens; decoding is unchanged */
    wp.thold_pt = CLI_WORD_THOLD;
    wp.max_len = 0;
    wp.split_on_word = false;
    wp.initial_prompt = hotwords && hotwords[0] ? hotwords : NULL;
    wp.carry_initial_prompt = false;
    wp.greedy.best_of = CLI_BEST_OF;
    wp.beam_search.beam_size = we->beam_size;
    wp.temperature = CLI_TEMPERATURE;
    wp.temperature_inc = CLI_TEMPERATURE_INC;
    wp.entropy_thold = CLI_ENTROPY_THOLD;
    wp.logprob_thold = CLI_LOGPROB_THOLD;
    wp.no_speech_thold = we->no_speech_thold;
    wp.no_timestamps = false;
    wp.suppress_nst = false;
    wp.vad = false;               /* done by extract_speech on this call's own state */
    return wp;
}

/* The language to decode in: "auto" detects; English-only models always get "en"; Cantonese
 * falls back to Mandarin on models that predate the yue token. */
static bool pick_language(const whisper_engine *we, const char *asked, const char **out, char *err, size_t errlen)
{
    if (!whisper_is_multilingual(we->ctx)) {
        *out = "en";
        return true;
    }
    if (!asked || !asked[0] || strcmp(asked, "auto") == 0) {
        *out = "auto";
        return true;
    }
    int id = whisper_lang_id(asked);
    if (id < 0) {
        err_printf(err, errlen, "%s: unknown language '%s'", we->base.name, asked);
        return false;
    }
    if (id >= we->n_languages) {
        if (strcmp(asked, "yue") == 0) {
            *out = "zh";
            return true;
        }
        err_printf(err, errlen, "%s: this model has no '%s' language token", we->base.name, asked);
        return false;
    }
    *out = whisper_lang_str(id);
    return true;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static char *trimmed_copy(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    return xstrndup(s, len);
}

/* Segment times in centiseconds on the decoded audio -> ms on the caller's audio. */
typedef struct time_base {
    const time_map *map;   /* NULL without VAD */
    int64_t duration_ms;
} time_base;

static int64_t to_ms(const time_base *tb, int64_t cs)
{
    if (tb->map)
        cs = time_map_apply(tb->map, cs);
    return clamp64(cs * 10, 0, tb->duration_ms);
}

/* Models that decode without timestamps (whisper.cpp treats every 2-text-layer model as a first
 * distil-whisper release and forces that mode) give all tokens one instant. Their words are then
 * spread over the segment by text length: approximate, but in order and inside the segment. */
static bool token_times_usable(const wt_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (toks[i].t1_ms > toks[i].t0_ms)
            return true;
    return n == 0;
}

static void spread_token_times(wt_token *toks, size_t n, int64_t start_ms, int64_t end_ms)
{
    size_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(toks[i].text);
    if (total == 0)
        return;
    int64_t span = end_ms - start_ms;
    for (size_t i = 0; i < n; i++) {
        toks[i].t0_ms = start_ms + span * (int64_t)done / (int64_t)total;
        done += strlen(toks[i].text);
        toks[i].t1_ms = start_ms + span * (int64_t)done / (int64_t)total;
    }
}

static void collect_words(const whisper_engine *we, struct whisper_state *st, int i, const time_base *tb,
                          engine_segment *seg)
{
    int ntok = whisper_full_n_tokens_from_state(st, i);
    wt_token *toks = xcalloc((size_t)ntok + 1, sizeof *toks);
    size_t n = 0;
    double logprob = 0;
    seg->stats = (engine_stats){.known = true, .no_speech_prob = whisper_full_get_segment_no_speech_prob_from_state(st, i),
                                .tokens = xmalloc(((size_t)ntok + 1) * sizeof *seg->stats.tokens)};
    whisper_token eot = whisper_token_eot(we->ctx);
    for (int j = 0; j < ntok; j++) {
        if (whisper_full_get_token_id_from_state(st, i, j) >= eot)
            continue;   /* [_BEG_], [_TT_n], language and task tokens */
        whisper_token_data td = whisper_full_get_token_data_from_state(st, i, j);
        seg->stats.tokens[seg->stats.ntokens++] = td.id;
        logprob += td.plog;
        int64_t t0 = clamp64(to_ms(tb, td.t0), seg->start_ms, seg->end_ms);
        int64_t t1 = clamp64(to_ms(tb, td.t1), t0, seg->end_ms);
        toks[n++] = (wt_token){.text = whisper_full_get_token_text_from_state(we->ctx, st, i, j), .t0_ms = t0, .t1_ms = t1};
    }
    seg->stats.avg_logprob = n ? (float)(logprob / (double)n) : 0.0f;
    if (!token_times_usable(toks, n))
        spread_token_times(toks, n, seg->start_ms, seg->end_ms);
    wt_add_words(seg, toks, n);
    free(toks);
}

static void collect_segments(const whisper_engine *we, struct whisper_state *st, const time_base *tb,
                             engine_result *out)
{
    int nseg = whisper_full_n_segments_from_state(st);
    for (int i = 0; i < nseg; i++) {
        int64_t t0 = whisper_full_get_segment_t0_from_state(st, i);
        int64_t t1 = whisper_full_get_segment_t1_from_state(st, i);
        if (tb->map) {
            /* as whisper_full_get_segment_t1 does: a mapped segment lasts at least 10 centiseconds */
            int64_t m0 = time_map_apply(tb->map, t0), m1 = time_map_apply(tb->map, t1);
            t0 = m0;
            t1 = m1 - m0 < VAD_MIN_SEGMENT_CS ? m0 + VAD_MIN_SEGMENT_CS : m1;
        }
        int64_t start = clamp64(t0 * 10, 0, tb->duration_ms);
        int64_t end = clamp64(t1 * 10, start, tb->duration_ms);
        engine_segment *seg = engine_result_add_segment(out, start, end);
        free(seg->text);
        char *clean = wt_clean_utf8(whisper_full_get_segment_text_from_state(st, i));
        seg->text = trimmed_copy(clean);
        free(clean);
        collect_words(we, st, i, tb, seg);
    }
}

/* ---- Simplified Chinese ---- */

static char *convert_t2s(whisper_engine *we, const char *s)
{
    char *c = text_t2s(we->texts, s);
    return c ? c : xstrdup(s);
}

static void replace_t2s(whisper_engine *we, char **text)
{
    char *c = convert_t2s(we, *text);
    free(*text);
    *text = c;
}

/* Word by word, so every word keeps its time. */
void whisper_engine_simplify(engine *e, engine_result *r)
{
    whisper_engine *we = (whisper_engine *)e;
    if (!we->texts)
        return;
    for (size_t i = 0; i < r->nsegs; i++) {
        engine_segment *s = &r->segs[i];
        replace_t2s(we, &s->text);
        for (size_t w = 0; w < s->nwords; w++)
            replace_t2s(we, &s->words[w].text);
    }
}

/* ---- vtable ---- */

static int whisper_sample_rate(const engine *e)
{
    (void)e;
    return SAMPLE_RATE;
}

/* How a call on a seat checks in with it (see cores.c): before every encoder pass (on the calling
 * thread) and at every decoding step (on up to one thread per beam). Inside an encoder pass ggml
 * asks whisper's abort callback after every graph node (third_party/whisper.cpp/encoder-abort.patch;
 * 1.9.1 itself asks only after the whole pass): a call asked to step aside stops the pass there
 * while less than half of it is done (past that, finishing it costs the newcomer less than the call
 * would lose) and checks in before encoding it again from its start (encoder-retry.patch): a first
 * pass may begin the call again on a fair share, a later one pauses, and the call then goes on as
 * if it had never stopped. Past the middle of a pass, the call finishes it and pauses at its first
 * decoding step: ggml's threads spin between nodes, so a pass cannot wait in the middle.
 * Calls without a seat run the same callbacks, which then only count: the first decoded window
 * teaches the engine how many nodes a pass has. */
typedef struct call_ctl {
    engine_seat *seat;         /* NULL: count only */
    atomic_int *pass_nodes;    /* the engine's whisper_engine.pass_nodes */
    int threads;               /* the call's threads now: its grant, which may grow between passes */
    bool retry;                /* this is the call begun again: it steps aside by pausing only */
    atomic_int encoder_passes;
    atomic_int nodes;          /* abort-callback calls since the current pass began */
    atomic_bool decoded;       /* a decoding step has run: the call holds work worth keeping */
    atomic_bool regrant;       /* stopped to begin again: whisper_full returned without a result */
    atomic_bool stopped_pass;  /* on_encoder_node stopped the current pass: it is encoded again */
} call_ctl;

static bool may_begin_again(call_ctl *cc)
{
    return !cc->retry && !atomic_load(&cc->decoded);
}

/* Before every encoder pass, and (encoder-retry.patch) before encoding again one that
 * on_encoder_node stopped: that is the same pass, not the next. */
static bool on_encoder_begin(struct whisper_context *ctx, struct whisper_state *st, void *user)
{
    (void)ctx;
    call_ctl *cc = user;
    bool same_pass = atomic_exchange(&cc->stopped_pass, false);
    if (!same_pass)
        atomic_fetch_add(&cc->encoder_passes, 1);
    atomic_store(&cc->nodes, 0);
    if (!cc->seat)
        return true;
    if (!same_pass) {
        /* a new unit: the call may step aside once more (for a newcomer waiting already, at the
         * checkpoint below), or takes the cores a finished partner left (threads-per-pass.patch) */
        int grant = engine_seat_next_unit(cc->seat);
        if (grant != cc->threads) {
            cc->threads = grant;
            whisper_full_set_n_threads(st, grant);
        }
    }
    bool first = atomic_load(&cc->encoder_passes) == 1;
    if (engine_seat_checkpoint(cc->seat, first && may_begin_again(cc)) == ENGINE_SEAT_REGRANT) {
        atomic_store(&cc->regrant, true);
        t_stopping = true;
        return false;   /* whisper_full returns without encoding: 0 before a pass, -6 for a stopped one */
    }
    return true;
}

/* ggml's abort callback, on the calling thread (ggml's worker 0) after every node of an encoder
 * graph; whisper also asks it after a whole pass, after each decoding graph, and once more after a
 * pass it stopped. Cheap unless the seat was asked to step aside. */
static bool on_encoder_node(void *user)
{
    call_ctl *cc = user;
    if (atomic_load(&cc->stopped_pass))
        return true;   /* asked again after the pass stopped: still stopped */
    int done = atomic_fetch_add(&cc->nodes, 1) + 1;
    if (!cc->seat || !engine_seat_asked(cc->seat))
        return false;
    int total = atomic_load(cc->pass_nodes);
    if (total == 0 || done * 2 > total)
        return false;   /* the pass's size is not known yet, or it is past its middle (or over) */
    atomic_store(&cc->stopped_pass, true);
    t_stopping = true;
    return true;        /* the pass stops; whisper asks on_encoder_begin before encoding it again */
}

static void on_decoding_step(struct whisper_context *ctx, struct whisper_state *st, const whisper_token_data *tokens,
                             int n_tokens, float *logits, void *user)
{
    (void)ctx;
    (void)st;
    (void)tokens;
    (void)n_tokens;
    (void)logits;   /* read-only: decoding is unchanged */
    call_ctl *cc = user;
    if (!atomic_exchange(&cc->decoded, true)) {
        /* the window's first step: a whole pass and a decoding graph or two have asked on_encoder_node */
        int unknown = 0;
        atomic_compare_exchange_strong(cc->pass_nodes, &unknown, atomic_load(&cc->nodes));
    }
    if (cc->seat)
        engine_seat_checkpoint(cc->seat, false);
}

/* samples NULL: the state's spectrogram from an earlier, abandoned start of this call is reused. */
static int run_decoder(whisper_engine *we, slot *s, const float *samples, int nsamples, int n, const speech *sp,
                       const char *language, const engine_opts *o, call_ctl *cc, engine_result *out,
                       const char **detected, char *err, size_t errlen)
{
    struct whisper_full_params wp = whisper_engine_full_params(&we->base, language, o->hotwords);
    wp.translate = o->translate;
    wp.n_threads = cc->threads;
    wp.encoder_begin_callback = on_encoder_begin;
    wp.encoder_begin_callback_user_data = cc;
    wp.logits_filter_callback = on_decoding_step;
    wp.logits_filter_callback_user_data = cc;
    wp.abort_callback = on_encoder_node;
    wp.abort_callback_user_data = cc;
    int rc = whisper_full_with_state(we->ctx, s->state, wp, samples, samples ? nsamples : 0);
    t_stopping = false;
    if (atomic_load(&cc->regrant))
        return 0;
    if (rc != 0) {
        err_printf(err, errlen, "%s: whisper.cpp failed to transcribe (code %d)", we->base.name, rc);
        return -1;
    }
    time_base tb = {.map = s->vad ? &sp->map : NULL, .duration_ms = (int64_t)n * 1000 / SAMPLE_RATE};
    collect_segments(we, s->state, &tb, out);
    *detected = whisper_lang_str(whisper_full_lang_id_from_state(s->state));
    return 0;
}

/* VAD (when on) then whisper, on the seat's grant when there is a seat. A call asked to begin again
 * before it decoded anything does so once, on the same state and its spectrogram, which is all the
 * abandoned start computed (whisper reseeds its sampling at every call, and the first decoder has
 * not sampled yet: the result is the one an uninterrupted call gives, which test_whisper checks). */
static int decode(whisper_engine *we, slot *s, const float *pcm, int n, const char *language, const engine_opts *o,
                  engine_result *out, const char **detected, char *err, size_t errlen)
{
    speech sp = {0};
    bool vad_done = false, retry = false;
    int rc = 0;
    for (;;) {
        int64_t work_ms = (int64_t)n * 1000 / SAMPLE_RATE;
        int threads = o->seat ? engine_seat_begin(o->seat, INT_MAX, true, work_ms) : we->threads;
        call_ctl cc = {.seat = o->seat, .pass_nodes = &we->pass_nodes, .threads = threads, .retry = retry};
        if (s->vad && !vad_done) {
            vad_done = true;
            rc = extract_speech(s->vad, pcm, n, &sp, err, errlen) ? 0 : -1;
        }
        const float *samples = s->vad ? sp.pcm : pcm;
        int nsamples = s->vad ? sp.n : n;
        if (rc == 0 && nsamples > 0)
            rc = run_decoder(we, s, retry ? NULL : samples, nsamples, n, &sp, language, o, &cc, out, detected,
                             err, errlen);
        bool again = o->seat && rc == 0 && atomic_load(&cc.regrant);
        if (!again) {
            if (o->seat)
                engine_seat_end(o->seat);
            break;
        }
        retry = true;   /* engine_seat_begin again, without engine_seat_end */
    }
    speech_free(&sp);
    return rc;
}

static int whisper_transcribe(engine *e, const float *pcm, size_t n, const engine_opts *o, engine_result *out,
                              char *err, size_t errlen)
{
    whisper_engine *we = (whisper_engine *)e;
    if (n == 0)
        return 0;
    if (n > INT_MAX) {
        err_printf(err, errlen, "%s: %zu samples is too long for one call", e->name, n);
        return -1;
    }
    const char *language;
    if (!pick_language(we, o->language, &language, err, errlen))
        return -1;
    slot s;
    if (!pool_acquire(we, &s, err, errlen))
        return -1;
    if (!slot_fresh_state(we, &s)) {
        pool_release(we, &s);
        err_printf(err, errlen, "%s: whisper.cpp could not create a decoding state (out of memory?)", e->name);
        return -1;
    }
    const char *detected = NULL;
    int rc = decode(we, &s, pcm, (int)n, language, o, out, &detected, err, errlen);
    pool_release(we, &s);
    if (rc != 0)
        return rc;
    if (detected && strcmp(detected, "zh") == 0)
        whisper_engine_simplify(e, out);
    size_t dropped = wt_apply_guards(out, (const char *const *)we->blacklist, we->nblacklist);
    if (dropped > 0)
        log_debug("%s: guards dropped %zu segment(s)", e->name, dropped);
    return 0;
}

static void whisper_destroy(engine *e)
{
    whisper_engine *we = (whisper_engine *)e;
    /* Callers must have finished transcribing: every state is idle again. */
    for (int i = 0; i < we->nidle; i++)
        slot_free(&we->idle[i]);
    free(we->idle);
    if (we->ctx)
        whisper_free(we->ctx);
    text_engine_free(we->texts);
    for (size_t i = 0; i < we->nblacklist; i++)
        free(we->blacklist[i]);
    free(we->blacklist);
    free(we->vad_path);
    pthread_cond_destroy(&we->cv);
    pthread_mutex_destroy(&we->mu);
    free(we);
}

static const engine_vtbl whisper_vtbl = {
    .kind = "whisper",
    .sample_rate = whisper_sample_rate,
    .transcribe = whisper_transcribe,
    .destroy = whisper_destroy,
    .window_ms = WHISPER_WINDOW_MS,
    .punctuates = true,
};

/* ---- construction ---- */

static void name_after_model(whisper_engine *we, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(we->base.name, sizeof we->base.name, "whisper:%s", *base ? base : "model");
}

static void copy_blacklist(whisper_engine *we, const whisper_engine_params *p)
{
    if (!p->blacklist)
        return;   /* the built-in list */
    we->blacklist = xcalloc(p->nblacklist + 1, sizeof *we->blacklist);
    for (size_t i = 0; i < p->nblacklist; i++)
        if (p->blacklist[i])
            we->blacklist[we->nblacklist++] = xstrdup(p->blacklist[i]);
}

/* Languages in the vocabulary: whisper numbers them from n_vocab (51865 -> 99, 51866 -> 100). */
static int model_languages(struct whisper_context *ctx)
{
    int n_vocab = whisper_model_n_vocab(ctx);
    return n_vocab - 51765 - (whisper_is_multilingual(ctx) ? 1 : 0);
}

static bool open_model(whisper_engine *we, const whisper_engine_params *p, char *err, size_t errlen)
{
    wmf_info info;
    char why[384];
    if (!wmf_check_whisper(p->model_path, &info, why, sizeof why)) {
        err_printf(err, errlen, "whisper model %s: %s", p->model_path, why);
        return false;
    }
    if (we->vad_path && !wmf_check_vad(we->vad_path, why, sizeof why)) {
        err_printf(err, errlen, "VAD model %s: %s", we->vad_path, why);
        return false;
    }
    struct whisper_context_params cp = whisper_context_default_params();
    cp.use_gpu = false;
    cp.flash_attn = CLI_FLASH_ATTN;
    cp.dtw_token_timestamps = false;
    we->ctx = whisper_init_from_file_with_params_no_state(p->model_path, cp);
    if (!we->ctx) {
        err_printf(err, errlen, "whisper.cpp could not load %s (CICADA_LOG=debug shows why)", p->model_path);
        return false;
    }
    we->n_languages = model_languages(we->ctx);
    log_debug("%s: %d-wide, %d+%d layers, ftype %d, %lld bytes", we->base.name, info.n_audio_state,
              info.n_audio_layer, info.n_text_layer, info.ftype, (long long)info.file_bytes);
    return true;
}

static bool open_t2s(whisper_engine *we, char *err, size_t errlen)
{
    text_engine_params tp = text_engine_default_params();
    tp.t2s = true;
    char why[256];
    if (!(we->texts = text_engine_new(&tp, why, sizeof why))) {
        err_printf(err, errlen, "%s; install OpenCC's data or turn Simplified conversion off", why);
        return false;
    }
    return true;
}

engine *engine_whisper_new(const whisper_engine_params *p, char *err, size_t errlen)
{
    whisper_engine_params defaults = whisper_engine_default_params();
    if (!p)
        p = &defaults;
    if (!p->model_path || !p->model_path[0]) {
        err_printf(err, errlen, "no whisper model file given");
        return NULL;
    }
    pthread_once(&g_whisper_log_once, install_whisper_logging);

    whisper_engine *we = xcalloc(1, sizeof *we);
    we->base.vt = &whisper_vtbl;
    we->vad_path = p->vad_model_path && p->vad_model_path[0] ? xstrdup(p->vad_model_path) : NULL;
    we->threads = p->threads > 0 ? p->threads : DEFAULT_THREADS;
    we->max_slots = p->max_concurrent > 0 ? p->max_concurrent : defaults.max_concurrent;
    we->no_speech_thold = p->no_speech_thold;
    we->beam_size = p->beam_size;
    we->idle = xcalloc((size_t)we->max_slots, sizeof *we->idle);
    pthread_mutex_init(&we->mu, NULL);
    pthread_cond_init(&we->cv, NULL);
    copy_blacklist(we, p);
    name_after_model(we, p->model_path);

    int64_t t0 = time_mono_ms();
    if (!open_model(we, p, err, errlen) || (p->to_simplified && whisper_is_multilingual(we->ctx) && !open_t2s(we, err, errlen))) {
        whisper_destroy(&we->base);
        return NULL;
    }
    /* The first slot and a state now, so that a model whisper.cpp cannot run (or a VAD model it
     * cannot load) fails here, not on the first job. */
    slot first;
    if (!slot_new(we, &first) || !slot_fresh_state(we, &first)) {
        slot_free(&first);
        err_printf(err, errlen, "%s: whisper.cpp could not create a decoding state%s", we->base.name,
                   we->vad_path ? " or load the VAD model" : "");
        whisper_destroy(&we->base);
        return NULL;
    }
    we->idle[we->nidle++] = first;
    we->ncreated = 1;
    log_info("%s: model loaded in %lld ms (up to %d calls at once%s)", we->base.name,
             (long long)(time_mono_ms() - t0), we->max_slots, we->vad_path ? ", VAD on" : "");
    return &we->base;
}
