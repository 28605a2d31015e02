/* registry.c — maps every EngineModelType of the API (spec §2) to an engine, a model and a
 * language. The mapping comes from CICADA_ENGINES, or, when that is unset, from what is installed:
 * the most accurate official whisper model in the model directory serves every type it can, and
 * pocketsphinx (en-us; Mandarin via CICADA_SPHINX_ZH_MODEL) serves the rest. The plan is worked
 * out first (also for `cicada models list`), then each distinct model is loaded once, eagerly, so a
 * broken model fails the server at start-up rather than the first job; types with no model get a
 * hint naming what is missing and the command that installs it. */
#include "engine/engine.h"

#include "models/models.h"
#include "util/util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum sphinx_family { SPHINX_NONE, SPHINX_EN, SPHINX_ZH } sphinx_family;

typedef struct type_info {
    const char *type;
    const char *language;       /* whisper's language for the type */
    sphinx_family sphinx;       /* the pocketsphinx model that can serve it, if any */
} type_info;

/* The EngineModelType table of the spec, in its order. */
static const type_info k_types[] = {
    {"16k_zh", "zh", SPHINX_ZH},
    {"16k_zh_video", "zh", SPHINX_ZH},
    {"16k_en", "en", SPHINX_EN},
    {"16k_ca", "yue", SPHINX_NONE},
    {"16k_ja", "ja", SPHINX_NONE},
    {"16k_zh_edu", "zh", SPHINX_ZH},
    {"16k_en_edu", "en", SPHINX_EN},
    {"16k_zh_medical", "zh", SPHINX_ZH},
    {"16k_th", "th", SPHINX_NONE},
    {"16k_zh_dialect", "zh", SPHINX_ZH},
    {"16k_zh-PY", "auto", SPHINX_ZH},
    {"16k_ms", "ms", SPHINX_NONE},
    {"8k_zh", "zh", SPHINX_ZH},
    {"8k_zh_s", "zh", SPHINX_ZH},
    {"8k_en", "en", SPHINX_EN},
};
#define NTYPES (sizeof k_types / sizeof k_types[0])

#define VAD_DEFAULT_FILE "ggml-silero-v6.2.0.bin"

/* One loaded model, shared by every type that maps to it. */
typedef struct loaded_engine {
    const char *kind;
    char key[PATH_MAX];         /* the model's canonical path */
    engine *e;
} loaded_engine;

struct engine_registry {
    engine_plan_entry plan[NTYPES];
    engine *by_type[NTYPES];
    char *unavailable[NTYPES];   /* why a planned model did not load (the server runs on without it) */
    char only_type[32];          /* the params' only_type ("" = every type was loaded) */
    loaded_engine loaded[NTYPES];
    size_t nloaded;
    char **blacklist;
    size_t nblacklist;
    engine_cores *cores;         /* the threads every recognition shares */
};

static const type_info *find_type(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(k_types[i].type, type) == 0)
            return &k_types[i];
    return NULL;
}

bool engine_type_known(const char *engine_model_type)
{
    return find_type(engine_model_type) != NULL;
}

bool engine_registry_model_ok(const engine_registry *r, const char *engine_model_type, char *why, size_t whylen)
{
    for (size_t i = 0; i < NTYPES; i++) {
        if (strcmp(k_types[i].type, engine_model_type) != 0)
            continue;
        if (r->unavailable[i])
            err_printf(why, whylen, "%s", r->unavailable[i]);
        else if (r->plan[i].missing[0])
            err_printf(why, whylen, "%s", r->plan[i].missing);
        else
            return true;
        return false;
    }
    return true;
}

const char *engine_type_name(size_t i)
{
    return i < NTYPES ? k_types[i].type : NULL;
}

engine_registry_params engine_registry_default_params(void)
{
    return (engine_registry_params){.sphinx_en_dir = CICADA_SPHINX_EN_DIR, .sphinx_zh_dir = NULL};
}

