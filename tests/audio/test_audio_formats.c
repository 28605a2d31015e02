/* test_audio_formats.c — every input format the service accepts, made from the shared test audio by
 * the audio_media fixture (make_formats.sh), decodes to the wav's duration (within a stated,
 * per-format tolerance where the codec pads and the container does not say so), to the wav's signal
 * (found at the codec's known delay, correlated above a stated bound) and to the wav's transcript
 * through the pocketsphinx engine: identical for lossless formats (bit-identical samples), within a
 * stated word edit distance for lossy ones, narrow-band codecs against the wav degraded to 8 kHz.
 * Stereo files give each channel's own speech. Files are opened through /proc/self/fd/N, as the
 * job pipeline does, so no file extension helps FFmpeg guess the format.
 *
 * Groups (argv[1], one CTest entry each, so that they can run side by side): lossless (with stereo;
 * the default), lossy_a, lossy_b, speech, mandarin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "engine/engine.h"
#include "util/util.h"

/* How each format's decoded length may differ from the wav's, in ms (measured values in comments;
 * jfk = 11 s, the Mandarin clip = 4.049 s, both 16 kHz). Exact formats carry their length (WAV,
 * FLAC, ALAC, MP3 with its LAME tag, Vorbis and Opus granule positions, raw PCM). */
#define EXACT 0, 0
/* AAC in MP4/MOV/M4A: FFmpeg 5.1's demuxer drops the priming samples the edit list names but not
 * the padding of the last 1024-sample frame: up to one frame (64 ms at 16 kHz). Measured +8, +47. */
#define AAC_MP4 0, 64
/* AAC in ADTS or FLV: no field for the encoder's 1024 priming samples, plus the last frame's padding:
 * up to two frames (128 ms). Measured +72, +111. */
#define AAC_BARE 64, 128
/* AMR: 20 ms frames, the last one padded by the encoder. Measured 0, +11. */
#define AMR 0, 20
/* WMA v2 (FFmpeg's encoder and decoder, 512-sample frames at 16 kHz): the first 512 samples are
 * lost and up to one frame of padding is added at the end: between 32 ms short and exact.
 * Measured -24, -17. */
#define WMA -32, 0

/* Where the decoded signal lies against the wav's, in samples at 16 kHz (positive: later). Codecs
 * whose container records the encoder delay (MP4 edit lists, LAME tags, Ogg/WebM pre-skip) are
 * aligned; bare AAC starts with the 1024 priming samples; AMR decoders add their algorithmic delay
 * (5 ms NB, 5.9 ms WB); FFmpeg's WMA loses its first 512-sample frame. */
#define DELAY_NONE 0
#define DELAY_AAC_PRIMING 1024
#define DELAY_AMR_NB 80
#define DELAY_AMR_WB 95
#define DELAY_WMA (-512)

/* Word edit distance allowed against the reference transcript, stated per codec family from
 * measurements on jfk (22 words; unrelated speech is 22 edits away). pocketsphinx's en-us
 * hypothesis for this clip is brittle: AAC at 46 dB SNR already changes 7 words and G.711 13, so
 * these bounds are loose by nature; the signal checks (delay, correlation) are the tight ones. */
#define EDITS_G711 15            /* measured 13 (µ-law), 9 (A-law) */
#define EDITS_PERCEPTUAL 9       /* mp3 6, AAC 7, Vorbis 1, Opus 2, WMA 4, AMR-WB 5 */
#define EDITS_NARROW 16          /* against ref_8k.wav: µ-law 8 kHz 10, AMR-NB 14 */
#define EDITS_STEREO_AAC 3       /* measured 1 */

typedef struct format_case {
    const char *file;            /* in $CICADA_AUDIO_MEDIA/<set>/ */
    int64_t min_delta_ms, max_delta_ms;
    int delay16;                 /* DELAY_*, in samples at 16 kHz */
    int delay_tolerance16;       /* how far the measured delay may be from it (same unit) */
    double min_corr;             /* correlation with the reference at that delay */
    size_t max_edits;            /* English transcripts */
    bool raw;                    /* headerless s16le, declared */
    bool needs_amr;              /* made only when amr_encode was built */
} format_case;

