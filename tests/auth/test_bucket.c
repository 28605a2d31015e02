/* test_bucket.c — which bucket a Host header names (spec section 7) and bucket-name shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "auth/auth.h"

static void test_from_host(void **state)
{
    (void)state;
    static const struct { const char *host, *def, *bucket; bool ok; } cases[] = {
        {"examplebucket-1250000000.ci.ap-chongqing.myqcloud.com", "d-1", "examplebucket-1250000000", true},
        {"ExampleBucket-1250000000.COS.ap-chongqing.MyQcloud.com:8080", "d-1", "examplebucket-1250000000", true},
        {"b-1.cos.ap-beijing.tencentcos.cn", "", "b-1", true},
        {"b-1.ci.ap-beijing.myqcloud.com.", "", "b-1", true},                  /* trailing dot */
        {"ci.ap-chongqing.myqcloud.com", "d-1", "", false},                     /* service level */
        {"cos.ap-chongqing.myqcloud.com:80", "d-1", "", false},
        {"127.0.0.1:8080", "d-1", "d-1", true},                                 /* an IP: the default */
        {"localhost", "d-1", "d-1", true},
        {"[::1]:8080", "d-1", "d-1", true},
        {"[b-1.ci.x.myqcloud.com]", "d-1", "d-1", true},                        /* bracketed: never a bucket */
        {"127.0.0.1", "", "", false},                                           /* no default bucket */
        {"", "d-1", "d-1", true},
        {NULL, "d-1", "d-1", true},
        {"b-1.ci.x.myqcloud.com.evil.example", "d-1", "d-1", true},             /* only as a suffix */
        {"b-1.web.x.myqcloud.com", "d-1", "d-1", true},                         /* neither .ci. nor .cos. */
        {".ci.x.myqcloud.com", "d-1", "", false},                               /* empty label */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1.ci.x.myqcloud.com", "d-1", "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[AUTH_BUCKET_MAX] = "junk";
        bool ok = auth_bucket_from_host(cases[i].host, cases[i].def, out);
        if (ok != cases[i].ok || strcmp(out, cases[i].bucket) != 0)
            fail_msg("host \"%s\": got %d \"%s\", want %d \"%s\"", cases[i].host ? cases[i].host : "(null)", ok, out,
                     cases[i].ok, cases[i].bucket);
    }
}

static void test_name_valid(void **state)
{
    (void)state;
    char appid[32];
    assert_true(auth_bucket_name_valid("examplebucket-1250000000", appid));
    assert_string_equal(appid, "1250000000");
    assert_true(auth_bucket_name_valid("a-b-c-1", appid));
    assert_string_equal(appid, "1");
    const char *bad[] = {"", "-1", "a-", "a", "A-1", "a_b-1", "a-1x", "-a-1",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1",   /* 50-byte name */
                         "a-123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (auth_bucket_name_valid(bad[i], appid))
            fail_msg("\"%s\" must not be a bucket name", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_host),
        cmocka_unit_test(test_name_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
