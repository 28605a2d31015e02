/* test_audio.c — decoding real files (wav/mp3/flac, generated 44.1 kHz stereo, 8 kHz fsdd) into mono
 * float PCM at the asked rate; exact output lengths (round(in * out_rate / in_rate)) from generated
 * files of known sample counts; one chosen channel; declared raw PCM; and clean failures for
 * non-media, empty, over-long, over-large input and a channel the input lacks; truncated input
 * (a WAV or MP3 whose header declares more than the file holds) fails as AudioTruncated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/audio.h"

static char g_testdata[1024];
static char g_tmp[64];

static void data_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", g_testdata, rel);
}

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", g_tmp, name);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void copy_prefix(const char *src, const char *dst, size_t n)
{
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    char *data = malloc(n);
    size_t got = fread(data, 1, n, f);
    fclose(f);
    assert_int_equal(got, n);
    write_bytes(dst, data, n);
    free(data);
}

static bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static audio_rc decode_at(const char *path, int rate, int64_t max_ms, audio_pcm *pcm, char *err, size_t errlen)
{
    audio_params p = audio_default_params();
    p.sample_rate = rate;
    if (max_ms > 0)
        p.max_duration_ms = max_ms;
    return audio_decode_file(path, &p, pcm, err, errlen);
}

static double rms(const audio_pcm *p)
{
    double sum = 0;
    for (size_t i = 0; i < p->n; i++)
        sum += (double)p->samples[i] * p->samples[i];
    return p->n ? sqrt(sum / (double)p->n) : 0;
}

static void assert_samples_in_range(const audio_pcm *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (!isfinite(p->samples[i]) || p->samples[i] < -1.0f || p->samples[i] > 1.0f)
            fail_msg("sample %zu out of range: %f", i, (double)p->samples[i]);
    }
}

/* Counts sign changes, ignoring near-zero samples, to estimate a tone's frequency. */
static size_t zero_crossings(const audio_pcm *p)
{
    size_t n = 0;
    int last = 0;
    for (size_t i = 0; i < p->n; i++) {
        int s = p->samples[i] > 0.01f ? 1 : p->samples[i] < -0.01f ? -1 : 0;
        if (s != 0 && last != 0 && s != last)
            n++;
        if (s != 0)
            last = s;
    }
    return n;
}

static void assert_clean_failure(audio_rc rc, const char *err)
{
    assert_true(rc == AUDIO_NOT_AUDIO || rc == AUDIO_DECODE_FAILED);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
}

/* ---- tests ---- */

static void test_jfk_wav_mp3_flac_agree(void **state)
{
    (void)state;
    const char *names[] = {"en/jfk/jfk.wav", "en/jfk/jfk.mp3", "en/jfk/jfk.flac"};
    int64_t dur[3];
    for (int i = 0; i < 3; i++) {
        char path[1200], err[256];
        data_path(path, sizeof path, names[i]);
        audio_pcm pcm;
        audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
        if (rc != AUDIO_OK)
            fail_msg("%s: %s (%s)", names[i], audio_rc_code(rc), err);
        assert_int_equal(pcm.sample_rate, 16000);
        assert_int_equal(pcm.duration_ms, (int64_t)pcm.n * 1000 / 16000);
        assert_in_range(pcm.duration_ms, 10800, 11200);
        assert_true(rms(&pcm) > 0.01);
        assert_samples_in_range(&pcm);
        dur[i] = pcm.duration_ms;
        audio_pcm_free(&pcm);
        assert_null(pcm.samples);
    }
    assert_true(llabs(dur[0] - dur[1]) <= 50);
    assert_true(llabs(dur[0] - dur[2]) <= 50);
}

