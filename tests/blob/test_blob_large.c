/* test_blob_large.c — a 200 MB object streamed in 64 KB chunks: the store must never hold the
 * object in memory (peak RSS grows < 32 MB; on S3 that is one 5 MiB part buffer, the multipart
 * path), and the ETag and the bytes read back must match. Its own executable so that no other
 * test's peak memory hides the measurement. Runs on both backends (blob_fixture.h). */
#include "blob_fixture.h"

#include <sys/resource.h>

enum { CHUNK = 64 * 1024, CHUNKS = 3200 }; /* 200 MiB */

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Deterministic, incompressible-looking content for chunk i. */
static void fill_chunk(unsigned char *p, uint64_t i)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    for (size_t k = 0; k < CHUNK; k += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + k, &x, 8);
    }
}

static void md5_hex_final(EVP_MD_CTX *c, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(c, d, &n);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_streaming_200mb_in_low_memory(void **state)
{
    bfixture *f = *state;
    unsigned char *chunk = xmalloc(CHUNK);
    fill_chunk(chunk, 0); /* touch the buffer before measuring */
    EVP_MD_CTX *md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5, EVP_md5(), NULL);
    long before = max_rss_kb();

    blob_writer *w;
    assert_int_equal(blob_put_begin(f->bs, BUCKET, "audio/long.wav", 14, "audio/wav", &w), BLOB_OK);
    for (uint64_t i = 0; i < CHUNKS; i++) {
        fill_chunk(chunk, i);
        EVP_DigestUpdate(md5, chunk, CHUNK);
        assert_int_equal(blob_put_write(w, chunk, CHUNK), BLOB_OK);
    }
    blob_info info;
    assert_int_equal(blob_put_commit(w, &info), BLOB_OK);
    long growth_kb = max_rss_kb() - before;
    printf("peak RSS growth while storing 200 MiB: %ld KiB\n", growth_kb);
    assert_true(growth_kb < 32 * 1024);

    char expect[33];
    md5_hex_final(md5, expect);
    assert_int_equal(info.size, (int64_t)CHUNK * CHUNKS);
    assert_string_equal(info.etag, expect);

    /* read it back through the store, chunk by chunk */
    int fd;
    blob_info head;
    assert_int_equal(blob_open_read(f->bs, BUCKET, "audio/long.wav", 14, &fd, &head), BLOB_OK);
    assert_string_equal(head.etag, expect);
    EVP_DigestInit_ex(md5, EVP_md5(), NULL);
    int64_t total = 0;
    ssize_t r;
    while ((r = read(fd, chunk, CHUNK)) > 0) {
        EVP_DigestUpdate(md5, chunk, (size_t)r);
        total += r;
    }
    close(fd);
    char again[33];
    md5_hex_final(md5, again);
    assert_int_equal(total, (int64_t)CHUNK * CHUNKS);
    assert_string_equal(again, expect);
    EVP_MD_CTX_free(md5);
    free(chunk);
    assert_int_equal(blob_delete(f->bs, BUCKET, "audio/long.wav", 14), BLOB_OK); /* 200 MB less on the server */
}

int main(void)
{
    if (!bfx_backend_available())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_streaming_200mb_in_low_memory, bfx_setup, bfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
