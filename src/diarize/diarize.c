/* diarize.c — the diarizer's life: parameters, feeding (framing, the speech gate, the summaries),
 * and finishing (clustering the segments, labelling the blocks, turning blocks into turns).
 *
 * Design notes.
 * - Memory. Nothing is kept at frame resolution: each 100 ms block keeps its speech frames'
 *   diagonal statistics (160 bytes) and each segment (a run of speech up to 1.5 s) full-covariance
 *   ones (1.7 KB): about 3 KB per second of audio, 55 MB for 5 hours (bench/diarize.js). Clustering
 *   looks at no more than CLUSTER_CAP segments, evenly spread; the others join the nearest cluster.
 * - The speech gate is per 10 ms frame: louder than -65 dBFS and within 35 dB of the loudest frame
 *   of the last few seconds (a peak that decays 5 dB a second). A block is speech when 3 of its 10
 *   frames are. It needs no model and no look-ahead, so it runs while feeding.
 * - No mean normalisation: the likelihood ratios compare covariances and means of one recording,
 *   which a constant offset leaves unchanged. */
#include "diarize/diarize_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GATE_ABS_DB (-65.0f)     /* quieter frames are never speech */
#define GATE_BELOW_PEAK_DB 35.0f /* frames this far under the recent peak are not speech */
#define PEAK_DECAY_DB 0.05f      /* per frame: 5 dB a second */
#define BLOCK_MIN_SPEECH 3       /* speech frames that make a block speech */
#define SEG_MAX_BLOCKS 15        /* a segment is at most 1.5 s ... */
#define SEG_MAX_GAP 2            /* ... and is cut by a pause longer than 200 ms */
#define SEG_MIN_FRAMES 50        /* segments with less speech are too short to cluster ... */
#define SHORT_SHARE 0.5          /* ... unless they hold more than half the speech: then */
#define SHORT_MIN_FRAMES 20      /* segments this long are clustered, compared as diagonal Gaussians */
#define CLUSTER_CAP 600          /* segments clustered at most (the eigen-solver is cubic) */
#define TURN_BRIDGE 3            /* a pause up to 300 ms inside one speaker's speech stays in the turn */

typedef struct {
    void *p;
    size_t n, cap, size;
} vec;

static bool vec_push(vec *v, const void *item)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        void *p = realloc(v->p, cap * v->size);
        if (!p)
            return false;
        v->p = p;
        v->cap = cap;
    }
    memcpy((char *)v->p + v->n * v->size, item, v->size);
    v->n++;
    return true;
}

struct diarizer {
    diarize_params p;
    dz_mfcc *mfcc;
    int win, hop;
    float *ring;                /* the last win samples */
    size_t have;                /* samples in ring */
    float peak;                 /* the gate's decaying peak, dB */
    /* the block being filled */
    dz_block cur;
    double cur_s1[DZ_DIM], cur_s2[DZ_TRI];
    uint8_t cur_first, cur_last;
    int cur_frames;
    /* summaries */
    vec blocks;                 /* dz_block */
    vec edges;                  /* uint8_t[2] per block: first and last speech frame in it */
    vec segs;                   /* dz_seg */
    bool seg_open;
    bool failed;
};

diarize_params diarize_default_params(void)
{
    return (diarize_params){.sample_rate = 16000, .input_rate = 0, .speakers = 0,
                            .max_speakers = DIARIZE_MAX_SPEAKERS};
}

const char *diarize_rc_message(diarize_rc rc)
{
    switch (rc) {
    case DIARIZE_OK: return "ok";
    case DIARIZE_BAD_PARAMS: return "bad diarization parameters";
    case DIARIZE_NO_MEMORY: return "out of memory";
    case DIARIZE_FAILED: return "the speaker clustering failed";
    }
    return "unknown";
}

