/* whisper_modelfile.c — walks a whisper.cpp ggml model file (whisper or Silero VAD) field by field
 * before whisper.cpp loads it, so that a truncated, corrupt or foreign file becomes an error
 * message instead of a crash. The layout (magic, hyper-parameters, mel filters, vocabulary, then
 * tensor records "n_dims, name length, type, dims, name, data") and the tensor set whisper asks
 * for follow whisper.cpp's loaders (src/whisper.cpp, whisper_model_load and
 * whisper_vad_init_with_params): every range checked here guards one of their unchecked reads
 * or assertions. */
#include "engine/whisper_modelfile.h"

#include "util/util.h"

#include <ggml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GGML_MAGIC 0x67676d6cu         /* "ggml", little-endian */
#define WHISPER_N_AUDIO_CTX 1500       /* 30 s of mel frames after the stride-2 convolution */
#define WHISPER_N_FFT_BINS 201         /* 1 + 400/2 */
#define N_VOCAB_EN 51864               /* tiny.en ... medium.en */
#define N_VOCAB_V3 51866               /* large-v3: one more language */
#define MAX_TOKEN_BYTES 1024
#define MAX_NAME 256
#define QNT_VERSION_FACTOR 1000

/* ---- reading with bounds ---- */

typedef struct reader {
    FILE *f;
    int64_t size, pos;
    char *err;
    size_t errlen;
} reader;

static bool rd_open(reader *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->err = err;
    r->errlen = errlen;
    struct stat st;
    if (!path || !path[0]) {
        err_printf(err, errlen, "no file given");
        return false;
    }
    if (stat(path, &st) != 0) {
        err_printf(err, errlen, "the file does not exist");
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        err_printf(err, errlen, "not a regular file");
        return false;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        err_printf(err, errlen, "cannot open the file");
        return false;
    }
    r->size = (int64_t)st.st_size;
    return true;
}

