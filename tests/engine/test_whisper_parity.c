/* test_whisper_parity.c — parity between Cicada's whisper engine (engine_whisper_new) and
 * whisper.cpp's own whisper-cli, built from the same pinned source: for the same generated model,
 * audio and decoding parameters, the engine's segments must equal whisper-cli's, text and times.
 * whisper-cli runs with every decoding parameter given explicitly (threads, beam size, best-of,
 * temperature and fallback step, thresholds, flash attention) and writes CSV (start and end in ms,
 * quoted text); the engine gets the same values through whisper_engine_params. whisper-cli's raw
 * segments then go through what the engine documents doing to whisper's output — trimming the
 * text, clamping times to the audio, the hallucination guards (wt_apply_guards, the same code) —
 * and must come out identical. Audio is 16 kHz 16-bit WAV, which both sides read as the same floats
 * (whisper-cli with miniaudio, Cicada with FFmpeg; a resampled or compressed file would not be).
 * Cases: beam search (whisper-cli's default), greedy on 2 threads, the English-only vocabulary,
 * language detection, translation with an initial prompt, and a file longer than one 30 s window,
 * decoded as Mandarin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/whisper_text.h"
#include "engine_testutil.h"
#include "util/util.h"

#define RATE 16000
#define MULTI_MODEL "ggml-tiny-random.bin"   /* written by the whisper_models fixture */
#define EN_MODEL "ggml-tiny.en-random.bin"
#define JFK "en/jfk/jfk.wav"
#define HIFI_A "en/hifitts/astralplane_03_leadbeater_0639.wav"   /* 10.1 s */
#define HIFI_B "en/hifitts/hartmann_12_fawcett_0088.wav"         /* 6.2 s */

static char g_cli[1024], g_models[1024], g_tmp[256], g_long_wav[512];

/* One comparison: what both sides are asked to do. */
typedef struct parity_case {
    const char *model;       /* file in $CICADA_TEST_MODELS */
    const char *audio;       /* path of a 16 kHz mono 16-bit WAV */
    const char *language;    /* "en", "zh", "auto" */
    int beam_size;           /* 1 = greedy (with best-of 5 for fallbacks) */
    int threads;
    bool translate;          /* whisper-cli -tr; the engine's engine_opts.translate */
    const char *prompt;      /* whisper-cli --prompt; the engine's engine_opts.hotwords; NULL = none */
} parity_case;

/* whisper-cli's defaults, passed explicitly to whisper-cli and matched by the engine's. */
#define BEST_OF "5"
#define TEMPERATURE "0.0"
#define TEMPERATURE_INC "0.2"
#define ENTROPY_THOLD "2.4"
#define LOGPROB_THOLD "-1.0"
#define NO_SPEECH_THOLD 0.6f

/* ---- whisper-cli ---- */