static void make_stereo_44k(const char *path)
{
    /* Left: 440 Hz sine, right: silence, 2.0 s at 44.1 kHz, 16-bit. */
    char cmd[1024];
    if (have_tool("sox"))
        snprintf(cmd, sizeof cmd,
                 "sox -n -r 44100 -c 2 -b 16 '%s' synth 2.0 sine 440 sine 440 remix 1 0 2>/dev/null", path);
    else
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i 'sine=frequency=440:sample_rate=44100:duration=2' "
                 "-af 'pan=stereo|c0=c0' -c:a pcm_s16le '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void test_stereo_44k_resampled_to_16k_and_8k(void **state)
{
    (void)state;
    if (!have_tool("sox") && !have_tool("ffmpeg"))
        skip();
    char path[128];
    tmp_path(path, sizeof path, "stereo44k.wav");
    make_stereo_44k(path);
    const int rates[] = {16000, 8000};
    for (int i = 0; i < 2; i++) {
        audio_pcm pcm;
        char err[256];
        audio_rc rc = decode_at(path, rates[i], 0, &pcm, err, sizeof err);
        if (rc != AUDIO_OK)
            fail_msg("%d Hz: %s (%s)", rates[i], audio_rc_code(rc), err);
        assert_int_equal(pcm.sample_rate, rates[i]);
        assert_in_range(pcm.n, (size_t)rates[i] * 2 - rates[i] / 100, (size_t)rates[i] * 2 + rates[i] / 100);
        assert_in_range(pcm.duration_ms, 1990, 2010);
        assert_samples_in_range(&pcm);
        /* The tone survives downmix + resampling: ~2 crossings per cycle, 440 cycles/s, 2 s. */
        assert_in_range(zero_crossings(&pcm), 1740, 1780);
        assert_true(rms(&pcm) > 0.1);
        audio_pcm_free(&pcm);
    }
}

static void test_fsdd_8k_upsampled_to_16k(void **state)
{
    (void)state;
    char path[1200], err[256];
    data_path(path, sizeof path, "8k/fsdd/0_george_0.wav");
    audio_pcm p8, p16;
    assert_int_equal(decode_at(path, 8000, 0, &p8, err, sizeof err), AUDIO_OK);
    assert_int_equal(decode_at(path, 16000, 0, &p16, err, sizeof err), AUDIO_OK);
    assert_true(p8.n > 1000);
    /* At its native rate nothing is resampled; doubling the rate doubles the samples. */
    assert_in_range(p16.n, 2 * p8.n - 2, 2 * p8.n + 2);
    assert_true(llabs(p16.duration_ms - p8.duration_ms) <= 1);
    assert_true(fabs(rms(&p16) - rms(&p8)) < 0.1 * rms(&p8));
    audio_pcm_free(&p8);
    audio_pcm_free(&p16);
}

static void test_random_bytes_fail_cleanly(void **state)
{
    (void)state;
    FILE *r = fopen("/dev/urandom", "rb");
    assert_non_null(r);
    static unsigned char bytes[200000];
    const size_t sizes[] = {1, 100, 4096, 7000, 20000, 65536, 200000};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            assert_int_equal(fread(bytes, 1, sizes[i], r), sizes[i]);
            char path[128], err[256];
            tmp_path(path, sizeof path, round == 0 ? "random.bin" : round == 1 ? "random.mp3" : "random.wav");
            write_bytes(path, bytes, sizes[i]);
            audio_pcm pcm;
            audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
            if (rc != AUDIO_NOT_AUDIO && rc != AUDIO_DECODE_FAILED)
                fail_msg("%zu random bytes as %s: %s (%s)", sizes[i], path, audio_rc_code(rc), err);
            assert_clean_failure(rc, err);
            assert_null(pcm.samples);
        }
    }
    fclose(r);
}

static void test_text_and_subtitle_files_are_not_audio(void **state)
{
    (void)state;
    const char *texts[] = {
        "hello world, this is just a text file\nwith two lines\n",
        "1\n00:00:00,000 --> 00:00:01,000\nhello subtitle\n\n2\n00:00:01,000 --> 00:00:02,000\nbye\n",
        "<?xml version=\"1.0\"?><Request><Tag>SpeechRecognition</Tag></Request>",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char path[128], err[256];
        tmp_path(path, sizeof path, i == 1 ? "sub.srt" : "note.txt");
        write_bytes(path, texts[i], strlen(texts[i]));
        audio_pcm pcm;
        audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
        assert_clean_failure(rc, err);
    }
}

/* Playlists and concat lists naming other files must not make the decoder read those files. */
static void test_playlists_referencing_other_files_are_refused(void **state)
{
    (void)state;
    char wav[1200], local[128], text[4096], path[128], err[256];
    data_path(wav, sizeof wav, "en/jfk/jfk.wav");
    tmp_path(local, sizeof local, "neighbour.wav");
    copy_prefix(wav, local, 44 + 32000);
    const char *names[] = {"list.m3u8", "list.ffconcat", "list.m3u8"};
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            snprintf(text, sizeof text, "#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11.0,\n%s\n#EXT-X-ENDLIST\n", local);
        else if (i == 1)
            snprintf(text, sizeof text, "ffconcat version 1.0\nfile neighbour.wav\nfile '%s'\n", local);
        else
            snprintf(text, sizeof text, "#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11.0,\nneighbour.wav\n#EXT-X-ENDLIST\n");
        tmp_path(path, sizeof path, names[i]);
        write_bytes(path, text, strlen(text));
        audio_pcm pcm;
        audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
        if (rc == AUDIO_OK)
            fail_msg("%s was followed to its referenced file", names[i]);
        assert_clean_failure(rc, err);
    }
}

/* jfk.mp3 declares its length in a Xing/Info frame: a cut anywhere fails, as truncated when what is
 * left still decodes, and never succeeds with part of the audio missing. */
static void test_truncated_mp3_fails(void **state)
{
    (void)state;
    char src[1200], dst[128], err[256];
    data_path(src, sizeof src, "en/jfk/jfk.mp3");
    const size_t cuts[] = {3000, 40000};
    audio_rc rc = AUDIO_OK;
    for (int i = 0; i < 2; i++) {
        tmp_path(dst, sizeof dst, "trunc.mp3");
        copy_prefix(src, dst, cuts[i]);
        audio_pcm pcm;
        rc = decode_at(dst, 16000, 0, &pcm, err, sizeof err);
        if (rc == AUDIO_OK)
            fail_msg("a cut at %zu bytes decoded as whole (%lld ms)", cuts[i], (long long)pcm.duration_ms);
        assert_true(rc == AUDIO_TRUNCATED || rc == AUDIO_DECODE_FAILED || rc == AUDIO_EMPTY);
        assert_true(strlen(err) > 0);
    }
    /* A cut well into the stream: what is left decodes, and the header says it is not all. */
    assert_int_equal(rc, AUDIO_TRUNCATED);
    assert_non_null(strstr(err, "truncated"));
    assert_non_null(strstr(err, "declares 11."));
}

