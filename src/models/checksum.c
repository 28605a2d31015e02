/* checksum.c — SHA-1 and SHA-256 of model files in one read, and the comparison with published
 * checksums that `cicada models verify` and the downloader rely on. Model files are gigabytes: the
 * file is streamed in 1 MiB blocks, never held in memory. */
#include "models/models.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/util.h"

bool models_hex_valid(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Feeds the whole of fd to both digests. */
static bool hash_stream(int fd, EVP_MD_CTX *c1, EVP_MD_CTX *c256, int64_t *bytes)
{
    enum { BLOCK = 1 << 20 };
    unsigned char *block = xmalloc(BLOCK);
    bool ok = true;
    *bytes = 0;
    for (;;) {
        ssize_t n = read(fd, block, BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        EVP_DigestUpdate(c1, block, (size_t)n);
        EVP_DigestUpdate(c256, block, (size_t)n);
        *bytes += n;
    }
    free(block);
    return ok;
}

bool models_digest_file(const char *path, model_digest *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_printf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    EVP_MD_CTX *c1 = EVP_MD_CTX_new(), *c256 = EVP_MD_CTX_new();
    bool ok = c1 && c256 && EVP_DigestInit_ex(c1, EVP_sha1(), NULL) && EVP_DigestInit_ex(c256, EVP_sha256(), NULL);
    if (ok && !hash_stream(fd, c1, c256, &out->bytes)) {
        err_printf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        ok = false;
    } else if (ok) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(c1, md, &n);
        hex_encode(md, n, out->sha1);
        EVP_DigestFinal_ex(c256, md, &n);
        hex_encode(md, n, out->sha256);
    } else {
        err_printf(err, errlen, "OpenSSL digests unavailable");
    }
    EVP_MD_CTX_free(c1);
    EVP_MD_CTX_free(c256);
    close(fd);
    return ok;
}

model_verdict models_verify_file(const char *path, const char *sha1, const char *sha256, model_digest *d,
                                 char *detail, size_t detaillen)
{
    model_digest local;
    if (!d)
        d = &local;
    memset(d, 0, sizeof *d);
    if (!models_digest_file(path, d, detail, detaillen))
        return MODEL_UNREADABLE;
    if (!sha1 && !sha256) {
        err_printf(detail, detaillen, "no official checksum to compare with (sha256 %s)", d->sha256);
        return MODEL_NO_CHECKSUM;
    }
    if (sha256 && strcasecmp(sha256, d->sha256) != 0) {
        err_printf(detail, detaillen, "sha256 is %s, expected %s", d->sha256, sha256);
        return MODEL_MISMATCH;
    }
    if (sha1 && strcasecmp(sha1, d->sha1) != 0) {
        err_printf(detail, detaillen, "sha1 is %s, expected %s", d->sha1, sha1);
        return MODEL_MISMATCH;
    }
    if (sha256)
        err_printf(detail, detaillen, "sha256 %s matches", d->sha256);
    else
        err_printf(detail, detaillen, "sha1 %s matches", d->sha1);
    return MODEL_VERIFIED;
}