static void rd_close(reader *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

static bool rd_bytes(reader *r, void *out, size_t n, const char *what)
{
    if ((int64_t)n > r->size - r->pos || fread(out, 1, n, r->f) != n) {
        err_printf(r->err, r->errlen, "truncated: the file (%lld bytes) ends inside %s at byte %lld",
                   (long long)r->size, what, (long long)r->pos);
        return false;
    }
    r->pos += (int64_t)n;
    return true;
}

static bool rd_i32(reader *r, int32_t *v, const char *what)
{
    return rd_bytes(r, v, sizeof *v, what);
}

static bool rd_skip(reader *r, int64_t n, const char *what)
{
    if (n < 0 || n > r->size - r->pos) {
        err_printf(r->err, r->errlen, "truncated: %s needs %lld bytes from byte %lld but the file has %lld",
                   what, (long long)n, (long long)r->pos, (long long)r->size);
        return false;
    }
    if (fseeko(r->f, (off_t)(r->pos + n), SEEK_SET) != 0) {
        err_printf(r->err, r->errlen, "cannot seek in the file");
        return false;
    }
    r->pos += n;
    return true;
}

static bool check_range(reader *r, const char *name, int64_t v, int64_t lo, int64_t hi)
{
    if (v >= lo && v <= hi)
        return true;
    err_printf(r->err, r->errlen, "corrupt header: %s = %lld, expected %lld..%lld", name, (long long)v,
               (long long)lo, (long long)hi);
    return false;
}

/* ---- the tensors whisper will ask for ---- */

typedef struct expected_tensor {
    char name[96];
    int64_t ne[3];
    enum ggml_type type;
    bool seen;
} expected_tensor;

typedef struct tensor_table {
    expected_tensor *t;
    size_t n, cap;
} tensor_table;

__attribute__((format(printf, 6, 7)))
static void tt_add(tensor_table *tt, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2,
                   const char *fmt, ...)
{
    if (tt->n == tt->cap) {
        tt->cap = tt->cap ? tt->cap * 2 : 64;
        tt->t = xrealloc(tt->t, tt->cap * sizeof *tt->t);
    }
    expected_tensor *e = &tt->t[tt->n++];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    e->ne[0] = ne0;
    e->ne[1] = ne1;
    e->ne[2] = ne2;
    e->type = type;
}

static expected_tensor *tt_find(tensor_table *tt, const char *name, size_t len)
{
    for (size_t i = 0; i < tt->n; i++)
        if (strlen(tt->t[i].name) == len && memcmp(tt->t[i].name, name, len) == 0)
            return &tt->t[i];
    return NULL;
}

/* ggml cannot even describe a block-quantized row whose length is not a whole number of blocks. */
static bool tt_fits_blocks(reader *r, const tensor_table *tt)
{
    for (size_t i = 0; i < tt->n; i++) {
        const expected_tensor *e = &tt->t[i];
        if (e->ne[0] % ggml_blck_size(e->type) != 0) {
            err_printf(r->err, r->errlen, "corrupt header: tensor %s (%lld wide) cannot be stored as %s",
                       e->name, (long long)e->ne[0], ggml_type_name(e->type));
            return false;
        }
    }
    return true;
}

static void printable_name(char *out, size_t outlen, const char *name, size_t len)
{
    size_t n = len < outlen - 1 ? len : outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    out[n] = '\0';
}

/* One tensor record; whisper checks name, element count, shape and byte size the same way. */
static bool read_tensor(reader *r, tensor_table *tt)
{
    int32_t n_dims, name_len, ttype;
    if (!rd_i32(r, &n_dims, "a tensor header") || !rd_i32(r, &name_len, "a tensor header") ||
        !rd_i32(r, &ttype, "a tensor header"))
        return false;
    if (!check_range(r, "tensor n_dims", n_dims, 0, 4) || !check_range(r, "tensor name length", name_len, 1, MAX_NAME - 1) ||
        !check_range(r, "tensor type", ttype, 0, GGML_TYPE_COUNT - 1))
        return false;
    if (ggml_type_size((enum ggml_type)ttype) == 0 || ggml_blck_size((enum ggml_type)ttype) <= 0) {
        err_printf(r->err, r->errlen, "corrupt tensor record: type %d is not a ggml storage type", ttype);
        return false;
    }
    int64_t ne[4] = {1, 1, 1, 1}, nelements = 1;
    for (int i = 0; i < n_dims; i++) {
        int32_t d;
        if (!rd_i32(r, &d, "a tensor shape") || !check_range(r, "tensor dimension", d, 1, INT32_MAX))
            return false;
        ne[i] = d;
        nelements *= d;
        if (nelements > INT32_MAX)   /* whisper counts elements in an int32 */
            return check_range(r, "tensor element count", nelements, 1, INT32_MAX);
    }
    char name[MAX_NAME], shown[MAX_NAME];
    if (!rd_bytes(r, name, (size_t)name_len, "a tensor name"))
        return false;
    printable_name(shown, sizeof shown, name, (size_t)name_len);
    expected_tensor *e = tt_find(tt, name, (size_t)name_len);
    if (!e) {
        err_printf(r->err, r->errlen, "unknown tensor '%s' in the file (not this kind of model?)", shown);
        return false;
    }
    if (e->seen) {
        err_printf(r->err, r->errlen, "corrupt: tensor '%s' appears twice", shown);
        return false;
    }
    if (ne[0] != e->ne[0] || ne[1] != e->ne[1] || ne[2] != e->ne[2] || ne[3] != 1) {
        err_printf(r->err, r->errlen, "tensor '%s' has shape [%lld, %lld, %lld], the header implies [%lld, %lld, %lld]",
                   shown, (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)e->ne[0],
                   (long long)e->ne[1], (long long)e->ne[2]);
        return false;
    }
    size_t want = ggml_row_size(e->type, e->ne[0]) * (size_t)e->ne[1] * (size_t)e->ne[2];
    size_t got = (size_t)nelements * ggml_type_size((enum ggml_type)ttype) / (size_t)ggml_blck_size(e->type);
    if (got != want) {
        err_printf(r->err, r->errlen, "tensor '%s' is stored as %s, this model needs %s", shown,
                   ggml_type_name((enum ggml_type)ttype), ggml_type_name(e->type));
        return false;
    }
    char what[MAX_NAME + 32];
    snprintf(what, sizeof what, "the data of tensor '%s'", shown);
    if (!rd_skip(r, (int64_t)want, what))
        return false;
    e->seen = true;
    return true;
}

/* Tensor records up to the end of the file; then every expected tensor must have been seen. */
static bool read_all_tensors(reader *r, tensor_table *tt)
{
    size_t nread = 0;
    while (r->pos < r->size) {
        if (!read_tensor(r, tt))
            return false;
        nread++;
    }
    if (nread == 0) {
        err_printf(r->err, r->errlen, "truncated: the file has no weights (or is a vocabulary-only test header)");
        return false;
    }
    for (size_t i = 0; i < tt->n; i++) {
        if (!tt->t[i].seen) {
            err_printf(r->err, r->errlen, "incomplete: tensor '%s' is missing (%zu of %zu present)", tt->t[i].name,
                       nread, tt->n);
            return false;
        }
    }
    return true;
}

static bool check_magic(reader *r, const char *what)
{
    uint32_t magic = 0;
    if (!rd_bytes(r, &magic, sizeof magic, "the magic number"))
        return false;
    if (magic != GGML_MAGIC) {
        err_printf(r->err, r->errlen, "not a ggml %s model (bad magic 0x%08x)", what, magic);
        return false;
    }
    return true;
}

/* ---- whisper models ---- */

typedef struct whisper_hparams {
    int32_t n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int32_t n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype;
} whisper_hparams;

/* The weight type whisper derives from the file's ftype; every ftype ggml's own mapping accepts
 * (anything else makes ggml_ftype_to_ggml_type abort). */
static bool weight_type_of(int32_t ftype, enum ggml_type *out)
{
    switch (ftype % QNT_VERSION_FACTOR) {
    case GGML_FTYPE_ALL_F32: *out = GGML_TYPE_F32; return true;
    case GGML_FTYPE_MOSTLY_F16: *out = GGML_TYPE_F16; return true;
    case GGML_FTYPE_MOSTLY_BF16: *out = GGML_TYPE_BF16; return true;
    case GGML_FTYPE_MOSTLY_Q4_0: *out = GGML_TYPE_Q4_0; return true;
    case GGML_FTYPE_MOSTLY_Q4_1: *out = GGML_TYPE_Q4_1; return true;
    case GGML_FTYPE_MOSTLY_Q1_0: *out = GGML_TYPE_Q1_0; return true;
    case GGML_FTYPE_MOSTLY_Q5_0: *out = GGML_TYPE_Q5_0; return true;
    case GGML_FTYPE_MOSTLY_Q5_1: *out = GGML_TYPE_Q5_1; return true;
    case GGML_FTYPE_MOSTLY_Q8_0: *out = GGML_TYPE_Q8_0; return true;
    case GGML_FTYPE_MOSTLY_MXFP4: *out = GGML_TYPE_MXFP4; return true;
    case GGML_FTYPE_MOSTLY_NVFP4: *out = GGML_TYPE_NVFP4; return true;
    case GGML_FTYPE_MOSTLY_Q2_K: *out = GGML_TYPE_Q2_K; return true;
    case GGML_FTYPE_MOSTLY_Q3_K: *out = GGML_TYPE_Q3_K; return true;
    case GGML_FTYPE_MOSTLY_Q4_K: *out = GGML_TYPE_Q4_K; return true;
    case GGML_FTYPE_MOSTLY_Q5_K: *out = GGML_TYPE_Q5_K; return true;
    case GGML_FTYPE_MOSTLY_Q6_K: *out = GGML_TYPE_Q6_K; return true;
    case GGML_FTYPE_MOSTLY_IQ2_XXS: *out = GGML_TYPE_IQ2_XXS; return true;
    case GGML_FTYPE_MOSTLY_IQ2_XS: *out = GGML_TYPE_IQ2_XS; return true;
    case GGML_FTYPE_MOSTLY_IQ3_XXS: *out = GGML_TYPE_IQ3_XXS; return true;
    case GGML_FTYPE_MOSTLY_IQ1_S: *out = GGML_TYPE_IQ1_S; return true;
    case GGML_FTYPE_MOSTLY_IQ1_M: *out = GGML_TYPE_IQ1_M; return true;
    case GGML_FTYPE_MOSTLY_IQ4_NL: *out = GGML_TYPE_IQ4_NL; return true;
    case GGML_FTYPE_MOSTLY_IQ4_XS: *out = GGML_TYPE_IQ4_XS; return true;
    case GGML_FTYPE_MOSTLY_IQ3_S: *out = GGML_TYPE_IQ3_S; return true;
    case GGML_FTYPE_MOSTLY_IQ2_S: *out = GGML_TYPE_IQ2_S; return true;
    default: return false;
    }
}

static bool read_whisper_hparams(reader *r, whisper_hparams *h)
{
    int32_t *fields[] = {&h->n_vocab, &h->n_audio_ctx, &h->n_audio_state, &h->n_audio_head, &h->n_audio_layer,
                         &h->n_text_ctx, &h->n_text_state, &h->n_text_head, &h->n_text_layer, &h->n_mels, &h->ftype};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!rd_i32(r, fields[i], "the hyper-parameters"))
            return false;
    /* The language and special token ids whisper computes are only valid for these vocabularies. */
    if (!check_range(r, "n_vocab", h->n_vocab, N_VOCAB_EN, N_VOCAB_V3) ||
        !check_range(r, "n_audio_ctx", h->n_audio_ctx, WHISPER_N_AUDIO_CTX, WHISPER_N_AUDIO_CTX) ||
        !check_range(r, "n_audio_state", h->n_audio_state, 1, 8192) ||
        !check_range(r, "n_audio_head", h->n_audio_head, 1, 256) ||
        !check_range(r, "n_audio_layer", h->n_audio_layer, 1, 128) ||
        !check_range(r, "n_text_ctx", h->n_text_ctx, 16, 8192) ||
        !check_range(r, "n_text_state", h->n_text_state, h->n_audio_state, h->n_audio_state) ||
        !check_range(r, "n_text_head", h->n_text_head, 1, 256) ||
        !check_range(r, "n_text_layer", h->n_text_layer, 1, 128) ||
        !check_range(r, "ftype", h->ftype, 0, INT32_MAX))
        return false;
    if (h->n_mels != 80 && h->n_mels != 128) {
        err_printf(r->err, r->errlen, "corrupt header: n_mels = %d, expected 80 or 128", h->n_mels);
        return false;
    }
    if (h->n_audio_state % h->n_audio_head != 0 || h->n_text_state % h->n_text_head != 0) {
        err_printf(r->err, r->errlen, "corrupt header: %d-wide state does not split into %d/%d heads",
                   h->n_audio_state, h->n_audio_head, h->n_text_head);
        return false;
    }
    enum ggml_type wtype;
    if (!weight_type_of(h->ftype, &wtype)) {
        err_printf(r->err, r->errlen, "corrupt header: unknown weight type (ftype %d)", h->ftype);
        return false;
    }
    return true;
}

