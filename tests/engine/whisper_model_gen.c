/* whisper_model_gen.c — writes complete whisper.cpp ggml model files with pseudo-random weights from
 * the weight-less headers in shared/models/whisper-vocab (magic, hparams, mel filters, vocabulary).
 * Tests and benchmarks need real models to load and decode real audio, but the official weights are
 * far too large to ship: a generated model keeps the real vocabulary and mel filters (so tokenising,
 * language tokens and the audio front end are exactly whisper's), chooses its own (tiny by default)
 * dimensions, and fills every tensor whisper_model_load expects with seeded values. Same arguments
 * give a byte-identical file: an integer PRNG, plain float arithmetic and sqrtf (exactly rounded).
 * The decoder's output layer gets a designed prior (see "the decoder's output priors") so that
 * decoding ends windows, places timestamps and passes whisper's fallback checks quickly.
 *
 * Usage: whisper_model_gen VOCAB_HEADER OUT [--n-audio-state N] [--n-audio-head N]
 *        [--n-audio-layer N] [--n-text-state N] [--n-text-head N] [--n-text-layer N]
 *        [--ftype f32|f16] [--seed S] [--real-dims]
 * Exit status: 0 written, 1 bad header or I/O failure, 2 bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGML_MAGIC 0x67676d6cu
#define GGML_TYPE_F32 0
#define GGML_TYPE_F16 1
#define MAX_NAME 96
#define MAX_STATE 8192

/* ---- hyper-parameters, in file order ---- */

typedef struct hparams {
    int32_t n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int32_t n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype;
} hparams;
#define N_HPARAMS 11

static void hparams_to_array(const hparams *h, int32_t a[N_HPARAMS])
{
    const int32_t v[N_HPARAMS] = {h->n_vocab, h->n_audio_ctx, h->n_audio_state, h->n_audio_head,
                                  h->n_audio_layer, h->n_text_ctx, h->n_text_state, h->n_text_head,
                                  h->n_text_layer, h->n_mels, h->ftype};
    memcpy(a, v, sizeof v);
}

static hparams hparams_from_array(const int32_t a[N_HPARAMS])
{
    return (hparams){a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]};
}

/* ---- command line ---- */

typedef struct gen_options {
    const char *header_path, *out_path;
    int32_t audio_state, audio_head, audio_layer;   /* 0 = default or header's */
    int32_t text_state, text_head, text_layer;
    int ftype;                                      /* GGML_TYPE_F32 or GGML_TYPE_F16 */
    uint64_t seed;
    bool real_dims;
} gen_options;

/* Tiny defaults: an 11 s file decodes in well under a second on two cores. Not 2 text layers:
 * whisper.cpp takes such a model for a distil-whisper release and decodes without timestamps. */
enum { DEFAULT_STATE = 64, DEFAULT_HEAD = 2, DEFAULT_AUDIO_LAYER = 2, DEFAULT_TEXT_LAYER = 3 };

static void usage(FILE *f)
{
    fprintf(f, "usage: whisper_model_gen VOCAB_HEADER OUT [--n-audio-state N] [--n-audio-head N]\n"
               "         [--n-audio-layer N] [--n-text-state N] [--n-text-head N] [--n-text-layer N]\n"
               "         [--ftype f32|f16] [--seed S] [--real-dims]\n"
               "Writes a whisper.cpp ggml model with the header's vocabulary and mel filters and\n"
               "seeded pseudo-random weights. Defaults: state %d, heads %d, audio layers %d, text\n"
               "layers %d, f16, seed 1; --real-dims keeps the header's dimensions (options given\n"
               "still override them).\n",
            DEFAULT_STATE, DEFAULT_HEAD, DEFAULT_AUDIO_LAYER, DEFAULT_TEXT_LAYER);
}

static bool parse_positive(const char *s, int32_t *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > 1 << 20) return false;
    *out = (int32_t)v;
    return true;
}

static bool parse_seed(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') return false;
    *out = (uint64_t)v;
    return true;
}