/* A WAV file whose data chunk runs past the end of the file (FFmpeg itself trims it to what is
 * there) fails as truncated, naming both lengths; so does a cut at any point of the data. */
static void test_truncated_wav_fails(void **state)
{
    (void)state;
    char src[1200], dst[128], err[256];
    data_path(src, sizeof src, "en/jfk/jfk.wav");
    tmp_path(dst, sizeof dst, "trunc.wav");
    const size_t cuts[] = {20000, 78 + 16000 * 2, 300000};
    for (int i = 0; i < 3; i++) {
        copy_prefix(src, dst, cuts[i]);
        audio_pcm pcm;
        audio_rc rc = decode_at(dst, 16000, 0, &pcm, err, sizeof err);
        if (rc != AUDIO_TRUNCATED)
            fail_msg("cut at %zu: %s (%s)", cuts[i], audio_rc_code(rc), err);
        assert_string_equal(audio_rc_code(rc), "AudioTruncated");
        if (!strstr(err, "declares 11.0"))
            fail_msg("cut at %zu: %s", cuts[i], err);
        assert_null(pcm.samples);
    }
    if (!strstr(err, "holds only 9.37"))   /* 300000 - 78 header bytes of 16-bit mono at 16 kHz */
        fail_msg("%s", err);
}

/* A streamed WAV (its size fields 0xFFFFFFFF or 0, as recorders write before they know the length)
 * declares no length: whatever it holds is decoded. */
static void test_streamed_wav_without_length_decodes(void **state)
{
    (void)state;
    char src[1200], dst[128], err[256];
    data_path(src, sizeof src, "en/jfk/jfk.wav");
    tmp_path(dst, sizeof dst, "stream.wav");
    const uint32_t sizes[] = {0xFFFFFFFFu, 0};
    enum { HDR = 78 };   /* jfk.wav: RIFF, fmt, a LIST chunk, then data at 70 */
    for (int i = 0; i < 2; i++) {
        copy_prefix(src, dst, HDR + 16000 * 2);
        FILE *f = fopen(dst, "r+b");
        assert_non_null(f);
        unsigned char hdr[HDR];
        assert_int_equal(fread(hdr, 1, sizeof hdr, f), sizeof hdr);
        assert_memory_equal(hdr + HDR - 8, "data", 4);
        for (int b = 0; b < 4; b++)
            hdr[4 + b] = hdr[HDR - 4 + b] = (unsigned char)(sizes[i] >> (8 * b));
        rewind(f);
        assert_int_equal(fwrite(hdr, 1, sizeof hdr, f), sizeof hdr);
        fclose(f);
        audio_pcm pcm;
        audio_rc rc = decode_at(dst, 16000, 0, &pcm, err, sizeof err);
        if (rc != AUDIO_OK)
            fail_msg("size field %#x: %s (%s)", sizes[i], audio_rc_code(rc), err);
        assert_in_range(pcm.duration_ms, 990, 1010);
        audio_pcm_free(&pcm);
    }
}

static void test_empty_missing_and_directory_fail(void **state)
{
    (void)state;
    char path[128], err[256];
    audio_pcm pcm;
    tmp_path(path, sizeof path, "empty.wav");
    write_bytes(path, "", 0);
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_EMPTY);
    assert_non_null(strstr(err, "empty"));

    tmp_path(path, sizeof path, "does-not-exist.wav");
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_OPEN_FAILED);
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(decode_at(g_tmp, 16000, 0, &pcm, err, sizeof err), AUDIO_OPEN_FAILED);
    assert_null(pcm.samples);
}

static void test_max_duration_enforced(void **state)
{
    (void)state;
    char path[1200], err[256];
    data_path(path, sizeof path, "en/jfk/jfk.flac");
    audio_pcm pcm;
    assert_int_equal(decode_at(path, 16000, 5000, &pcm, err, sizeof err), AUDIO_TOO_LONG);
    assert_non_null(strstr(err, "5000 ms"));
    assert_null(pcm.samples);
    assert_int_equal(decode_at(path, 8000, 11500, &pcm, err, sizeof err), AUDIO_OK);
    assert_true(pcm.duration_ms <= 11500);
    audio_pcm_free(&pcm);
}

static void test_video_without_audio_is_not_audio(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg"))
        skip();
    char path[128], cmd[512], err[256];
    tmp_path(path, sizeof path, "video.mkv");
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc=duration=0.5:size=32x32:rate=10 -c:v ffv1 '%s'", path);
    assert_int_equal(system(cmd), 0);
    audio_pcm pcm;
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_NOT_AUDIO);
    assert_non_null(strstr(err, "no audio stream"));
}

static void test_audio_track_of_a_video_is_decoded(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg"))
        skip();
    char path[128], cmd[512], err[256];
    tmp_path(path, sizeof path, "av.mkv");
    /* Video first, then a 1.5 s stereo 48 kHz tone: the audio stream is not stream 0. */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc=duration=1.5:size=32x32:rate=10 "
             "-f lavfi -i 'sine=frequency=300:sample_rate=48000:duration=1.5' -ac 2 "
             "-map 0:v -map 1:a -c:v ffv1 -c:a flac '%s'", path);
    assert_int_equal(system(cmd), 0);
    audio_pcm pcm;
    audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
    if (rc != AUDIO_OK)
        fail_msg("%s (%s)", audio_rc_code(rc), err);
    assert_in_range(pcm.duration_ms, 1480, 1520);
    assert_in_range(zero_crossings(&pcm), 880, 920);   /* 300 Hz for 1.5 s */
    audio_pcm_free(&pcm);
}

