/* cmd_models.c — `cicada models list|verify|pull`: what is in the model directory and which
 * EngineModelTypes use it, checking files against the official checksums, and installing official
 * models (or any file, given its URL and checksum) with the resumable, verified downloader. The
 * mapping shown is the registry's own plan, so it is exactly what `serve` would load. */
#include "cli/cli.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/models.h"
#include "util/util.h"

#define MAX_ARGS 64

typedef struct models_opts {
    bool help;
    const char *url, *sha1, *sha256, *max_size, *connect_timeout;
    const char *pos[MAX_ARGS];
    size_t npos;
} models_opts;

static void models_help(void)
{
    printf("usage: cicada models list\n"
           "       cicada models verify [NAME|FILE...]\n"
           "       cicada models pull NAME [--url URL] [--sha256 HEX | --sha1 HEX] [--max-size BYTES]\n"
           "                               [--connect-timeout SECONDS]\n\n"
           "list    the model directory's files (size, official name, the EngineModelTypes using them),\n"
           "        where every EngineModelType goes, and the official models `pull` knows\n"
           "verify  checks files against the official checksums (all files in the model directory when none\n"
           "        is named); exits 1 on a mismatch, a missing model or a named file it cannot check\n"
           "pull    downloads an official model (tiny ... large-v3-turbo, quantized variants, silero-v6.2.0)\n"
           "        into the model directory: resumable (run it again after an interruption), verified\n"
           "        before it is installed. --url and --sha256/--sha1 override the catalog (mirrors);\n"
           "        --max-size caps the download (K/M/G suffixes; default the official size, else 4G);\n"
           "        --connect-timeout gives up on a server that does not answer (seconds, default 30).\n\n");
    config_print_help(CLI_MODELS);
}

static bool load_options(config *cfg, int argc, char **argv, models_opts *o)
{
    cli_extra_opt extra[] = {{"--help", false, NULL, &o->help}, {"-h", false, NULL, &o->help},
                             {"--url", true, &o->url, NULL},     {"--sha1", true, &o->sha1, NULL},
                             {"--sha256", true, &o->sha256, NULL}, {"--max-size", true, &o->max_size, NULL},
                             {"--connect-timeout", true, &o->connect_timeout, NULL}};
    return config_load(cfg, CLI_MODELS, argc, argv, extra, sizeof extra / sizeof extra[0], o->pos, MAX_ARGS, &o->npos);
}

/* ---- the model directory ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's regular files, sorted; NULL when it cannot be read. */
static char **list_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    size_t cap = 16;
    char **names = xmalloc(cap * sizeof *names);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap)
            names = xrealloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

/* The VAD model whisper engines would use, as the registry resolves it. */
static void vad_path(const config *c, char *out, size_t outlen)
{
    out[0] = '\0';
    if (strcmp(c->vad_model, "none") == 0)
        return;
    models_resolve_path(c->model_dir, c->vad_model[0] ? c->vad_model : "ggml-silero-v6.2.0.bin", out, outlen);
}

/* ---- list ---- */

static void print_users(const char *path, const engine_plan_entry *plan, size_t nplan, const char *vad)
{
    bool any = false;
    for (size_t i = 0; i < nplan; i++) {
        if (plan[i].engine && strcmp(plan[i].engine, "whisper") == 0 && same_file(plan[i].model, path)) {
            printf("%s%s", any ? " " : "", plan[i].type);
            any = true;
        }
    }
    if (vad[0] && same_file(vad, path)) {
        printf("%sVAD", any ? " " : "");
        any = true;
    }
    printf("%s\n", any ? "" : "-");
}

static void list_installed(const config *c, const engine_plan_entry *plan, size_t nplan)
{
    size_t n;
    char **names = list_files(c->model_dir, &n);
    if (!names) {
        printf("Model directory %s does not exist yet (`cicada models pull NAME` creates it).\n\n", c->model_dir);
        return;
    }
    char vad[PATH_MAX];
    vad_path(c, vad, sizeof vad);
    printf("Installed in %s:\n", c->model_dir);
    if (n == 0)
        printf("  (nothing yet: `cicada models pull base` installs the base model)\n");
    else
        printf("  %-28s %10s  %-20s %s\n", "FILE", "SIZE", "MODEL", "USED BY");
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], size[32];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", c->model_dir, names[i]);
        models_format_size(stat(path, &st) == 0 ? st.st_size : 0, size, sizeof size);
        if (ends_with(names[i], ".part")) {
            char done[PATH_MAX];
            snprintf(done, sizeof done, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
            const model_info *m = models_find(done);
            printf("  %-28s %10s  partial download: run `cicada models pull %s` to resume\n", names[i], size,
                   m ? m->name : "NAME --url URL");
            continue;
        }
        const model_info *m = models_find(names[i]);
        printf("  %-28s %10s  %-20s ", names[i], size, m ? m->name : "-");
        print_users(path, plan, nplan, vad);
        if (models_size_differs(m, stat(path, &st) == 0 ? st.st_size : 0))
            printf("  %-28s %10s  unverified: not the official %s (%lld bytes); `cicada models verify %s` checks it\n",
                   "", "", m->name, (long long)m->bytes, m->name);
    }
    printf("\n");
    free_names(names, n);
}

