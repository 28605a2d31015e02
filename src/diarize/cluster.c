/* cluster.c — segments into speakers: Gaussian likelihood-ratio (GLR) distances between segments,
 * and spectral clustering of the distance ranks (NME-SC, Park et al. 2019): each row keeps its p
 * nearest segments as a binary affinity, the p whose Laplacian shows the clearest eigengap relative
 * to p chooses the graph, and the rows of the Laplacian's first k eigenvectors are grouped by
 * k-means. LAPACK does the linear algebra.
 *
 * The count, when not given, is not the eigengap's: on these small graphs (tens to hundreds of
 * 1.5 s segments) the gap named 4-10 speakers for two on most English conversations. Nor is it the
 * best-scoring partition into k: any partition of two voices into three mixed groups scores as
 * well as two voices. It is found top-down (count_speakers): a group is split in two and the
 * halves kept apart only if their pooled voices stand SEPARATION apart, then each half is tried
 * again (measured in docs/benchmarks.md).
 *
 * Cost: O(N^2) distances and O(N^3) per eigen-solve (one per p tried, per clustering), N <= CLUSTER_CAP
 * (diarize.c). */
#include "diarize/diarize_internal.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RIDGE 1e-4              /* added to covariance diagonals (relative to the mean variance) */
#define KMEANS_RESTARTS 10      /* k-means++ starts; the tightest result wins */
#define KMEANS_ITERS 100
#define SEPARATION 0.6          /* separation() from which two groups are two speakers (count_speakers) */
#define NOISE 250.0             /* GLR per frame that estimation alone gives two groups of n_a and n_b
                                   frames of one voice: NOISE * (1/n_a + 1/n_b), taken off before the
                                   comparison (fit on splits of one voice; tiny groups stood far apart) */

bool dz_gauss_from_stats(dz_gauss *g, double n, const double *s1, const double *s2, bool diagonal)
{
    if (n < 2)
        return false;
    g->n = n;
    for (int i = 0; i < DZ_DIM; i++)
        g->mean[i] = s1[i] / n;
    double trace = 0;
    for (int i = 0; i < DZ_DIM; i++)
        for (int j = i; j < DZ_DIM; j++) {
            double c = i == j || !diagonal ? s2[dz_tri(i, j)] / n - g->mean[i] * g->mean[j] : 0.0;
            g->cov[i + j * DZ_DIM] = g->cov[j + i * DZ_DIM] = c;
            if (i == j)
                trace += c;
        }
    double ridge = RIDGE * (trace / DZ_DIM) + 1e-9;
    double chol[DZ_DIM * DZ_DIM];
    memcpy(chol, g->cov, sizeof chol);
    for (int i = 0; i < DZ_DIM; i++)
        chol[i + i * DZ_DIM] += ridge;
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', DZ_DIM, chol, DZ_DIM) != 0)
        return false;
    g->logdet = 0;
    for (int i = 0; i < DZ_DIM; i++)
        g->logdet += 2.0 * log(chol[i + i * DZ_DIM]);
    for (int i = 0; i < DZ_DIM; i++)
        g->cov[i + i * DZ_DIM] += ridge;
    return true;
}

bool dz_gauss_inverse(const dz_gauss *g, double *prec)
{
    memcpy(prec, g->cov, sizeof(double) * DZ_DIM * DZ_DIM);
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', DZ_DIM, prec, DZ_DIM) != 0 ||
        LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', DZ_DIM, prec, DZ_DIM) != 0)
        return false;
    for (int j = 0; j < DZ_DIM; j++)   /* dpotri fills the upper triangle only */
        for (int i = j + 1; i < DZ_DIM; i++)
            prec[i + j * DZ_DIM] = prec[j + i * DZ_DIM];
    return true;
}

/* GLR distance: how much likelier two segments are as two Gaussians than as one, per frame (the
 * Gaussians diagonal when ga and gb are). */
static double glr(const dz_seg *a, const dz_gauss *ga, const dz_seg *b, const dz_gauss *gb, bool diagonal)
{
    double s1[DZ_DIM], s2[DZ_TRI];
    for (int i = 0; i < DZ_DIM; i++)
        s1[i] = a->s1[i] + b->s1[i];
    for (int i = 0; i < DZ_TRI; i++)
        s2[i] = a->s2[i] + b->s2[i];
    dz_gauss g;
    if (!dz_gauss_from_stats(&g, a->n + b->n, s1, s2, diagonal))
        return INFINITY;
    return 0.5 * (g.n * g.logdet - ga->n * ga->logdet - gb->n * gb->logdet) / g.n;
}

typedef struct {
    double d;
    int j;
} ranked;

static int by_distance(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    return a->d < b->d ? -1 : a->d > b->d ? 1 : a->j - b->j;
}