diarize_rc diarize_new(const diarize_params *p, diarizer **out)
{
    *out = NULL;
    if (p->sample_rate < 8000 || p->sample_rate > 48000 || p->input_rate < 0 || p->speakers < 0 ||
        p->speakers > DIARIZE_MAX_SPEAKERS || p->max_speakers < 1 || p->max_speakers > DIARIZE_MAX_SPEAKERS)
        return DIARIZE_BAD_PARAMS;
    diarizer *d = calloc(1, sizeof *d);
    if (!d)
        return DIARIZE_NO_MEMORY;
    d->p = *p;
    int heard = p->input_rate > 0 && p->input_rate < p->sample_rate ? p->input_rate : p->sample_rate;
    int upper = (int)(0.475 * heard);
    if (upper > 7600)
        upper = 7600;
    d->mfcc = dz_mfcc_new(p->sample_rate, upper);
    d->win = d->mfcc ? dz_mfcc_window(d->mfcc) : 0;
    d->hop = p->sample_rate / 100;
    d->ring = malloc(sizeof(float) * (size_t)(d->win > 0 ? d->win : 1));
    d->blocks.size = sizeof(dz_block);
    d->edges.size = 2;
    d->segs.size = sizeof(dz_seg);
    d->peak = -120.0f;
    if (!d->mfcc || !d->ring) {
        diarize_free(d);
        return DIARIZE_NO_MEMORY;
    }
    *out = d;
    return DIARIZE_OK;
}

void diarize_free(diarizer *d)
{
    if (!d)
        return;
    dz_mfcc_free(d->mfcc);
    free(d->ring);
    free(d->blocks.p);
    free(d->edges.p);
    free(d->segs.p);
    free(d);
}

/* Adds the finished block to the open segment, or opens one, per the segment rules. */
static bool segment_block(diarizer *d, size_t bi, bool speech)
{
    dz_seg *s = d->seg_open ? (dz_seg *)d->segs.p + d->segs.n - 1 : NULL;
    if (s && (bi - s->last > SEG_MAX_GAP || (speech && bi - s->first >= SEG_MAX_BLOCKS))) {
        d->seg_open = false;
        s = NULL;
    }
    if (!speech)
        return true;
    if (!s) {
        dz_seg fresh = {.first = bi, .last = bi};
        if (!vec_push(&d->segs, &fresh))
            return false;
        s = (dz_seg *)d->segs.p + d->segs.n - 1;
        d->seg_open = true;
    }
    s->last = bi;
    s->n += d->cur.n;
    for (int i = 0; i < DZ_DIM; i++)
        s->s1[i] += d->cur_s1[i];
    for (int i = 0; i < DZ_TRI; i++)
        s->s2[i] += d->cur_s2[i];
    return true;
}

static bool close_block(diarizer *d)
{
    bool speech = d->cur.n >= BLOCK_MIN_SPEECH;
    if (!speech)   /* a few loud frames are a click, not speech: keep no statistics */
        memset(&d->cur, 0, sizeof d->cur);
    uint8_t edge[2] = {speech ? d->cur_first : 0, speech ? d->cur_last : 0};
    size_t bi = d->blocks.n;
    bool ok = vec_push(&d->blocks, &d->cur) && vec_push(&d->edges, edge) && segment_block(d, bi, speech);
    memset(&d->cur, 0, sizeof d->cur);
    memset(d->cur_s1, 0, sizeof d->cur_s1);
    memset(d->cur_s2, 0, sizeof d->cur_s2);
    d->cur_frames = 0;
    d->cur_first = d->cur_last = 0;
    return ok;
}

static void add_frame(diarizer *d, const float x[DZ_DIM], float db)
{
    d->peak = db > d->peak ? db : d->peak - PEAK_DECAY_DB;
    bool speech = db > GATE_ABS_DB && db > d->peak - GATE_BELOW_PEAK_DB;
    if (speech) {
        if (d->cur.n == 0)
            d->cur_first = (uint8_t)d->cur_frames;
        d->cur_last = (uint8_t)d->cur_frames;
        d->cur.n += 1.0f;
        int t = 0;
        for (int i = 0; i < DZ_DIM; i++) {
            d->cur.s1[i] += x[i];
            d->cur.s2[i] += x[i] * x[i];
            d->cur_s1[i] += x[i];
            for (int j = i; j < DZ_DIM; j++)
                d->cur_s2[t++] += (double)x[i] * x[j];
        }
    }
    d->cur_frames++;
}

