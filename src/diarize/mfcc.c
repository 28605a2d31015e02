/* mfcc.c — mel-frequency cepstral coefficients of one 25 ms window: pre-emphasis, Hamming window,
 * power spectrum (FFmpeg's libavutil tx complex FFT), mel filterbank, log, DCT-II; c1-c19 are kept.
 * The complex transform, not the real one: libavutil 57.28's AV_TX_FLOAT_RDFT (Debian 12) gave an
 * all-zero spectrum in some runs and not others, depending on the heap's contents.
 * The filterbank spans 20 Hz to the upper edge the caller gives, so that an 8 kHz recording
 * upsampled to 16 kHz is heard only where it has sound. */
#include "diarize/diarize_internal.h"

#include <libavutil/mem.h>
#include <libavutil/tx.h>
#include <math.h>
#include <stdlib.h>

#define MEL_BANDS 26        /* filters; 19 cepstra out of 26 bands is the usual speaker-ID choice */
#define PREEMPH 0.97f       /* first-order high-pass that flattens speech's spectral tilt */
#define LOG_FLOOR 1e-10f    /* band energy floor: digital silence must not give log(0) */

struct dz_mfcc {
    int win, nfft;
    AVTXContext *tx;
    av_tx_fn fft;
    AVComplexFloat *in;     /* nfft, av_malloc'd (the transform wants aligned buffers) */
    AVComplexFloat *spec;   /* nfft */
    float *hamming;         /* win */
    float *power;           /* nfft/2 + 1 */
    int *band_lo;           /* MEL_BANDS + 2 bin edges */
    float *fb;              /* MEL_BANDS x (nfft/2 + 1) weights */
    float dct[DZ_DIM][MEL_BANDS];
};

static float hz_to_mel(float hz) { return 1127.0f * logf(1.0f + hz / 700.0f); }
static float mel_to_hz(float mel) { return 700.0f * (expf(mel / 1127.0f) - 1.0f); }

static void build_filterbank(dz_mfcc *m, int rate, int upper_hz)
{
    int bins = m->nfft / 2 + 1;
    float lo = hz_to_mel(20.0f), hi = hz_to_mel((float)upper_hz);
    float centre[MEL_BANDS + 2];
    for (int i = 0; i < MEL_BANDS + 2; i++)
        centre[i] = mel_to_hz(lo + (hi - lo) * (float)i / (MEL_BANDS + 1)) * (float)m->nfft / (float)rate;
    for (int b = 0; b < MEL_BANDS; b++) {
        float *w = m->fb + (size_t)b * bins;
        for (int k = 0; k < bins; k++) {
            float f = (float)k;
            if (f > centre[b] && f < centre[b + 1])
                w[k] = (f - centre[b]) / (centre[b + 1] - centre[b]);
            else if (f >= centre[b + 1] && f < centre[b + 2])
                w[k] = (centre[b + 2] - f) / (centre[b + 2] - centre[b + 1]);
            else
                w[k] = 0.0f;
        }
    }
    for (int c = 0; c < DZ_DIM; c++)
        for (int b = 0; b < MEL_BANDS; b++)
            m->dct[c][b] = cosf((float)M_PI * (float)(c + 1) * ((float)b + 0.5f) / MEL_BANDS);
}

dz_mfcc *dz_mfcc_new(int sample_rate, int upper_hz)
{
    dz_mfcc *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->win = sample_rate / 40;
    m->nfft = 1;
    while (m->nfft < m->win)
        m->nfft <<= 1;
    int bins = m->nfft / 2 + 1;
    float scale = 1.0f;
    m->in = av_malloc(sizeof(AVComplexFloat) * (size_t)m->nfft);
    m->spec = av_malloc(sizeof(AVComplexFloat) * (size_t)m->nfft);
    m->hamming = malloc(sizeof(float) * (size_t)m->win);
    m->power = malloc(sizeof(float) * (size_t)bins);
    m->fb = malloc(sizeof(float) * (size_t)bins * MEL_BANDS);
    if (!m->in || !m->spec || !m->hamming || !m->power || !m->fb ||
        av_tx_init(&m->tx, &m->fft, AV_TX_FLOAT_FFT, 0, m->nfft, &scale, 0) < 0) {
        dz_mfcc_free(m);
        return NULL;
    }
    for (int i = 0; i < m->win; i++)
        m->hamming[i] = 0.54f - 0.46f * cosf(2.0f * (float)M_PI * (float)i / (float)(m->win - 1));
    build_filterbank(m, sample_rate, upper_hz);
    return m;
}

void dz_mfcc_free(dz_mfcc *m)
{
    if (!m)
        return;
    av_tx_uninit(&m->tx);
    av_free(m->in);
    av_free(m->spec);
    free(m->hamming);
    free(m->power);
    free(m->fb);
    free(m);
}

int dz_mfcc_window(const dz_mfcc *m) { return m->win; }

float dz_mfcc_frame(dz_mfcc *m, const float *win, float out[DZ_DIM])
{
    double energy = 0.0;
    for (int i = 0; i < m->win; i++) {
        float x = win[i] - (i > 0 ? PREEMPH * win[i - 1] : PREEMPH * win[0]);
        m->in[i] = (AVComplexFloat){x * m->hamming[i], 0.0f};
        energy += (double)win[i] * win[i];
    }
    for (int i = m->win; i < m->nfft; i++)
        m->in[i] = (AVComplexFloat){0.0f, 0.0f};
    m->fft(m->tx, m->spec, m->in, sizeof(AVComplexFloat));
    int bins = m->nfft / 2 + 1;
    for (int k = 0; k < bins; k++)
        m->power[k] = m->spec[k].re * m->spec[k].re + m->spec[k].im * m->spec[k].im;
    float logband[MEL_BANDS];
    for (int b = 0; b < MEL_BANDS; b++) {
        const float *w = m->fb + (size_t)b * bins;
        float e = 0.0f;
        for (int k = 0; k < bins; k++)
            e += w[k] * m->power[k];
        logband[b] = logf(e > LOG_FLOOR ? e : LOG_FLOOR);
    }
    for (int c = 0; c < DZ_DIM; c++) {
        float v = 0.0f;
        for (int b = 0; b < MEL_BANDS; b++)
            v += m->dct[c][b] * logband[b];
        out[c] = v;
    }
    energy /= m->win;
    return energy > 1e-12 ? 10.0f * (float)log10(energy) : -120.0f;
}