static bool configured(const char *s)
{
    return s && s[0];
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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

/* An acoustic model's rate follows from its filter bank: an upper edge at or below 4 kHz (tdt_sc_8k)
 * means 8 kHz audio; anything else, or no feat.params, 16 kHz. */
static int sphinx_rate(const char *hmm)
{
    char path[4200], *text = NULL;
    snprintf(path, sizeof path, "%s/feat.params", hmm);
    if (!fs_read_file(path, &text, NULL, 1 << 16))
        return 16000;
    const char *upperf = strstr(text, "-upperf");
    int rate = upperf && atof(upperf + 7) > 0 && atof(upperf + 7) <= 4000 ? 8000 : 16000;
    free(text);
    return rate;
}

static engine *load_sphinx(const char *dir, bool join_without_spaces, char *err, size_t errlen)
{
    model_paths m;
    if (!locate_model(dir, &m, err, errlen))
        return NULL;
    sphinx_params p = sphinx_default_params();
    p.hmm = m.hmm;
    p.lm = m.lm;
    p.dict = m.dict;
    p.sample_rate = sphinx_rate(m.hmm);
    p.join_without_spaces = join_without_spaces;
    return engine_sphinx_new(&p, err, errlen);
}

/* ---- the plan: which engine, model and language serve each type ---- */

typedef struct plan_ctx {
    const engine_registry_params *p;
    bool automatic;             /* no CICADA_ENGINES: use what is installed */
    models_engine_entry map[MODELS_MAX_ENGINE_ENTRIES];
    size_t nmap;
} plan_ctx;

static const char *sphinx_language(const type_info *t)
{
    return t->sphinx == SPHINX_EN ? "en" : t->sphinx == SPHINX_ZH ? "zh" : t->language;
}

static void set_entry(engine_plan_entry *e, const char *engine, const char *model, const char *language)
{
    e->engine = engine;
    snprintf(e->model, sizeof e->model, "%s", model);
    snprintf(e->language, sizeof e->language, "%s", language);
    e->hint[0] = '\0';
    e->remedy[0] = '\0';
}

static const models_engine_entry *mapping_for(const plan_ctx *c, const char *type)
{
    for (size_t i = 0; i < c->nmap; i++)
        if (strcmp(c->map[i].type, type) == 0)
            return &c->map[i];
    return NULL;
}

/* Nothing serves t: say what kind of model it needs and the command that installs one. */
static void hint_nothing_installed(const plan_ctx *c, const type_info *t, engine_plan_entry *e)
{
    const char *map_it = c->automatic ? "" : " and map it in CICADA_ENGINES";
    switch (t->sphinx) {
    case SPHINX_EN:
        err_printf(e->hint, sizeof e->hint,
                   "EngineModelType %s needs an English model; none is installed on this server (install the "
                   "pocketsphinx-en-us package, or a whisper model with `cicada models pull base.en`%s)",
                   t->type, map_it);
        err_printf(e->remedy, sizeof e->remedy, "install pocketsphinx-en-us or run `cicada models pull base.en`%s",
                   map_it);
        break;
    case SPHINX_ZH:
        err_printf(e->hint, sizeof e->hint,
                   "EngineModelType %s needs a Mandarin model; none is installed on this server (install a whisper "
                   "model with `cicada models pull base`%s, or set CICADA_SPHINX_ZH_MODEL to a pocketsphinx Mandarin "
                   "model directory (hmm dir + .dic + .lm.bin))", t->type, map_it);
        err_printf(e->remedy, sizeof e->remedy, "set CICADA_SPHINX_ZH_MODEL or run `cicada models pull base`%s",
                   map_it);
        break;
    case SPHINX_NONE:
        err_printf(e->hint, sizeof e->hint,
                   "EngineModelType %s needs a whisper model (language %s); none is installed on this server (install "
                   "one with `cicada models pull base`%s)", t->type, t->language, map_it);
        err_printf(e->remedy, sizeof e->remedy, "needs whisper (language %s): run `cicada models pull base`%s",
                   t->language, map_it);
        break;
    }
}

/* A mapped whisper file that is not there: which file, and how to get it. */
static void hint_whisper_missing(const plan_ctx *c, const type_info *t, const char *path, engine_plan_entry *e)
{
    const model_info *m = models_find(path);
    if (!m || m->kind != MODEL_WHISPER) {
        err_printf(e->hint, sizeof e->hint,
                   "EngineModelType %s is mapped to whisper model %s, which does not exist (copy the model there or "
                   "change CICADA_ENGINES)", t->type, path);
        err_printf(e->remedy, sizeof e->remedy, "mapped to %s, which does not exist", path);
        return;
    }
    char expected[1100];
    bool in_model_dir = configured(c->p->model_dir) &&
                        models_resolve_path(c->p->model_dir, m->file, expected, sizeof expected) &&
                        strcmp(expected, path) == 0;
    char dir[1024] = "";
    if (!in_model_dir) {
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
    }
    err_printf(e->hint, sizeof e->hint,
               "EngineModelType %s is mapped to whisper model %s, which is not installed: run "
               "`cicada models pull %s%s%s`", t->type, path, m->name, dir[0] ? " --model-dir " : "", dir);
    err_printf(e->remedy, sizeof e->remedy, "mapped to %s: run `cicada models pull %s%s%s`", path, m->name,
               dir[0] ? " --model-dir " : "", dir);
}

static bool plan_default_sphinx(const plan_ctx *c, const type_info *t, engine_plan_entry *e)
{
    const char *dir = t->sphinx == SPHINX_EN   ? c->p->sphinx_en_dir
                      : t->sphinx == SPHINX_ZH ? c->p->sphinx_zh_dir
                                               : NULL;
    if (!configured(dir))
        return false;
    set_entry(e, "sphinx", dir, sphinx_language(t));
    return true;
}

/* sphinx:en-us and sphinx:zh name the configured models; anything else is a model directory. */
static void plan_mapped_sphinx(const plan_ctx *c, const type_info *t, const models_engine_entry *m,
                               engine_plan_entry *e)
{
    const char *lang = m->language[0] ? m->language : sphinx_language(t);
    char dir[1024];
    if (strcmp(m->model, "en-us") == 0) {
        if (configured(c->p->sphinx_en_dir))
            set_entry(e, "sphinx", c->p->sphinx_en_dir, lang);
        else {
            err_printf(e->hint, sizeof e->hint, "EngineModelType %s is mapped to sphinx:en-us, which is not installed "
                       "(install the pocketsphinx-en-us package)", t->type);
            err_printf(e->remedy, sizeof e->remedy, "mapped to sphinx:en-us: install pocketsphinx-en-us");
        }
    } else if (strcmp(m->model, "zh") == 0) {
        if (configured(c->p->sphinx_zh_dir))
            set_entry(e, "sphinx", c->p->sphinx_zh_dir, lang);
        else {
            err_printf(e->hint, sizeof e->hint, "EngineModelType %s is mapped to sphinx:zh, but CICADA_SPHINX_ZH_MODEL "
                       "does not name a pocketsphinx Mandarin model directory (hmm dir + .dic + .lm.bin)", t->type);
            err_printf(e->remedy, sizeof e->remedy, "mapped to sphinx:zh: set CICADA_SPHINX_ZH_MODEL");
        }
    } else if (models_resolve_path(c->p->model_dir, m->model, dir, sizeof dir)) {
        set_entry(e, "sphinx", dir, lang);   /* a configured directory must be complete: checked on load */
    } else {
        err_printf(e->hint, sizeof e->hint, "EngineModelType %s: model path too long", t->type);
        err_printf(e->remedy, sizeof e->remedy, "model path too long");
    }
}

static bool plan_mapped_whisper(const plan_ctx *c, const type_info *t, const models_engine_entry *m,
                                engine_plan_entry *e)
{
    char path[1024];
    if (!models_resolve_path(c->p->model_dir, m->model, path, sizeof path)) {
        err_printf(e->hint, sizeof e->hint, "EngineModelType %s: model path too long", t->type);
        err_printf(e->remedy, sizeof e->remedy, "model path too long");
        return false;
    }
    if (regular_file_size(path) >= 0) {
        set_entry(e, "whisper", path, m->language[0] ? m->language : t->language);
        return true;
    }
    hint_whisper_missing(c, t, path, e);
    return false;
}

/* `cicada transcribe --model`: a directory is a pocketsphinx model, a file a whisper model. */
static void plan_override(const plan_ctx *c, const type_info *t, engine_plan_entry *e)
{
    char path[1024];
    if (!models_resolve_path(c->p->model_dir, c->p->model_override, path, sizeof path))
        err_printf(e->hint, sizeof e->hint, "model path too long");
    else if (is_dir(path))
        set_entry(e, "sphinx", path, sphinx_language(t));
    else if (regular_file_size(path) >= 0)
        set_entry(e, "whisper", path, t->language);
    else
        err_printf(e->hint, sizeof e->hint, "model %s does not exist", path);
    err_printf(e->remedy, sizeof e->remedy, "%s", e->hint);
}

/* Explicit mapping first; a mapped whisper model that is missing falls back to pocketsphinx (the
 * hint stays as a note); without CICADA_ENGINES the best installed whisper model; then pocketsphinx. */
static void plan_type(const plan_ctx *c, const type_info *t, engine_plan_entry *e)
{
    memset(e, 0, sizeof *e);
    e->type = t->type;
    snprintf(e->language, sizeof e->language, "%s", t->language);
    const engine_registry_params *p = c->p;
    if (p->only_type && configured(p->model_override) && strcmp(p->only_type, t->type) == 0) {
        plan_override(c, t, e);
        return;
    }
    const models_engine_entry *m = mapping_for(c, t->type);
    if (m && strcmp(m->engine, "sphinx") == 0) {
        plan_mapped_sphinx(c, t, m, e);
        return;
    }
    if (m && plan_mapped_whisper(c, t, m, e))
        return;
    if (m)
        snprintf(e->missing, sizeof e->missing, "%s", e->remedy);
    char note[sizeof e->hint];
    snprintf(note, sizeof note, "%s", e->hint);
    const model_info *best = c->automatic ? models_best_installed(p->model_dir, t->language) : NULL;
    char path[1024];
    if (best && models_resolve_path(p->model_dir, best->file, path, sizeof path)) {
        set_entry(e, "whisper", path, t->language);
    } else if (plan_default_sphinx(c, t, e)) {
        if (note[0])
            err_printf(e->hint, sizeof e->hint, "%s; pocketsphinx serves it meanwhile", note);
    } else if (!note[0]) {
        hint_nothing_installed(c, t, e);
    }
}

static bool check_types(const plan_ctx *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nmap; i++) {
        if (find_type(c->map[i].type))
            continue;
        char known[512] = "";
        for (size_t k = 0; k < NTYPES; k++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", k_types[k].type);
        err_printf(err, errlen, "CICADA_ENGINES: %s is not an EngineModelType (known: %s)", c->map[i].type, known);
        return false;
    }
    return true;
}

engine_plan_entry *engine_registry_plan(const engine_registry_params *p, size_t *n, char *err, size_t errlen)
{
    engine_registry_params defaults = engine_registry_default_params();
    if (!p)
        p = &defaults;
    plan_ctx *c = xcalloc(1, sizeof *c);
    c->p = p;
    c->automatic = !configured(p->engines);
    char why[512];
    if (!models_engines_parse(p->engines, c->map, MODELS_MAX_ENGINE_ENTRIES, &c->nmap, why, sizeof why)) {
        err_printf(err, errlen, "CICADA_ENGINES: %s", why);
        free(c);
        return NULL;
    }
    if (!check_types(c, err, errlen)) {
        free(c);
        return NULL;
    }
    engine_plan_entry *entries = xcalloc(NTYPES, sizeof *entries);
    for (size_t i = 0; i < NTYPES; i++)
        plan_type(c, &k_types[i], &entries[i]);
    free(c);
    *n = NTYPES;
    return entries;
}

/* ---- loading ---- */

typedef struct whisper_setup {
    bool ready;
    int threads, max_concurrent;   /* threads: a call without a seat (tests) gets every core of the budget */
    char vad[PATH_MAX];
} whisper_setup;

/* CICADA_VAD_MODEL if set ("none" turns VAD off; a configured file must exist), else the official
 * Silero model in the model directory when it is there. */
static bool resolve_vad(const engine_registry_params *p, char *out, size_t outlen, char *err, size_t errlen)
{
    out[0] = '\0';
    if (configured(p->vad_model)) {
        if (strcmp(p->vad_model, "none") == 0)
            return true;
        if (!models_resolve_path(p->model_dir, p->vad_model, out, outlen) || regular_file_size(out) < 0) {
            err_printf(err, errlen, "VAD model %s (CICADA_VAD_MODEL) does not exist", out);
            return false;
        }
        return true;
    }
    if (configured(p->model_dir) && models_resolve_path(p->model_dir, VAD_DEFAULT_FILE, out, outlen) &&
        regular_file_size(out) >= 0)
        return true;
    out[0] = '\0';
    log_info("no VAD model (%s in the model directory): whisper decodes all audio; `cicada models pull "
             "silero-v6.2.0` installs it", VAD_DEFAULT_FILE);
    return true;
}

/* One phrase per line; blank lines and lines starting with '#' are skipped. */
static bool load_blacklist(engine_registry *r, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (!fs_read_file(path, &text, &len, 1 << 20)) {
        err_printf(err, errlen, "cannot read the whisper blacklist %s (CICADA_WHISPER_BLACKLIST)", path);
        return false;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    r->blacklist = xcalloc(lines, sizeof *r->blacklist);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line && *line != '#')
            r->blacklist[r->nblacklist++] = xstrdup(line);
    }
    free(text);
    return true;
}