static int32_t *dim_option(gen_options *o, const char *name)
{
    static const char *const names[] = {"--n-audio-state", "--n-audio-head", "--n-audio-layer",
                                        "--n-text-state", "--n-text-head", "--n-text-layer"};
    int32_t *const fields[] = {&o->audio_state, &o->audio_head, &o->audio_layer,
                               &o->text_state, &o->text_head, &o->text_layer};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) return fields[i];
    return NULL;
}

/* Returns false (after printing why) on a bad command line. */
static bool parse_args(int argc, char **argv, gen_options *o)
{
    *o = (gen_options){.ftype = GGML_TYPE_F16, .seed = 1};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int32_t *dim = dim_option(o, a);
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--real-dims") == 0) {
            o->real_dims = true;
        } else if (dim) {
            if (!has_value || !parse_positive(argv[++i], dim)) {
                fprintf(stderr, "whisper_model_gen: %s needs a positive integer\n", a);
                return false;
            }
        } else if (strcmp(a, "--ftype") == 0) {
            const char *v = has_value ? argv[++i] : "";
            if (strcmp(v, "f32") == 0) o->ftype = GGML_TYPE_F32;
            else if (strcmp(v, "f16") == 0) o->ftype = GGML_TYPE_F16;
            else {
                fprintf(stderr, "whisper_model_gen: --ftype must be f32 or f16\n");
                return false;
            }
        } else if (strcmp(a, "--seed") == 0) {
            if (!has_value || !parse_seed(argv[++i], &o->seed)) {
                fprintf(stderr, "whisper_model_gen: --seed needs a non-negative integer\n");
                return false;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "whisper_model_gen: unknown option %s\n", a);
            return false;
        } else if (npos == 0) {
            o->header_path = a, npos++;
        } else if (npos == 1) {
            o->out_path = a, npos++;
        } else {
            fprintf(stderr, "whisper_model_gen: unexpected argument %s\n", a);
            return false;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return false;
    }
    return true;
}

/* The header's dimensions, replaced by the tiny defaults unless --real-dims, then by explicit options. */
static bool choose_dims(const gen_options *o, hparams *h)
{
    if (!o->real_dims) {
        h->n_audio_state = h->n_text_state = DEFAULT_STATE;
        h->n_audio_head = h->n_text_head = DEFAULT_HEAD;
        h->n_audio_layer = DEFAULT_AUDIO_LAYER;
        h->n_text_layer = DEFAULT_TEXT_LAYER;
    }
    if (o->audio_state) h->n_audio_state = o->audio_state;
    if (o->audio_head) h->n_audio_head = o->audio_head;
    if (o->audio_layer) h->n_audio_layer = o->audio_layer;
    if (o->text_state) h->n_text_state = o->text_state;
    if (o->text_head) h->n_text_head = o->text_head;
    if (o->text_layer) h->n_text_layer = o->text_layer;
    h->ftype = o->ftype;
    if (h->n_audio_state != h->n_text_state) {
        fprintf(stderr, "whisper_model_gen: whisper needs n_audio_state == n_text_state (%d != %d)\n",
                h->n_audio_state, h->n_text_state);
        return false;
    }
    if (h->n_audio_state % h->n_audio_head || h->n_text_state % h->n_text_head) {
        fprintf(stderr, "whisper_model_gen: each state size must be a multiple of its head count\n");
        return false;
    }
    if (h->n_audio_state > MAX_STATE) {
        fprintf(stderr, "whisper_model_gen: state size %d is above %d\n", h->n_audio_state, MAX_STATE);
        return false;
    }
    if (h->n_text_layer == 2 && h->n_vocab != 51866)
        fprintf(stderr, "whisper_model_gen: warning: whisper.cpp decodes a 2-text-layer model without "
                        "timestamps (it takes it for distil-whisper)\n");
    return true;
}

/* ---- reading the header ---- */

/* The header file as read: hparams plus the raw bytes of mel filters and vocabulary, kept verbatim. */
typedef struct vocab_header {
    hparams hp;
    unsigned char *tail;       /* mel filters + vocabulary, exactly as in the file */
    size_t tail_len;
} vocab_header;

static bool read_exact(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n;
}