/* The Laplacian D - A of the p-nearest-neighbour graph, symmetrised (A + A^T) / 2. */
static void laplacian(const int *near, int n, int p, double *L)
{
    memset(L, 0, sizeof(double) * (size_t)n * n);
    for (int i = 0; i < n; i++)
        for (int q = 0; q < p; q++) {
            int j = near[(size_t)i * (n - 1) + q];
            L[(size_t)i * n + j] -= 0.5;
            L[(size_t)j * n + i] -= 0.5;
        }
    for (int i = 0; i < n; i++) {
        double deg = 0;
        for (int j = 0; j < n; j++)
            deg -= j == i ? 0 : L[(size_t)i * n + j];
        L[(size_t)i * n + i] = deg;
    }
}

/* Eigenvalues of L ascending (L is destroyed). */
static bool eigenvalues(double *L, int n, double *w)
{
    return LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', n, L, n, w) == 0;
}

/* A small deterministic generator (xorshift), so that a recording always gets the same labels. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static double sqdist(const double *a, const double *b, int k)
{
    double s = 0;
    for (int i = 0; i < k; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

/* k-means++ on n rows of k values; labels out. */
static bool kmeans(const double *x, int n, int k, int *labels)
{
    double *cent = malloc(sizeof(double) * (size_t)k * k), *dist = malloc(sizeof(double) * (size_t)n);
    int *lab = malloc(sizeof(int) * (size_t)n), *cnt = malloc(sizeof(int) * (size_t)k);
    if (!cent || !dist || !lab || !cnt) {
        free(cent), free(dist), free(lab), free(cnt);
        return false;
    }
    uint32_t seed = 2463534242u;
    double best = INFINITY;
    for (int r = 0; r < KMEANS_RESTARTS; r++) {
        /* seeding: first centre at random, each next one with probability ~ squared distance */
        int first = (int)(next_rand(&seed) % (uint32_t)n);
        memcpy(cent, x + (size_t)first * k, sizeof(double) * k);
        for (int c = 1; c < k; c++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                double m = INFINITY;
                for (int e = 0; e < c; e++) {
                    double s = sqdist(x + (size_t)i * k, cent + (size_t)e * k, k);
                    m = s < m ? s : m;
                }
                dist[i] = m;
                total += m;
            }
            double at = total * (double)(next_rand(&seed) % 1000000u) / 1e6;
            int pick = n - 1;
            for (int i = 0; i < n; i++) {
                at -= dist[i];
                if (at < 0) {
                    pick = i;
                    break;
                }
            }
            memcpy(cent + (size_t)c * k, x + (size_t)pick * k, sizeof(double) * k);
        }
        double inertia = 0;
        for (int it = 0; it < KMEANS_ITERS; it++) {
            bool moved = false;
            inertia = 0;
            for (int i = 0; i < n; i++) {
                int arg = 0;
                double m = INFINITY;
                for (int c = 0; c < k; c++) {
                    double s = sqdist(x + (size_t)i * k, cent + (size_t)c * k, k);
                    if (s < m) {
                        m = s;
                        arg = c;
                    }
                }
                moved |= it == 0 || lab[i] != arg;
                lab[i] = arg;
                inertia += m;
            }
            if (!moved)
                break;
            memset(cent, 0, sizeof(double) * (size_t)k * k);
            memset(cnt, 0, sizeof(int) * (size_t)k);
            for (int i = 0; i < n; i++) {
                cnt[lab[i]]++;
                for (int j = 0; j < k; j++)
                    cent[(size_t)lab[i] * k + j] += x[(size_t)i * k + j];
            }
            for (int c = 0; c < k; c++)
                for (int j = 0; j < k; j++)
                    cent[(size_t)c * k + j] = cnt[c] ? cent[(size_t)c * k + j] / cnt[c] : cent[(size_t)c * k + j];
        }
        if (inertia < best) {
            best = inertia;
            memcpy(labels, lab, sizeof(int) * (size_t)n);
        }
    }
    free(cent), free(dist), free(lab), free(cnt);
    return true;
}

/* Renumbers labels 0.. by first appearance and drops empty clusters; returns the count. */
static int compact(int *labels, int n, int k)
{
    int map[DIARIZE_MAX_SPEAKERS];
    for (int c = 0; c < k; c++)
        map[c] = -1;
    int next = 0;
    for (int i = 0; i < n; i++) {
        if (map[labels[i]] < 0)
            map[labels[i]] = next++;
        labels[i] = map[labels[i]];
    }
    return next;
}