/* Waveform codecs and transform codecs keep the signal's phase: their delay is found to the sample.
 * AMR's CELP only matches the waveform roughly, so its correlation peak wanders by up to ~1 ms. */
#define SAMPLE_EXACT 2
#define CELP_TOLERANCE 24

/* The comment after each case: measured correlation for jfk at 16 kHz / the Mandarin clip at 8 kHz. */
static const format_case LOSSLESS[] = {
    {"wav_s16.wav", EXACT, DELAY_NONE, SAMPLE_EXACT, 1.0, 0, false, false},
    {"flac.flac", EXACT, DELAY_NONE, SAMPLE_EXACT, 1.0, 0, false, false},
    {"mov_alac.mov", EXACT, DELAY_NONE, SAMPLE_EXACT, 1.0, 0, false, false},
    {"raw_s16le.pcm", EXACT, DELAY_NONE, SAMPLE_EXACT, 1.0, 0, true, false},
};

static const format_case LOSSY_A[] = {
    {"wav_mulaw.wav", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.999, EDITS_G711, false, false},             /* .9999 .9999 */
    {"wav_alaw.wav", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.999, EDITS_G711, false, false},              /* .9999 .9999 */
    {"m4a.m4a", AAC_MP4, DELAY_NONE, SAMPLE_EXACT, 0.999, EDITS_PERCEPTUAL, false, false},           /* 1.000 .9999 */
    {"mp4_video.mp4", AAC_MP4, DELAY_NONE, SAMPLE_EXACT, 0.999, EDITS_PERCEPTUAL, false, false},     /* 1.000 .9999 */
    {"aac_adts.aac", AAC_BARE, DELAY_AAC_PRIMING, SAMPLE_EXACT, 0.999, EDITS_PERCEPTUAL, false, false},
    {"flv_video.flv", AAC_BARE, DELAY_AAC_PRIMING, SAMPLE_EXACT, 0.999, EDITS_PERCEPTUAL, false, false},
};

static const format_case LOSSY_B[] = {
    {"mp3.mp3", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.99, EDITS_PERCEPTUAL, false, false},              /* 1.000 .9999 */
    {"ogg_vorbis.ogg", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.99, EDITS_PERCEPTUAL, false, false},       /* .9969 .9971 */
    {"opus_ogg.opus", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.99, EDITS_PERCEPTUAL, false, false},        /* .9983 .9980 */
    {"opus_webm.webm", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.99, EDITS_PERCEPTUAL, false, false},       /* .9983 .9980 */
    {"wma.wma", WMA, DELAY_WMA, SAMPLE_EXACT, 0.99, EDITS_PERCEPTUAL, false, false},                 /* .9999 .9999 */
};

/* Speech codecs. AMR-WB is wide-band: against the wav. */
static const format_case WIDEBAND_SPEECH[] = {
    {"amr_wb.awb", AMR, DELAY_AMR_WB, CELP_TOLERANCE, 0.80, EDITS_PERCEPTUAL, false, true},          /* .9838 .8986 */
};

/* Against ref_8k.wav: the wav resampled to 8 kHz, as the narrow-band encoders' input was. */
static const format_case NARROW[] = {
    {"wav_mulaw_8k.wav", EXACT, DELAY_NONE, SAMPLE_EXACT, 0.999, EDITS_NARROW, false, false},        /* .9999 .9999 */
    {"amr_nb.amr", AMR, DELAY_AMR_NB, CELP_TOLERANCE, 0.60, EDITS_NARROW, false, true},              /* .9322 .7006 */
    {"3gp_amr_nb.3gp", AMR, DELAY_AMR_NB, CELP_TOLERANCE, 0.60, EDITS_NARROW, false, true},          /* .9322 .7006 */
};

static char g_media[1024];
static char g_group[32];
static engine *g_engine;

/* ---- helpers ---- */