/* Skips `n` bytes of `f` while appending them to the growing copy in *buf. */
static bool copy_bytes(FILE *f, size_t n, unsigned char **buf, size_t *len, size_t *cap)
{
    if (*len + n > *cap) {
        size_t want = (*len + n) * 2;
        unsigned char *p = realloc(*buf, want);
        if (!p) return false;
        *buf = p, *cap = want;
    }
    if (!read_exact(f, *buf + *len, n)) return false;
    *len += n;
    return true;
}

static bool read_i32_copy(FILE *f, int32_t *v, unsigned char **buf, size_t *len, size_t *cap)
{
    if (!copy_bytes(f, sizeof *v, buf, len, cap)) return false;
    memcpy(v, *buf + *len - sizeof *v, sizeof *v);
    return true;
}

/* Mel filters (n_mel, n_fft, floats) then the vocabulary (count, then length-prefixed tokens). */
static bool read_tail(FILE *f, vocab_header *vh)
{
    size_t cap = 0;
    int32_t n_mel, n_fft, n_tokens;
    if (!read_i32_copy(f, &n_mel, &vh->tail, &vh->tail_len, &cap) ||
        !read_i32_copy(f, &n_fft, &vh->tail, &vh->tail_len, &cap) || n_mel <= 0 || n_fft <= 0 ||
        n_mel > 512 || n_fft > 4096 ||
        !copy_bytes(f, (size_t)n_mel * (size_t)n_fft * sizeof(float), &vh->tail, &vh->tail_len, &cap))
        return false;
    if (!read_i32_copy(f, &n_tokens, &vh->tail, &vh->tail_len, &cap) || n_tokens < 0 ||
        n_tokens > vh->hp.n_vocab)
        return false;
    for (int32_t i = 0; i < n_tokens; i++) {
        int32_t len;
        if (!read_i32_copy(f, &len, &vh->tail, &vh->tail_len, &cap) || len < 0 || len > 4096 ||
            !copy_bytes(f, (size_t)len, &vh->tail, &vh->tail_len, &cap))
            return false;
    }
    return true;
}

