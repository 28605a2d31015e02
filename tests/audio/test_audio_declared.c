/* test_audio_declared.c — a declared container (a job's Format other than pcm): the names a job may
 * declare; content that agrees decodes exactly as undeclared; content FFmpeg clearly places as
 * another container fails as InputFormatMismatch; content it cannot place (a 300-byte cut from the
 * middle of an MP3, which FFmpeg guesses at score 1) is read with the declared demuxer. Files are
 * opened by path with no telling extension in the cut's case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"

static char g_testdata[1024];

static audio_rc decode(const char *rel, const char *container, audio_pcm *pcm, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_testdata, rel);
    audio_params p = audio_default_params();
    p.container = container;
    return audio_decode_file(path, &p, pcm, err, errlen);
}

static void test_declarable_names(void **state)
{
    (void)state;
    const char *known[] = {"wav", "WAV", "mp3", "m4a", "aac", "ogg-opus", "amr"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        assert_true(audio_container_known(known[i]));
    const char *unknown[] = {"pcm", "speex", "silk", "flac", "mp4", "ogg", "", "wav ", "hls", "concat"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_false(audio_container_known(unknown[i]));
    assert_false(audio_container_known(NULL));
}

static void test_agreeing_content_decodes_as_undeclared(void **state)
{
    (void)state;
    const char *cases[][2] = {{"en/jfk/jfk.wav", "wav"}, {"en/jfk/jfk.mp3", "mp3"}, {"en/jfk/jfk.mp3", "MP3"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        audio_pcm plain, declared;
        char err[256];
        assert_int_equal(decode(cases[i][0], NULL, &plain, err, sizeof err), AUDIO_OK);
        assert_int_equal(decode(cases[i][0], cases[i][1], &declared, err, sizeof err), AUDIO_OK);
        assert_int_equal(declared.n, plain.n);
        assert_memory_equal(declared.samples, plain.samples, plain.n * sizeof *plain.samples);
        audio_pcm_free(&plain);
        audio_pcm_free(&declared);
    }
}

static void test_other_content_is_a_mismatch(void **state)
{
    (void)state;
    audio_pcm pcm;
    char err[256];
    assert_int_equal(decode("en/jfk/jfk.wav", "mp3", &pcm, err, sizeof err), AUDIO_FORMAT_MISMATCH);
    assert_non_null(strstr(err, "not the mp3 that Format declares"));
    assert_string_equal(audio_rc_code(AUDIO_FORMAT_MISMATCH), "InputFormatMismatch");
    assert_null(pcm.samples);
    assert_int_equal(decode("en/jfk/jfk.mp3", "amr", &pcm, err, sizeof err), AUDIO_FORMAT_MISMATCH);
    assert_int_equal(decode("en/jfk/jfk.wav", "speex", &pcm, err, sizeof err), AUDIO_DECODE_FAILED);
}

static void test_unplaced_content_is_read_as_declared(void **state)
{
    (void)state;
    char src[1200], cut[] = "/tmp/cicada-declared-XXXXXX";
    snprintf(src, sizeof src, "%s/en/jfk/jfk.mp3", g_testdata);
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    unsigned char bytes[300];
    assert_int_equal(fseek(f, 20000, SEEK_SET), 0);
    assert_int_equal(fread(bytes, 1, sizeof bytes, f), sizeof bytes);
    fclose(f);
    int fd = mkstemp(cut);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, sizeof bytes), (ssize_t)sizeof bytes);
    close(fd);
    audio_params p = audio_default_params();
    audio_pcm pcm;
    char err[256];
    assert_int_equal(audio_decode_file(cut, &p, &pcm, err, sizeof err), AUDIO_NOT_AUDIO);
    p.container = "mp3";
    assert_int_equal(audio_decode_file(cut, &p, &pcm, err, sizeof err), AUDIO_OK);
    assert_true(pcm.n > 0);
    audio_pcm_free(&pcm);
    unlink(cut);
}

int main(void)
{
    const char *td = getenv("CICADA_TESTDATA");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/en/jfk/jfk.mp3", td ? td : "");
    if (!td || access(probe, R_OK) != 0) {
        printf("skipping: CICADA_TESTDATA unset or %s missing\n", probe);
        return 77;
    }
    snprintf(g_testdata, sizeof g_testdata, "%s", td);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declarable_names),
        cmocka_unit_test(test_agreeing_content_decodes_as_undeclared),
        cmocka_unit_test(test_other_content_is_a_mismatch),
        cmocka_unit_test(test_unplaced_content_is_read_as_declared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
