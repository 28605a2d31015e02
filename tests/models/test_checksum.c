/* test_checksum.c — checksums of model files: the published test vectors of SHA-1/SHA-256, a file
 * larger than the 1 MiB read block checked against coreutils' sha1sum/sha256sum, the real Silero
 * VAD model from shared/ matching its official checksum, and the verdicts (verified, mismatch with
 * both values named, nothing to compare with, unreadable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/models.h"

static char g_dir[64];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_published_vectors(void **state)
{
    (void)state;
    char path[128], err[256];
    model_digest d;
    snprintf(path, sizeof path, "%s/abc", g_dir);
    write_file(path, "abc", 3);
    assert_true(models_digest_file(path, &d, err, sizeof err));
    assert_string_equal(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(d.bytes, 3);
    snprintf(path, sizeof path, "%s/empty", g_dir);
    write_file(path, "", 0);
    assert_true(models_digest_file(path, &d, err, sizeof err));
    assert_string_equal(d.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_string_equal(d.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(d.bytes, 0);
}

/* The first word sha1sum/sha256sum prints for path. */
static void coreutils_sum(const char *tool, const char *path, char *out, size_t outlen)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s '%s'", tool, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%127s", out), 1);
    assert_true(strlen(out) < outlen);
    assert_int_equal(pclose(p), 0);
}

static void test_large_file_matches_coreutils(void **state)
{
    (void)state;
    size_t n = (3u << 20) + 12345;   /* several read blocks and a tail */
    unsigned char *data = malloc(n);
    assert_non_null(data);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    char path[128], err[256], sha1[128], sha256[128];
    snprintf(path, sizeof path, "%s/big.bin", g_dir);
    write_file(path, data, n);
    free(data);
    model_digest d;
    assert_true(models_digest_file(path, &d, err, sizeof err));
    coreutils_sum("sha1sum", path, sha1, sizeof sha1);
    coreutils_sum("sha256sum", path, sha256, sizeof sha256);
    assert_string_equal(d.sha1, sha1);
    assert_string_equal(d.sha256, sha256);
    assert_int_equal(d.bytes, (int64_t)n);
}

static void test_real_vad_model_matches_the_catalog(void **state)
{
    (void)state;
    const char *shared = getenv("CICADA_SHARED");
    char path[1024], detail[512];
    snprintf(path, sizeof path, "%s/models/vad/ggml-silero-v6.2.0.bin", shared ? shared : "../shared");
    if (access(path, R_OK) != 0) {
        print_message("skipping: %s is absent\n", path);
        skip();
    }
    const model_info *m = models_find(path);
    assert_non_null(m);
    model_digest d;
    assert_int_equal(models_verify_file(path, m->sha1, m->sha256, &d, detail, sizeof detail), MODEL_VERIFIED);
    assert_int_equal(d.bytes, m->bytes);
    assert_non_null(strstr(detail, "matches"));
    assert_ptr_equal(models_find_by_digest(&d), m);
}

static void test_verdicts(void **state)
{
    (void)state;
    char path[128], missing[128], detail[512];
    snprintf(path, sizeof path, "%s/abc", g_dir);
    write_file(path, "abc", 3);
    const char *sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
    const char *sha256 = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";   /* any case */
    assert_int_equal(models_verify_file(path, sha1, NULL, NULL, detail, sizeof detail), MODEL_VERIFIED);
    assert_string_equal(detail, "sha1 a9993e364706816aba3e25717850c26c9cd0d89d matches");
    assert_int_equal(models_verify_file(path, sha1, sha256, NULL, detail, sizeof detail), MODEL_VERIFIED);
    assert_non_null(strstr(detail, "sha256"));

    write_file(path, "abd", 3);   /* one byte off */
    model_digest d;
    assert_int_equal(models_verify_file(path, NULL, sha256, &d, detail, sizeof detail), MODEL_MISMATCH);
    assert_non_null(strstr(detail, d.sha256));
    assert_non_null(strstr(detail, sha256));
    assert_int_equal(models_verify_file(path, sha1, NULL, NULL, detail, sizeof detail), MODEL_MISMATCH);
    assert_non_null(strstr(detail, "expected a9993e364706816aba3e25717850c26c9cd0d89d"));
    /* both given: either one differing is a mismatch */
    assert_int_equal(models_verify_file(path, d.sha1, sha256, NULL, detail, sizeof detail), MODEL_MISMATCH);

    assert_int_equal(models_verify_file(path, NULL, NULL, NULL, detail, sizeof detail), MODEL_NO_CHECKSUM);
    assert_non_null(strstr(detail, d.sha256));
    snprintf(missing, sizeof missing, "%s/nope.bin", g_dir);
    assert_int_equal(models_verify_file(missing, sha1, NULL, NULL, detail, sizeof detail), MODEL_UNREADABLE);
    assert_non_null(strstr(detail, "nope.bin"));
}

static void test_hex_validation(void **state)
{
    (void)state;
    assert_true(models_hex_valid("a9993e364706816aba3e25717850c26c9cd0d89d", 40));
    assert_true(models_hex_valid("A9993E364706816ABA3E25717850C26C9CD0D89D", 40));
    assert_false(models_hex_valid("a9993e364706816aba3e25717850c26c9cd0d89", 40));
    assert_false(models_hex_valid("g9993e364706816aba3e25717850c26c9cd0d89d", 40));
    assert_false(models_hex_valid(NULL, 40));
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/cicada-checksum-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_large_file_matches_coreutils),
        cmocka_unit_test(test_real_vad_model_matches_the_catalog),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_hex_validation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
