/* diarize_internal.h — what the diarizer's files share: the feature extractor (mfcc.c), the summary
 * records kept per block and per segment (diarize.c) and the clustering (cluster.c). Not part of
 * the public interface. */
#ifndef CICADA_DIARIZE_INTERNAL_H
#define CICADA_DIARIZE_INTERNAL_H

#include "diarize/diarize.h"

#include <stdbool.h>

#define DZ_DIM 19           /* MFCC 1-19: c0 (loudness) says little about who is speaking */
#define DZ_TRI (DZ_DIM * (DZ_DIM + 1) / 2)   /* entries of a symmetric DZ_DIM x DZ_DIM matrix */
#define DZ_BLOCK_FRAMES 10  /* a block is 100 ms: the resolution of the turns */

/* ---- mfcc.c: one 25 ms window in, 19 cepstra and its log energy out ---- */
typedef struct dz_mfcc dz_mfcc;
dz_mfcc *dz_mfcc_new(int sample_rate, int upper_hz);
void dz_mfcc_free(dz_mfcc *m);
int dz_mfcc_window(const dz_mfcc *m);     /* samples per window (25 ms) */
/* win: dz_mfcc_window() samples. Returns the window's energy in dB (full scale 0 dB). */
float dz_mfcc_frame(dz_mfcc *m, const float *win, float out[DZ_DIM]);

/* ---- summaries ---- */

/* Index of (i, j), i <= j, in a packed DZ_DIM upper triangle stored row by row. */
static inline int dz_tri(int i, int j) { return i * DZ_DIM - i * (i - 1) / 2 + (j - i); }

/* 100 ms of audio: a diagonal Gaussian's sufficient statistics over its speech frames. */
typedef struct dz_block {
    float n;                    /* speech frames (0-10) */
    float s1[DZ_DIM];           /* sum of x */
    float s2[DZ_DIM];           /* sum of x*x */
} dz_block;

/* A segment: a run of speech blocks, cut at pauses and at a maximum length; full covariance. */
typedef struct dz_seg {
    size_t first, last;         /* blocks [first, last] */
    double n;
    double s1[DZ_DIM];
    double s2[DZ_TRI];          /* sum of x x^T, packed upper triangle, row by row */
} dz_seg;

/* Full-covariance Gaussian of a set of frames: mean, covariance and log-determinant. */
typedef struct dz_gauss {
    double n;
    double mean[DZ_DIM];
    double cov[DZ_DIM * DZ_DIM];   /* full, column-major (symmetric), ridge added */
    double logdet;
} dz_gauss;

/* From statistics: n frames, sum s1, packed sum of outer products s2; diagonal: the covariance's
 * off-diagonal terms are dropped. False when singular. */
bool dz_gauss_from_stats(dz_gauss *g, double n, const double *s1, const double *s2, bool diagonal);
/* The inverse of g's covariance (full, column-major). False when singular. */
bool dz_gauss_inverse(const dz_gauss *g, double *prec);

/* ---- cluster.c ---- */
/* Labels nseg segments with 0..k-1; k is speakers when > 0, else estimated in [1, max_speakers].
 * diagonal: segments are compared as diagonal Gaussians (short segments: a full covariance of a
 * few dozen frames is mostly noise). Returns k, or -1 on failure (out of memory, LAPACK error). */
int dz_cluster(const dz_seg *segs, size_t nseg, int speakers, int max_speakers, bool diagonal, int *labels);

#endif
