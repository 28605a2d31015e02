/* seal.c — opaque page tokens: a 64-bit position sealed with AES-256-GCM under a server key and
 * bound to a context string (the bucket a listing belongs to) as additional authenticated data.
 * A client can neither read the position (so it cannot count other tenants' jobs from it) nor
 * forge or alter one, and a token issued for one bucket does not open in another.
 *
 * Token layout: hex(nonce[12] || ciphertext[8] || tag[16]), 72 lowercase hex digits. The nonce is
 * random per token; with 96-bit random nonces one key seals ~2^32 tokens before a repeat becomes
 * likely, and a repeat would only reveal that two positions are equal. */
#include "util/util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define VALUE_LEN 8
#define TAG_LEN 16

void seal_key_random(seal_key *k)
{
    if (RAND_bytes(k->bytes, (int)sizeof k->bytes) != 1)
        abort();   /* no secure randomness: nothing sensible to do */
}

/* One AES-256-GCM pass; false only for a failed tag check (or an OpenSSL failure). */
static bool gcm(bool encrypt, const seal_key *k, const char *context, const unsigned char nonce[NONCE_LEN],
                const unsigned char in[VALUE_LEN], unsigned char out[VALUE_LEN], unsigned char tag[TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
              EVP_CipherInit_ex(ctx, NULL, NULL, k->bytes, nonce, encrypt) &&
              EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)context, (int)strlen(context)) &&
              EVP_CipherUpdate(ctx, out, &len, in, VALUE_LEN);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag);
    if (ok)
        ok = EVP_CipherFinal_ex(ctx, out + len, &len);
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

void seal_u64(const seal_key *k, const char *context, uint64_t value, char out[SEAL_TOKEN_LEN + 1])
{
    unsigned char raw[NONCE_LEN + VALUE_LEN + TAG_LEN], plain[VALUE_LEN];
    for (int i = 0; i < VALUE_LEN; i++)
        plain[i] = (unsigned char)(value >> (8 * (VALUE_LEN - 1 - i)));
    if (RAND_bytes(raw, NONCE_LEN) != 1 ||
        !gcm(true, k, context, raw, plain, raw + NONCE_LEN, raw + NONCE_LEN + VALUE_LEN))
        abort();
    hex_encode(raw, sizeof raw, out);
}

bool unseal_u64(const seal_key *k, const char *context, const char *token, uint64_t *value)
{
    unsigned char raw[NONCE_LEN + VALUE_LEN + TAG_LEN], plain[VALUE_LEN];
    if (!token || strlen(token) != SEAL_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < sizeof raw; i++) {
        int hi = hex_digit(token[2 * i]), lo = hex_digit(token[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    if (!gcm(false, k, context, raw, raw + NONCE_LEN, plain, raw + NONCE_LEN + VALUE_LEN))
        return false;
    uint64_t v = 0;
    for (int i = 0; i < VALUE_LEN; i++)
        v = v << 8 | plain[i];
    *value = v;
    return true;
}