static bool prepare_whisper(engine_registry *r, const engine_registry_params *p, whisper_setup *ws, char *err,
                            size_t errlen)
{
    if (ws->ready)
        return true;
    engine_cores_stats cs = engine_cores_get_stats(r->cores);
    ws->max_concurrent = p->max_concurrent > 0 ? p->max_concurrent : cs.cores;
    ws->threads = cs.per_call_max;
    if (!resolve_vad(p, ws->vad, sizeof ws->vad, err, errlen))
        return false;
    if (configured(p->blacklist_file) && !load_blacklist(r, p->blacklist_file, err, errlen))
        return false;
    ws->ready = true;
    return true;
}

/* A whisper model that fails to load is not fatal (*fatal stays false): its types become
 * unavailable with the reason. A bad VAD model or blacklist is a configuration error (*fatal). */
static engine *load_whisper(engine_registry *r, const engine_registry_params *p, whisper_setup *ws,
                            const char *model, bool *fatal, char *err, size_t errlen)
{
    if (!prepare_whisper(r, p, ws, err, errlen)) {
        *fatal = true;
        return NULL;
    }
    whisper_engine_params wp = whisper_engine_default_params();
    wp.model_path = model;
    wp.vad_model_path = ws->vad[0] ? ws->vad : NULL;
    wp.threads = ws->threads;
    wp.max_concurrent = ws->max_concurrent;
    if (r->blacklist) {
        wp.blacklist = (const char *const *)r->blacklist;
        wp.nblacklist = r->nblacklist;
    }
    char why[768];
    engine *e = engine_whisper_new(&wp, why, sizeof why);
    if (!e && strstr(why, model))
        err_printf(err, errlen, "%s", why);   /* the engine's message names the file already */
    else if (!e)
        err_printf(err, errlen, "whisper model %s: %s", model, why);
    return e;
}