static bool read_mel_and_vocab(reader *r, const whisper_hparams *h)
{
    int32_t n_mel, n_fft, n_tokens;
    if (!rd_i32(r, &n_mel, "the mel filters") || !rd_i32(r, &n_fft, "the mel filters") ||
        !check_range(r, "mel filter count", n_mel, h->n_mels, h->n_mels) ||
        !check_range(r, "mel filter size", n_fft, WHISPER_N_FFT_BINS, WHISPER_N_FFT_BINS) ||
        !rd_skip(r, (int64_t)n_mel * n_fft * (int64_t)sizeof(float), "the mel filters"))
        return false;
    if (!rd_i32(r, &n_tokens, "the vocabulary") || !check_range(r, "vocabulary size", n_tokens, 0, h->n_vocab))
        return false;
    for (int32_t i = 0; i < n_tokens; i++) {
        uint32_t len;
        if (!rd_bytes(r, &len, sizeof len, "the vocabulary") ||
            !check_range(r, "token length", len, 0, MAX_TOKEN_BYTES) || !rd_skip(r, len, "the vocabulary"))
            return false;
    }
    return true;
}

static void add_block_tensors(tensor_table *tt, const char *prefix, int layer, int64_t s, enum ggml_type w,
                              bool cross)
{
    const char *attn = cross ? "cross_attn" : "attn";
    if (!cross) {
        tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.mlp_ln.weight", prefix, layer);
        tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.mlp_ln.bias", prefix, layer);
        tt_add(tt, w, s, 4 * s, 1, "%s.blocks.%d.mlp.0.weight", prefix, layer);
        tt_add(tt, GGML_TYPE_F32, 4 * s, 1, 1, "%s.blocks.%d.mlp.0.bias", prefix, layer);
        tt_add(tt, w, 4 * s, s, 1, "%s.blocks.%d.mlp.2.weight", prefix, layer);
        tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.mlp.2.bias", prefix, layer);
    }
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.%s_ln.weight", prefix, layer, attn);
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.%s_ln.bias", prefix, layer, attn);
    tt_add(tt, w, s, s, 1, "%s.blocks.%d.%s.query.weight", prefix, layer, attn);
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.%s.query.bias", prefix, layer, attn);
    tt_add(tt, w, s, s, 1, "%s.blocks.%d.%s.key.weight", prefix, layer, attn);
    tt_add(tt, w, s, s, 1, "%s.blocks.%d.%s.value.weight", prefix, layer, attn);
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.%s.value.bias", prefix, layer, attn);
    tt_add(tt, w, s, s, 1, "%s.blocks.%d.%s.out.weight", prefix, layer, attn);
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "%s.blocks.%d.%s.out.bias", prefix, layer, attn);
}