static bool read_vocab_header(const char *path, vocab_header *vh)
{
    *vh = (vocab_header){0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "whisper_model_gen: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    uint32_t magic = 0;
    int32_t a[N_HPARAMS];
    bool ok = read_exact(f, &magic, sizeof magic) && magic == GGML_MAGIC && read_exact(f, a, sizeof a);
    if (ok) {
        vh->hp = hparams_from_array(a);
        ok = vh->hp.n_vocab > 0 && vh->hp.n_audio_ctx > 0 && vh->hp.n_text_ctx > 0 &&
             vh->hp.n_mels > 0 && read_tail(f, vh);
    }
    bool at_end = ok && fgetc(f) == EOF;
    fclose(f);
    if (!ok || !at_end) {
        fprintf(stderr, "whisper_model_gen: %s is not a weight-less whisper ggml header%s\n", path,
                ok ? " (it has data after the vocabulary)" : "");
        free(vh->tail);
        vh->tail = NULL;
        return false;
    }
    return true;
}

/* ---- deterministic values ---- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a: each tensor's stream depends only on the seed and its own name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* Uniform in [0,1) from the top 24 bits: exact in a float. */
static float uniform01(uint64_t *state)
{
    return (float)(splitmix64(state) >> 40) * (1.0f / 16777216.0f);
}

/* Irwin-Hall approximation of N(0,1): sum of four uniforms, centred and scaled to unit variance. */
static float normalish(uint64_t *state)
{
    float s = 0.0f;
    for (int i = 0; i < 4; i++)   /* one statement per draw: C leaves the order of calls in a sum open */
        s += uniform01(state);
    return (s - 2.0f) * 1.7320508f;
}

/* IEEE binary16, round to nearest even; magnitudes here are far below the f16 range. */
static uint16_t float_to_half(float value)
{
    uint32_t x;
    memcpy(&x, &value, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = (int32_t)((x >> 23) & 0xFF) - 127 + 15;
    uint32_t mant = x & 0x7FFFFFu;
    if (exp >= 31) return (uint16_t)(sign | 0x7C00u);               /* overflow: infinity */
    if (exp <= 0) {                                                 /* subnormal or zero */
        if (exp < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (mant >> 13), rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1))) half++;  /* may carry into the exponent */
    return (uint16_t)half;
}

/* Cross-attention queries are scaled up so that each decoding step attends to a few audio frames
 * rather than to their average: the text then depends on the audio, not only on its position. */
#define CROSS_SHARPNESS 4.0f
/* The decoder's positional embedding is strong and its blocks' residual branches shrink with depth
 * (1/sqrt(layers)), so that at any depth the decoder's state moves at each step. */
#define DEC_POS_SCALE 2.0f

/* How a tensor's values are drawn: centre + scale * N(0,1)-ish. */
typedef struct value_dist {
    float centre, scale;
} value_dist;

static bool is_decoder_branch_output(const char *name)
{
    return strncmp(name, "decoder.blocks.", 15) == 0 &&
           (strstr(name, "attn.out.weight") || strstr(name, "mlp.2.weight"));
}

/* Layer-norm gains near 1, everything else small and centred: activations stay finite and the
 * decoder's output varies with the audio. Weights scale with 1/sqrt(fan-in) like a trained net
 * (sqrtf is correctly rounded by IEEE 754, so this stays bit-reproducible). */
static value_dist dist_for(const char *name, int64_t fan_in, int32_t n_text_layer)
{
    bool is_bias = strstr(name, ".bias") != NULL;
    bool is_norm = strstr(name, "ln.") != NULL || strstr(name, "ln_post.") != NULL;
    if (is_norm) return is_bias ? (value_dist){0.0f, 0.02f} : (value_dist){1.0f, 0.05f};
    if (is_bias) return (value_dist){0.0f, 0.02f};
    if (strstr(name, "decoder.positional_embedding")) return (value_dist){0.0f, DEC_POS_SCALE};
    if (strstr(name, "positional_embedding")) return (value_dist){0.0f, 0.5f};
    float scale = 1.0f / sqrtf((float)fan_in);
    if (strstr(name, "cross_attn.query.weight")) scale *= CROSS_SHARPNESS;
    if (is_decoder_branch_output(name)) scale /= sqrtf((float)n_text_layer);
    return (value_dist){0.0f, scale};
}

/* ---- the decoder's output priors ----
 * With weights that are random all through, the decoder rarely ends a window: it repeats tokens
 * until whisper's length limit, fails its entropy and log-probability checks and retries at five
 * higher temperatures, which takes minutes even for a tiny model. So the output layer gets a
 * designed prior. Logits are h . E[t] (E = the token embedding, h = the final layer norm's output):
 *  - the final norm's gain is OUT_GAIN and E's rows are small by the same factor: E is also the
 *    decoder's input embedding, and a large one would make h point at the previous token (tied
 *    embeddings), which locks the decoder into repeating it;
 *  - coordinate 0 of h is a constant (gain 0, bias PRIOR_GAIN), so PRIOR_GAIN * E[t][0] is a
 *    per-token logit offset; the rest of each row is random with a per-class spread:
 *  - text tokens: offset 0, spread TEXT_SPREAD: the best one is clearly ahead, so windows pass
 *    whisper's log-probability check;
 *  - end-of-text: a few spreads below the best text token: a window ends after some text;
 *  - timestamps <|k*0.02|>: highest at <|1.00|> (a window's first timestamp is at most 1 s; a
 *    window that ends right after it still moves on by about a second), then falling slowly, so
 *    that each timestamp advances a little past the previous one (whisper only allows increasing
 *    ones) and an 11 s file gives a handful of segments.
 * Tuned on the tiny-dimension and real base-dimension models, several seeds, 11 s and 51 s of
 * speech: no temperature fallbacks, a few hundred decoder steps. The text itself stays random. */
#define OUT_GAIN 8.0f
#define PRIOR_GAIN 256.0f
#define TEXT_SPREAD 10.0f
#define EOT_OFFSET 38.0f
#define EOT_SPREAD 2.0f
#define TS_OFFSET 34.0f
#define TS_SLOPE 0.03f          /* per timestamp step (20 ms) after the peak */
#define TS_SPREAD 6.0f
#define TS_PEAK 50               /* <|1.00|>, whisper's latest first timestamp */
#define TS_RAMP 0.5f

typedef struct vocab_layout {
    int32_t n_vocab, eot, beg;   /* beg = <|0.00|>, the first timestamp token */
} vocab_layout;

/* whisper's own special-token arithmetic: 1501 timestamps end the vocabulary; EOT follows the
 * 50256 BPE tokens (one later in multilingual vocabularies). */
static vocab_layout layout_of(const hparams *h)
{
    bool multilingual = h->n_vocab >= 51865;
    return (vocab_layout){h->n_vocab, multilingual ? 50257 : 50256, h->n_vocab - 1501};
}

static value_dist token_row_dist(const vocab_layout *v, int32_t t)
{
    if (t == v->eot) return (value_dist){EOT_OFFSET, EOT_SPREAD};
    if (t >= v->beg && v->beg > v->eot) {
        int32_t k = t - v->beg;
        float below = k < TS_PEAK ? TS_RAMP * (float)(TS_PEAK - k) : TS_SLOPE * (float)(k - TS_PEAK);
        return (value_dist){TS_OFFSET - below, TS_SPREAD};
    }
    return (value_dist){0.0f, TEXT_SPREAD};
}

/* ---- writing tensors ---- */

typedef struct writer {
    FILE *f;
    uint64_t seed;
    int wtype;                  /* type of the big matrices (and the convolutions) */
    vocab_layout vocab;
    int64_t fan_in;             /* of the tensor being written */
    int32_t n_text_layer;
    bool ok;
    int64_t ntensors, nbytes;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->ok && fwrite(p, 1, n, w->f) != n) w->ok = false;
    w->nbytes += (int64_t)n;
}

