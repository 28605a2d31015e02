/* registry.c — maps every EngineModelType of the API (spec §2) to an engine and a language. The
 * configured models are loaded eagerly when the registry is built, so a broken model directory
 * fails the server at start-up rather than the first job; types with no model here get a hint that
 * says what to install. Model directories are searched for their parts (hmm dir, dict, LM). */
#include "engine/engine.h"

#include "util/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum model_family { FAMILY_SPHINX_EN, FAMILY_SPHINX_ZH, FAMILY_WHISPER } model_family;

typedef struct type_info {
    const char *type;
    const char *language;
    model_family family;
} type_info;

/* The EngineModelType table of the spec, in its order. */
static const type_info k_types[] = {
    {"16k_zh", "zh", FAMILY_SPHINX_ZH},
    {"16k_zh_video", "zh", FAMILY_SPHINX_ZH},
    {"16k_en", "en", FAMILY_SPHINX_EN},
    {"16k_ca", "yue", FAMILY_WHISPER},
    {"16k_ja", "ja", FAMILY_WHISPER},
    {"16k_zh_edu", "zh", FAMILY_SPHINX_ZH},
    {"16k_en_edu", "en", FAMILY_SPHINX_EN},
    {"16k_zh_medical", "zh", FAMILY_SPHINX_ZH},
    {"16k_th", "th", FAMILY_WHISPER},
    {"16k_zh_dialect", "zh", FAMILY_SPHINX_ZH},
    {"16k_zh-PY", "zh", FAMILY_SPHINX_ZH},
    {"16k_ms", "ms", FAMILY_WHISPER},
    {"8k_zh", "zh", FAMILY_SPHINX_ZH},
    {"8k_zh_s", "zh", FAMILY_SPHINX_ZH},
    {"8k_en", "en", FAMILY_SPHINX_EN},
};

struct engine_registry {
    engine *sphinx_en;
    engine *sphinx_zh;
};

static const type_info *find_type(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++)
        if (strcmp(k_types[i].type, type) == 0)
            return &k_types[i];
    return NULL;
}

bool engine_type_known(const char *engine_model_type)
{
    return find_type(engine_model_type) != NULL;
}

engine_registry_params engine_registry_default_params(void)
{
    return (engine_registry_params){.sphinx_en_dir = CICADA_SPHINX_EN_DIR, .sphinx_zh_dir = NULL};
}

/* ---- finding a model's parts inside its directory ---- */

typedef struct model_paths {
    char hmm[4096];
    char lm[4096];
    char dict[4096];
} model_paths;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool dir_has_mdef(const char *dir)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/mdef", dir) >= (int)sizeof path)
        return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static off_t regular_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

/* Keeps the largest regular file of dir whose name ends with one of `suffixes`, preferring earlier
 * suffixes (".lm.bin" over ".lm"); the largest, so en-us.lm.bin wins over en-us-phone.lm.bin. */
static bool find_file(const char *dir, const char *const *suffixes, size_t nsuffixes, char *out, size_t outlen)
{
    for (size_t s = 0; s < nsuffixes; s++) {
        DIR *d = opendir(dir);
        if (!d)
            return false;
        off_t best = -1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!has_suffix(de->d_name, suffixes[s]))
                continue;
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            off_t size = regular_file_size(path);
            if (size > best && strlen(path) < outlen) {
                strlcpy_ok(out, path, outlen);
                best = size;
            }
        }
        closedir(d);
        if (best >= 0)
            return true;
    }
    return false;
}

/* The acoustic model is the directory itself or a direct subdirectory holding "mdef". */
static bool find_hmm_dir(const char *dir, char *out, size_t outlen)
{
    if (dir_has_mdef(dir))
        return strlcpy_ok(out, dir, outlen);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        found = dir_has_mdef(path) && strlcpy_ok(out, path, outlen);
    }
    closedir(d);
    return found;
}

static bool locate_model(const char *dir, model_paths *m, char *err, size_t errlen)
{
    static const char *const lm_suffixes[] = {".lm.bin", ".lm", ".DMP", ".dmp"};
    static const char *const dict_suffixes[] = {".dic", ".dict"};
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "pocketsphinx model directory %s does not exist", dir);
        return false;
    }
    if (!find_hmm_dir(dir, m->hmm, sizeof m->hmm)) {
        snprintf(err, errlen, "pocketsphinx model directory %s has no acoustic model (a subdirectory with mdef)", dir);
        return false;
    }
    if (!find_file(dir, dict_suffixes, 2, m->dict, sizeof m->dict)) {
        snprintf(err, errlen, "pocketsphinx model directory %s has no dictionary (*.dic or *.dict)", dir);
        return false;
    }
    if (!find_file(dir, lm_suffixes, 4, m->lm, sizeof m->lm)) {
        snprintf(err, errlen, "pocketsphinx model directory %s has no language model (*.lm.bin, *.lm or *.DMP)", dir);
        return false;
    }
    return true;
}