/* The p whose graph shows the clearest eigengap among counts 1..kmax, relative to p (NME). */
static int nme_p(const int *ps, double low[][DIARIZE_MAX_SPEAKERS + 2], const double *top, int np, int n, int kmax)
{
    int best_p = ps[0];
    double best_r = INFINITY;
    for (int i = 0; i < np; i++) {
        double gap = -1;
        for (int c = 1; c <= kmax && c < n; c++)
            if (low[i][c] - low[i][c - 1] > gap)
                gap = low[i][c] - low[i][c - 1];
        double ratio = gap / (top[i] > 1e-12 ? top[i] : 1e-12);
        double r = (double)ps[i] / n / (ratio > 1e-12 ? ratio : 1e-12);
        if (r < best_r) {
            best_r = r;
            best_p = ps[i];
        }
    }
    return best_p;
}

/* k clusters of the p-nearest-neighbour graph: the rows of its Laplacian's first k eigenvectors,
 * normalised, grouped by k-means. Returns the clusters found (empty ones dropped), -1 on error. */
static int spectral(const int *near, int n, int p, int k, double *L, double *w, double *vecs, int *labels)
{
    if (k <= 1) {
        for (int i = 0; i < n; i++)
            labels[i] = 0;
        return 1;
    }
    laplacian(near, n, p, L);
    lapack_int found, support[2 * DIARIZE_MAX_SPEAKERS];
    int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', n, L, n, 0, 0, 1, k, 0.0, &found, w, vecs, k,
                              support);
    if (info != 0 || found != k)
        return -1;
    for (int i = 0; i < n; i++) {   /* rows to unit length */
        double s = 0;
        for (int j = 0; j < k; j++)
            s += vecs[(size_t)i * k + j] * vecs[(size_t)i * k + j];
        s = sqrt(s) > 1e-12 ? sqrt(s) : 1;
        for (int j = 0; j < k; j++)
            vecs[(size_t)i * k + j] /= s;
    }
    if (!kmeans(vecs, n, k, labels))
        return -1;
    return compact(labels, n, k);
}

/* Per-frame GLR between the pooled statistics of two sets of segments. */
static double set_glr(const dz_seg *a, const dz_seg *b)
{
    dz_gauss ga, gb;
    if (!dz_gauss_from_stats(&ga, a->n, a->s1, a->s2, false) || !dz_gauss_from_stats(&gb, b->n, b->s1, b->s2, false))
        return 0;
    return glr(a, &ga, b, &gb, false);
}

/* How far apart the closest two clusters stand: the least, over pairs of clusters, of the GLR
 * per frame between their pooled statistics, less what estimation alone gives (NOISE). Pooling
 * averages the words out, so what is left is the voice (and the room): two AISHELL or English
 * voices stood 0.8-1.0 apart, one voice split in two by its recording sessions 0.2-0.5. The
 * measure is free of the features' scale (a ratio of determinants). */
static double separation(const dz_seg *segs, int n, const int *labels, int k)
{
    dz_seg all[DIARIZE_MAX_SPEAKERS];
    memset(all, 0, sizeof all);
    for (int i = 0; i < n; i++) {
        dz_seg *t = &all[labels[i]];
        t->n += segs[i].n;
        for (int j = 0; j < DZ_DIM; j++)
            t->s1[j] += segs[i].s1[j];
        for (int j = 0; j < DZ_TRI; j++)
            t->s2[j] += segs[i].s2[j];
    }
    double least = INFINITY;
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++) {
            double d = set_glr(&all[a], &all[b]) - NOISE * (1.0 / all[a].n + 1.0 / all[b].n);
            least = d < least ? d : least;
        }
    return least;
}

/* k clusters of the segments idx[0..m) (indices into dist, an n x n distance matrix), by spectral
 * clustering of their p-nearest-neighbour graph with the NME choice of p for k. labels[0..m) out.
 * Returns the clusters found, -1 when out of memory or LAPACK fails. */