/* Mandarin-like scripts are written without spaces between words. */
static bool joins_without_spaces(const char *language)
{
    return strcmp(language, "zh") == 0 || strcmp(language, "yue") == 0 || strcmp(language, "ja") == 0 ||
           strcmp(language, "th") == 0;
}

static engine *load_sphinx_for(const engine_registry_params *p, const engine_plan_entry *e, char *err, size_t errlen)
{
    char why[768];
    engine *s = load_sphinx(e->model, joins_without_spaces(e->language), why, sizeof why);
    if (s)
        return s;
    if (configured(p->sphinx_en_dir) && strcmp(e->model, p->sphinx_en_dir) == 0)
        err_printf(err, errlen, "English model: %s", why);
    else if (configured(p->sphinx_zh_dir) && strcmp(e->model, p->sphinx_zh_dir) == 0)
        err_printf(err, errlen, "Mandarin model (CICADA_SPHINX_ZH_MODEL): %s", why);
    else
        err_printf(err, errlen, "pocketsphinx model %s: %s", e->model, why);
    return NULL;
}

/* The engine for a plan entry: the one already loaded from the same model file, or a new one. */
static engine *engine_for(engine_registry *r, const engine_registry_params *p, whisper_setup *ws,
                          const engine_plan_entry *e, bool *fatal, char *err, size_t errlen)
{
    *fatal = false;
    char key[PATH_MAX];
    if (!realpath(e->model, key))
        snprintf(key, sizeof key, "%s", e->model);
    for (size_t i = 0; i < r->nloaded; i++)
        if (strcmp(r->loaded[i].kind, e->engine) == 0 && strcmp(r->loaded[i].key, key) == 0)
            return r->loaded[i].e;
    bool whisper = strcmp(e->engine, "whisper") == 0;
    engine *eng;
    if (whisper) {
        eng = load_whisper(r, p, ws, e->model, fatal, err, errlen);
    } else {
        eng = load_sphinx_for(p, e, err, errlen);
        *fatal = eng == NULL;
    }
    if (!eng)
        return NULL;
    loaded_engine *l = &r->loaded[r->nloaded++];
    l->kind = e->engine;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->e = eng;
    return eng;
}

