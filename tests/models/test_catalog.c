/* test_catalog.c — the official model catalog: every name `pull` must know is there with its file
 * name, official URL and a well-formed checksum; lookups by name, file and path; resolution of
 * names against the model directory; and the "best installed model" rule the automatic engine
 * mapping uses (accuracy rank, English-only models only for English, ties to .en). */
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

static const char *const k_whisper_names[] = {
    "tiny", "tiny.en", "base", "base.en", "base-q8_0", "small", "small.en", "medium", "medium.en", "large-v1",
    "large-v2", "large-v2-q5_0", "large-v3", "large-v3-q5_0", "large-v3-turbo", "large-v3-turbo-q5_0",
};

static void test_every_official_name_is_pullable(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_whisper_names / sizeof k_whisper_names[0]; i++) {
        const char *name = k_whisper_names[i];
        const model_info *m = models_find(name);
        if (!m)
            fail_msg("%s missing from the catalog", name);
        char file[64], url[200];
        snprintf(file, sizeof file, "ggml-%s.bin", name);
        snprintf(url, sizeof url, "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-%s.bin", name);
        assert_string_equal(m->name, name);
        assert_string_equal(m->file, file);
        assert_string_equal(m->url, url);
        assert_int_equal(m->kind, MODEL_WHISPER);
        assert_int_equal(m->english_only, strstr(name, ".en") != NULL);
        assert_true(m->rank > 0);
    }
    const model_info *vad = models_find("silero-v6.2.0");
    assert_non_null(vad);
    assert_int_equal(vad->kind, MODEL_VAD);
    assert_string_equal(vad->file, "ggml-silero-v6.2.0.bin");
    assert_string_equal(vad->url, "https://huggingface.co/ggml-org/whisper-vad/resolve/main/ggml-silero-v6.2.0.bin");
    assert_int_equal(models_catalog_count(), sizeof k_whisper_names / sizeof k_whisper_names[0] + 1);
    assert_null(models_catalog_at(models_catalog_count()));
}

static void test_checksums_are_well_formed_and_known_ones_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < models_catalog_count(); i++) {
        const model_info *m = models_catalog_at(i);
        assert_true(m->sha1 || m->sha256);
        if (m->sha1 && !models_hex_valid(m->sha1, 40))
            fail_msg("%s: bad sha1 %s", m->name, m->sha1);
        if (m->sha256 && !models_hex_valid(m->sha256, 64))
            fail_msg("%s: bad sha256 %s", m->name, m->sha256);
    }
    /* values from whisper.cpp's models/README.md and the shared README */
    assert_string_equal(models_find("tiny")->sha1, "bd577a113a864445d4c299885e0cb97d4ba92b5f");
    assert_string_equal(models_find("large-v3-turbo-q5_0")->sha1, "e050f7970618a659205450ad97eb95a18d69c9ee");
    assert_string_equal(models_find("base")->sha256,
                        "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe");
    assert_int_equal(models_find("base")->bytes, 147951465);
    assert_int_equal(models_find("base-q8_0")->bytes, 81768585);
    assert_int_equal(models_find("silero-v6.2.0")->bytes, 885098);
}

static void test_lookups_by_name_file_and_path(void **state)
{
    (void)state;
    const model_info *base = models_find("base");
    assert_ptr_equal(models_find("ggml-base.bin"), base);
    assert_ptr_equal(models_find("/srv/models/ggml-base.bin"), base);
    assert_ptr_equal(models_find("./ggml-base.bin"), base);
    assert_null(models_find("/srv/models/base"));    /* a path must end in the file name */
    assert_null(models_find("ggml-base"));
    assert_null(models_find("Base"));
    assert_null(models_find("large"));
    assert_null(models_find(""));
    assert_null(models_find(NULL));
    assert_string_equal(models_find("base.en")->name, "base.en");
    assert_string_equal(models_find("ggml-large-v3-turbo.bin")->name, "large-v3-turbo");

    model_digest d = {0};
    strcpy(d.sha1, "bd577a113a864445d4c299885e0cb97d4ba92b5f");
    assert_string_equal(models_find_by_digest(&d)->name, "tiny");
    strcpy(d.sha1, "0000000000000000000000000000000000000000");
    strcpy(d.sha256, "C577B9A86E7E048A0B7EADA054F4DD79A56BBFA911FBDACF900AC5B567CBB7D9");
    assert_string_equal(models_find_by_digest(&d)->name, "base-q8_0");
    strcpy(d.sha256, "0000000000000000000000000000000000000000000000000000000000000000");
    assert_null(models_find_by_digest(&d));
}