/* Runs whisper-cli on the case, writing <g_tmp>/cli.csv; its output goes to <g_tmp>/cli.log. */
static void run_cli(const parity_case *c, char *csv_path, size_t csv_len)
{
    char model[1200], out_base[300], log_path[300], threads[16], beam[16], nth[16];
    snprintf(model, sizeof model, "%s/%s", g_models, c->model);
    snprintf(out_base, sizeof out_base, "%s/cli", g_tmp);
    snprintf(log_path, sizeof log_path, "%s/cli.log", g_tmp);
    snprintf(csv_path, csv_len, "%s.csv", out_base);
    snprintf(threads, sizeof threads, "%d", c->threads);
    snprintf(beam, sizeof beam, "%d", c->beam_size);
    snprintf(nth, sizeof nth, "%.2f", NO_SPEECH_THOLD);
    unlink(csv_path);
    const char *argv[36] = {g_cli, "-m", model, "-f", c->audio, "-l", c->language, "-t", threads,
                            "-bs", beam, "-bo", BEST_OF, "-tp", TEMPERATURE, "-tpi", TEMPERATURE_INC,
                            "-et", ENTROPY_THOLD, "-lpt", LOGPROB_THOLD, "-nth", nth, "-fa", "-ng",
                            "-ocsv", "-ojf", "-of", out_base};
    int argc = 29;
    if (c->translate)
        argv[argc++] = "-tr";
    if (c->prompt) {
        argv[argc++] = "--prompt";
        argv[argc++] = c->prompt;
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log_path, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execv(g_cli, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !path_exists(csv_path)) {
        char *log = NULL;
        size_t len = 0;
        fs_read_file(log_path, &log, &len, 1 << 20);
        fail_msg("whisper-cli failed (status %d):\n%s", status, log && len > 2000 ? log + len - 2000 : log);
    }
}

/* A quoted CSV field ("" inside is one quote; newlines may occur); *p is past it afterwards. */
static char *csv_quoted(const char **p)
{
    buf b;
    buf_init(&b);
    const char *s = *p;
    assert_int_equal(*s, '"');
    for (s++; *s; s++) {
        if (*s == '"') {
            if (s[1] != '"')
                break;
            s++;
        }
        buf_putc(&b, *s);
    }
    assert_int_equal(*s, '"');
    *p = s + 1;
    return buf_steal(&b);
}

static char *trimmed(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* whisper-cli's CSV ("start,end,text" in ms) as an engine_result, the way the engine reports
 * whisper's segments: text trimmed, start in [0, duration], end in [start, duration]. */
static size_t read_cli_csv(const char *path, int64_t duration_ms, engine_result *out)
{
    char *data = NULL;
    size_t len = 0;
    assert_true(fs_read_file(path, &data, &len, 1 << 24));
    const char *p = data;
    assert_int_equal(strncmp(p, "start,end,text\n", 15), 0);
    p += 15;
    size_t n = 0;
    while (*p) {
        char *end = NULL;
        long long t0 = strtoll(p, &end, 10);
        assert_int_equal(*end, ',');
        long long t1 = strtoll(end + 1, &end, 10);
        assert_int_equal(*end, ',');
        p = end + 1;
        char *text = csv_quoted(&p);
        assert_int_equal(*p, '\n');
        p++;
        int64_t start = clamp64(t0, 0, duration_ms);
        engine_segment *seg = engine_result_add_segment(out, start, clamp64(t1, start, duration_ms));
        free(seg->text);
        seg->text = trimmed(text);
        free(text);
        n++;
    }
    free(data);
    return n;
}

/* whisper-cli's full JSON (-ojf) of the same run: each raw segment's decoder statistics, attached
 * in order to the segments read_cli_csv made. whisper-cli lists every token with its id and
 * probability p (whisper's plog is log p), special tokens named "[_...]" (timestamps, task,
 * language), and merges a token that ends inside a UTF-8 character with the next ones, keeping the
 * first one's id and p; a segment where that happened is marked by tokens it cannot list
 * (ntokens = 0, avg_logprob NAN) and is compared by ids only. */
static void read_cli_stats(const char *json_path, engine_result *r)
{
    json_error_t je;
    json_t *root = json_load_file(json_path, 0, &je);
    if (!root)
        fail_msg("%s: %s", json_path, je.text);
    json_t *segs = json_object_get(root, "transcription");
    assert_int_equal(json_array_size(segs), r->nsegs);
    for (size_t i = 0; i < r->nsegs; i++) {
        json_t *toks = json_object_get(json_array_get(segs, i), "tokens");
        engine_stats *st = &r->segs[i].stats;
        *st = (engine_stats){.known = true, .tokens = xcalloc(json_array_size(toks) + 1, sizeof *st->tokens)};
        double sum = 0;
        size_t j;
        json_t *t;
        json_array_foreach(toks, j, t) {
            const char *text = json_string_value(json_object_get(t, "text"));
            if (text && strncmp(text, "[_", 2) == 0 && text[strlen(text) - 1] == ']')
                continue;
            st->tokens[st->ntokens++] = (int32_t)json_integer_value(json_object_get(t, "id"));
            sum += log(json_number_value(json_object_get(t, "p")));
        }
        st->avg_logprob = st->ntokens ? (float)(sum / (double)st->ntokens) : 0.0f;
    }
    json_decref(root);
}

/* The engine's statistics against whisper-cli's: the same text tokens, the same mean log
 * probability. Where whisper-cli merged tokens its ids must be the engine's group leaders, in
 * order. Returns how many segments were compared in full. */
static size_t compare_stats(const engine_result *cli, const engine_result *ours)
{
    size_t full = 0;
    for (size_t i = 0; i < ours->nsegs; i++) {
        const engine_stats *a = &cli->segs[i].stats, *b = &ours->segs[i].stats;
        assert_true(b->known);
        assert_true(b->no_speech_prob >= 0.0f && b->no_speech_prob <= 1.0f);
        assert_true(b->avg_logprob <= 0.0f && isfinite(b->avg_logprob));
        if (a->ntokens == b->ntokens) {
            assert_memory_equal(a->tokens, b->tokens, a->ntokens * sizeof *a->tokens);
            if (fabs(a->avg_logprob - b->avg_logprob) > 1e-4)
                fail_msg("segment %zu: avg_logprob %.6f, whisper-cli's tokens give %.6f", i, b->avg_logprob,
                         a->avg_logprob);
            full++;
            continue;
        }
        assert_true(a->ntokens < b->ntokens);   /* merged: each cli id is one of ours, in order */
        size_t k = 0;
        for (size_t j = 0; j < b->ntokens && k < a->ntokens; j++)
            k += b->tokens[j] == a->tokens[k];
        assert_int_equal(k, a->ntokens);
    }
    return full;
}

/* ---- Cicada's engine ---- */

static void run_engine(const parity_case *c, const audio_pcm *pcm, engine_result *out)
{
    char model[1200], err[512];
    snprintf(model, sizeof model, "%s/%s", g_models, c->model);
    whisper_engine_params p = whisper_engine_default_params();
    p.model_path = model;
    p.vad_model_path = NULL;        /* whisper-cli without --vad */
    p.threads = c->threads;
    p.max_concurrent = 1;
    p.to_simplified = false;        /* whisper-cli prints what whisper decodes */
    p.blacklist = NULL;             /* the built-in list, applied to whisper-cli's output below too */
    p.no_speech_thold = NO_SPEECH_THOLD;
    p.beam_size = c->beam_size;
    engine *e = engine_whisper_new(&p, err, sizeof err);
    if (!e)
        fail_msg("engine_whisper_new: %s", err);
    engine_opts o = {.language = c->language, .hotwords = c->prompt, .translate = c->translate};
    if (engine_transcribe(e, pcm->samples, pcm->n, &o, out, err, sizeof err) != 0)
        fail_msg("engine_transcribe: %s", err);
    engine_destroy(e);
}

/* ---- comparison ---- */

static void print_result(const char *who, const engine_result *r)
{
    print_message("%s: %zu segment(s)\n", who, r->nsegs);
    for (size_t i = 0; i < r->nsegs; i++)
        print_message("  [%lld, %lld] \"%s\"\n", (long long)r->segs[i].start_ms, (long long)r->segs[i].end_ms,
                      r->segs[i].text);
}

static bool same_segments(const engine_result *a, const engine_result *b)
{
    if (a->nsegs != b->nsegs)
        return false;
    for (size_t i = 0; i < a->nsegs; i++)
        if (a->segs[i].start_ms != b->segs[i].start_ms || a->segs[i].end_ms != b->segs[i].end_ms ||
            strcmp(a->segs[i].text, b->segs[i].text) != 0)
            return false;
    return true;
}

static void check_parity(const parity_case *c)
{
    audio_params ap = audio_default_params();
    ap.sample_rate = RATE;
    audio_pcm pcm;
    char err[512], csv[512];
    audio_rc arc = audio_decode_file(c->audio, &ap, &pcm, err, sizeof err);
    if (arc != AUDIO_OK)
        fail_msg("decoding %s: %s", c->audio, err);
    int64_t duration_ms = (int64_t)pcm.n * 1000 / RATE;

    engine_result cli = {0}, ours = {0};
    int64_t t0 = time_mono_ms();
    run_cli(c, csv, sizeof csv);
    int64_t t_cli = time_mono_ms() - t0;
    size_t raw = read_cli_csv(csv, duration_ms, &cli);
    char json[520];
    snprintf(json, sizeof json, "%.*s.json", (int)(strlen(csv) - 4), csv);
    read_cli_stats(json, &cli);
    size_t dropped = wt_apply_guards(&cli, NULL, 0);
    t0 = time_mono_ms();
    run_engine(c, &pcm, &ours);
    int64_t t_ours = time_mono_ms() - t0;

    print_message("%s on %s (%s, beam %d, %d thread(s)): whisper-cli %zu segment(s) (%zu dropped by the "
                  "guards) in %lld ms, engine %zu in %lld ms\n", c->model, strrchr(c->audio, '/') + 1,
                  c->language, c->beam_size, c->threads, raw, dropped, (long long)t_cli, ours.nsegs,
                  (long long)t_ours);
    if (!same_segments(&cli, &ours)) {
        print_result("whisper-cli", &cli);
        print_result("engine", &ours);
        fail_msg("the engine's segments differ from whisper-cli's");
    }
    /* The decoder's statistics (the OpenAI endpoint's verbose_json) are whisper's too. */
    size_t full = compare_stats(&cli, &ours);
    print_message("statistics: %zu of %zu segment(s) compared token by token\n", full, ours.nsegs);
    /* Not vacuous: the generated models put text and timestamps on speech. */
    assert_true(raw >= 1);
    assert_true(ours.nsegs >= 1);
    assert_true(full >= 1);
    engine_result_free(&cli);
    engine_result_free(&ours);
    audio_pcm_free(&pcm);
}

static void jfk_path(char *out, size_t len)
{
    testdata_path(out, len, JFK);
}

/* ---- setup ---- */

static void put_le(buf *b, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        buf_putc(b, (char)((v >> (8 * i)) & 0xFF));
}

/* Writes 16 kHz mono 16-bit PCM WAV. Samples were decoded from 16-bit files, so x * 32768 is
 * exact and both readers get the original values back. */
static bool write_wav(const char *path, const float *x, size_t n)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "RIFF");
    put_le(&b, (uint32_t)(36 + 2 * n), 4);
    buf_puts(&b, "WAVEfmt ");
    put_le(&b, 16, 4);
    put_le(&b, 1, 2);               /* PCM */
    put_le(&b, 1, 2);               /* mono */
    put_le(&b, RATE, 4);
    put_le(&b, RATE * 2, 4);
    put_le(&b, 2, 2);
    put_le(&b, 16, 2);
    buf_puts(&b, "data");
    put_le(&b, (uint32_t)(2 * n), 4);
    for (size_t i = 0; i < n; i++) {
        float s = x[i] * 32768.0f;
        int v = s >= 32767.0f ? 32767 : s <= -32768.0f ? -32768 : (int)s;
        put_le(&b, (uint32_t)(uint16_t)(int16_t)v, 2);
    }
    bool ok = fs_write_file_atomic(path, b.data, b.len, 0644);
    buf_free(&b);
    return ok;
}