static void test_rc_codes_are_stable(void **state)
{
    (void)state;
    assert_string_equal(audio_rc_code(AUDIO_OPEN_FAILED), "InputOpenFailed");
    assert_string_equal(audio_rc_code(AUDIO_NOT_AUDIO), "InputNotAudio");
    assert_string_equal(audio_rc_code(AUDIO_DECODE_FAILED), "AudioDecodeFailed");
    assert_string_equal(audio_rc_code(AUDIO_TRUNCATED), "AudioTruncated");
    assert_string_equal(audio_rc_code(AUDIO_EMPTY), "AudioEmpty");
    assert_string_equal(audio_rc_code(AUDIO_TOO_LONG), "AudioTooLong");
    assert_string_equal(audio_rc_code(AUDIO_INPUT_TOO_LARGE), "InputTooLarge");
    assert_string_equal(audio_rc_code(AUDIO_CHANNEL_MISSING), "AudioChannelMissing");
    assert_string_equal(audio_rc_code(AUDIO_FORMAT_MISMATCH), "InputFormatMismatch");
    audio_params p = audio_default_params();
    assert_int_equal(p.sample_rate, 16000);
    assert_int_equal(p.max_duration_ms, 5LL * 3600 * 1000);
    assert_int_equal(p.max_input_bytes, 512LL * 1024 * 1024);
    assert_int_equal(p.channel, -1);
    assert_false(p.raw_pcm);
    assert_int_equal(p.raw_rate, 16000);
    assert_int_equal(p.raw_channels, 1);
}


/* ---- exact lengths ---- */

/* A 16-bit PCM WAV of n frames: channel 0 a 300 Hz tone, channel 1 (if any) a 700 Hz one. */
static void write_tone_wav(const char *path, int rate, int channels, size_t n)
{
    size_t data_bytes = n * (size_t)channels * 2;
    unsigned char hdr[44];
    memcpy(hdr, "RIFF", 4);
    uint32_t riff = (uint32_t)(36 + data_bytes), fmt_len = 16, byte_rate = (uint32_t)(rate * channels * 2);
    uint16_t pcm = 1, ch = (uint16_t)channels, align = (uint16_t)(channels * 2), bits = 16;
    uint32_t r = (uint32_t)rate, data = (uint32_t)data_bytes;
    memcpy(hdr + 4, &riff, 4);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    memcpy(hdr + 16, &fmt_len, 4);
    memcpy(hdr + 20, &pcm, 2);
    memcpy(hdr + 22, &ch, 2);
    memcpy(hdr + 24, &r, 4);
    memcpy(hdr + 28, &byte_rate, 4);
    memcpy(hdr + 32, &align, 2);
    memcpy(hdr + 34, &bits, 2);
    memcpy(hdr + 36, "data", 4);
    memcpy(hdr + 40, &data, 4);
    int16_t *samples = malloc(data_bytes + 2);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            double hz = c ? 700 : 300;
            samples[i * (size_t)channels + (size_t)c] = (int16_t)(8000 * sin(2 * M_PI * hz * (double)i / rate));
        }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, 44, f), 44);
    assert_int_equal(fwrite(samples, 1, data_bytes, f), data_bytes);
    fclose(f);
    free(samples);
}

/* round(n * out / in), halves rounding up: the length the decoder promises. */
static size_t exact_length(size_t n, int in_rate, int out_rate)
{
    return (size_t)(((uint64_t)n * (uint64_t)out_rate * 2 + (uint64_t)in_rate) / ((uint64_t)in_rate * 2));
}

static void test_output_length_is_exact_for_every_rate(void **state)
{
    (void)state;
    const int in_rates[] = {8000, 16000, 22050, 44100, 48000};
    const size_t counts[] = {1, 7, 100, 12345, 44101, 160001};
    const int out_rates[] = {8000, 16000};
    char path[128], err[256];
    tmp_path(path, sizeof path, "exact.wav");
    for (size_t i = 0; i < sizeof in_rates / sizeof in_rates[0]; i++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            int channels = 1 + (int)(k % 2);
            write_tone_wav(path, in_rates[i], channels, counts[k]);
            for (size_t o = 0; o < 2; o++) {
                size_t want = exact_length(counts[k], in_rates[i], out_rates[o]);
                audio_pcm pcm;
                audio_rc rc = decode_at(path, out_rates[o], 0, &pcm, err, sizeof err);
                if (want == 0) {   /* less than one output sample's worth of input */
                    assert_int_equal(rc, AUDIO_EMPTY);
                    continue;
                }
                if (rc != AUDIO_OK || pcm.n != want)
                    fail_msg("%zu samples at %d Hz -> %d Hz: %s, %zu samples, want %zu", counts[k], in_rates[i],
                             out_rates[o], audio_rc_code(rc), pcm.n, want);
                /* AudioTime: the input's own duration to the millisecond (the output's rounding can
                 * only move it across a millisecond boundary by a fraction of one output sample). */
                int64_t true_ms = (int64_t)counts[k] * 1000 / in_rates[i];
                assert_true(llabs(pcm.duration_ms - true_ms) <= 1);
                assert_samples_in_range(&pcm);
                audio_pcm_free(&pcm);
            }
        }
}

