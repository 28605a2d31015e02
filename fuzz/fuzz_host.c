/* fuzz_host.c — libFuzzer target for Host-to-bucket resolution and bucket names (src/auth/bucket.c).
 * The input is "host\ndefault bucket". Checks, besides crashes and UB: a bucket is returned exactly
 * when the answer is true, is shorter than AUTH_BUCKET_MAX, and is either the default bucket or a
 * lower-cased leading label of the host (never text from elsewhere); a valid bucket name yields a
 * digits-only appid that ends the name. Built with a replay main() it replays corpus/host.
 *
 * Run: build-fuzz/fuzz/fuzz_host -max_total_time=300 WORK fuzz/corpus/host */
#include "auth/auth.h"
#include "util/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_host: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *host = xstrndup((const char *)data, size);
    char *def = strchr(host, '\n');
    if (def)
        *def++ = '\0';
    char out[AUTH_BUCKET_MAX + 8];
    memset(out, 'Z', sizeof out);
    bool ok = auth_bucket_from_host(host, def, out);
    size_t n = strnlen(out, AUTH_BUCKET_MAX);
    check(n < AUTH_BUCKET_MAX, "the bucket fits");
    check(out[AUTH_BUCKET_MAX] == 'Z', "nothing written past the buffer");
    check(ok == (n > 0), "a bucket exactly when true");
    if (ok) {
        bool is_default = def && strncmp(out, def, AUTH_BUCKET_MAX - 1) == 0;
        bool is_label = strncasecmp(host, out, n) == 0 && host[n] == '.';
        for (size_t i = 0; is_label && i < n; i++)
            is_label = !isupper((unsigned char)out[i]);
        check(is_default || is_label, "the default bucket or the host's first label");
        char appid[32];
        if (auth_bucket_name_valid(out, appid)) {
            size_t a = strlen(appid);
            check(a > 0 && a < n && strcmp(out + n - a, appid) == 0, "the appid ends the name");
            for (size_t i = 0; i < a; i++)
                check(isdigit((unsigned char)appid[i]), "the appid is digits");
        }
    }
    free(host);
    return 0;
}
