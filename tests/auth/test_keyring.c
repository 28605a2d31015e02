/* test_keyring.c — keyring add/find and the file format (whitespace or commas, '#' comments),
 * malformed files, and all-or-nothing loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "util/util.h"

static char g_path[64];

static const char *write_keyring(const char *text)
{
    strcpy(g_path, "/tmp/cicada-test-keyring-XXXXXX");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(fs_write_file_atomic(g_path, text, strlen(text), 0600));
    return g_path;
}

static void test_add_find(void **state)
{
    (void)state;
    auth_keyring *kr = auth_keyring_new();
    assert_int_equal(auth_keyring_count(kr), 0);
    assert_null(auth_keyring_find(kr, "AKID1"));
    for (int i = 0; i < 50; i++) {
        char id[32], key[32];
        snprintf(id, sizeof id, "AKID%d", i);
        snprintf(key, sizeof key, "SK%d", i);
        assert_true(auth_keyring_add(kr, id, key, "1250000000"));
    }
    assert_int_equal(auth_keyring_count(kr), 50);
    const auth_key *k = auth_keyring_find(kr, "AKID37");
    assert_non_null(k);
    assert_string_equal(k->secret_key, "SK37");
    assert_string_equal(k->appid, "1250000000");
    assert_null(auth_keyring_find(kr, "akid37")); /* case-sensitive */
    assert_null(auth_keyring_find(kr, NULL));

    assert_false(auth_keyring_add(kr, "AKID1", "other", "1")); /* duplicate */
    assert_false(auth_keyring_add(kr, "", "k", "1"));
    assert_false(auth_keyring_add(kr, "id", "", "1"));
    assert_false(auth_keyring_add(kr, "id", "k", ""));
    char longid[200];
    memset(longid, 'A', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_false(auth_keyring_add(kr, longid, "k", "1"));
    assert_false(auth_keyring_add(kr, "id", "k", "123456789012345678901234567890123"));
    assert_int_equal(auth_keyring_count(kr), 50);
    assert_int_equal(auth_keyring_count(NULL), 0);
    for (size_t i = 0; i < 50; i++) { /* insertion order */
        char id[32];
        snprintf(id, sizeof id, "AKID%zu", i);
        assert_non_null(auth_keyring_at(kr, i));
        assert_string_equal(auth_keyring_at(kr, i)->secret_id, id);
    }
    assert_null(auth_keyring_at(kr, 50));
    assert_null(auth_keyring_at(NULL, 0));
    auth_keyring_free(kr);
    auth_keyring_free(NULL);
}

static void test_load_formats(void **state)
{
    (void)state;
    const char *path = write_keyring("# Cicada keys\n"
                                     "\n"
                                     "AKIDtestSecretId SK_TEST 1250000000\n"
                                     "  AKIDtwo,\tSK#two , 1250000001   # trailing comment\r\n"
                                     "AKIDthree,SK3,1250000002");
    auth_keyring *kr = auth_keyring_new();
    char err[256] = "";
    assert_true(auth_keyring_load(kr, path, err, sizeof err));
    assert_int_equal(auth_keyring_count(kr), 3);
    assert_string_equal(auth_keyring_find(kr, "AKIDtestSecretId")->secret_key, "SK_TEST");
    const auth_key *two = auth_keyring_find(kr, "AKIDtwo");
    assert_non_null(two);
    assert_string_equal(two->secret_key, "SK#two");
    assert_string_equal(two->appid, "1250000001");
    assert_string_equal(auth_keyring_find(kr, "AKIDthree")->appid, "1250000002");

    /* loading the same file again clashes and changes nothing */
    assert_false(auth_keyring_load(kr, path, err, sizeof err));
    assert_non_null(strstr(err, "already loaded"));
    assert_int_equal(auth_keyring_count(kr), 3);
    unlink(path);
    auth_keyring_free(kr);
}

static void test_load_errors(void **state)
{
    (void)state;
    auth_keyring *kr = auth_keyring_new();
    char err[256] = "";
    assert_false(auth_keyring_load(kr, "/nonexistent/cicada/keys", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/cicada/keys"));

    static const char *bad[] = {
        "AKID1 SK1 1\nAKID2 SK2\n",            /* too few fields on line 2 */
        "AKID1 SK1 1\nAKID2 SK2 2 extra\n",    /* too many */
        "AKID1 SK1 1\nAKID1 SK9 9\n",          /* duplicate */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = write_keyring(bad[i]);
        strcpy(err, "");
        assert_false(auth_keyring_load(kr, path, err, sizeof err));
        assert_non_null(strstr(err, ":2:"));
        assert_int_equal(auth_keyring_count(kr), 0); /* all or nothing */
        unlink(path);
    }
    const char *path = write_keyring("# only comments\n\n   \n");
    assert_true(auth_keyring_load(kr, path, NULL, 0));
    assert_int_equal(auth_keyring_count(kr), 0);
    unlink(path);
    auth_keyring_free(kr);
}

/* Bearer keys (the OpenAI-compatible endpoint): KEY[:APPID] lists, the file form, refusals that
 * never echo a key, and lookup by the whole key only. */
static void test_bearer(void **state)
{
    (void)state;
    auth_keyring *kr = auth_keyring_new();
    char err[256] = "";
    assert_true(auth_keyring_add_bearer(kr, "sk-first-0001, sk-second-0002:1300000000", "1250000000", err, sizeof err));
    assert_true(auth_keyring_add_bearer(kr, "# keys file\nsk-third-00003 1400000000\n\nsk-fourth-0004\n", "1250000000",
                                        err, sizeof err));
    assert_int_equal(auth_keyring_count(kr), 4);
    const auth_key *k = auth_keyring_find_secret(kr, "sk-second-0002");
    assert_non_null(k);
    assert_string_equal(k->appid, "1300000000");
    assert_string_equal(auth_keyring_find_secret(kr, "sk-first-0001")->appid, "1250000000");
    assert_string_equal(auth_keyring_find_secret(kr, "sk-third-00003")->appid, "1400000000");
    assert_string_equal(auth_keyring_find_secret(kr, "sk-fourth-0004")->appid, "1250000000");
    assert_null(auth_keyring_find_secret(kr, "sk-first-000"));     /* a prefix is not the key */
    assert_null(auth_keyring_find_secret(kr, "sk-first-00011"));
    assert_null(auth_keyring_find_secret(kr, ""));
    /* refusals name the item, never the key */
    const char *bad[] = {"short", "sk-has space-0001:12:34", "sk-bad-appid-01:12a", "sk-first-0001", "sk-non-ascii-\xc3\xa9x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_false(auth_keyring_add_bearer(kr, bad[i], "1250000000", err, sizeof err));
        assert_non_null(strstr(err, "API key 1"));
        assert_null(strstr(err, "sk-"));
    }
    assert_int_equal(auth_keyring_count(kr), 4);
    auth_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find),
        cmocka_unit_test(test_load_formats),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