/* The samples FFmpeg's own command-line decoder gets from `path` at its native rate. */
static size_t ffmpeg_cli_samples(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -i '%s' -ac 1 -f s16le - | wc -c", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t bytes = 0;
    assert_int_equal(fscanf(p, "%zu", &bytes), 1);
    pclose(p);
    return bytes / 2;
}

/* Through codecs: at its native rate the reader hands out exactly what FFmpeg's own decoder gets
 * (no lost or extra tail), and resampled exactly round(that * 16000 / rate). FLAC and Vorbis record
 * the length, so that is the WAV's; MP3's LAME tag does too except at 48 kHz, where FFmpeg 5.1's
 * decoder gives 38 samples (0.8 ms) more than were encoded, for its command line as for us. */
static void test_output_length_is_exact_through_codecs(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg"))
        skip();
    const int in_rates[] = {8000, 22050, 44100, 48000};
    const char *encodings[] = {"-c:a flac x.flac", "-c:a libvorbis x.ogg", "-c:a libmp3lame -b:a 128k x.mp3"};
    char wav[128], err[256];
    tmp_path(wav, sizeof wav, "codec-src.wav");
    for (size_t i = 0; i < sizeof in_rates / sizeof in_rates[0]; i++) {
        size_t n = (size_t)in_rates[i] * 2 + 777;
        write_tone_wav(wav, in_rates[i], 1, n);
        for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -nostdin -v error -y -i '%s' %s", g_tmp, wav, encodings[e]);
            assert_int_equal(system(cmd), 0);
            char out[128];
            tmp_path(out, sizeof out, strrchr(encodings[e], ' ') + 1);
            audio_pcm native, pcm;
            assert_int_equal(decode_at(out, in_rates[i], 0, &native, err, sizeof err), AUDIO_OK);
            assert_int_equal(decode_at(out, 16000, 0, &pcm, err, sizeof err), AUDIO_OK);
            size_t cli = ffmpeg_cli_samples(out), want = exact_length(native.n, in_rates[i], 16000);
            bool is_mp3_48k = e == 2 && in_rates[i] == 48000;
            if (native.n != cli || pcm.n != want || (native.n != n && !is_mp3_48k))
                fail_msg("%s from %zu samples at %d Hz: %zu at that rate (ffmpeg: %zu), %zu at 16 kHz, want %zu",
                         out, n, in_rates[i], native.n, cli, pcm.n, want);
            if (is_mp3_48k)
                assert_in_range(native.n, n, n + 1152);
            audio_pcm_free(&native);
            audio_pcm_free(&pcm);
        }
    }
}

/* Reads the data chunk's length of a PCM WAV by hand (independent of FFmpeg): frames in the file. */
static size_t wav_frames(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char hdr[12], chunk[8];
    assert_int_equal(fread(hdr, 1, 12, f), 12);
    size_t frames = 0;
    uint16_t block_align = 0;
    while (fread(chunk, 1, 8, f) == 8) {
        uint32_t len;
        memcpy(&len, chunk + 4, 4);
        if (memcmp(chunk, "fmt ", 4) == 0) {
            unsigned char fmt[16];
            assert_int_equal(fread(fmt, 1, 16, f), 16);
            memcpy(&block_align, fmt + 12, 2);
            fseek(f, (long)len - 16 + (len & 1), SEEK_CUR);
        } else if (memcmp(chunk, "data", 4) == 0) {
            assert_true(block_align > 0);
            frames = len / block_align;
            break;
        } else {
            fseek(f, (long)len + (len & 1), SEEK_CUR);
        }
    }
    fclose(f);
    return frames;
}

/* Every fsdd digit (8 kHz telephone speech) decodes at 8 kHz to exactly its frames, and at 16 kHz
 * to exactly twice as many. */
static void test_fsdd_digits_have_exact_lengths(void **state)
{
    (void)state;
    char dir[1200];
    data_path(dir, sizeof dir, "8k/fsdd");
    DIR *d = opendir(dir);
    if (!d)
        skip();
    size_t files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".wav") != 0)
            continue;
        char path[1600], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t frames = wav_frames(path);
        audio_pcm p8, p16;
        assert_int_equal(decode_at(path, 8000, 0, &p8, err, sizeof err), AUDIO_OK);
        assert_int_equal(decode_at(path, 16000, 0, &p16, err, sizeof err), AUDIO_OK);
        if (p8.n != frames || p16.n != 2 * frames)
            fail_msg("%s: %zu frames, decoded %zu at 8 kHz and %zu at 16 kHz", e->d_name, frames, p8.n, p16.n);
        assert_int_equal(p8.duration_ms, (int64_t)frames * 1000 / 8000);
        assert_int_equal(p16.duration_ms, p8.duration_ms);
        audio_pcm_free(&p8);
        audio_pcm_free(&p16);
        files++;
    }
    closedir(d);
    print_message("%zu fsdd files, all exact\n", files);
    assert_true(files >= 300);
}