/* Names, shapes and types exactly as whisper_model_load creates them. */
static void whisper_expected_tensors(const whisper_hparams *h, tensor_table *tt)
{
    enum ggml_type w = GGML_TYPE_F32;
    weight_type_of(h->ftype, &w);
    enum ggml_type conv = w == GGML_TYPE_F32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
    int64_t s = h->n_audio_state;
    tt_add(tt, GGML_TYPE_F32, s, h->n_audio_ctx, 1, "encoder.positional_embedding");
    tt_add(tt, conv, 3, h->n_mels, s, "encoder.conv1.weight");
    tt_add(tt, GGML_TYPE_F32, 1, s, 1, "encoder.conv1.bias");
    tt_add(tt, conv, 3, s, s, "encoder.conv2.weight");
    tt_add(tt, GGML_TYPE_F32, 1, s, 1, "encoder.conv2.bias");
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "encoder.ln_post.weight");
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "encoder.ln_post.bias");
    for (int i = 0; i < h->n_audio_layer; i++)
        add_block_tensors(tt, "encoder", i, s, w, false);
    tt_add(tt, GGML_TYPE_F32, s, h->n_text_ctx, 1, "decoder.positional_embedding");
    tt_add(tt, w, s, h->n_vocab, 1, "decoder.token_embedding.weight");
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "decoder.ln.weight");
    tt_add(tt, GGML_TYPE_F32, s, 1, 1, "decoder.ln.bias");
    for (int i = 0; i < h->n_text_layer; i++) {
        add_block_tensors(tt, "decoder", i, s, w, false);
        add_block_tensors(tt, "decoder", i, s, w, true);
    }
}

