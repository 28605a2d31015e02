/* keyring.c — the SecretId/SecretKey/appid triples the server accepts: a small array, loaded from a
 * text file ("SecretId SecretKey appid" per line, whitespace or commas, '#' comments). A keyring
 * also holds the bearer keys of the OpenAI-compatible endpoint (the key as SecretId and SecretKey),
 * found by a comparison whose time does not depend on the key. */
#include "auth/auth.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYRING_FILE_MAX (1024 * 1024)
#define FIELD_SEPARATORS " \t\r,"

struct auth_keyring {
    auth_key *keys;
    size_t count;
    size_t cap;
};

auth_keyring *auth_keyring_new(void)
{
    return xcalloc(1, sizeof(auth_keyring));
}

void auth_keyring_free(auth_keyring *kr)
{
    if (!kr)
        return;
    if (kr->keys)
        OPENSSL_cleanse(kr->keys, kr->cap * sizeof *kr->keys); /* secrets do not linger in freed memory */
    free(kr->keys);
    free(kr);
}

size_t auth_keyring_count(const auth_keyring *kr)
{
    return kr ? kr->count : 0;
}

const auth_key *auth_keyring_at(const auth_keyring *kr, size_t i)
{
    return kr && i < kr->count ? &kr->keys[i] : NULL;
}

const auth_key *auth_keyring_find(const auth_keyring *kr, const char *secret_id)
{
    if (!kr || !secret_id)
        return NULL;
    for (size_t i = 0; i < kr->count; i++)
        if (strcmp(kr->keys[i].secret_id, secret_id) == 0)
            return &kr->keys[i];
    return NULL;
}

/* Rejects empty, over-long and duplicate entries. */
bool auth_keyring_add(auth_keyring *kr, const char *secret_id, const char *secret_key, const char *appid)
{
    if (!kr || !secret_id || !secret_key || !appid || !*secret_id || !*secret_key || !*appid)
        return false;
    if (auth_keyring_find(kr, secret_id))
        return false;
    auth_key k;
    memset(&k, 0, sizeof k);
    bool fits = strlcpy_ok(k.secret_id, secret_id, sizeof k.secret_id) &&
                strlcpy_ok(k.secret_key, secret_key, sizeof k.secret_key) &&
                strlcpy_ok(k.appid, appid, sizeof k.appid);
    if (fits) {
        if (kr->count == kr->cap) {
            size_t cap = kr->cap ? kr->cap * 2 : 4;
            auth_key *grown = xcalloc(cap, sizeof *grown);
            if (kr->keys) {
                memcpy(grown, kr->keys, kr->count * sizeof *grown);
                OPENSSL_cleanse(kr->keys, kr->cap * sizeof *kr->keys);
                free(kr->keys);
            }
            kr->keys = grown;
            kr->cap = cap;
        }
        kr->keys[kr->count++] = k;
    }
    OPENSSL_cleanse(&k, sizeof k);
    return fits;
}