static void test_names_without_slash_lie_in_the_model_dir(void **state)
{
    (void)state;
    char out[128];
    assert_true(models_resolve_path("/m", "ggml-base.bin", out, sizeof out));
    assert_string_equal(out, "/m/ggml-base.bin");
    assert_true(models_resolve_path("/m", "/abs/x.bin", out, sizeof out));
    assert_string_equal(out, "/abs/x.bin");
    assert_true(models_resolve_path("/m", "./rel.bin", out, sizeof out));
    assert_string_equal(out, "./rel.bin");
    assert_true(models_resolve_path(NULL, "x.bin", out, sizeof out));
    assert_string_equal(out, "x.bin");
    assert_false(models_resolve_path("/a-rather-long-directory", "name.bin", out, 16));
}

static void touch(const char *file)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static const char *best(const char *language)
{
    const model_info *m = models_best_installed(g_dir, language);
    return m ? m->name : "(none)";
}

static void test_best_installed_model(void **state)
{
    (void)state;
    assert_string_equal(best("zh"), "(none)");
    assert_null(models_best_installed(NULL, "zh"));
    touch("ggml-silero-v6.2.0.bin");   /* a VAD model is never a recogniser */
    touch("ggml-large-v3.bin.part");   /* nor is a download in progress */
    touch("notes.txt");
    assert_string_equal(best("zh"), "(none)");
    touch("ggml-tiny.en.bin");
    assert_string_equal(best("zh"), "(none)");   /* English-only serves only English */
    assert_string_equal(best("en"), "tiny.en");
    touch("ggml-base-q8_0.bin");
    assert_string_equal(best("zh"), "base-q8_0");
    assert_string_equal(best("auto"), "base-q8_0");
    assert_string_equal(best("en"), "base-q8_0");
    touch("ggml-base.bin");
    assert_string_equal(best("zh"), "base");      /* full precision above its quantized copy */
    touch("ggml-base.en.bin");
    assert_string_equal(best("en"), "base.en");   /* a tie goes to the English-only model */
    assert_string_equal(best("ja"), "base");
    touch("ggml-large-v3-turbo-q5_0.bin");
    touch("ggml-medium.en.bin");
    assert_string_equal(best("yue"), "large-v3-turbo-q5_0");
    assert_string_equal(best("en"), "large-v3-turbo-q5_0");
    touch("ggml-large-v3-turbo.bin");
    assert_string_equal(best("th"), "large-v3-turbo");
    touch("ggml-large-v2.bin");
    assert_string_equal(best("ms"), "large-v3-turbo");
    touch("ggml-large-v3.bin");
    assert_string_equal(best("zh"), "large-v3");
}

static void test_sizes_are_formatted_for_people(void **state)
{
    (void)state;
    char s[32];
    models_format_size(512, s, sizeof s);
    assert_string_equal(s, "512 B");
    models_format_size(147951465, s, sizeof s);
    assert_string_equal(s, "141.1 MiB");
    models_format_size(3LL << 30, s, sizeof s);
    assert_string_equal(s, "3.0 GiB");
}

/* The start-up warning and `models list` rest on this: a size is compared only where published. */
static void test_a_wrong_size_is_caught_where_the_size_is_published(void **state)
{
    (void)state;
    const model_info *base = models_find("base");
    assert_false(models_size_differs(base, 147951465));
    assert_true(models_size_differs(base, 25));
    assert_true(models_size_differs(base, 147951465 + 1));
    assert_true(models_size_differs(base, 0));
    assert_false(models_size_differs(models_find("silero-v6.2.0"), 885098));
    assert_int_equal(models_find("large-v3")->bytes, 3095033483LL);   /* past 2^31: kept as int64_t */
    assert_false(models_size_differs(models_find("large-v3-turbo-q5_0"), 12345));   /* unpublished: unchecked */
    assert_false(models_size_differs(NULL, 1));
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/cicada-catalog-XXXXXX");
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
        cmocka_unit_test(test_every_official_name_is_pullable),
        cmocka_unit_test(test_checksums_are_well_formed_and_known_ones_match),
        cmocka_unit_test(test_lookups_by_name_file_and_path),
        cmocka_unit_test(test_names_without_slash_lie_in_the_model_dir),
        cmocka_unit_test(test_best_installed_model),
        cmocka_unit_test(test_sizes_are_formatted_for_people),
        cmocka_unit_test(test_a_wrong_size_is_caught_where_the_size_is_published),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
