/* bucket.c — which bucket a request names (spec section 7) and what a bucket name may be. Pure
 * functions over untrusted strings (the Host header, an Output/Bucket element), kept beside the
 * signature check because together they decide who acts on what: a key may act only on buckets
 * of its own appid, and the appid is read from the bucket name. */
#include "auth/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "<name>-<appid>" with the spec's shape: ^[a-z0-9][a-z0-9-]{0,48}-<digits>$. */
bool auth_bucket_name_valid(const char *b, char appid_out[32])
{
    const char *dash = strrchr(b, '-');
    if (!dash || dash == b || !dash[1] || strlen(dash + 1) >= 32)
        return false;
    for (const char *p = dash + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    size_t name_len = (size_t)(dash - b);
    if (name_len > 49 || !(islower((unsigned char)b[0]) || isdigit((unsigned char)b[0])))
        return false;
    for (size_t i = 0; i < name_len; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-'))
            return false;
    if (appid_out)
        snprintf(appid_out, 32, "%s", dash + 1);
    return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* "<bucket>.ci.<region>.myqcloud.com" and ".cos." (or .tencentcos.cn) name a bucket; the bare
 * "ci.<region>..." / "cos.<region>..." hosts are service level; any other host (an IP, localhost,
 * a name of the operator's) means the default bucket. Cost: one pass over at most 255 bytes. */
bool auth_bucket_from_host(const char *host, const char *default_bucket, char out[AUTH_BUCKET_MAX])
{
    const char *h = host ? host : "";
    size_t n = strlen(h);
    if (h[0] != '[') {                      /* an IPv6 literal is never a bucket host */
        const char *colon = memchr(h, ':', n);
        if (colon)
            n = (size_t)(colon - h);         /* drop the port */
        if (n > 0 && h[n - 1] == '.')
            n--;                             /* "...myqcloud.com." is the same name */
    }
    bool cloud = h[0] != '[' && (ends_with(h, n, ".myqcloud.com") || ends_with(h, n, ".tencentcos.cn"));
    if (cloud && (strncasecmp(h, "ci.", 3) == 0 || strncasecmp(h, "cos.", 4) == 0)) {
        out[0] = '\0';   /* service level */
        return false;
    }
    const char *dot = cloud ? memchr(h, '.', n) : NULL;
    if (dot && (strncasecmp(dot, ".ci.", 4) == 0 || strncasecmp(dot, ".cos.", 5) == 0)) {
        size_t len = (size_t)(dot - h);
        if (len == 0 || len >= AUTH_BUCKET_MAX) {
            out[0] = '\0';
            return false;
        }
        for (size_t i = 0; i < len; i++)
            out[i] = (char)tolower((unsigned char)h[i]);
        out[len] = '\0';
        return true;
    }
    snprintf(out, AUTH_BUCKET_MAX, "%s", default_bucket ? default_bucket : "");
    return out[0] != '\0';
}