diarize_rc diarize_feed(diarizer *d, const float *pcm, size_t n)
{
    if (d->failed)
        return DIARIZE_NO_MEMORY;
    /* The ring holds the window; a frame is taken every hop samples once it is full. Frame k
     * covers samples [k*hop, k*hop + win). */
    for (size_t i = 0; i < n;) {
        size_t want = (size_t)d->win - d->have;
        size_t take = n - i < want ? n - i : want;
        for (size_t j = 0; j < take; j++) {   /* decoders of float formats can hand out anything */
            float x = pcm[i + j];
            d->ring[d->have + j] = !isfinite(x) ? 0.0f : x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x;
        }
        d->have += take;
        i += take;
        if (d->have < (size_t)d->win)
            break;
        float x[DZ_DIM];
        float db = dz_mfcc_frame(d->mfcc, d->ring, x);
        add_frame(d, x, db);
        if (d->cur_frames == DZ_BLOCK_FRAMES && !close_block(d)) {
            d->failed = true;
            return DIARIZE_NO_MEMORY;
        }
        memmove(d->ring, d->ring + d->hop, sizeof(float) * (size_t)(d->win - d->hop));
        d->have = (size_t)(d->win - d->hop);
    }
    return DIARIZE_OK;
}

/* ---- finishing ---- */

/* Log-likelihood of a segment's frames under Gaussian g (full covariance given as its inverse). */
static double seg_loglik(const dz_seg *s, const dz_gauss *g, const double *prec)
{
    /* sum_t (x_t - m)^T P (x_t - m) = tr(P S2) - 2 m^T P s1 + n m^T P m */
    double q = 0.0;
    for (int i = 0; i < DZ_DIM; i++)
        for (int j = 0; j < DZ_DIM; j++) {
            double s2 = s->s2[i <= j ? dz_tri(i, j) : dz_tri(j, i)];
            double pij = prec[i + j * DZ_DIM];
            q += pij * (s2 - g->mean[i] * s->s1[j] - g->mean[j] * s->s1[i] + s->n * g->mean[i] * g->mean[j]);
        }
    return -0.5 * (s->n * g->logdet + q);
}