static void media_path(char *out, size_t len, const char *set, const char *file)
{
    snprintf(out, len, "%s/%s%s%s", g_media, set, set[0] ? "/" : "", file);
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Decodes `path` through /proc/self/fd/N (no extension to go by), as the pipeline does. */
static audio_rc decode_fd(const char *path, const audio_params *p, audio_pcm *pcm, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("cannot open %s", path);
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
    audio_rc rc = audio_decode_file(fd_path, p, pcm, err, errlen);
    close(fd);
    return rc;
}

static void decode_case(const char *path, int rate, bool raw, int channel, audio_pcm *pcm)
{
    audio_params p = audio_default_params();
    p.sample_rate = rate;
    p.raw_pcm = raw;
    p.channel = channel;
    char err[512];
    audio_rc rc = decode_fd(path, &p, pcm, err, sizeof err);
    if (rc != AUDIO_OK)
        fail_msg("%s: %s (%s)", path, audio_rc_code(rc), err);
    assert_int_equal(pcm->sample_rate, rate);
    assert_int_equal(pcm->duration_ms, (int64_t)pcm->n * 1000 / rate);
}

/* Transcripts already made in this process, by the PCM they came from: the engine is
 * deterministic, so formats that decode to the very same samples (WAV/FLAC/ALAC, M4A/MP4 with the
 * same AAC stream, AMR alone or in 3GP) share one recognition instead of paying for it again. */
typedef struct transcript_memo {
    uint64_t hash;
    size_t n;
    char *text;
} transcript_memo;
static transcript_memo g_memo[64];
static size_t g_nmemo;

static uint64_t pcm_hash(const audio_pcm *pcm)
{
    const unsigned char *b = (const unsigned char *)pcm->samples;
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < pcm->n * sizeof *pcm->samples; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static char *recognise(const audio_pcm *pcm);

/* The engine's words for `pcm`, joined with spaces (heap). */
static char *transcribe(const audio_pcm *pcm)
{
    uint64_t h = pcm_hash(pcm);
    for (size_t i = 0; i < g_nmemo; i++)
        if (g_memo[i].hash == h && g_memo[i].n == pcm->n)
            return xstrdup(g_memo[i].text);
    char *text = recognise(pcm);
    if (g_nmemo < sizeof g_memo / sizeof g_memo[0])
        g_memo[g_nmemo++] = (transcript_memo){h, pcm->n, xstrdup(text)};
    return text;
}

static char *recognise(const audio_pcm *pcm)
{
    engine_result r;
    char err[512];
    if (engine_transcribe(g_engine, pcm->samples, pcm->n, NULL, &r, err, sizeof err) != 0)
        fail_msg("transcribing: %s", err);
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t s = 0; s < r.nsegs; s++)
        for (size_t w = 0; w < r.segs[s].nwords; w++) {
            if (b.len > 0)
                buf_putc(&b, ' ');
            buf_puts(&b, r.segs[s].words[w].text);
        }
    engine_result_free(&r);
    return buf_steal(&b);
}

/* Splits a copy of `text` at spaces; returns the word count, *words the array (free both). */
static size_t split_words(const char *text, char **copy, char ***words)
{
    *copy = xstrdup(text);
    size_t n = 0, cap = 8;
    *words = xmalloc(cap * sizeof **words);
    for (char *save = NULL, *w = strtok_r(*copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n == cap)
            *words = xrealloc(*words, (cap *= 2) * sizeof **words);
        (*words)[n++] = w;
    }
    return n;
}

/* Levenshtein distance counted in words (substitutions, insertions, deletions). */
static size_t word_edit_distance(const char *a, const char *b)
{
    char *ca, *cb, **wa, **wb;
    size_t na = split_words(a, &ca, &wa), nb = split_words(b, &cb, &wb);
    size_t *row = xmalloc((nb + 1) * sizeof *row);
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (strcmp(wa[i - 1], wb[j - 1]) != 0);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[nb];
    free(row);
    free(ca);
    free(cb);
    free(wa);
    free(wb);
    return d;
}

static size_t word_count(const char *text)
{
    char *copy, **words;
    size_t n = split_words(text, &copy, &words);
    free(copy);
    free(words);
    return n;
}

typedef struct reference {
    audio_pcm pcm;
    char *text;
} reference;

static void reference_load(reference *ref, const char *path, int rate)
{
    decode_case(path, rate, false, -1, &ref->pcm);
    ref->text = transcribe(&ref->pcm);
    print_message("reference %s (%lld ms): %s\n", path, (long long)ref->pcm.duration_ms, ref->text);
    assert_true(word_count(ref->text) > 0);
}

static void reference_free(reference *ref)
{
    audio_pcm_free(&ref->pcm);
    free(ref->text);
}

static double dot(const float *a, const float *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)a[i] * b[i];
    return sum;
}

