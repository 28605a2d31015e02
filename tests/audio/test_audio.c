/* test_audio.c — decoding real files (wav/mp3/flac, generated 44.1 kHz stereo, 8 kHz fsdd) into mono
 * float PCM at the asked rate, and clean failures for non-media, truncated, empty and over-long input. */
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

static void test_truncated_mp3_decodes_or_fails_cleanly(void **state)
{
    (void)state;
    char src[1200], dst[128], err[256];
    data_path(src, sizeof src, "en/jfk/jfk.mp3");
    const size_t cuts[] = {3000, 40000};
    for (int i = 0; i < 2; i++) {
        tmp_path(dst, sizeof dst, "trunc.mp3");
        copy_prefix(src, dst, cuts[i]);
        audio_pcm pcm;
        audio_rc rc = decode_at(dst, 16000, 0, &pcm, err, sizeof err);
        if (rc == AUDIO_OK) {
            assert_true(pcm.n > 0);
            assert_true(pcm.duration_ms < 11000);
            assert_samples_in_range(&pcm);
            audio_pcm_free(&pcm);
        } else {
            assert_true(rc == AUDIO_DECODE_FAILED || rc == AUDIO_EMPTY);
            assert_true(strlen(err) > 0);
        }
    }
    /* A cut well into the stream keeps what is there: about 40000 bytes' worth of audio. */
    audio_pcm pcm;
    assert_int_equal(decode_at(dst, 16000, 0, &pcm, err, sizeof err), AUDIO_OK);
    assert_in_range(pcm.duration_ms, 500, 10500);
    audio_pcm_free(&pcm);
}

static void test_truncated_wav_keeps_what_is_there(void **state)
{
    (void)state;
    char src[1200], dst[128], err[256];
    data_path(src, sizeof src, "en/jfk/jfk.wav");
    tmp_path(dst, sizeof dst, "trunc.wav");
    copy_prefix(src, dst, 44 + 16000 * 2);   /* header + about 1 s of 16-bit mono at 16 kHz */
    audio_pcm pcm;
    audio_rc rc = decode_at(dst, 16000, 0, &pcm, err, sizeof err);
    if (rc != AUDIO_OK)
        fail_msg("%s (%s)", audio_rc_code(rc), err);
    assert_in_range(pcm.duration_ms, 900, 1100);
    audio_pcm_free(&pcm);
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
    assert_string_equal(audio_rc_code(AUDIO_EMPTY), "AudioEmpty");
    assert_string_equal(audio_rc_code(AUDIO_TOO_LONG), "AudioTooLong");
    audio_params p = audio_default_params();
    assert_int_equal(p.sample_rate, 16000);
    assert_int_equal(p.max_duration_ms, 5LL * 3600 * 1000);
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
        cmocka_unit_test(test_truncated_mp3_decodes_or_fails_cleanly),
        cmocka_unit_test(test_truncated_wav_keeps_what_is_there),
        cmocka_unit_test(test_empty_missing_and_directory_fail),
        cmocka_unit_test(test_max_duration_enforced),
        cmocka_unit_test(test_video_without_audio_is_not_audio),
        cmocka_unit_test(test_audio_track_of_a_video_is_decoded),
        cmocka_unit_test(test_rc_codes_are_stable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