static int cluster_subset(const double *dist, int n, const int *idx, int m, int k, int *labels)
{
    if (k > m)
        k = m;
    if (k <= 1 || m <= 2) {   /* one group, or one segment each */
        for (int i = 0; i < m; i++)
            labels[i] = k <= 1 ? 0 : i;
        return m == 0 ? 0 : k <= 1 ? 1 : m;
    }
    int result = -1;
    ranked *row = malloc(sizeof *row * (size_t)m);
    int *near = malloc(sizeof(int) * (size_t)m * (m - 1));
    double *L = malloc(sizeof(double) * (size_t)m * m), *w = malloc(sizeof(double) * (size_t)m);
    double *vecs = malloc(sizeof(double) * (size_t)m * DIARIZE_MAX_SPEAKERS);
    if (!row || !near || !L || !w || !vecs)
        goto out;
    for (int i = 0; i < m; i++) {
        int r = 0;
        for (int j = 0; j < m; j++)
            if (j != i)
                row[r++] = (ranked){dist[(size_t)idx[i] * n + idx[j]], j};
        qsort(row, (size_t)r, sizeof *row, by_distance);
        for (int q = 0; q < r; q++)
            near[(size_t)i * (m - 1) + q] = row[q].j;
    }
    /* NME: each p's Laplacian spectrum (its low end and its largest value) */
    int np = 0, ps[64];
    double low[64][DIARIZE_MAX_SPEAKERS + 2], top[64];
    int pmax = m / 4 > 2 ? m / 4 : 2;
    if (pmax > m - 1)
        pmax = m - 1;
    for (int p = 2; p <= pmax && np < 64; p += p < 10 ? 1 : p < 30 ? 3 : p / 8) {
        laplacian(near, m, p, L);
        if (!eigenvalues(L, m, w))
            goto out;
        ps[np] = p;
        for (int c = 0; c < DIARIZE_MAX_SPEAKERS + 2; c++)
            low[np][c] = c < m ? w[c] : w[m - 1];
        top[np++] = w[m - 1];
    }
    result = spectral(near, m, nme_p(ps, low, top, np, m, k), k, L, w, vecs, labels);
out:
    free(row), free(near), free(L), free(w), free(vecs);
    return result;
}

/* The count, top-down: a group of segments is split in two (cluster_subset) when the halves stand
 * SEPARATION apart, and each half is tried again; the groups left are the speakers. A split of one
 * voice (by its recording sessions, by what was said) stood 0.2-0.6 apart, two voices 0.8-1.0. Asking
 * "are these two?" of each group, rather than scoring whole partitions into k, keeps one speaker's
 * variation from passing for a speaker of its own. Returns the count (<= max_speakers), -1 on error. */
static int count_speakers(const dz_seg *segs, const double *dist, int n, int max_speakers)
{
    int *group = malloc(sizeof(int) * (size_t)n), *idx = malloc(sizeof(int) * (size_t)n);
    int *half = malloc(sizeof(int) * (size_t)n);
    dz_seg *sub = malloc(sizeof *sub * (size_t)n);
    int count = -1;
    if (!group || !idx || !half || !sub)
        goto out;
    for (int i = 0; i < n; i++)
        group[i] = 0;
    count = 1;
    bool settled[DIARIZE_MAX_SPEAKERS] = {false};
    for (int g = 0; g < count && count < max_speakers;) {
        if (settled[g]) {
            g++;
            continue;
        }
        int m = 0;
        for (int i = 0; i < n; i++)
            if (group[i] == g) {
                sub[m] = segs[i];
                idx[m++] = i;
            }
        int got = m >= 4 ? cluster_subset(dist, n, idx, m, 2, half) : 1;
        if (got < 0) {
            count = -1;
            break;
        }
        if (got == 2 && separation(sub, m, half, 2) >= SEPARATION) {
            for (int i = 0; i < m; i++)
                if (half[i] == 1)
                    group[idx[i]] = count;
            count++;   /* g is tried again, and so is the new group */
        } else {
            settled[g] = true;
        }
    }
out:
    free(group), free(idx), free(half), free(sub);
    return count;
}

int dz_cluster(const dz_seg *segs, size_t nseg, int speakers, int max_speakers, bool diagonal, int *labels)
{
    int n = (int)nseg;
    if (n == 0)
        return 0;
    if (n <= 2 || speakers == 1) {
        int k = speakers > 0 && speakers <= n ? speakers : 1;
        for (int i = 0; i < n; i++)
            labels[i] = k == 1 ? 0 : i;
        return k;
    }
    int result = -1;
    dz_gauss *g = malloc(sizeof *g * (size_t)n);
    double *dist = malloc(sizeof(double) * (size_t)n * n);
    int *all = malloc(sizeof(int) * (size_t)n);
    if (!g || !dist || !all)
        goto out;
    for (int i = 0; i < n; i++) {
        all[i] = i;
        if (!dz_gauss_from_stats(&g[i], segs[i].n, segs[i].s1, segs[i].s2, diagonal))
            g[i].n = 0;
    }
    for (int i = 0; i < n; i++) {
        dist[(size_t)i * n + i] = 0;
        for (int j = i + 1; j < n; j++) {
            double d = g[i].n > 0 && g[j].n > 0 ? glr(&segs[i], &g[i], &segs[j], &g[j], diagonal) : INFINITY;
            dist[(size_t)i * n + j] = dist[(size_t)j * n + i] = d;
        }
    }
    int k = speakers > 0 ? speakers : count_speakers(segs, dist, n, max_speakers);
    if (k >= 1)   /* the labels: the whole graph clustered at once, which places the borders best */
        result = cluster_subset(dist, n, all, n, k, labels);
out:
    free(g), free(dist), free(all);
    return result;
}