/* jfk, 2 s of silence, two hifitts clips and jfk again: about 41 s of 16 kHz speech. */
static bool make_long_wav(void)
{
    const char *parts[] = {JFK, NULL, HIFI_A, HIFI_B, JFK};
    buf all;
    buf_init(&all);
    audio_params ap = audio_default_params();
    ap.sample_rate = RATE;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i]) {
            float silence[2 * RATE] = {0};
            buf_append(&all, silence, sizeof silence);
            continue;
        }
        char path[1024], err[256];
        audio_pcm pcm;
        testdata_path(path, sizeof path, parts[i]);
        if (audio_decode_file(path, &ap, &pcm, err, sizeof err) != AUDIO_OK) {
            fprintf(stderr, "decoding %s: %s\n", path, err);
            buf_free(&all);
            return false;
        }
        buf_append(&all, pcm.samples, pcm.n * sizeof(float));
        audio_pcm_free(&pcm);
    }
    snprintf(g_long_wav, sizeof g_long_wav, "%s/long.wav", g_tmp);
    bool ok = write_wav(g_long_wav, (const float *)all.data, all.len / sizeof(float));
    buf_free(&all);
    return ok;
}

/* ---- tests ---- */

/* whisper-cli's default decoding: beam search with 5 beams (one thread: ggml's threads spin, and
 * on a busy 2-core machine two threads per call can run ten times slower). */