/* ---- channels ---- */

static void test_one_channel_of_a_stereo_file(void **state)
{
    (void)state;
    if (!have_tool("sox") && !have_tool("ffmpeg"))
        skip();
    char path[128], err[256];
    tmp_path(path, sizeof path, "stereo44k-ch.wav");
    make_stereo_44k(path);   /* left: 440 Hz, right: silence */
    audio_params p = audio_default_params();
    audio_reader *r;
    assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_OK);
    assert_int_equal(audio_reader_channels(r), 2);
    audio_close(r);
    audio_pcm mix, left, right;
    p.channel = -1;
    assert_int_equal(audio_decode_file(path, &p, &mix, err, sizeof err), AUDIO_OK);
    p.channel = 0;
    assert_int_equal(audio_decode_file(path, &p, &left, err, sizeof err), AUDIO_OK);
    p.channel = 1;
    assert_int_equal(audio_decode_file(path, &p, &right, err, sizeof err), AUDIO_OK);
    assert_int_equal(left.n, mix.n);
    assert_int_equal(right.n, mix.n);
    assert_in_range(zero_crossings(&left), 1740, 1780);
    /* swresample's stereo downmix takes each channel at -3 dB (x 0.7071) */
    assert_true(rms(&left) > 1.40 * rms(&mix) && rms(&left) < 1.43 * rms(&mix));
    assert_true(rms(&right) < 1e-4);
    audio_pcm_free(&mix);
    audio_pcm_free(&left);
    audio_pcm_free(&right);

    p.channel = 2;
    audio_pcm pcm;
    assert_int_equal(audio_decode_file(path, &p, &pcm, err, sizeof err), AUDIO_CHANNEL_MISSING);
    assert_non_null(strstr(err, "channel 2"));
    assert_non_null(strstr(err, "2 channels"));
    assert_null(pcm.samples);
    p.channel = -2;
    assert_int_equal(audio_decode_file(path, &p, &pcm, err, sizeof err), AUDIO_CHANNEL_MISSING);
}

/* ---- declared raw PCM ---- */

static audio_rc decode_raw(const char *path, int raw_rate, int raw_channels, int channel, int out_rate,
                           audio_pcm *pcm, char *err, size_t errlen)
{
    audio_params p = audio_default_params();
    p.raw_pcm = true;
    p.raw_rate = raw_rate;
    p.raw_channels = raw_channels;
    p.channel = channel;
    p.sample_rate = out_rate;
    return audio_decode_file(path, &p, pcm, err, errlen);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* pocketsphinx's goforward.raw (16 kHz s16le, no header) decoded as declared, sample for sample
 * the same as the same bytes behind a WAV header. */
static void test_declared_raw_pcm_is_decoded(void **state)
{
    (void)state;
    char raw[1200], wav[128], err[256];
    data_path(raw, sizeof raw, "en/sphinx/goforward.raw");
    long bytes = file_size(raw);
    audio_pcm pcm, ref;
    audio_rc rc = decode_raw(raw, 16000, 1, -1, 16000, &pcm, err, sizeof err);
    if (rc != AUDIO_OK)
        fail_msg("%s (%s)", audio_rc_code(rc), err);
    assert_int_equal(pcm.n, (size_t)bytes / 2);
    assert_int_equal(pcm.duration_ms, (int64_t)bytes / 2 * 1000 / 16000);

    /* the same samples wrapped in a WAV header */
    FILE *in = fopen(raw, "rb");
    unsigned char *data = malloc((size_t)bytes);
    assert_int_equal(fread(data, 1, (size_t)bytes, in), (size_t)bytes);
    fclose(in);
    tmp_path(wav, sizeof wav, "goforward.wav");
    write_tone_wav(wav, 16000, 1, (size_t)bytes / 2);
    FILE *out = fopen(wav, "r+b");
    fseek(out, 44, SEEK_SET);
    assert_int_equal(fwrite(data, 1, (size_t)bytes, out), (size_t)bytes);
    fclose(out);
    assert_int_equal(decode_at(wav, 16000, 0, &ref, err, sizeof err), AUDIO_OK);
    assert_int_equal(ref.n, pcm.n);
    assert_memory_equal(ref.samples, pcm.samples, pcm.n * sizeof *pcm.samples);
    audio_pcm_free(&pcm);

    /* Declared raw wins over the content: the WAV read as raw includes its 44-byte header as 22 samples. */
    assert_int_equal(decode_raw(wav, 16000, 1, -1, 16000, &pcm, err, sizeof err), AUDIO_OK);
    assert_int_equal(pcm.n, ref.n + 22);
    assert_memory_equal(pcm.samples + 22, ref.samples, ref.n * sizeof *ref.samples);
    audio_pcm_free(&pcm);
    audio_pcm_free(&ref);

    /* Declared 8 kHz: resampled to 16 kHz, twice the samples. */
    assert_int_equal(decode_raw(raw, 8000, 1, -1, 16000, &pcm, err, sizeof err), AUDIO_OK);
    assert_int_equal(pcm.n, (size_t)bytes);
    audio_pcm_free(&pcm);
    free(data);
}

static void test_declared_raw_stereo_and_odd_sizes(void **state)
{
    (void)state;
    char path[128], err[256];
    tmp_path(path, sizeof path, "stereo.pcm");
    int16_t frames[2000][2];
    for (int i = 0; i < 2000; i++) {
        frames[i][0] = (int16_t)(i * 16);
        frames[i][1] = (int16_t)-1000;
    }
    write_bytes(path, frames, sizeof frames - 3);   /* the last frame incomplete */
    audio_pcm pcm;
    assert_int_equal(decode_raw(path, 8000, 2, 0, 8000, &pcm, err, sizeof err), AUDIO_OK);
    assert_int_equal(pcm.n, 1999);
    for (size_t i = 0; i < pcm.n; i++)
        assert_true(pcm.samples[i] == (float)(i * 16) / 32768.0f);
    audio_pcm_free(&pcm);
    assert_int_equal(decode_raw(path, 8000, 2, 1, 8000, &pcm, err, sizeof err), AUDIO_OK);
    assert_true(pcm.samples[0] == -1000.0f / 32768.0f);
    audio_pcm_free(&pcm);
    assert_int_equal(decode_raw(path, 8000, 2, 2, 8000, &pcm, err, sizeof err), AUDIO_CHANNEL_MISSING);

    write_bytes(path, frames, 1);   /* not even one sample */
    assert_int_equal(decode_raw(path, 8000, 1, -1, 16000, &pcm, err, sizeof err), AUDIO_EMPTY);
    assert_null(pcm.samples);
    assert_int_equal(decode_raw(path, 0, 1, -1, 16000, &pcm, err, sizeof err), AUDIO_DECODE_FAILED);
    assert_non_null(strstr(err, "raw PCM"));
    assert_int_equal(decode_raw(path, 8000, 0, -1, 16000, &pcm, err, sizeof err), AUDIO_DECODE_FAILED);
}

/* ---- found by fuzzing ---- */

/* A CRYO APC header (an ADPCM game format FFmpeg reads) with the given sample rate, then noise. */
static void write_apc(const char *path, uint32_t rate)
{
    unsigned char d[32 + 2048];
    uint32_t fields[] = {4096, rate, 0, 0, 0};   /* samples, rate, two predictors, mono */
    memcpy(d, "CRYO_APC1.20", 12);
    memcpy(d + 12, fields, sizeof fields);
    for (size_t i = 32; i < sizeof d; i++)
        d[i] = (unsigned char)(i * 37);
    write_bytes(path, d, sizeof d);
}

/* An absurd sample rate in a forged header used to make the resampler allocate gigabytes of filter
 * tables; it is refused. A real rate in the same file decodes. */
static void test_absurd_input_sample_rate_is_refused(void **state)
{
    (void)state;
    char path[128], err[256];
    tmp_path(path, sizeof path, "forged.apc");
    audio_pcm pcm;
    write_apc(path, 0x7ffffff0u);
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_DECODE_FAILED);
    assert_non_null(strstr(err, "unsupported input sample rate 2147483632 Hz"));
    write_apc(path, 22050);
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_OK);
    assert_samples_in_range(&pcm);
    audio_pcm_free(&pcm);
}