/* Labels every segment: the clustered ones by the clustering, the rest by the nearest cluster. */
static int label_segments(diarizer *d, int *seglab)
{
    dz_seg *segs = d->segs.p;
    size_t nseg = d->segs.n, nbig = 0;
    /* Short turns (a spoken digit, "yes", "no"): when most speech lies in segments under
     * SEG_MIN_FRAMES, segments down to SHORT_MIN_FRAMES are clustered, compared as diagonal
     * Gaussians. Elsewhere full covariances tell voices apart far better (docs/benchmarks.md). */
    double speech = 0, in_big = 0;
    for (size_t i = 0; i < nseg; i++) {
        speech += segs[i].n;
        in_big += segs[i].n >= SEG_MIN_FRAMES ? segs[i].n : 0;
    }
    bool short_turns = in_big < SHORT_SHARE * speech;
    double min_frames = short_turns ? SHORT_MIN_FRAMES : SEG_MIN_FRAMES;
    for (size_t i = 0; i < nseg; i++)
        nbig += segs[i].n >= min_frames;
    if (nbig == 0) {   /* speech too short to compare: one speaker */
        for (size_t i = 0; i < nseg; i++)
            seglab[i] = 0;
        return nseg ? 1 : 0;
    }
    size_t npick = nbig < CLUSTER_CAP ? nbig : CLUSTER_CAP;
    dz_seg *pick = malloc(sizeof *pick * npick);
    size_t *from = malloc(sizeof *from * npick);
    int *lab = malloc(sizeof *lab * npick);
    int k = -1;
    if (!pick || !from || !lab)
        goto out;
    /* evenly spread picks among the big segments */
    size_t bi = 0, taken = 0;
    for (size_t i = 0; i < nseg && taken < npick; i++) {
        if (segs[i].n < min_frames)
            continue;
        if (bi * npick / nbig == taken) {   /* the taken-th pick falls on this big segment */
            from[taken] = i;
            pick[taken++] = segs[i];
        }
        bi++;
    }
    npick = taken;
    int speakers = d->p.speakers;
    k = dz_cluster(pick, npick, speakers, d->p.max_speakers, short_turns, lab);
    if (k < 1)
        goto out;
    /* one full-covariance Gaussian per cluster, from its picked segments */
    dz_gauss g[DIARIZE_MAX_SPEAKERS];
    double prec[DIARIZE_MAX_SPEAKERS][DZ_DIM * DZ_DIM];
    bool usable[DIARIZE_MAX_SPEAKERS] = {0};
    for (int c = 0; c < k; c++) {
        dz_seg sum = {0};
        for (size_t i = 0; i < npick; i++) {
            if (lab[i] != c)
                continue;
            sum.n += pick[i].n;
            for (int j = 0; j < DZ_DIM; j++)
                sum.s1[j] += pick[i].s1[j];
            for (int j = 0; j < DZ_TRI; j++)
                sum.s2[j] += pick[i].s2[j];
        }
        usable[c] = dz_gauss_from_stats(&g[c], sum.n, sum.s1, sum.s2, false) && dz_gauss_inverse(&g[c], prec[c]);
    }
    for (size_t i = 0; i < nseg; i++)
        seglab[i] = -1;
    for (size_t i = 0; i < npick; i++)
        seglab[from[i]] = lab[i];
    for (size_t i = 0; i < nseg; i++) {
        if (seglab[i] >= 0)
            continue;
        double best = -INFINITY;
        seglab[i] = 0;
        for (int c = 0; c < k; c++) {
            double ll = usable[c] ? seg_loglik(&segs[i], &g[c], prec[c]) : -INFINITY;
            if (ll > best) {
                best = ll;
                seglab[i] = c;
            }
        }
    }
out:
    free(pick);
    free(from);
    free(lab);
    return k;
}

static bool push_turn(diarize_result *r, size_t *cap, int64_t a, int64_t b, int spk)
{
    if (r->nturns == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        diarize_turn *t = realloc(r->turns, nc * sizeof *t);
        if (!t)
            return false;
        r->turns = t;
        *cap = nc;
    }
    r->turns[r->nturns++] = (diarize_turn){a, b, spk};
    return true;
}

/* Runs of one speaker's speech blocks become turns, with frame-accurate edges; speakers are
 * renumbered by first appearance. */
static bool make_turns(diarizer *d, const int *blab, int k, diarize_result *out)
{
    const uint8_t(*edges)[2] = d->edges.p;
    int hop_ms = 10, block_ms = DZ_BLOCK_FRAMES * hop_ms;
    int order[DIARIZE_MAX_SPEAKERS];
    for (int c = 0; c < k; c++)
        order[c] = -1;
    size_t cap = 0;
    int next = 0;
    int64_t a = -1, b = -1;
    int spk = -1;
    size_t last_speech = 0;
    /* a frame's speech is taken to be its central 10 ms: [12.5 ms, 22.5 ms) of its 25 ms window */
    int64_t centre = (int64_t)(d->win * 1000 / d->p.sample_rate) / 2 - hop_ms / 2;
    for (size_t i = 0; i < d->blocks.n; i++) {
        if (blab[i] < 0)
            continue;
        int64_t s = (int64_t)i * block_ms + edges[i][0] * hop_ms + centre;
        int64_t e = (int64_t)i * block_ms + (edges[i][1] + 1) * hop_ms + centre;
        if (spk == blab[i] && i - last_speech <= TURN_BRIDGE) {
            b = e;
        } else {
            if (spk >= 0 && !push_turn(out, &cap, a, b, order[spk]))
                return false;
            spk = blab[i];
            if (order[spk] < 0)
                order[spk] = next++;
            a = s;
            b = e;
        }
        last_speech = i;
    }
    if (spk >= 0 && !push_turn(out, &cap, a, b, order[spk]))
        return false;
    out->speakers = next;
    return true;
}