/* Where `b` lies against `a`: the lag (b[i + lag] ~ a[i]) within +-max_lag that best matches up to
 * two seconds from the middle of `a`, and the normalised correlation of the two over their whole
 * overlap at that lag. */
static void align(const audio_pcm *a, const audio_pcm *b, int max_lag, int *lag, double *corr)
{
    size_t window = a->n / 2 < (size_t)a->sample_rate * 2 ? a->n / 2 : (size_t)a->sample_rate * 2, start = a->n / 4;
    assert_true(start >= (size_t)max_lag && start + window + (size_t)max_lag <= b->n);
    double best = -1e300;
    for (int l = -max_lag; l <= max_lag; l++) {
        double c = dot(a->samples + start, b->samples + (ptrdiff_t)start + l, window);
        if (c > best) {
            best = c;
            *lag = l;
        }
    }
    size_t from_a = *lag < 0 ? (size_t)-*lag : 0, from_b = *lag > 0 ? (size_t)*lag : 0;
    size_t n = a->n - from_a < b->n - from_b ? a->n - from_a : b->n - from_b;
    const float *x = a->samples + from_a, *y = b->samples + from_b;
    *corr = dot(x, y, n) / sqrt(dot(x, x, n) * dot(y, y, n));
}

/* Decodes one format and checks its duration, and the delay and correlation of its signal, against
 * the reference's. Returns the word edit distance of its transcript from the reference's, or
 * SIZE_MAX when the file was not made (no AMR encoder). */
static size_t check_format(const char *set, const format_case *fc, const reference *ref, int rate, audio_pcm *keep)
{
    char path[1200];
    media_path(path, sizeof path, set, fc->file);
    if (fc->needs_amr && !file_exists(path)) {
        print_message("%-18s skipped: no AMR encoder was built (opencore-amrnb / vo-amrwbenc)\n", fc->file);
        return SIZE_MAX;
    }
    audio_pcm pcm;
    decode_case(path, rate, fc->raw, -1, &pcm);
    int64_t delta = pcm.duration_ms - ref->pcm.duration_ms;
    int lag = 0, want_lag = fc->delay16 * rate / 16000;
    double corr = 0;
    align(&ref->pcm, &pcm, 1100 * rate / 16000, &lag, &corr);
    char *text = transcribe(&pcm);
    size_t edits = word_edit_distance(ref->text, text);
    print_message("%-18s %6lld ms (%+4lld)  delay %+5d  corr %.4f  %2zu word edits: %s\n", fc->file,
                  (long long)pcm.duration_ms, (long long)delta, lag, corr, edits, text);
    if (delta < fc->min_delta_ms || delta > fc->max_delta_ms)
        fail_msg("%s: %lld ms against %lld ms, outside [%+lld, %+lld]", fc->file, (long long)pcm.duration_ms,
                 (long long)ref->pcm.duration_ms, (long long)fc->min_delta_ms, (long long)fc->max_delta_ms);
    if (fc->min_delta_ms == 0 && fc->max_delta_ms == 0)
        assert_int_equal(pcm.n, ref->pcm.n);
    if (abs(lag - want_lag) > fc->delay_tolerance16 * rate / 16000)
        fail_msg("%s: the signal is %d samples late, not %d", fc->file, lag, want_lag);
    if (corr < fc->min_corr - 1e-9)
        fail_msg("%s: correlation %.4f with the reference, below %.2f", fc->file, corr, fc->min_corr);
    free(text);
    if (keep)
        *keep = pcm;
    else
        audio_pcm_free(&pcm);
    return edits;
}

