/* fuzz_keys.c — libFuzzer target for the keyring file parser (src/auth/keyring.c,
 * auth_keyring_load). The input is the file: written to a memfd and loaded as /proc/self/fd/N, the
 * way the server loads its --keys file. Besides crashes, leaks and UB it checks the loader's
 * promises: a failure has a reason and loads nothing (all or nothing); after a success every key
 * is found by its SecretId, and no field is empty, over-long or holds a separator, a newline or a
 * comment start; loading the same file again is refused and changes nothing; looking up random
 * ids (pieces of the input, and prefixes and extensions of the real ids) finds only exact matches.
 * Built with a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus
 * (corpus/keys).
 *
 * Run:      build-fuzz/fuzz/fuzz_keys -dict=fuzz/fuzz_keys.dict -max_total_time=600 WORK fuzz/corpus/keys
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_keys -merge=1 NEW WORK fuzz/corpus/keys; replace
 *           corpus/keys with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "auth/auth.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_keys: broken promise: %s\n", what);
        abort();
    }
}

static void check_field(const char *f, size_t cap, const char *what)
{
    size_t n = strnlen(f, cap);
    check(n > 0 && n < cap, what);
    check(strpbrk(f, " \t\r\n,") == NULL && f[0] != '#', what);
}

/* Looking up id finds the key with exactly that SecretId, or nothing. */
static void check_lookup(const auth_keyring *kr, const char *id)
{
    const auth_key *k = auth_keyring_find(kr, id);
    if (k) {
        check(strcmp(k->secret_id, id) == 0, "a lookup finds only its own id");
        return;
    }
    for (size_t i = 0; i < auth_keyring_count(kr); i++)
        check(strcmp(auth_keyring_at(kr, i)->secret_id, id) != 0, "a missing id is really missing");
}

static void check_lookups(const auth_keyring *kr, const uint8_t *data, size_t size)
{
    check(auth_keyring_find(kr, NULL) == NULL, "NULL finds nothing");
    check_lookup(kr, "");
    char id[160];
    for (size_t at = 0; at < size; at += 1 + at / 2) {   /* a few pieces of the input itself */
        size_t n = size - at < sizeof id - 1 ? size - at : sizeof id - 1;
        memcpy(id, data + at, n);
        id[n] = '\0';
        check_lookup(kr, id);
        id[n / 3] = '\0';
        check_lookup(kr, id);
    }
    for (size_t i = 0; i < auth_keyring_count(kr); i++) {
        const char *real = auth_keyring_at(kr, i)->secret_id;
        size_t n = strlen(real);
        memcpy(id, real, n + 1);
        id[n - 1] = '\0';
        check_lookup(kr, id);           /* a prefix */
        memcpy(id, real, n);
        memcpy(id + n, "X", 2);
        check_lookup(kr, id);           /* an extension */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    int fd = memfd_create("fuzz_keys", MFD_CLOEXEC);
    check(fd >= 0, "memfd_create");
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        check(w > 0, "write to the memfd");
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    auth_keyring *kr = auth_keyring_new();
    char err[512];
    memset(err, 'x', sizeof err);
    bool ok = auth_keyring_load(kr, path, err, sizeof err);
    if (!ok) {
        size_t n = strnlen(err, sizeof err);
        check(n > 0 && n < sizeof err, "a failure has a reason");
        check(auth_keyring_count(kr) == 0, "a failure loads nothing");
    }
    size_t count = auth_keyring_count(kr);
    check(auth_keyring_at(kr, count) == NULL, "nothing past the end");
    for (size_t i = 0; i < count; i++) {
        const auth_key *k = auth_keyring_at(kr, i);
        check_field(k->secret_id, sizeof k->secret_id, "SecretId non-empty, not over-long, one field");
        check_field(k->secret_key, sizeof k->secret_key, "SecretKey non-empty, not over-long, one field");
        check_field(k->appid, sizeof k->appid, "appid non-empty, not over-long, one field");
        check(auth_keyring_find(kr, k->secret_id) == k, "every key is found by its SecretId");
    }
    if (ok && count > 0) {
        check(!auth_keyring_load(kr, path, err, sizeof err), "the same ids twice are refused");
        check(auth_keyring_count(kr) == count, "a refused load changes nothing");
    }
    check_lookups(kr, data, size);
    auth_keyring_free(kr);
    close(fd);
    return 0;
}