/* 140 bytes the fuzzer made from a WAV seed: a LIST chunk claiming ~3 GB, then a mangled data
 * chunk. FFmpeg's WAV demuxer used to answer it with one 1.6 GB zeroed allocation. */
static const unsigned char FORGED_WAV[] = {
    0x52, 0x49, 0x46, 0x46, 0xf4, 0x0f, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20,
    0x12, 0x00, 0x00, 0x00, 0x06, 0x00, 0xab, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00,
    0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x66, 0x61, 0x63, 0x74, 0x04, 0x00, 0x00, 0x00, 0xa0, 0x0f,
    0x00, 0x00, 0x4c, 0x49, 0x53, 0x54, 0xbd, 0xbb, 0xb1, 0xb7, 0x49, 0x4e, 0x46, 0x4f, 0x49, 0x53,
    0x46, 0x54, 0x0e, 0x00, 0x00, 0x00, 0x4c, 0x61, 0x76, 0x66, 0x35, 0x39, 0x2e, 0x32, 0x37, 0x2e,
    0x31, 0x30, 0x30, 0x31, 0x30, 0x30, 0x00, 0x64, 0x61, 0x74, 0xf1, 0x60, 0x40, 0x22, 0x9f, 0xfc,
    0xde, 0x02, 0x00, 0x4c, 0x61, 0x76, 0x63, 0x35, 0x39, 0x2e, 0x33, 0x37, 0x2e, 0x28, 0x30, 0x30,
    0x00, 0x02, 0x28, 0x8a, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe3, 0x00, 0x00, 0x00, 0x5d,
    0x9a, 0x6d, 0x47, 0x59, 0x8a, 0xd0, 0xc8, 0xcb, 0x6d, 0x87, 0x00, 0x3f,
};

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A tiny forged header cannot make FFmpeg allocate gigabytes: decoded in a child, whose peak RSS
 * must grow by little (it grew by 1.8 GB). */