typedef enum edit_bound { EACH_CASE_BOUND, PRINT_ONLY } edit_bound;

/* Checks every case; transcripts within each case's max_edits unless PRINT_ONLY. Returns the
 * largest distance seen. */
static size_t check_formats(const char *set, const format_case *cases, size_t n, const reference *ref, int rate,
                            edit_bound bound)
{
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        size_t edits = check_format(set, &cases[i], ref, rate, NULL);
        if (edits == SIZE_MAX)
            continue;
        if (bound == EACH_CASE_BOUND && edits > cases[i].max_edits)
            fail_msg("%s/%s: %zu word edits from the reference, more than %zu", set, cases[i].file, edits,
                     cases[i].max_edits);
        if (edits > worst)
            worst = edits;
    }
    return worst;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tests ---- */

/* Lossless formats decode to the wav's very samples (hence, the engine being deterministic, to its
 * transcript: the memo hands the same text back without a second recognition). */
static void test_lossless_formats_match_the_wav(void **state)
{
    (void)state;
    char wav[1200];
    media_path(wav, sizeof wav, "en", "wav_s16.wav");
    reference ref;
    reference_load(&ref, wav, 16000);
    for (size_t i = 0; i < COUNT(LOSSLESS); i++) {
        audio_pcm pcm;
        assert_int_equal(check_format("en", &LOSSLESS[i], &ref, 16000, &pcm), 0);
        assert_int_equal(pcm.n, ref.pcm.n);
        assert_memory_equal(pcm.samples, ref.pcm.samples, pcm.n * sizeof *pcm.samples);
        audio_pcm_free(&pcm);
    }
    reference_free(&ref);
}

static void check_lossy_group(const format_case *cases, size_t n)
{
    char wav[1200];
    media_path(wav, sizeof wav, "en", "wav_s16.wav");
    reference ref;
    reference_load(&ref, wav, 16000);
    size_t worst = check_formats("en", cases, n, &ref, 16000, EACH_CASE_BOUND);
    print_message("largest word edit distance: %zu\n", worst);
    reference_free(&ref);
}

/* Lossy wide-band formats: durations within each codec's tolerance, the signal where the codec
 * puts it and correlated with the wav's, transcripts within the stated bounds. */
static void test_lossy_formats_g711_aac(void **state)
{
    (void)state;
    check_lossy_group(LOSSY_A, COUNT(LOSSY_A));
}

static void test_lossy_formats_mp3_vorbis_opus_wma(void **state)
{
    (void)state;
    check_lossy_group(LOSSY_B, COUNT(LOSSY_B));
}

/* Speech codecs: AMR-WB against the wav; the narrow-band ones against the wav degraded to 8 kHz,
 * decoded at 16 kHz for the engine, and at 8 kHz with the same lengths. */
static void test_speech_codecs(void **state)
{
    (void)state;
    check_lossy_group(WIDEBAND_SPEECH, COUNT(WIDEBAND_SPEECH));
    char wav[1200];
    media_path(wav, sizeof wav, "en", "ref_8k.wav");
    reference ref;
    reference_load(&ref, wav, 16000);
    size_t worst = check_formats("en", NARROW, COUNT(NARROW), &ref, 16000, EACH_CASE_BOUND);
    print_message("largest word edit distance: %zu\n", worst);
    audio_pcm ref8;
    decode_case(wav, 8000, false, -1, &ref8);
    assert_int_equal(ref8.n, 88000);
    for (size_t i = 0; i < COUNT(NARROW); i++) {
        char path[1200];
        media_path(path, sizeof path, "en", NARROW[i].file);
        if (!file_exists(path))
            continue;
        audio_pcm pcm;
        decode_case(path, 8000, false, -1, &pcm);
        assert_in_range(pcm.duration_ms, ref8.duration_ms + NARROW[i].min_delta_ms,
                        ref8.duration_ms + NARROW[i].max_delta_ms);
        audio_pcm_free(&pcm);
    }
    audio_pcm_free(&ref8);
    reference_free(&ref);
}