/* Cuts the line at a '#' that starts a field (a '#' inside a field is part of it). */
static void strip_comment(char *line)
{
    for (char *p = line; *p; p++) {
        if (*p == '#' && (p == line || strchr(FIELD_SEPARATORS, p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

/* Splits one line into at most 4 fields; returns how many there were (4 means "too many"). */
static int split_fields(char *line, char *fields[4])
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, FIELD_SEPARATORS, &save); tok && n < 4;
         tok = strtok_r(NULL, FIELD_SEPARATORS, &save))
        fields[n++] = tok;
    return n;
}

/* Parses the whole text into `into`; false with err on the first bad line. */
static bool parse_keyring_text(auth_keyring *into, char *text, const char *path, char *err, size_t errlen)
{
    int lineno = 0;
    char *save = NULL;
    for (char *line = text; line; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        strip_comment(line);
        char *f[4];
        int n = split_fields(line, f);
        if (n == 0)
            continue;
        if (n != 3) {
            err_printf(err, errlen, "%s:%d: expected \"SecretId SecretKey appid\"", path, lineno);
            return false;
        }
        if (!auth_keyring_add(into, f[0], f[1], f[2])) {
            err_printf(err, errlen, "%s:%d: duplicate SecretId or field too long", path, lineno);
            return false;
        }
    }
    return true;
}

/* All-or-nothing: kr is only changed when the whole file is valid. */
bool auth_keyring_load(auth_keyring *kr, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (!fs_read_file(path, &text, &len, KEYRING_FILE_MAX)) {
        err_printf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    if (memchr(text, '\0', len)) {
        err_printf(err, errlen, "%s: binary data in keyring file", path);
        free(text);
        return false;
    }
    auth_keyring *staged = auth_keyring_new();
    bool ok = parse_keyring_text(staged, text, path, err, errlen);
    for (size_t i = 0; ok && i < staged->count; i++) {
        if (auth_keyring_find(kr, staged->keys[i].secret_id)) {
            err_printf(err, errlen, "%s: SecretId %s is already loaded", path, staged->keys[i].secret_id);
            ok = false;
        }
    }
    for (size_t i = 0; ok && i < staged->count; i++)
        auth_keyring_add(kr, staged->keys[i].secret_id, staged->keys[i].secret_key, staged->keys[i].appid);
    OPENSSL_cleanse(text, len);
    free(text);
    auth_keyring_free(staged);
    return ok;
}

/* ---- bearer keys (the OpenAI-compatible endpoint) ---- */

const auth_key *auth_keyring_find_secret(const auth_keyring *kr, const char *token)
{
    if (!kr || !token)
        return NULL;
    /* Every entry is compared, each as a SHA-256 digest with CRYPTO_memcmp: the time taken says
     * nothing about how much of a key a guess got right. */
    unsigned char want[32], have[32];
    SHA256((const unsigned char *)token, strlen(token), want);
    const auth_key *found = NULL;
    for (size_t i = 0; i < kr->count; i++) {
        SHA256((const unsigned char *)kr->keys[i].secret_id, strlen(kr->keys[i].secret_id), have);
        if (CRYPTO_memcmp(want, have, sizeof want) == 0)
            found = &kr->keys[i];
    }
    OPENSSL_cleanse(want, sizeof want);
    OPENSSL_cleanse(have, sizeof have);
    return found;
}

/* A key may hold letters, digits and - _ . ~ + / = (what generated keys and base64 use). */
static bool bearer_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n < 8 || n >= sizeof(((auth_key *)0)->secret_id))
        return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_.~+/=", *p))
            return false;
    return true;
}

bool auth_keyring_add_bearer(auth_keyring *kr, const char *list, const char *default_appid, char *err,
                             size_t errlen)
{
    char *text = xstrdup(list ? list : "");
    bool ok = true;
    int item = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, ",\n", &save); ok && line; line = strtok_r(NULL, ",\n", &save)) {
        item++;
        strip_comment(line);
        char *f[4];
        for (char *p = line; *p; p++)   /* KEY:APPID or KEY APPID */
            if (*p == ':')
                *p = ' ';
        int n = split_fields(line, f);
        if (n == 0)
            continue;
        const char *appid = n >= 2 ? f[1] : default_appid;
        bool digits = appid && *appid;
        for (const char *p = appid; digits && *p; p++)
            digits = isdigit((unsigned char)*p);
        if (n > 2 || !bearer_key_valid(f[0]) || !digits) {
            err_printf(err, errlen, "API key %d: expected KEY or KEY:APPID, the key 8-127 characters of letters, "
                       "digits and -_.~+/=, the appid digits", item);
            ok = false;
        } else if (!auth_keyring_add(kr, f[0], f[0], appid)) {
            err_printf(err, errlen, "API key %d is given twice", item);
            ok = false;
        }
    }
    OPENSSL_cleanse(text, strlen(list ? list : ""));
    free(text);
    return ok;
}
