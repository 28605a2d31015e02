/* ids.c — random identifiers for jobs, queues and templates ("s"/"p"/"t1" + 32 lowercase hex) from
 * OpenSSL's CSPRNG, so ids are unguessable and can double as capability-like handles. */
#include "util/util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_HEX_DIGITS 32

void ids_random_hex(char *out, size_t nhex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char bytes[64];
    size_t done = 0;
    while (done < nhex) {
        size_t chunk = (nhex - done + 1) / 2;
        if (chunk > sizeof bytes)
            chunk = sizeof bytes;
        if (RAND_bytes(bytes, (int)chunk) != 1) {
            fprintf(stderr, "cicada: RAND_bytes failed: no secure randomness\n");
            abort();
        }
        for (size_t i = 0; i < chunk && done < nhex; i++) {
            out[done++] = digits[bytes[i] >> 4];
            if (done < nhex)
                out[done++] = digits[bytes[i] & 0x0f];
        }
    }
    out[nhex] = '\0';
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ids_new(char *out, const char *prefix)
{
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    ids_random_hex(out + plen, ID_HEX_DIGITS);
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool ids_valid(const char *id, const char *prefix)
{
    if (!id || !prefix)
        return false;
    size_t plen = strlen(prefix);
    if (strncmp(id, prefix, plen) != 0 || strlen(id) != plen + ID_HEX_DIGITS)
        return false;
    for (size_t i = plen; id[i]; i++)
        if (!is_lower_hex(id[i]))
            return false;
    return true;
}

/* Request ids: a process-wide counter encrypted with AES-128 under a key drawn at start. AES is a
 * permutation, so ids never repeat within a process, and without the key they are unpredictable
 * and say nothing about how many requests anyone else made (a plain counter did). RAND_bytes per
 * id costs ~4 us here, one block of AES with a thread's own context ~0.2 us. */
static unsigned char request_key[16];
static atomic_ullong request_counter;
static pthread_once_t request_once = PTHREAD_ONCE_INIT;
static pthread_key_t request_ctx_key;   /* each thread's EVP context (they are not shared), freed at its exit */

static void request_ctx_free(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

static void request_key_init(void)
{
    if (RAND_bytes(request_key, sizeof request_key) != 1 || pthread_key_create(&request_ctx_key, request_ctx_free))
        abort();
}

void ids_request(char out[33])
{
    pthread_once(&request_once, request_key_init);
    EVP_CIPHER_CTX *request_ctx = pthread_getspecific(request_ctx_key);
    if (!request_ctx) {
        request_ctx = EVP_CIPHER_CTX_new();
        if (!request_ctx || !EVP_EncryptInit_ex(request_ctx, EVP_aes_128_ecb(), NULL, request_key, NULL) ||
            pthread_setspecific(request_ctx_key, request_ctx))
            abort();
        EVP_CIPHER_CTX_set_padding(request_ctx, 0);
    }
    unsigned long long n = atomic_fetch_add(&request_counter, 1);
    unsigned char block[16] = {0}, enc[32];
    memcpy(block, &n, sizeof n);
    int len = 0;
    if (!EVP_EncryptUpdate(request_ctx, enc, &len, block, sizeof block) || len != 16)
        abort();
    hex_encode(enc, 16, out);
}