static void check_channel_missing(const char *path, int channel, int has)
{
    audio_params p = audio_default_params();
    p.channel = channel;
    audio_pcm pcm;
    char err[512];
    assert_int_equal(decode_fd(path, &p, &pcm, err, sizeof err), AUDIO_CHANNEL_MISSING);
    assert_string_equal(audio_rc_code(AUDIO_CHANNEL_MISSING), "AudioChannelMissing");
    char says[64];
    snprintf(says, sizeof says, "has %d channel", has);
    assert_non_null(strstr(err, says));
    assert_null(pcm.samples);
}

/* Stereo with jfk on the left and another speaker on the right: as PCM each channel is exactly its
 * source, samples and transcript; as AAC each channel's transcript stays within EDITS_STEREO_AAC of
 * its source's and far from the other channel's. */
static void test_stereo_channels_are_recognised_on_their_own(void **state)
{
    (void)state;
    char left[1200], right[1200], wav[1200], m4a[1200];
    media_path(left, sizeof left, "en", "wav_s16.wav");
    media_path(right, sizeof right, "", "right_alone.wav");
    media_path(wav, sizeof wav, "", "stereo_jfk_left.wav");
    media_path(m4a, sizeof m4a, "", "stereo_jfk_left.m4a");
    reference refs[2];
    reference_load(&refs[0], left, 16000);
    reference_load(&refs[1], right, 16000);
    assert_true(word_edit_distance(refs[0].text, refs[1].text) > 10);

    audio_reader *r;
    char err[512];
    audio_params p = audio_default_params();
    assert_int_equal(audio_open(wav, &p, &r, err, sizeof err), AUDIO_OK);
    assert_int_equal(audio_reader_channels(r), 2);
    audio_close(r);

    for (int ch = 0; ch < 2; ch++) {
        audio_pcm pcm;
        decode_case(wav, 16000, false, ch, &pcm);
        assert_int_equal(pcm.n, refs[ch].pcm.n);
        assert_memory_equal(pcm.samples, refs[ch].pcm.samples, pcm.n * sizeof *pcm.samples);
        char *text = transcribe(&pcm);
        assert_string_equal(text, refs[ch].text);
        free(text);
        audio_pcm_free(&pcm);

        decode_case(m4a, 16000, false, ch, &pcm);
        text = transcribe(&pcm);
        size_t own = word_edit_distance(refs[ch].text, text), other = word_edit_distance(refs[1 - ch].text, text);
        print_message("m4a channel %d: %zu word edits from its source, %zu from the other: %s\n", ch, own, other, text);
        assert_true(own <= EDITS_STEREO_AAC);
        assert_true(other > 10);
        free(text);
        audio_pcm_free(&pcm);
    }
    check_channel_missing(wav, 2, 2);
    check_channel_missing(left, 1, 1);
    reference_free(&refs[0]);
    reference_free(&refs[1]);
}

static void test_lossless_and_stereo(void **state)
{
    test_lossless_formats_match_the_wav(state);
    test_stereo_channels_are_recognised_on_their_own(state);
}

/* The Mandarin AISHELL clip in every format, decoded at the Mandarin model's 8 kHz: durations,
 * delays and correlations as for English; lossless transcripts identical to the wav's. The old
 * 8 kHz tdt_sc_8k model's hypothesis for the wav itself shares no character with the reference
 * text, and lossy versions move 1 to 8 of its 10 words, so their distances are printed, not
 * bounded. */