static void list_plan(const engine_plan_entry *plan, size_t nplan)
{
    printf("Engine types:\n");
    for (size_t i = 0; i < nplan; i++) {
        const engine_plan_entry *e = &plan[i];
        if (e->engine)
            printf("  %-16s %-8s %s (%s)\n", e->type, e->engine, e->model, e->language);
        else
            printf("  %-16s %-8s not installed: %s\n", e->type, "-", e->hint);
    }
    printf("\n");
}

static void list_catalog(const config *c)
{
    printf("Official models (`cicada models pull NAME`):\n");
    for (size_t i = 0; i < models_catalog_count(); i++) {
        const model_info *m = models_catalog_at(i);
        char path[PATH_MAX];
        struct stat st;
        bool have = models_resolve_path(c->model_dir, m->file, path, sizeof path) && stat(path, &st) == 0;
        const char *what = m->kind == MODEL_VAD ? "Silero voice activity detection"
                           : m->english_only    ? "English only"
                                                : "multilingual";
        printf("  %-20s %8s  %s%s\n", m->name, m->disk, what, have ? ", installed" : "");
    }
}

static int models_list(const config *c)
{
    engine_registry_params ep;
    config_engine_params(c, &ep);
    char err[1024];
    size_t nplan = 0;
    engine_plan_entry *plan = engine_registry_plan(&ep, &nplan, err, sizeof err);
    if (!plan)
        fprintf(stderr, "cicada models: %s\n", err);
    list_installed(c, plan, nplan);
    if (plan)
        list_plan(plan, nplan);
    list_catalog(c);
    free(plan);
    return plan ? 0 : 1;
}

/* ---- verify ---- */

/* Verifies one file; explicit = named on the command line (an unknown file then counts as a failure). */
static bool verify_one(const char *path, bool explicit)
{
    const char *label = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const model_info *m = models_find(path);
    char detail[512];
    model_digest d;
    model_verdict v = models_verify_file(path, m ? m->sha1 : NULL, m ? m->sha256 : NULL, &d, detail, sizeof detail);
    if (v == MODEL_UNREADABLE) {
        if (m && access(path, F_OK) != 0)
            printf("%-9s %s: not installed (`cicada models pull %s`)\n", "MISSING", label, m->name);
        else
            printf("%-9s %s: %s\n", "ERROR", label, detail);
        return false;
    }
    if (v == MODEL_NO_CHECKSUM) {
        const model_info *same = models_find_by_digest(&d);
        if (same) {
            printf("%-9s %s: the official %s (sha256 %s)\n", "OK", label, same->name, d.sha256);
            return true;
        }
        printf("%-9s %s: not an official model (sha256 %s)\n", "UNKNOWN", label, d.sha256);
        return !explicit;
    }
    printf("%-9s %s: %s%s%s\n", v == MODEL_VERIFIED ? "OK" : "MISMATCH", label, m ? m->name : "", m ? ": " : "",
           detail);
    return v == MODEL_VERIFIED;
}

static int models_verify(const config *c, const models_opts *o)
{
    bool ok = true;
    char path[PATH_MAX];
    if (o->npos > 0) {
        for (size_t i = 0; i < o->npos; i++) {
            const model_info *m = strchr(o->pos[i], '/') ? NULL : models_find(o->pos[i]);
            const char *name = m ? m->file : o->pos[i];
            if (!models_resolve_path(c->model_dir, name, path, sizeof path)) {
                fprintf(stderr, "cicada models: path too long: %s\n", o->pos[i]);
                return 2;
            }
            ok = verify_one(path, true) && ok;
        }
        return ok ? 0 : 1;
    }
    size_t n;
    char **names = list_files(c->model_dir, &n);
    size_t checked = 0;
    for (size_t i = 0; names && i < n; i++) {
        if (ends_with(names[i], ".part"))
            continue;
        snprintf(path, sizeof path, "%s/%s", c->model_dir, names[i]);
        ok = verify_one(path, false) && ok;
        checked++;
    }
    if (checked == 0)
        printf("no models installed in %s\n", c->model_dir);
    free_names(names, n);
    return ok ? 0 : 1;
}