diarize_rc diarize_finish(diarizer *d, diarize_result *out)
{
    memset(out, 0, sizeof *out);
    if (d->failed)
        return DIARIZE_NO_MEMORY;
    if (d->cur_frames > 0 && !close_block(d))
        return DIARIZE_NO_MEMORY;
    d->seg_open = false;
    size_t nseg = d->segs.n, nb = d->blocks.n;
    if (nseg == 0)
        return DIARIZE_OK;
    int *seglab = malloc(sizeof(int) * nseg);
    int *blab = malloc(sizeof(int) * (nb ? nb : 1));
    diarize_rc rc = DIARIZE_NO_MEMORY;
    if (!seglab || !blab)
        goto out;
    int k = label_segments(d, seglab);
    if (k < 1) {
        rc = k == 0 ? DIARIZE_OK : DIARIZE_FAILED;
        goto out;
    }
    const dz_block *blocks = d->blocks.p;
    for (size_t i = 0; i < nb; i++)
        blab[i] = -1;
    const dz_seg *segs = d->segs.p;
    for (size_t s = 0; s < nseg; s++)
        for (size_t i = segs[s].first; i <= segs[s].last; i++)
            if (blocks[i].n > 0)
                blab[i] = seglab[s];
    rc = make_turns(d, blab, k, out) ? DIARIZE_OK : DIARIZE_NO_MEMORY;
out:
    if (rc != DIARIZE_OK)
        diarize_result_free(out);
    free(seglab);
    free(blab);
    return rc;
}

void diarize_result_free(diarize_result *r)
{
    free(r->turns);
    memset(r, 0, sizeof *r);
}

int diarize_speaker_of(const diarize_result *r, int64_t start_ms, int64_t end_ms)
{
    int64_t held[DIARIZE_MAX_SPEAKERS] = {0};
    int best = -1, nearest = -1;
    int64_t best_len = 0, nearest_gap = INT64_MAX;
    for (size_t i = 0; i < r->nturns; i++) {
        const diarize_turn *t = &r->turns[i];
        if (t->speaker < 0 || t->speaker >= DIARIZE_MAX_SPEAKERS)   /* not ours: a caller's own list */
            continue;
        int64_t a = t->start_ms > start_ms ? t->start_ms : start_ms;
        int64_t b = t->end_ms < end_ms ? t->end_ms : end_ms;
        if (b > a) {
            held[t->speaker] += b - a;
            if (held[t->speaker] > best_len) {
                best_len = held[t->speaker];
                best = t->speaker;
            }
        }
        int64_t gap = t->end_ms <= start_ms ? start_ms - t->end_ms : t->start_ms >= end_ms ? t->start_ms - end_ms : 0;
        if (gap < nearest_gap) {
            nearest_gap = gap;
            nearest = t->speaker;
        }
    }
    return best >= 0 ? best : nearest;
}

size_t diarize_rttm(const diarize_result *r, const char *file_id, char *buf, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < r->nturns; i++) {
        const diarize_turn *t = &r->turns[i];
        char line[512];
        int n = snprintf(line, sizeof line, "SPEAKER %s 1 %.3f %.3f <NA> <NA> spk%d <NA> <NA>\n", file_id,
                         (double)t->start_ms / 1000.0, (double)(t->end_ms - t->start_ms) / 1000.0, t->speaker);
        if (n < 0)
            continue;
        if (cap > 0 && len < cap - 1) {
            size_t room = cap - 1 - len;
            memcpy(buf + len, line, (size_t)n < room ? (size_t)n : room);
        }
        len += (size_t)n;
    }
    if (cap > 0)
        buf[len < cap - 1 ? len : cap - 1] = '\0';
    return len;
}