static void test_beam_search(void **state)
{
    (void)state;
    char jfk[1024];
    jfk_path(jfk, sizeof jfk);
    check_parity(&(parity_case){MULTI_MODEL, jfk, "en", 5, 1, false, NULL});
}

/* Greedy decoding on the engine's default 2 threads. */
static void test_greedy_two_threads(void **state)
{
    (void)state;
    char jfk[1024];
    jfk_path(jfk, sizeof jfk);
    check_parity(&(parity_case){MULTI_MODEL, jfk, "en", 1, 2, false, NULL});
}

static void test_english_only_model(void **state)
{
    (void)state;
    char jfk[1024];
    jfk_path(jfk, sizeof jfk);
    check_parity(&(parity_case){EN_MODEL, jfk, "en", 1, 1, false, NULL});
}

static void test_language_detection(void **state)
{
    (void)state;
    char hifi[1024];
    testdata_path(hifi, sizeof hifi, HIFI_A);
    check_parity(&(parity_case){MULTI_MODEL, hifi, "auto", 1, 1, false, NULL});
}

/* The OpenAI endpoint's translations and prompt: whisper's translate task with an initial prompt,
 * from Mandarin (so the task token matters), exactly as whisper-cli -tr --prompt decodes it. */
static void test_translate_with_prompt(void **state)
{
    (void)state;
    char hifi[1024];
    testdata_path(hifi, sizeof hifi, HIFI_B);
    check_parity(&(parity_case){MULTI_MODEL, hifi, "zh", 1, 1, true, "Kennedy, Americans."});
}