/* One line per loaded model: "whisper:ggml-base.bin serves 16k_zh (zh) 16k_en (en) ...". */
static void log_assignments(const engine_registry *r)
{
    for (size_t k = 0; k < r->nloaded; k++) {
        buf b;
        buf_init(&b);
        for (size_t i = 0; i < NTYPES; i++)
            if (r->by_type[i] == r->loaded[k].e)
                buf_printf(&b, " %s (%s)", r->plan[i].type, r->plan[i].language);
        log_info("%s serves%s", r->loaded[k].e->name, b.data ? b.data : "");
        buf_free(&b);
    }
}

/* Why an earlier type planned on the same engine and model failed to load, or NULL. */
static const char *earlier_failure(const engine_registry *r, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (r->unavailable[k] && r->plan[k].engine && strcmp(r->plan[k].engine, r->plan[i].engine) == 0 &&
            strcmp(r->plan[k].model, r->plan[i].model) == 0)
            return r->unavailable[k];
    return NULL;
}

engine_registry *engine_registry_new(const engine_registry_params *p, char *err, size_t errlen)
{
    engine_registry_params defaults = engine_registry_default_params();
    if (!p)
        p = &defaults;
    size_t n;
    engine_plan_entry *plan = engine_registry_plan(p, &n, err, errlen);
    if (!plan)
        return NULL;
    engine_registry *r = xcalloc(1, sizeof *r);
    memcpy(r->plan, plan, sizeof r->plan);
    free(plan);
    snprintf(r->only_type, sizeof r->only_type, "%s", p->only_type ? p->only_type : "");
    engine_cores_params cp = engine_cores_default_params();
    cp.cores = p->cores;
    cp.per_call_max = p->whisper_threads;
    r->cores = engine_cores_new(&cp);
    engine_cores_stats cs = engine_cores_get_stats(r->cores);
    log_info("compute: %d cores shared by every recognition, at most %d threads per call%s", cs.cores,
             cs.per_call_max, cs.per_call_max < cs.cores ? " (CICADA_WHISPER_THREADS)" : "");
    whisper_setup ws = {0};
    for (size_t i = 0; i < NTYPES; i++) {
        const engine_plan_entry *e = &r->plan[i];
        if (!e->engine || (p->only_type && strcmp(p->only_type, e->type) != 0))
            continue;
        if (e->hint[0])
            log_warn("%s", e->hint);
        const char *failed = earlier_failure(r, i);
        if (failed) {   /* the same model already failed: not loaded (nor logged) once per type */
            r->unavailable[i] = xstrdup(failed);
            continue;
        }
        bool fatal;
        char why[1024];
        if (!(r->by_type[i] = engine_for(r, p, &ws, e, &fatal, why, sizeof why))) {
            if (fatal || p->only_type) {
                err_printf(err, errlen, "%s", why);
                engine_registry_free(r);
                return NULL;
            }
            log_error("%s: the EngineModelTypes it serves are unavailable until the model is fixed (`cicada models "
                      "verify`) and the server restarted; other engine types are unaffected", why);
            r->unavailable[i] = xstrdup(why);
        }
    }
    log_assignments(r);
    return r;
}