static void put_i32(writer *w, int32_t v)
{
    put(w, &v, sizeof v);
}

/* Fills one row (ne[0] consecutive values) of a tensor, drawing from the tensor's own stream. */
typedef void (*row_filler)(const writer *w, const char *name, int64_t row, float *dst, int32_t n,
                           uint64_t *state);

static void fill_from_dist(value_dist d, float *dst, int32_t n, uint64_t *state)
{
    for (int32_t i = 0; i < n; i++) dst[i] = d.centre + d.scale * normalish(state);
}

/* Matrices scale with 1/sqrt(fan-in): the row length, or 3*channels for the convolutions (their
 * rows are 3 taps, so the fan-in is passed through w->fan_in). */
static void fill_default(const writer *w, const char *name, int64_t row, float *dst, int32_t n,
                         uint64_t *state)
{
    (void)row;
    fill_from_dist(dist_for(name, w->fan_in, w->n_text_layer), dst, n, state);
}

/* The token embedding: coordinate 0 holds the token's logit offset, the rest its random part. */
static void fill_token_row(const writer *w, const char *name, int64_t row, float *dst, int32_t n,
                           uint64_t *state)
{
    (void)name;
    value_dist d = token_row_dist(&w->vocab, (int32_t)row);
    dst[0] = d.centre / PRIOR_GAIN;
    fill_from_dist((value_dist){0.0f, d.scale / (OUT_GAIN * sqrtf((float)(n - 1)))}, dst + 1, n - 1, state);
}

/* The final layer norm: gain OUT_GAIN, and coordinate 0 the constant the offsets multiply. */
static void fill_final_norm(const writer *w, const char *name, int64_t row, float *dst, int32_t n,
                            uint64_t *state)
{
    fill_default(w, name, row, dst, n, state);
    bool is_bias = strstr(name, ".bias") != NULL;
    if (!is_bias)
        for (int32_t i = 1; i < n; i++) dst[i] *= OUT_GAIN;
    dst[0] = is_bias ? PRIOR_GAIN : 0.0f;
}

/* One tensor record: n_dims, name length, type, ne[0..n_dims), name, then the values row by row
 * (ne[0] varies fastest), converted to the record's type. */