/* ---- pull ---- */

/* "123", "80M", "4G" (binary units); false if not a positive size. */
static bool parse_size(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (end == s || *end || v <= 0 || v > (INT64_MAX >> shift))
        return false;
    *out = (int64_t)v << shift;
    return true;
}

/* A model name becomes a file name in the model directory: it must not be a path. */
static bool safe_name(const char *name)
{
    if (!name[0] || name[0] == '.' || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return false;
    return true;
}

static bool pull_target(const config *c, const models_opts *o, const model_info *m, char *dest, size_t destlen)
{
    const char *name = o->pos[0];
    char file[256];
    if (m)
        snprintf(file, sizeof file, "%s", m->file);
    else if (ends_with(name, ".bin"))
        snprintf(file, sizeof file, "%s", name);
    else
        snprintf(file, sizeof file, "ggml-%s.bin", name);
    if (!fs_mkdirs(c->model_dir, 0755)) {
        fprintf(stderr, "cicada models: cannot create the model directory %s\n", c->model_dir);
        return false;
    }
    if (snprintf(dest, destlen, "%s/%s", c->model_dir, file) >= (int)destlen) {
        fprintf(stderr, "cicada models: the model directory's path is too long\n");
        return false;
    }
    return true;
}

static int models_pull_cmd(const config *c, const models_opts *o)
{
    if (o->npos != 1) {
        fprintf(stderr, "cicada models pull: give exactly one NAME (`cicada models list` shows them)\n");
        return 2;
    }
    const char *name = o->pos[0];
    const model_info *m = strchr(name, '/') ? NULL : models_find(name);
    if (!m && !o->url) {
        fprintf(stderr, "cicada models pull: %s is not an official model (`cicada models list` shows them); give "
                        "--url and --sha256 to download another file\n", name);
        return 2;
    }
    if (!m && !safe_name(name)) {
        fprintf(stderr, "cicada models pull: NAME may hold only letters, digits, '.', '-' and '_'\n");
        return 2;
    }
    bool own_sums = o->sha1 || o->sha256;
    models_pull_params pp = models_pull_default_params();
    pp.url = o->url ? o->url : m->url;
    if (own_sums || m) {   /* neither: the downloader refuses, saying which option is missing */
        pp.sha1 = own_sums ? o->sha1 : m->sha1;
        pp.sha256 = own_sums ? o->sha256 : m->sha256;
    }
    if (o->max_size && !parse_size(o->max_size, &pp.max_bytes)) {
        fprintf(stderr, "cicada models pull: --max-size must be a size such as 200M or 4G\n");
        return 2;
    }
    if (!o->max_size && m && !own_sums && m->bytes > 0)
        pp.max_bytes = m->bytes;
    char dest[PATH_MAX];
    if (!pull_target(c, o, m, dest, sizeof dest))
        return 1;
    if (o->connect_timeout) {
        char *end;
        long secs = strtol(o->connect_timeout, &end, 10);
        if (end == o->connect_timeout || *end || secs < 1 || secs > 3600) {
            fprintf(stderr, "cicada models pull: --connect-timeout must be 1 to 3600 seconds (got \"%s\")\n",
                    o->connect_timeout);
            return 2;
        }
        pp.connect_secs = secs;
    }
    pp.dest = dest;
    pp.progress = stderr;
    pp.progress_bar = isatty(STDERR_FILENO);
    fprintf(stderr, "downloading %s from %s\n", m ? m->name : name, pp.url);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char msg[1536];
    models_pull_status st = models_pull(&pp, msg, sizeof msg);
    curl_global_cleanup();
    if (st == MODELS_PULL_INSTALLED || st == MODELS_PULL_ALREADY) {
        printf("%s\n", msg);
        return 0;
    }
    fprintf(stderr, "cicada models pull: %s\n", msg);
    return 1;
}

int cmd_models(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (!*sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        models_help();
        return *sub ? 0 : 2;
    }
    config cfg;
    models_opts o = {0};
    if (!load_options(&cfg, argc - 1, argv + 1, &o))
        return 2;
    if (o.help) {
        models_help();
        return 0;
    }
    log_set_level(LOG_WARN);
    if (strcmp(sub, "list") == 0) {
        if (o.npos == 0)
            return models_list(&cfg);
        fprintf(stderr, "cicada models list: takes no arguments\n");
        return 2;
    }
    if (strcmp(sub, "verify") == 0)
        return models_verify(&cfg, &o);
    if (strcmp(sub, "pull") == 0)
        return models_pull_cmd(&cfg, &o);
    fprintf(stderr, "cicada models: unknown subcommand \"%s\" (list, verify or pull)\n", sub);
    return 2;
}