bool wmf_check_whisper(const char *path, wmf_info *info, char *err, size_t errlen)
{
    reader r;
    if (!rd_open(&r, path, err, errlen))
        return false;
    whisper_hparams h;
    tensor_table tt = {0};
    bool ok = check_magic(&r, "whisper") && read_whisper_hparams(&r, &h) && read_mel_and_vocab(&r, &h);
    if (ok) {
        whisper_expected_tensors(&h, &tt);
        ok = tt_fits_blocks(&r, &tt) && read_all_tensors(&r, &tt);
    }
    if (ok && info)
        *info = (wmf_info){.n_vocab = h.n_vocab, .n_audio_state = h.n_audio_state, .n_audio_layer = h.n_audio_layer,
                           .n_text_layer = h.n_text_layer, .n_mels = h.n_mels, .ftype = h.ftype % QNT_VERSION_FACTOR,
                           .file_bytes = r.size};
    free(tt.t);
    rd_close(&r);
    return ok;
}

/* ---- Silero VAD models ---- */

#define VAD_ENCODER_LAYERS 4   /* whisper.cpp builds exactly four encoder convolutions */
#define VAD_STFT_BINS 129      /* the STFT basis (258 rows) yields 129 magnitudes */
#define VAD_WINDOW 512         /* samples per frame of the 16 kHz model the graph is built for */

typedef struct vad_hparams {
    int32_t in[VAD_ENCODER_LAYERS], out[VAD_ENCODER_LAYERS], kernel[VAD_ENCODER_LAYERS];
    int32_t lstm_in, lstm_hidden, final_in, final_out;
} vad_hparams;