static void test_forged_header_cannot_allocate_gigabytes(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "forged.wav");
    write_bytes(path, FORGED_WAV, sizeof FORGED_WAV);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        audio_pcm pcm;
        char err[256];
        long before = peak_rss_kb();
        audio_rc rc = decode_at(path, 16000, 0, &pcm, err, sizeof err);
        long growth = peak_rss_kb() - before;
        printf("forged WAV: %s (%s); peak RSS grew by %ld kB\n", audio_rc_code(rc), err, growth);
        fflush(stdout);
        _exit(rc != AUDIO_NOT_AUDIO && rc != AUDIO_DECODE_FAILED ? 1 : growth > 128 * 1024 ? 2 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Float decoders fed corrupt data can emit NaN (Nellymoser in a mangled FLV did); samples stay in
 * [-1,1] whatever a decoder emits. Simulated here with a float WAV holding NaN and infinities. */
static void test_nan_and_infinite_samples_are_sanitised(void **state)
{
    (void)state;
    char path[128], err[256];
    tmp_path(path, sizeof path, "nan.wav");
    float data[64];
    for (int i = 0; i < 64; i++)
        data[i] = i % 4 == 0 ? NAN : i % 4 == 1 ? INFINITY : i % 4 == 2 ? -INFINITY : 0.5f;
    unsigned char hdr[44];
    uint32_t riff = 36 + sizeof data, fmt_len = 16, rate = 16000, byte_rate = 64000, len = sizeof data;
    uint16_t ieee_float = 3, channels = 1, align = 4, bits = 32;
    memcpy(hdr, "RIFF", 4);
    memcpy(hdr + 4, &riff, 4);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    memcpy(hdr + 16, &fmt_len, 4);
    memcpy(hdr + 20, &ieee_float, 2);
    memcpy(hdr + 22, &channels, 2);
    memcpy(hdr + 24, &rate, 4);
    memcpy(hdr + 28, &byte_rate, 4);
    memcpy(hdr + 32, &align, 2);
    memcpy(hdr + 34, &bits, 2);
    memcpy(hdr + 36, "data", 4);
    memcpy(hdr + 40, &len, 4);
    unsigned char file[44 + sizeof data];
    memcpy(file, hdr, 44);
    memcpy(file + 44, data, sizeof data);
    write_bytes(path, file, sizeof file);
    audio_pcm pcm;
    assert_int_equal(decode_at(path, 16000, 0, &pcm, err, sizeof err), AUDIO_OK);
    assert_int_equal(pcm.n, 64);
    assert_samples_in_range(&pcm);
    assert_true(pcm.samples[0] == 0.0f && pcm.samples[1] == 1.0f && pcm.samples[2] == -1.0f);
    audio_pcm_free(&pcm);
}

/* ---- size limit ---- */

static void test_max_input_bytes_refuses_before_decoding(void **state)
{
    (void)state;
    char path[1200], err[256];
    data_path(path, sizeof path, "en/jfk/jfk.wav");
    long bytes = file_size(path);
    audio_params p = audio_default_params();
    p.max_input_bytes = bytes - 1;
    audio_reader *r;
    assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_INPUT_TOO_LARGE);
    assert_null(r);
    char says[128];
    snprintf(says, sizeof says, "%ld bytes; the limit is %ld bytes", bytes, bytes - 1);
    assert_non_null(strstr(err, says));
    p.max_input_bytes = bytes;
    assert_int_equal(audio_open(path, &p, &r, err, sizeof err), AUDIO_OK);
    audio_close(r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cicada-audio-XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const char *td = getenv("CICADA_TESTDATA");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/en/jfk/jfk.wav", td ? td : "");
    if (!td || access(probe, R_OK) != 0) {
        printf("skipping: CICADA_TESTDATA unset or %s missing\n", probe);
        return 77;
    }
    snprintf(g_testdata, sizeof g_testdata, "%s", td);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jfk_wav_mp3_flac_agree),
        cmocka_unit_test(test_stereo_44k_resampled_to_16k_and_8k),
        cmocka_unit_test(test_fsdd_8k_upsampled_to_16k),
        cmocka_unit_test(test_random_bytes_fail_cleanly),
        cmocka_unit_test(test_text_and_subtitle_files_are_not_audio),
        cmocka_unit_test(test_playlists_referencing_other_files_are_refused),
        cmocka_unit_test(test_truncated_mp3_fails),
        cmocka_unit_test(test_truncated_wav_fails),
        cmocka_unit_test(test_streamed_wav_without_length_decodes),
        cmocka_unit_test(test_empty_missing_and_directory_fail),
        cmocka_unit_test(test_max_duration_enforced),
        cmocka_unit_test(test_video_without_audio_is_not_audio),
        cmocka_unit_test(test_audio_track_of_a_video_is_decoded),
        cmocka_unit_test(test_rc_codes_are_stable),
        cmocka_unit_test(test_output_length_is_exact_for_every_rate),
        cmocka_unit_test(test_output_length_is_exact_through_codecs),
        cmocka_unit_test(test_fsdd_digits_have_exact_lengths),
        cmocka_unit_test(test_one_channel_of_a_stereo_file),
        cmocka_unit_test(test_declared_raw_pcm_is_decoded),
        cmocka_unit_test(test_declared_raw_stereo_and_odd_sizes),
        cmocka_unit_test(test_max_input_bytes_refuses_before_decoding),
        cmocka_unit_test(test_absurd_input_sample_rate_is_refused),
        cmocka_unit_test(test_nan_and_infinite_samples_are_sanitised),
        cmocka_unit_test(test_forged_header_cannot_allocate_gigabytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