static void test_mandarin_clip_in_every_format(void **state)
{
    (void)state;
    char wav[1200];
    media_path(wav, sizeof wav, "zh", "wav_s16.wav");
    int rate = engine_sample_rate(g_engine);
    reference ref;
    reference_load(&ref, wav, rate);
    for (size_t i = 0; i < COUNT(LOSSLESS); i++)
        assert_int_equal(check_format("zh", &LOSSLESS[i], &ref, rate, NULL), 0);
    const format_case *groups[] = {LOSSY_A, LOSSY_B, WIDEBAND_SPEECH};
    size_t sizes[] = {COUNT(LOSSY_A), COUNT(LOSSY_B), COUNT(WIDEBAND_SPEECH)};
    for (int g = 0; g < 3; g++)
        check_formats("zh", groups[g], sizes[g], &ref, rate, PRINT_ONLY);
    reference_free(&ref);

    media_path(wav, sizeof wav, "zh", "ref_8k.wav");
    reference_load(&ref, wav, rate);
    check_formats("zh", NARROW, COUNT(NARROW), &ref, rate, PRINT_ONLY);
    reference_free(&ref);
}

/* ---- setup ---- */

static char g_zh_hmm[1024], g_zh_lm[1024], g_zh_dict[1024];

static void mandarin_model_paths(void)
{
    const char *shared = getenv("CICADA_SHARED");
    snprintf(g_zh_hmm, sizeof g_zh_hmm, "%s/models/sphinx-zh/tdt_sc_8k", shared ? shared : "");
    snprintf(g_zh_lm, sizeof g_zh_lm, "%s/models/sphinx-zh/gigatdt.5000.lm.bin", shared ? shared : "");
    snprintf(g_zh_dict, sizeof g_zh_dict, "%s/models/sphinx-zh/mandarin_notone.dic", shared ? shared : "");
}

static engine *mandarin_engine(char *err, size_t errlen)
{
    const char *hmm = g_zh_hmm, *lm = g_zh_lm, *dict = g_zh_dict;
    sphinx_params p = sphinx_default_params();
    p.hmm = hmm;
    p.lm = lm;
    p.dict = dict;
    p.sample_rate = 8000;
    p.join_without_spaces = true;
    return engine_sphinx_new(&p, err, errlen);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    bool mandarin = strcmp(g_group, "mandarin") == 0;
    g_engine = mandarin ? mandarin_engine(err, sizeof err) : engine_sphinx_new(NULL, err, sizeof err);
    if (!g_engine) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nmemo; i++)
        free(g_memo[i].text);
    engine_destroy(g_engine);
    return 0;
}

/* The group's test, or NULL for an unknown group. */
static const struct CMUnitTest *group_test(const char *group)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossless_and_stereo),
        cmocka_unit_test(test_lossy_formats_g711_aac),
        cmocka_unit_test(test_lossy_formats_mp3_vorbis_opus_wma),
        cmocka_unit_test(test_speech_codecs),
        cmocka_unit_test(test_mandarin_clip_in_every_format),
    };
    static const char *const names[] = {"lossless", "lossy_a", "lossy_b", "speech", "mandarin"};
    for (size_t i = 0; i < COUNT(names); i++)
        if (strcmp(group, names[i]) == 0)
            return &tests[i];
    return NULL;
}

int main(int argc, char **argv)
{
    snprintf(g_group, sizeof g_group, "%s", argc > 1 ? argv[1] : "lossless");
    const struct CMUnitTest *test = group_test(g_group);
    if (!test) {
        fprintf(stderr, "unknown group %s\n", g_group);
        return 2;
    }
    const char *media = getenv("CICADA_AUDIO_MEDIA");
    snprintf(g_media, sizeof g_media, "%s", media ? media : "");
    char stamp[1200];
    media_path(stamp, sizeof stamp, "", ".stamp");
    if (!media || !file_exists(stamp)) {
        printf("skipping: no generated media in CICADA_AUDIO_MEDIA=%s (the audio_media fixture needs ffmpeg and "
               "the shared test audio)\n", g_media);
        return 77;
    }
    sphinx_params p = sphinx_default_params();
    mandarin_model_paths();
    const char *model = strcmp(g_group, "mandarin") == 0 ? g_zh_hmm : p.hmm;
    if (!file_exists(model)) {
        printf("skipping: the pocketsphinx model %s is absent\n", model);
        return 77;
    }
    return _cmocka_run_group_tests(g_group, test, 1, setup, teardown);
}
