/* test_whisper_model_gen.c — the whisper test-model generator (whisper_model_gen.c). Its files must
 * be complete whisper.cpp models: the header's vocabulary and mel filters byte for byte, the chosen
 * dimensions, well-formed finite tensors, the same bytes for the same arguments; whisper.cpp itself
 * must load them and decode real speech into timed segments quickly (no fallback storms); bad
 * input must fail with a status and leave no file behind. Runs the built tool ($WHISPER_MODEL_GEN)
 * on the headers in $CICADA_SHARED/models/whisper-vocab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <whisper.h>

#include "audio/audio.h"
#include "util/util.h"

#define VOCAB_DIR "models/whisper-vocab"
#define TINY_HEADER "for-tests-ggml-tiny.bin"
#define EN_HEADER "for-tests-ggml-tiny.en.bin"
#define JFK "en/jfk/jfk.wav"
#define HEADER_BYTES 48          /* magic + 11 int32 hyper-parameters */

static char g_gen[1024], g_tiny[1024], g_en[1024], g_jfk[1024], g_tmp[256];

/* ---- running the generator ---- */

/* Runs whisper_model_gen with the arguments (NULL-terminated); its stderr goes to err_path.
 * Returns its exit status, or -1 if it did not exit normally. */
static int run_gen(const char *err_path, const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        FILE *e = freopen(err_path, "w", stderr);
        (void)e;
        const char *argv[32] = {g_gen};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(g_gen, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void tmp_file(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", g_tmp, name);
}

/* Generates `name` in the temp dir from `header` with extra args; the test fails unless it works. */
static void generate(char *out, size_t len, const char *name, const char *header, const char *const *extra)
{
    char err[512];
    tmp_file(out, len, name);
    tmp_file(err, sizeof err, "gen.err");
    const char *args[24] = {header, out};
    for (int i = 0; extra && extra[i] && i < 20; i++)
        args[i + 2] = extra[i];
    assert_int_equal(run_gen(err, args), 0);
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    if (!fs_read_file(path, &data, len, (size_t)1 << 30))
        fail_msg("cannot read %s", path);
    return data;
}

/* ---- reading a model file back ---- */

typedef struct model_view {
    int32_t hp[11];          /* n_vocab, audio ctx/state/head/layer, text ctx/state/head/layer, mels, ftype */
    size_t tail_len;         /* mel filters + vocabulary */
    size_t ntensors;
    bool all_finite;
    size_t n_f16, n_f32;
} model_view;

enum { HP_VOCAB, HP_ACTX, HP_ASTATE, HP_AHEAD, HP_ALAYER, HP_TCTX, HP_TSTATE, HP_THEAD, HP_TLAYER, HP_MELS, HP_FTYPE };

static int32_t rd_i32(const char *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Half to float for the finiteness check: an all-ones exponent is Inf/NaN. */
static bool half_finite(uint16_t h)
{
    return (h & 0x7C00u) != 0x7C00u;
}

/* Walks the mel filters and vocabulary, then every tensor record, checking that each is well formed
 * and that the records end exactly at the end of the file. */
static model_view parse_model(const char *data, size_t len)
{
    model_view v = {.all_finite = true};
    assert_true(len > HEADER_BYTES);
    assert_int_equal(rd_i32(data), 0x67676d6c);
    memcpy(v.hp, data + 4, sizeof v.hp);
    size_t off = HEADER_BYTES;
    int32_t n_mel = rd_i32(data + off), n_fft = rd_i32(data + off + 4);
    off += 8 + (size_t)n_mel * (size_t)n_fft * 4;
    int32_t ntok = rd_i32(data + off);
    off += 4;
    for (int32_t i = 0; i < ntok; i++)
        off += 4 + (size_t)rd_i32(data + off);
    v.tail_len = off - HEADER_BYTES;
    while (off < len) {
        assert_true(off + 12 <= len);
        int32_t ndims = rd_i32(data + off), namelen = rd_i32(data + off + 4), type = rd_i32(data + off + 8);
        assert_true(ndims >= 1 && ndims <= 3);
        assert_true(namelen > 0 && namelen < 96);
        assert_true(type == 0 || type == 1);
        off += 12;
        size_t count = 1;
        for (int32_t d = 0; d < ndims; d++, off += 4)
            count *= (size_t)rd_i32(data + off);
        off += (size_t)namelen;
        size_t bytes = count * (type == 1 ? 2 : 4);
        assert_true(off + bytes <= len);
        for (size_t i = 0; i < count; i++) {
            if (type == 1) {
                uint16_t h;
                memcpy(&h, data + off + 2 * i, 2);
                v.all_finite &= half_finite(h);
            } else {
                float f;
                memcpy(&f, data + off + 4 * i, 4);
                v.all_finite &= isfinite(f) != 0;
            }
        }
        type == 1 ? v.n_f16++ : v.n_f32++;
        off += bytes;
        v.ntensors++;
    }
    assert_int_equal(off, len);
    return v;
}

/* Finds one tensor record by name: its dims and type. False if absent. */
static bool find_tensor(const char *data, size_t len, size_t tensors_at, const char *name, int32_t ne[3], int32_t *type)
{
    size_t off = tensors_at;
    while (off < len) {
        int32_t ndims = rd_i32(data + off), namelen = rd_i32(data + off + 4), t = rd_i32(data + off + 8);
        int32_t dims[3] = {1, 1, 1};
        size_t count = 1;
        for (int32_t d = 0; d < ndims; d++) {
            dims[d] = rd_i32(data + off + 12 + 4 * (size_t)d);
            count *= (size_t)dims[d];
        }
        const char *nm = data + off + 12 + 4 * (size_t)ndims;
        if ((size_t)namelen == strlen(name) && memcmp(nm, name, (size_t)namelen) == 0) {
            memcpy(ne, dims, sizeof dims);
            *type = t;
            return true;
        }
        off += 12 + 4 * (size_t)ndims + (size_t)namelen + count * (t == 1 ? 2 : 4);
    }
    return false;
}

/* ---- tests ---- */

/* Defaults: tiny dimensions, f16, the header's vocabulary, context sizes and mel filters intact. */
static void test_default_model_structure(void **state)
{
    (void)state;
    char path[512];
    generate(path, sizeof path, "default.bin", g_tiny, NULL);
    size_t len, hlen;
    char *data = slurp(path, &len), *hdr = slurp(g_tiny, &hlen);
    model_view v = parse_model(data, len);

    int32_t hhp[11];
    memcpy(hhp, hdr + 4, sizeof hhp);
    assert_int_equal(v.hp[HP_VOCAB], hhp[HP_VOCAB]);
    assert_int_equal(v.hp[HP_ACTX], hhp[HP_ACTX]);
    assert_int_equal(v.hp[HP_TCTX], hhp[HP_TCTX]);
    assert_int_equal(v.hp[HP_MELS], hhp[HP_MELS]);
    assert_int_equal(v.hp[HP_ASTATE], 64);
    assert_int_equal(v.hp[HP_TSTATE], 64);
    assert_int_equal(v.hp[HP_AHEAD], 2);
    assert_int_equal(v.hp[HP_THEAD], 2);
    assert_int_equal(v.hp[HP_ALAYER], 2);
    assert_int_equal(v.hp[HP_TLAYER], 3);   /* not 2: whisper.cpp would take it for distil-whisper */
    assert_int_equal(v.hp[HP_FTYPE], 1);

    /* mel filters and vocabulary: the header's bytes, exactly */
    assert_int_equal(v.tail_len, hlen - HEADER_BYTES);
    assert_memory_equal(data + HEADER_BYTES, hdr + HEADER_BYTES, hlen - HEADER_BYTES);

    /* whisper_model_load's list: 11 + 15 per encoder block + 24 per decoder block */
    assert_int_equal(v.ntensors, 11 + 15 * 2 + 24 * 3);
    assert_true(v.all_finite);
    /* f16: the matrices and convolutions (4+2 per encoder block, 8+2 per decoder block, the token
     * embedding and the two convolutions); everything else stays f32 as in official models */
    assert_int_equal(v.n_f16, 6 * 2 + 10 * 3 + 1 + 2);

    int32_t ne[3], type;
    size_t tensors_at = HEADER_BYTES + v.tail_len;
    assert_true(find_tensor(data, len, tensors_at, "decoder.token_embedding.weight", ne, &type));
    assert_int_equal(ne[0], 64);
    assert_int_equal(ne[1], hhp[HP_VOCAB]);
    assert_int_equal(type, 1);
    assert_true(find_tensor(data, len, tensors_at, "encoder.conv1.weight", ne, &type));
    assert_int_equal(ne[0], 3);
    assert_int_equal(ne[1], hhp[HP_MELS]);
    assert_int_equal(ne[2], 64);
    assert_true(find_tensor(data, len, tensors_at, "encoder.positional_embedding", ne, &type));
    assert_int_equal(ne[1], hhp[HP_ACTX]);
    assert_int_equal(type, 0);
    assert_true(find_tensor(data, len, tensors_at, "decoder.blocks.2.cross_attn.out.bias", ne, &type));
    assert_false(find_tensor(data, len, tensors_at, "decoder.blocks.3.mlp.0.weight", ne, &type));
    free(data);
    free(hdr);
}

/* Same arguments, same bytes; another seed, other weights but the same layout. */
static void test_deterministic(void **state)
{
    (void)state;
    char a[512], b[512], c[512];
    generate(a, sizeof a, "a.bin", g_tiny, NULL);
    generate(b, sizeof b, "b.bin", g_tiny, (const char *[]){"--seed", "1", NULL});
    generate(c, sizeof c, "c.bin", g_tiny, (const char *[]){"--seed", "2", NULL});
    size_t la, lb, lc;
    char *da = slurp(a, &la), *db = slurp(b, &lb), *dc = slurp(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_int_equal(la, lc);
    size_t tensors_at = HEADER_BYTES + parse_model(da, la).tail_len;
    assert_memory_equal(da, dc, tensors_at + 12);   /* header, vocabulary, first record's header */
    assert_memory_not_equal(da + tensors_at, dc + tensors_at, la - tensors_at);
    free(da);
    free(db);
    free(dc);
}

/* --real-dims keeps the header's dimensions; options still override; --ftype f32 writes no f16. */
static void test_real_dims_and_f32(void **state)
{
    (void)state;
    char path[512];
    generate(path, sizeof path, "real.bin", g_tiny,
             (const char *[]){"--real-dims", "--n-audio-layer", "1", "--n-text-layer", "1", "--ftype", "f32", NULL});
    size_t len, hlen;
    char *data = slurp(path, &len), *hdr = slurp(g_tiny, &hlen);
    model_view v = parse_model(data, len);
    int32_t hhp[11];
    memcpy(hhp, hdr + 4, sizeof hhp);
    assert_int_equal(v.hp[HP_ASTATE], hhp[HP_ASTATE]);   /* 384 for tiny */
    assert_int_equal(v.hp[HP_AHEAD], hhp[HP_AHEAD]);
    assert_int_equal(v.hp[HP_THEAD], hhp[HP_THEAD]);
    assert_int_equal(v.hp[HP_ALAYER], 1);
    assert_int_equal(v.hp[HP_TLAYER], 1);
    assert_int_equal(v.hp[HP_FTYPE], 0);
    assert_int_equal(v.n_f16, 0);
    assert_int_equal(v.ntensors, 11 + 15 + 24);
    assert_true(v.all_finite);
    free(data);
    free(hdr);
    unlink(path);
}

/* Transcribes jfk.wav with whisper.cpp on one thread; returns the segment count, checks order. */
static int decode_jfk(const char *model_path, bool multilingual, int n_vocab)
{
    struct whisper_context_params cp = whisper_context_default_params();
    cp.use_gpu = false;
    struct whisper_context *ctx = whisper_init_from_file_with_params(model_path, cp);
    assert_non_null(ctx);
    assert_int_equal(whisper_is_multilingual(ctx), multilingual);
    assert_int_equal(whisper_model_n_vocab(ctx), n_vocab);
    assert_int_equal(whisper_model_n_audio_state(ctx), 64);
    assert_int_equal(whisper_model_n_text_layer(ctx), 3);

    audio_params ap = audio_default_params();
    audio_pcm pcm;
    char err[256];
    assert_int_equal(audio_decode_file(g_jfk, &ap, &pcm, err, sizeof err), AUDIO_OK);
    struct whisper_full_params wp = whisper_full_default_params(WHISPER_SAMPLING_BEAM_SEARCH);
    wp.n_threads = 1;
    wp.language = "en";
    wp.print_progress = false;
    wp.print_timestamps = false;
    int64_t t0 = time_mono_ms();
    assert_int_equal(whisper_full(ctx, wp, pcm.samples, (int)pcm.n), 0);
    int64_t took = time_mono_ms() - t0;
    int n = whisper_full_n_segments(ctx);
    int64_t prev_t0 = 0, total_tokens = 0;
    for (int i = 0; i < n; i++) {
        int64_t s0 = whisper_full_get_segment_t0(ctx, i), s1 = whisper_full_get_segment_t1(ctx, i);
        assert_true(s0 >= prev_t0);
        assert_true(s1 >= s0);
        assert_true(s0 <= 3000);   /* inside the first (and only) 30 s window */
        assert_true(strlen(whisper_full_get_segment_text(ctx, i)) > 0);
        total_tokens += whisper_full_n_tokens(ctx, i);
        prev_t0 = s0;
    }
    print_message("%s: %d segments, %lld tokens, %lld ms (beam 5, 1 thread)\n", model_path, n,
                  (long long)total_tokens, (long long)took);
    /* Fallback storms decode hundreds of tokens per window at six temperatures (minutes); the
     * designed prior keeps a window to a few dozen tokens. */
    assert_true(total_tokens < 300);
    audio_pcm_free(&pcm);
    whisper_free(ctx);
    return n;
}

/* whisper.cpp loads both models and turns 11 s of speech into timed segments. */
static void test_whisper_loads_and_decodes(void **state)
{
    (void)state;
    char tiny[512], en[512];
    generate(tiny, sizeof tiny, "tiny.bin", g_tiny, NULL);
    generate(en, sizeof en, "en.bin", g_en, NULL);
    assert_true(decode_jfk(tiny, true, 51865) >= 1);
    assert_true(decode_jfk(en, false, 51864) >= 1);
}

static void expect_failure(const char *const *args, int want_status, const char *want_text, const char *out_path)
{
    char err_path[512];
    tmp_file(err_path, sizeof err_path, "fail.err");
    assert_int_equal(run_gen(err_path, args), want_status);
    size_t len;
    char *msg = slurp(err_path, &len);
    if (!strstr(msg, want_text))
        fail_msg("expected \"%s\" in: %s", want_text, msg);
    free(msg);
    if (out_path) {
        struct stat st;
        assert_int_not_equal(stat(out_path, &st), 0);   /* nothing written */
    }
}

/* Bad arguments and bad headers: a status, a reason, and no (partial) output file. */
static void test_errors(void **state)
{
    (void)state;
    char out[512], trunc[512], model[512], dir[512];
    tmp_file(out, sizeof out, "never.bin");
    expect_failure((const char *[]){"/nonexistent/header.bin", out, NULL}, 1, "cannot open", out);
    expect_failure((const char *[]){g_tiny, NULL}, 2, "usage", NULL);
    expect_failure((const char *[]){g_tiny, out, "--ftype", "q4", NULL}, 2, "--ftype", out);
    expect_failure((const char *[]){g_tiny, out, "--n-text-layer", "0", NULL}, 2, "positive", out);
    expect_failure((const char *[]){g_tiny, out, "--bogus", NULL}, 2, "unknown option", out);
    expect_failure((const char *[]){g_tiny, out, "--n-text-state", "128", NULL}, 1, "n_audio_state == n_text_state", out);
    expect_failure((const char *[]){g_tiny, out, "--n-audio-head", "3", NULL}, 1, "multiple", out);

    /* a header cut short, and a complete model (tensors after the vocabulary) as the header */
    size_t hlen;
    char *hdr = slurp(g_tiny, &hlen);
    tmp_file(trunc, sizeof trunc, "trunc-header.bin");
    assert_true(fs_write_file_atomic(trunc, hdr, hlen / 2, 0644));
    free(hdr);
    expect_failure((const char *[]){trunc, out, NULL}, 1, "not a weight-less whisper ggml header", out);
    generate(model, sizeof model, "model-as-header.bin", g_tiny, NULL);
    expect_failure((const char *[]){model, out, NULL}, 1, "data after the vocabulary", out);

    /* an output directory that does not exist: no temp file either */
    snprintf(dir, sizeof dir, "%s/missing-dir/x.bin", g_tmp);
    expect_failure((const char *[]){g_tiny, dir, NULL}, 1, "cannot create", NULL);

    /* a 2-text-layer model is written, with a warning (whisper.cpp decodes it without timestamps) */
    char err_path[512];
    tmp_file(err_path, sizeof err_path, "warn.err");
    assert_int_equal(run_gen(err_path, (const char *[]){g_tiny, out, "--n-text-layer", "2", NULL}), 0);
    size_t len;
    char *msg = slurp(err_path, &len);
    assert_non_null(strstr(msg, "without timestamps"));
    free(msg);
}

/* ---- setup ---- */

/* The tool is part of the build: without it the test fails. The shared data may be absent. */
static bool find_tool(void)
{
    const char *gen = getenv("WHISPER_MODEL_GEN");
    if (!gen || access(gen, X_OK) != 0) {
        fprintf(stderr, "WHISPER_MODEL_GEN does not name the built whisper_model_gen\n");
        return false;
    }
    snprintf(g_gen, sizeof g_gen, "%s", gen);
    return true;
}

static bool find_data(void)
{
    const char *shared = getenv("CICADA_SHARED"), *td = getenv("CICADA_TESTDATA");
    snprintf(g_tiny, sizeof g_tiny, "%s/%s/%s", shared ? shared : "", VOCAB_DIR, TINY_HEADER);
    snprintf(g_en, sizeof g_en, "%s/%s/%s", shared ? shared : "", VOCAB_DIR, EN_HEADER);
    snprintf(g_jfk, sizeof g_jfk, "%s/%s", td ? td : "", JFK);
    const char *need[] = {g_tiny, g_en, g_jfk};
    for (size_t i = 0; i < 3; i++)
        if (access(need[i], R_OK) != 0) {
            fprintf(stderr, "skipped: %s is absent\n", need[i]);
            return false;
        }
    return true;
}

static void quiet_whisper(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    if (!find_tool())
        return 1;
    if (!find_data())
        return 77;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cicada-modelgen-XXXXXX");
    if (!mkdtemp(g_tmp))
        return 1;
    whisper_log_set(quiet_whisper, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_model_structure),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_real_dims_and_f32),
        cmocka_unit_test(test_whisper_loads_and_decodes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, remove_tmp);
}