/* Over 30 s, beam search: whisper moves its window along by the timestamps it decodes. */
static void test_two_windows_mandarin(void **state)
{
    (void)state;
    if (!make_long_wav())
        fail_msg("could not write the long test file");
    check_parity(&(parity_case){MULTI_MODEL, g_long_wav, "zh", 5, 1, false, NULL});
}

/* Everything the test needs; a missing piece of shared data skips it (77), a missing build
 * product fails it. */
static int find_inputs(void)
{
    const char *cli = getenv("WHISPER_CLI"), *models = getenv("CICADA_TEST_MODELS");
    if (!cli || access(cli, X_OK) != 0) {
        fprintf(stderr, "WHISPER_CLI does not name the built whisper-cli\n");
        return 1;
    }
    snprintf(g_cli, sizeof g_cli, "%s", cli);
    snprintf(g_models, sizeof g_models, "%s", models ? models : "");
    const char *need_models[] = {MULTI_MODEL, EN_MODEL};
    for (size_t i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", g_models, need_models[i]);
        if (!path_exists(path)) {
            fprintf(stderr, "skipped: %s is absent (the whisper_models fixture writes it from "
                            "$CICADA_SHARED/models/whisper-vocab)\n", path);
            return 77;
        }
    }
    const char *need_audio[] = {JFK, HIFI_A, HIFI_B};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        testdata_path(path, sizeof path, need_audio[i]);
        if (!path_exists(path)) {
            fprintf(stderr, "skipped: %s is absent\n", path);
            return 77;
        }
    }
    return 0;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* argv[1]: "short" (the 11 s files; the default), "long" (the two-window file) or "all". Short and
 * long are CTest tests of their own, so that each stays under 20 s in a Debug build. */
int main(int argc, char **argv)
{
    int rc = find_inputs();
    if (rc != 0)
        return rc;
    log_set_level(LOG_WARN);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cicada-parity-XXXXXX");
    if (!mkdtemp(g_tmp))
        return 1;
    const char *group = argc > 1 ? argv[1] : "short";
    const struct CMUnitTest short_tests[] = {
        cmocka_unit_test(test_beam_search),
        cmocka_unit_test(test_greedy_two_threads),
        cmocka_unit_test(test_english_only_model),
        cmocka_unit_test(test_language_detection),
        cmocka_unit_test(test_translate_with_prompt),
    };
    const struct CMUnitTest long_tests[] = {
        cmocka_unit_test(test_two_windows_mandarin),
    };
    int failed = 0;
    if (strcmp(group, "short") == 0 || strcmp(group, "all") == 0)
        failed += cmocka_run_group_tests_name("parity_short", short_tests, NULL, NULL);
    if (strcmp(group, "long") == 0 || strcmp(group, "all") == 0)
        failed += cmocka_run_group_tests_name("parity_long", long_tests, NULL, NULL);
    remove_tmp(NULL);
    return failed;
}
