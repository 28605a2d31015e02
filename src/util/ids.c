/* ids.c — random identifiers for jobs, queues and templates ("s"/"p"/"t1" + 32 lowercase hex) from
 * OpenSSL's CSPRNG, so ids are unguessable and can double as capability-like handles. */
#include "util/util.h"

#include <openssl/rand.h>
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

/* Request ids are as unguessable as job ids: a process-wide counter in them would let one tenant
 * count everyone's requests. RAND_bytes is ~1 us here, well below a request's cost. */
void ids_request(char out[33])
{
    ids_random_hex(out, 32);
}