static bool read_vad_header(reader *r, vad_hparams *h)
{
    int32_t type_len, version[3], n_window, n_context, n_layers;
    if (!rd_i32(r, &type_len, "the model type") || !check_range(r, "model type length", type_len, 0, 256) ||
        !rd_skip(r, type_len, "the model type"))
        return false;
    for (int i = 0; i < 3; i++)
        if (!rd_i32(r, &version[i], "the version"))
            return false;
    if (!rd_i32(r, &n_window, "the window size") || !check_range(r, "n_window", n_window, VAD_WINDOW, VAD_WINDOW) ||
        !rd_i32(r, &n_context, "the context size") || !check_range(r, "n_context", n_context, 0, n_window) ||
        !rd_i32(r, &n_layers, "the layer count") ||
        !check_range(r, "encoder layers", n_layers, VAD_ENCODER_LAYERS, VAD_ENCODER_LAYERS))
        return false;
    for (int i = 0; i < VAD_ENCODER_LAYERS; i++) {
        if (!rd_i32(r, &h->in[i], "the encoder sizes") || !rd_i32(r, &h->out[i], "the encoder sizes") ||
            !rd_i32(r, &h->kernel[i], "the encoder sizes") ||
            !check_range(r, "encoder input channels", h->in[i], i == 0 ? VAD_STFT_BINS : h->out[i - 1],
                         i == 0 ? VAD_STFT_BINS : h->out[i - 1]) ||
            !check_range(r, "encoder output channels", h->out[i], 1, 4096) ||
            !check_range(r, "encoder kernel size", h->kernel[i], 3, 3))
            return false;
    }
    return rd_i32(r, &h->lstm_in, "the LSTM sizes") && rd_i32(r, &h->lstm_hidden, "the LSTM sizes") &&
           rd_i32(r, &h->final_in, "the LSTM sizes") && rd_i32(r, &h->final_out, "the LSTM sizes") &&
           check_range(r, "LSTM input size", h->lstm_in, h->out[VAD_ENCODER_LAYERS - 1], h->out[VAD_ENCODER_LAYERS - 1]) &&
           check_range(r, "LSTM hidden size", h->lstm_hidden, h->lstm_in, h->lstm_in) &&
           check_range(r, "final conv input", h->final_in, h->lstm_hidden, h->lstm_hidden) &&
           check_range(r, "final conv output", h->final_out, 1, 1);
}

static void vad_expected_tensors(const vad_hparams *h, tensor_table *tt)
{
    tt_add(tt, GGML_TYPE_F16, 256, 1, 2 * VAD_STFT_BINS, "_model.stft.forward_basis_buffer");
    for (int i = 0; i < VAD_ENCODER_LAYERS; i++) {
        tt_add(tt, GGML_TYPE_F16, h->kernel[i], h->in[i], h->out[i], "_model.encoder.%d.reparam_conv.weight", i);
        tt_add(tt, GGML_TYPE_F32, h->out[i], 1, 1, "_model.encoder.%d.reparam_conv.bias", i);
    }
    int64_t gates = 4 * (int64_t)h->lstm_hidden;
    tt_add(tt, GGML_TYPE_F32, h->lstm_hidden, gates, 1, "_model.decoder.rnn.weight_ih");
    tt_add(tt, GGML_TYPE_F32, gates, 1, 1, "_model.decoder.rnn.bias_ih");
    tt_add(tt, GGML_TYPE_F32, h->lstm_hidden, gates, 1, "_model.decoder.rnn.weight_hh");
    tt_add(tt, GGML_TYPE_F32, gates, 1, 1, "_model.decoder.rnn.bias_hh");
    tt_add(tt, GGML_TYPE_F16, h->final_in, 1, 1, "_model.decoder.decoder.2.weight");
    tt_add(tt, GGML_TYPE_F32, 1, 1, 1, "_model.decoder.decoder.2.bias");
}

bool wmf_check_vad(const char *path, char *err, size_t errlen)
{
    reader r;
    if (!rd_open(&r, path, err, errlen))
        return false;
    vad_hparams h;
    tensor_table tt = {0};
    bool ok = check_magic(&r, "VAD") && read_vad_header(&r, &h);
    if (ok) {
        vad_expected_tensors(&h, &tt);
        ok = read_all_tensors(&r, &tt);
    }
    free(tt.t);
    rd_close(&r);
    return ok;
}