static void put_tensor_with(writer *w, const char *name, int type, int n_dims, const int32_t ne[3],
                            row_filler fill)
{
    int64_t rows = 1;
    for (int i = 1; i < n_dims; i++) rows *= ne[i];
    put_i32(w, n_dims);
    put_i32(w, (int32_t)strlen(name));
    put_i32(w, type);
    for (int i = 0; i < n_dims; i++) put_i32(w, ne[i]);
    put(w, name, strlen(name));
    w->fan_in = n_dims == 3 ? (int64_t)ne[0] * ne[1] : ne[0];
    float *f32 = malloc((size_t)ne[0] * sizeof *f32);
    uint16_t *f16 = malloc((size_t)ne[0] * sizeof *f16);
    if (!f32 || !f16) w->ok = false;
    uint64_t state = w->seed ^ name_hash(name);
    for (int64_t r = 0; r < rows && w->ok; r++) {
        fill(w, name, r, f32, ne[0], &state);
        if (type == GGML_TYPE_F16) {
            for (int32_t i = 0; i < ne[0]; i++) f16[i] = float_to_half(f32[i]);
            put(w, f16, (size_t)ne[0] * sizeof f16[0]);
        } else {
            put(w, f32, (size_t)ne[0] * sizeof f32[0]);
        }
    }
    free(f32);
    free(f16);
    w->ntensors++;
}

static void put_tensor(writer *w, const char *name, int type, int n_dims, const int32_t ne[3])
{
    put_tensor_with(w, name, type, n_dims, ne, fill_default);
}

static void put_f32(writer *w, const char *name, int32_t ne0, int32_t ne1)
{
    const int32_t ne[3] = {ne0, ne1, 1};
    put_tensor(w, name, GGML_TYPE_F32, ne1 > 0 ? 2 : 1, ne);
}

static void put_matrix(writer *w, const char *name, int32_t ne0, int32_t ne1)
{
    const int32_t ne[3] = {ne0, ne1, 1};
    put_tensor(w, name, w->wtype, 2, ne);
}

static void put_conv(writer *w, const char *name, int32_t in_channels, int32_t out_channels)
{
    const int32_t ne[3] = {3, in_channels, out_channels};
    put_tensor(w, name, w->wtype, 3, ne);
}

static const char *layer_name(char buf[MAX_NAME], const char *prefix, int layer, const char *suffix)
{
    snprintf(buf, MAX_NAME, "%s.blocks.%d.%s", prefix, layer, suffix);
    return buf;
}

/* Self- or cross-attention of one block: attn_ln, query (biased), key (unbiased), value, out. */
static void put_attention(writer *w, const char *prefix, int layer, const char *attn, int32_t n)
{
    char name[MAX_NAME], part[64];
    static const char *const biased[] = {"query", "value", "out"};
    snprintf(part, sizeof part, "%s_ln.weight", attn);
    put_f32(w, layer_name(name, prefix, layer, part), n, 0);
    snprintf(part, sizeof part, "%s_ln.bias", attn);
    put_f32(w, layer_name(name, prefix, layer, part), n, 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(part, sizeof part, "%s.%s.weight", attn, biased[i]);
        put_matrix(w, layer_name(name, prefix, layer, part), n, n);
        snprintf(part, sizeof part, "%s.%s.bias", attn, biased[i]);
        put_f32(w, layer_name(name, prefix, layer, part), n, 0);
        if (i == 0) {
            snprintf(part, sizeof part, "%s.key.weight", attn);
            put_matrix(w, layer_name(name, prefix, layer, part), n, n);
        }
    }
}

static void put_mlp(writer *w, const char *prefix, int layer, int32_t n)
{
    char name[MAX_NAME];
    put_f32(w, layer_name(name, prefix, layer, "mlp_ln.weight"), n, 0);
    put_f32(w, layer_name(name, prefix, layer, "mlp_ln.bias"), n, 0);
    put_matrix(w, layer_name(name, prefix, layer, "mlp.0.weight"), n, 4 * n);
    put_f32(w, layer_name(name, prefix, layer, "mlp.0.bias"), 4 * n, 0);
    put_matrix(w, layer_name(name, prefix, layer, "mlp.2.weight"), 4 * n, n);
    put_f32(w, layer_name(name, prefix, layer, "mlp.2.bias"), n, 0);
}