void engine_registry_free(engine_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nloaded; i++)
        engine_destroy(r->loaded[i].e);
    for (size_t i = 0; i < NTYPES; i++)
        free(r->unavailable[i]);
    for (size_t i = 0; i < r->nblacklist; i++)
        free(r->blacklist[i]);
    free(r->blacklist);
    engine_cores_free(r->cores);
    free(r);
}

engine_cores *engine_registry_cores(engine_registry *r)
{
    return r->cores;
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
    size_t i = (size_t)(t - k_types);
    const engine_plan_entry *e = &r->plan[i];
    if (opts)
        *opts = (engine_opts){.language = e->language};
    if (r->by_type[i]) {
        *out = r->by_type[i];
        return ENGINE_FOUND;
    }
    if (hint && hintlen) {
        if (r->unavailable[i])
            snprintf(hint, hintlen, "EngineModelType %s is unavailable: %s", t->type, r->unavailable[i]);
        else if (e->hint[0] && !e->engine)
            snprintf(hint, hintlen, "%s", e->hint);
        else
            snprintf(hint, hintlen, "EngineModelType %s is not loaded in this run", t->type);
    }
    return ENGINE_NOT_INSTALLED;
}

/* O(types): a start-up listing, called once. */
engine_unavailable *engine_registry_unavailable(const engine_registry *r, size_t *n)
{
    engine_unavailable *out = NULL;
    *n = 0;
    for (size_t i = 0; i < NTYPES; i++) {
        const engine_plan_entry *e = &r->plan[i];
        if (r->by_type[i] || (r->only_type[0] && strcmp(r->only_type, e->type) != 0))
            continue;   /* served, or left out of this run by only_type */
        if (!out)
            out = xcalloc(NTYPES, sizeof *out);
        out[*n].type = e->type;
        out[*n].why = r->unavailable[i] ? r->unavailable[i] : e->remedy[0] ? e->remedy : e->hint;
        (*n)++;
    }
    return out;
}
