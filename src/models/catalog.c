/* catalog.c — the official whisper.cpp models a user can pull: names, file names, URLs and the
 * checksums their publishers give (SHA-1 from whisper.cpp's models/README.md; SHA-256 and exact
 * sizes where known), plus the lookups the registry and `cicada models` need: by name or file,
 * by digest, and "the best model present in a directory" for the automatic engine mapping. */
#include "models/models.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/util.h"

#define HF_WHISPER "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/"
#define HF_VAD "https://huggingface.co/ggml-org/whisper-vad/resolve/main/"

#define WHISPER(n, sha1, sha256, bytes, disk, en, rank) \
    {n, "ggml-" n ".bin", MODEL_WHISPER, HF_WHISPER "ggml-" n ".bin", sha1, sha256, bytes, disk, en, rank}

/* Exact sizes are the published files' lengths, as independent projects pin them beside these same
 * SHA-1s (no network here to fetch them ourselves); the q5_0 files have none yet, so their size goes
 * unchecked. Ranks order by accuracy: larger models first, a quantized model just below its
 * full-precision original, large-v3-turbo (4 decoder layers) below large-v3. */
static const model_info k_catalog[] = {
    WHISPER("tiny", "bd577a113a864445d4c299885e0cb97d4ba92b5f", NULL, 77691713, "75 MiB", false, 10),
    WHISPER("tiny.en", "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", NULL, 77704715, "75 MiB", true, 10),
    WHISPER("base", "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
            "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe", 147951465, "142 MiB", false, 20),
    WHISPER("base.en", "137c40403d78fd54d454da0f9bd998f78703390c", NULL, 147964211, "142 MiB", true, 20),
    WHISPER("base-q8_0", NULL, "c577b9a86e7e048a0b7eada054f4dd79a56bbfa911fbdacf900ac5b567cbb7d9", 81768585,
            "78 MiB", false, 18),
    WHISPER("small", "55356645c2b361a969dfd0ef2c5a50d530afd8d5", NULL, 487601967, "466 MiB", false, 40),
    WHISPER("small.en", "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", NULL, 487614201, "466 MiB", true, 40),
    WHISPER("medium", "fd9727b6e1217c2f614f9b698455c4ffd82463b4", NULL, 1533763059, "1.5 GiB", false, 60),
    WHISPER("medium.en", "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", NULL, 1533774781, "1.5 GiB", true, 60),
    WHISPER("large-v1", "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299", NULL, 3094623691, "2.9 GiB", false, 80),
    WHISPER("large-v2", "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6", NULL, 3094623691, "2.9 GiB", false, 85),
    WHISPER("large-v2-q5_0", "00e39f2196344e901b3a2bd5814807a769bd1630", NULL, 0, "1.1 GiB", false, 82),
    WHISPER("large-v3", "ad82bf6a9043ceed055076d0fd39f5f186ff8062", NULL, 3095033483, "2.9 GiB", false, 100),
    WHISPER("large-v3-q5_0", "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de", NULL, 0, "1.1 GiB", false, 92),
    WHISPER("large-v3-turbo", "4af2b29d7ec73d781377bfd1758ca957a807e941", NULL, 1624555275, "1.5 GiB", false, 95),
    WHISPER("large-v3-turbo-q5_0", "e050f7970618a659205450ad97eb95a18d69c9ee", NULL, 0, "547 MiB", false, 88),
    /* 885,098 bytes and this SHA-256 for the published ggml-org/whisper-vad file: the same bytes as
     * whisper.cpp's own test copy, and the same size and digest that independent projects pin for
     * the download (no network here to fetch it ourselves). */
    {"silero-v6.2.0", "ggml-silero-v6.2.0.bin", MODEL_VAD, HF_VAD "ggml-silero-v6.2.0.bin", NULL,
     "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987", 885098, "864 KiB", false, 0},
};
#define CATALOG_COUNT (sizeof k_catalog / sizeof k_catalog[0])

size_t models_catalog_count(void)
{
    return CATALOG_COUNT;
}

const model_info *models_catalog_at(size_t i)
{
    return i < CATALOG_COUNT ? &k_catalog[i] : NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const model_info *models_find(const char *name_or_file)
{
    if (!name_or_file || !*name_or_file)
        return NULL;
    const char *base = base_name(name_or_file);
    for (size_t i = 0; i < CATALOG_COUNT; i++) {
        const model_info *m = &k_catalog[i];
        if (strcmp(base, m->file) == 0 || (base == name_or_file && strcmp(base, m->name) == 0))
            return m;
    }
    return NULL;
}

bool models_size_differs(const model_info *m, int64_t bytes)
{
    return m && m->bytes > 0 && bytes != m->bytes;
}

const model_info *models_find_by_digest(const model_digest *d)
{
    for (size_t i = 0; i < CATALOG_COUNT; i++) {
        const model_info *m = &k_catalog[i];
        if ((m->sha1 && strcasecmp(m->sha1, d->sha1) == 0) || (m->sha256 && strcasecmp(m->sha256, d->sha256) == 0))
            return m;
    }
    return NULL;
}

bool models_resolve_path(const char *dir, const char *name, char *out, size_t outlen)
{
    if (strchr(name, '/') || !dir || !*dir)
        return strlcpy_ok(out, name, outlen);
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < outlen;
}

static bool regular_file_in(const char *dir, const char *file)
{
    char path[4096];
    struct stat st;
    return models_resolve_path(dir, file, path, sizeof path) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool serves_language(const model_info *m, const char *language)
{
    return !m->english_only || (language && strcmp(language, "en") == 0);
}

/* Higher rank wins; at equal rank an English-only model wins for English. */
static bool better(const model_info *a, const model_info *best)
{
    if (!best)
        return true;
    if (a->rank != best->rank)
        return a->rank > best->rank;
    return a->english_only && !best->english_only;
}

const model_info *models_best_installed(const char *dir, const char *language)
{
    if (!dir || !*dir)
        return NULL;
    const model_info *best = NULL;
    for (size_t i = 0; i < CATALOG_COUNT; i++) {
        const model_info *m = &k_catalog[i];
        if (m->kind == MODEL_WHISPER && serves_language(m, language) && better(m, best) &&
            regular_file_in(dir, m->file))
            best = m;
    }
    return best;
}

void models_format_size(int64_t bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%lld B", (long long)bytes);
    else
        snprintf(out, outlen, "%.1f %s", v, units[u]);
}