static void put_encoder(writer *w, const hparams *h)
{
    int32_t n = h->n_audio_state;
    put_f32(w, "encoder.positional_embedding", n, h->n_audio_ctx);
    put_conv(w, "encoder.conv1.weight", h->n_mels, n);
    put_f32(w, "encoder.conv1.bias", 1, n);
    put_conv(w, "encoder.conv2.weight", n, n);
    put_f32(w, "encoder.conv2.bias", 1, n);
    for (int i = 0; i < h->n_audio_layer; i++) {
        put_attention(w, "encoder", i, "attn", n);
        put_mlp(w, "encoder", i, n);
    }
    put_f32(w, "encoder.ln_post.weight", n, 0);
    put_f32(w, "encoder.ln_post.bias", n, 0);
}

static void put_decoder(writer *w, const hparams *h)
{
    int32_t n = h->n_text_state;
    put_f32(w, "decoder.positional_embedding", n, h->n_text_ctx);
    const int32_t te[3] = {n, h->n_vocab, 1};
    put_tensor_with(w, "decoder.token_embedding.weight", w->wtype, 2, te, fill_token_row);
    for (int i = 0; i < h->n_text_layer; i++) {
        put_attention(w, "decoder", i, "attn", n);
        put_attention(w, "decoder", i, "cross_attn", n);
        put_mlp(w, "decoder", i, n);
    }
    const int32_t ln[3] = {n, 1, 1};
    put_tensor_with(w, "decoder.ln.weight", GGML_TYPE_F32, 1, ln, fill_final_norm);
    put_tensor_with(w, "decoder.ln.bias", GGML_TYPE_F32, 1, ln, fill_final_norm);
}

/* Writes the whole model to `path` via a temporary file renamed into place, so a failed or
 * interrupted run never leaves a truncated model behind. */
static bool write_model(const char *path, const vocab_header *vh, const hparams *h, uint64_t seed)
{
    size_t tmplen = strlen(path) + 16;
    char *tmp = malloc(tmplen);
    if (!tmp) return false;
    snprintf(tmp, tmplen, "%s.tmp%ld", path, (long)getpid());
    writer w = {.f = fopen(tmp, "wb"), .seed = seed, .wtype = h->ftype, .vocab = layout_of(h),
                .n_text_layer = h->n_text_layer, .ok = true};
    if (!w.f) {
        fprintf(stderr, "whisper_model_gen: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    int32_t a[N_HPARAMS];
    hparams_to_array(h, a);
    uint32_t magic = GGML_MAGIC;
    put(&w, &magic, sizeof magic);
    put(&w, a, sizeof a);
    put(&w, vh->tail, vh->tail_len);
    put_encoder(&w, h);
    put_decoder(&w, h);
    bool ok = w.ok && fclose(w.f) == 0;
    if (ok && rename(tmp, path) != 0) ok = false;
    if (!ok) {
        fprintf(stderr, "whisper_model_gen: writing %s failed: %s\n", path, strerror(errno));
        remove(tmp);
    } else {
        fprintf(stderr, "whisper_model_gen: %s: state %d, heads %d/%d, layers %d/%d, %s, %" PRId64
                        " tensors, %" PRId64 " bytes\n",
                path, h->n_audio_state, h->n_audio_head, h->n_text_head, h->n_audio_layer,
                h->n_text_layer, h->ftype == GGML_TYPE_F16 ? "f16" : "f32", w.ntensors, w.nbytes);
    }
    free(tmp);
    return ok;
}

int main(int argc, char **argv)
{
    gen_options o;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (!parse_args(argc, argv, &o)) return 2;
    vocab_header vh;
    if (!read_vocab_header(o.header_path, &vh)) return 1;
    hparams h = vh.hp;
    bool ok = choose_dims(&o, &h) && write_model(o.out_path, &vh, &h, o.seed);
    free(vh.tail);
    return ok ? 0 : 1;
}