static engine *load_sphinx(const char *dir, int sample_rate, bool join_without_spaces, char *err, size_t errlen)
{
    model_paths m;
    if (!locate_model(dir, &m, err, errlen))
        return NULL;
    sphinx_params p = sphinx_default_params();
    p.hmm = m.hmm;
    p.lm = m.lm;
    p.dict = m.dict;
    p.sample_rate = sample_rate;
    p.join_without_spaces = join_without_spaces;
    return engine_sphinx_new(&p, err, errlen);
}

/* ---- the registry ---- */

static bool configured(const char *dir)
{
    return dir && dir[0];
}

engine_registry *engine_registry_new(const engine_registry_params *p, char *err, size_t errlen)
{
    engine_registry_params defaults = engine_registry_default_params();
    if (!p)
        p = &defaults;
    engine_registry *r = xcalloc(1, sizeof *r);
    char why[768];
    if (configured(p->sphinx_en_dir)) {
        r->sphinx_en = load_sphinx(p->sphinx_en_dir, 16000, false, why, sizeof why);
        if (!r->sphinx_en) {
            snprintf(err, errlen, "English model: %s", why);
            engine_registry_free(r);
            return NULL;
        }
    }
    if (configured(p->sphinx_zh_dir)) {
        /* The only Mandarin pocketsphinx model (tdt_sc_8k) is an 8 kHz model. */
        r->sphinx_zh = load_sphinx(p->sphinx_zh_dir, 8000, true, why, sizeof why);
        if (!r->sphinx_zh) {
            snprintf(err, errlen, "Mandarin model (CICADA_SPHINX_ZH_MODEL): %s", why);
            engine_registry_free(r);
            return NULL;
        }
    }
    return r;
}

void engine_registry_free(engine_registry *r)
{
    if (!r)
        return;
    engine_destroy(r->sphinx_en);
    engine_destroy(r->sphinx_zh);
    free(r);
}

static void missing_model_hint(const type_info *t, char *hint, size_t hintlen)
{
    switch (t->family) {
    case FAMILY_SPHINX_EN:
        snprintf(hint, hintlen,
                 "EngineModelType %s needs an English model; none is installed on this server (install "
                 "the pocketsphinx-en-us package, or install a whisper model with `cicada models pull base` "
                 "and map it in CICADA_ENGINES)", t->type);
        break;
    case FAMILY_SPHINX_ZH:
        snprintf(hint, hintlen,
                 "EngineModelType %s needs a Mandarin model; none is installed on this server (set "
                 "CICADA_SPHINX_ZH_MODEL to a pocketsphinx Mandarin model directory (hmm dir + .dic + "
                 ".lm.bin))", t->type);
        break;
    case FAMILY_WHISPER:
        snprintf(hint, hintlen,
                 "EngineModelType %s needs a whisper model; none is installed on this server (install one "
                 "with `cicada models pull base` and map it in CICADA_ENGINES)", t->type);
        break;
    }
}

engine_lookup engine_registry_get(engine_registry *r, const char *engine_model_type, engine **out,
                                  engine_opts *opts, char *hint, size_t hintlen)
{
    *out = NULL;
    if (hint && hintlen)
        hint[0] = '\0';
    const type_info *t = find_type(engine_model_type);
    if (!t) {
        if (hint && hintlen)
            snprintf(hint, hintlen, "EngineModelType %s is not supported", engine_model_type ? engine_model_type : "(none)");
        return ENGINE_UNKNOWN_TYPE;
    }
    if (opts)
        *opts = (engine_opts){.language = t->language};
    engine *e = t->family == FAMILY_SPHINX_EN ? r->sphinx_en : t->family == FAMILY_SPHINX_ZH ? r->sphinx_zh : NULL;
    if (!e) {
        if (hint && hintlen)
            missing_model_hint(t, hint, hintlen);
        return ENGINE_NOT_INSTALLED;
    }
    *out = e;
    return ENGINE_FOUND;
}
