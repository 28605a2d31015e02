/* config.c — one table of settings, read in precedence order: defaults, then the INI file
 * (--config or CICADA_CONFIG; keys are the names below, in any section), then CICADA_* environment
 * variables, then command-line flags. Scripts depend on these names: do not rename them. Each
 * setting names the subcommands it applies to: only those take its flag and list it in --help;
 * the command line itself is read by the rule every subcommand shares (cli_parse, args.c). */
#include "cli/cli.h"

#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

typedef struct setting {
    const char *key;       /* INI key */
    const char *env;       /* environment variable */
    const char *flag;      /* command-line flag */
    size_t offset;         /* into config; int settings have cap 0 */
    size_t cap;
    unsigned used_by;      /* the cli_command bits whose runs read it */
    const char *help;
} setting;

enum { ALL = CLI_SERVE | CLI_TRANSCRIBE | CLI_MODELS, RUN = CLI_SERVE | CLI_TRANSCRIBE };   /* RUN: loads engines */
#define S(key, env, flag, member, used_by, help) \
    {key, env, flag, offsetof(config, member), sizeof(((config *)0)->member), used_by, help}
#define N(key, env, flag, member, used_by, help) {key, env, flag, offsetof(config, member), 0, used_by, help}
static const setting SETTINGS[] = {
    S("listen", "CICADA_LISTEN", "--listen", listen, CLI_SERVE,
      "address to listen on: IP:PORT, [IPv6]:PORT or :PORT for all; port 0 = any free (127.0.0.1:8080)"),
    S("data_dir", "CICADA_DATA_DIR", "--data-dir", data_dir, ALL | CLI_MIGRATE, "database and object store directory (./data)"),
    S("secret_id", "CICADA_SECRET_ID", "--secret-id", secret_id, CLI_SERVE,
      "SecretId clients sign with (generated if unset)"),
    S("secret_key", "CICADA_SECRET_KEY", "--secret-key", secret_key, CLI_SERVE, "SecretKey for that SecretId"),
    S("appid", "CICADA_APPID", "--appid", appid, CLI_SERVE, "appid of that key (1250000000)"),
    S("region", "CICADA_REGION", "--region", region, CLI_SERVE, "region this server answers for (ap-chongqing)"),
    S("default_bucket", "CICADA_DEFAULT_BUCKET", "--default-bucket", default_bucket, CLI_SERVE,
      "bucket for requests to an IP or localhost (cicada-<appid>)"),
    N("workers", "CICADA_WORKERS", "--workers", workers, CLI_SERVE, "concurrent jobs (number of cores)"),
    N("http_threads", "CICADA_HTTP_THREADS", "--http-threads", http_threads, CLI_SERVE,
      "HTTP threads; a submit blocks one until its job is on disk (128)"),
    S("keys_file", "CICADA_KEYS_FILE", "--keys-file", keys_file, CLI_SERVE,
      "file of \"SecretId SecretKey appid\" lines"),
    S("sphinx_zh_model", "CICADA_SPHINX_ZH_MODEL", "--sphinx-zh-model", sphinx_zh_model, ALL,
      "pocketsphinx Mandarin model directory"),
    S("model_dir", "CICADA_MODEL_DIR", "--model-dir", model_dir, ALL, "whisper and VAD models (<data dir>/models)"),
    S("engines", "CICADA_ENGINES", "--engines", engines, ALL,
      "TYPE=ENGINE:MODEL[:LANG],... e.g. 16k_zh=whisper:ggml-base.bin:zh (or an [engines] section)"),
    N("whisper_threads", "CICADA_WHISPER_THREADS", "--whisper-threads", whisper_threads, RUN,
      "the most threads one recognition call gets (every core; calls share the cores, never exceeding them)"),
    S("vad_model", "CICADA_VAD_MODEL", "--vad-model", vad_model, ALL,
      "Silero VAD ggml model, or none (<model dir>/ggml-silero-v6.2.0.bin if present)"),
    S("whisper_blacklist", "CICADA_WHISPER_BLACKLIST", "--whisper-blacklist", whisper_blacklist, RUN,
      "file of junk phrases whisper must not emit, one per line (built-in list)"),
    S("url_allow_private", "CICADA_URL_ALLOW_PRIVATE", "--url-allow-private", url_allow_private, CLI_SERVE,
      "let Input/Url downloads and callbacks reach loopback and private addresses: yes or no (no)"),
    S("dirty_words", "CICADA_DIRTY_WORDS", "--dirty-words", dirty_words, RUN,
      "FilterDirty's word list: one word per line, # comments, UTF-8 (a small built-in list)"),
    S("max_sign_lifetime", "CICADA_MAX_SIGN_LIFETIME", "--max-sign-lifetime", max_sign_lifetime, CLI_SERVE,
      "longest validity window a request signature may claim: seconds, or Nm, Nh, Nd (7d)"),
    S("log", "CICADA_LOG", "--log", log_level, CLI_SERVE, "debug, info, warn or error (info)"),
    S("log_format", "CICADA_LOG_FORMAT", "--log-format", log_format, CLI_SERVE,
      "text, or json: one object per line with request_id, job_id, queue, state and durations (text)"),
    S("database_url", "CICADA_DATABASE_URL", "--database-url", database_url, CLI_SERVE | CLI_MIGRATE,
      "PostgreSQL shared by every node: libpq string or URI (SQLite in the data directory)"),
    S("s3_endpoint", "CICADA_S3_ENDPOINT", "--s3-endpoint", s3_endpoint, CLI_SERVE,
      "S3-compatible object store shared by every node, e.g. http://127.0.0.1:9000 (files in the data directory)"),
    S("s3_bucket", "CICADA_S3_BUCKET", "--s3-bucket", s3_bucket, CLI_SERVE, "the S3 bucket holding every object"),
    S("s3_prefix", "CICADA_S3_PREFIX", "--s3-prefix", s3_prefix, CLI_SERVE, "key prefix inside that bucket (none)"),
    S("s3_region", "CICADA_S3_REGION", "--s3-region", s3_region, CLI_SERVE, "the S3 region to sign for (us-east-1)"),
    S("s3_access_key", "CICADA_S3_ACCESS_KEY", "--s3-access-key", s3_access_key, CLI_SERVE, "S3 access key id"),
    S("s3_secret_key", "CICADA_S3_SECRET_KEY", "--s3-secret-key", s3_secret_key, CLI_SERVE, "S3 secret key"),
    S("s3_path_style", "CICADA_S3_PATH_STYLE", "--s3-path-style", s3_path_style, CLI_SERVE,
      "address the bucket in the path (yes) or the host name (no) (yes for a custom endpoint)"),
    S("role", "CICADA_ROLE", "--role", role, CLI_SERVE,
      "all (API and jobs), api (requests only) or worker (jobs only, and a health check) (all)"),
    S("node_id", "CICADA_NODE_ID", "--node-id", node_id, CLI_SERVE,
      "this node's name in job leases (<host>-<random>, kept in the data directory)"),
    S("job_lease", "CICADA_JOB_LEASE", "--job-lease", job_lease, CLI_SERVE,
      "how long a running job survives its node going silent before another node takes it over: seconds or Nm (30)"),
    S("api_keys", "CICADA_API_KEYS", "--api-keys", api_keys, CLI_SERVE,
      "bearer keys of the OpenAI-compatible endpoint: KEY[:APPID],... (none: the endpoint is off)"),
    S("api_keys_file", "CICADA_API_KEYS_FILE", "--api-keys-file", api_keys_file, CLI_SERVE,
      "file of \"KEY [APPID]\" lines, more bearer keys"),
    N("openai_max_upload", "CICADA_OPENAI_MAX_UPLOAD", "--openai-max-upload", openai_max_upload_mb, CLI_SERVE,
      "largest /v1/audio upload, MiB (25)"),
    S("openai_models", "CICADA_OPENAI_MODELS", "--openai-models", openai_models, CLI_SERVE,
      "model names of the OpenAI-compatible endpoint: NAME=TYPE,... e.g. large-v3=16k_zh (none)"),
    S("metrics_token", "CICADA_METRICS_TOKEN", "--metrics-token", metrics_token, CLI_SERVE,
      "bearer token for GET /metrics from other machines (none: this machine only)"),
};
#define NSETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

static void defaults(config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->data_dir, sizeof c->data_dir, "./data");
    snprintf(c->appid, sizeof c->appid, "1250000000");
    snprintf(c->region, sizeof c->region, "ap-chongqing");
    snprintf(c->log_level, sizeof c->log_level, "info");
    snprintf(c->log_format, sizeof c->log_format, "text");
    snprintf(c->role, sizeof c->role, "all");
    snprintf(c->s3_region, sizeof c->s3_region, "us-east-1");
    c->workers = fs_cpu_count();
    c->http_threads = 128;
    c->openai_max_upload_mb = 25;
}

static bool set_value(config *c, const setting *s, const char *value, const char *from)
{
    if (s->cap == 0) {
        char *end;
        long n = strtol(value, &end, 10);
        if (end == value || *end || n < 1 || n > 1024) {
            fprintf(stderr, "cicada: %s: %s must be a number from 1 to 1024 (got \"%s\")\n", from, s->key, value);
            return false;
        }
        *(int *)((char *)c + s->offset) = (int)n;
        return true;
    }
    if (!strlcpy_ok((char *)c + s->offset, value, s->cap)) {
        fprintf(stderr, "cicada: %s: %s is too long (at most %zu bytes)\n", from, s->key, s->cap - 1);
        return false;
    }
    return true;
}

typedef struct ini_ctx {
    config *c;
    bool ok;
    const char *path;
} ini_ctx;

/* An [engines] line "TYPE = ENGINE:MODEL[:LANG]" joins the CICADA_ENGINES list. */
static bool add_engine_line(config *c, const char *name, const char *value, const char *path)
{
    size_t used = strlen(c->engines);
    int n = snprintf(c->engines + used, sizeof c->engines - used, "%s%s=%s", used ? "," : "", name, value);
    if (n < 0 || (size_t)n >= sizeof c->engines - used) {
        fprintf(stderr, "cicada: %s: the [engines] section is too long (at most %zu bytes)\n", path,
                sizeof c->engines - 1);
        return false;
    }
    return true;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    if (strcasecmp(section, "engines") == 0) {
        if (!add_engine_line(x->c, name, value, x->path))
            x->ok = false;
        return 1;
    }
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcmp(SETTINGS[i].key, name) == 0) {
            if (!set_value(x->c, &SETTINGS[i], value, x->path))
                x->ok = false;
            return 1;
        }
    }
    return 1;   /* keys of later features: ignore */
}

static bool load_ini(config *c, const char *path)
{
    ini_ctx x = {c, true, path};
    int rc = ini_parse(path, on_ini, &x);
    if (rc < 0) {
        fprintf(stderr, "cicada: cannot read config file %s\n", path);
        return false;
    }
    if (rc > 0) {
        fprintf(stderr, "cicada: %s: syntax error on line %d\n", path, rc);
        return false;
    }
    return x.ok;
}

static bool apply_env(config *c)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = getenv(SETTINGS[i].env);
        if (v && v[0] && !set_value(c, &SETTINGS[i], v, SETTINGS[i].env))
            return false;
    }
    return true;
}

static const char *command_name(cli_command cmd)
{
    return cmd == CLI_SERVE        ? "cicada serve"
           : cmd == CLI_TRANSCRIBE ? "cicada transcribe"
           : cmd == CLI_MIGRATE    ? "cicada migrate"
                                   : "cicada models";
}

/* The command line read into flag_values (one per SETTINGS entry, NULL = not given) and *config_path,
 * with the subcommand's own options (extra) and positional arguments. */
static bool read_command_line(cli_command cmd, int argc, char **argv, const cli_extra_opt *extra, size_t nextra,
                              const char **flag_values, const char **config_path, const char **positional,
                              size_t npos_max, size_t *npos)
{
    cli_extra_opt *opts = xcalloc(nextra + NSETTINGS + 1, sizeof *opts);
    size_t n = 0;
    for (size_t k = 0; k < nextra; k++)
        opts[n++] = extra[k];
    for (size_t k = 0; k < NSETTINGS; k++)
        if (SETTINGS[k].used_by & cmd)
            opts[n++] = (cli_extra_opt){SETTINGS[k].flag, true, &flag_values[k], NULL};
    opts[n++] = (cli_extra_opt){"--config", true, config_path, NULL};
    bool ok = cli_parse(command_name(cmd), argc, argv, opts, n, positional, npos_max, npos);
    free(opts);
    return ok;
}

static bool word_in(const char *v, const char *const *words)
{
    for (; *words; words++)
        if (strcasecmp(v, *words) == 0)
            return true;
    return false;
}

static const char *const YES[] = {"yes", "true", "on", "1", NULL};
static const char *const NO[] = {"no", "false", "off", "0", "", NULL};

bool config_flag(const char *v)
{
    return word_in(v, YES);
}

/* "3600", "90m", "12h", "7d" -> seconds, 1 s to 10 years; false for anything else. */
static bool parse_duration(const char *v, int64_t *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    int64_t unit = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : *end == 's' || !*end ? 1 : 0;
    if (end == v || !unit || (*end && end[1]) || n < 1 || n > 3650LL * 86400 / unit)
        return false;
    *out = n * unit;
    return true;
}

/* Each flag the command line gave, over the environment (the last of a repeated flag wins). */
static bool apply_flags(config *c, const char *const *flag_values)
{
    for (size_t k = 0; k < NSETTINGS; k++)
        if (flag_values[k] && !set_value(c, &SETTINGS[k], flag_values[k], SETTINGS[k].flag))
            return false;
    return true;
}

/* The derived settings: yes/no and durations checked, the default bucket and model directory. */
static bool finish(config *c)
{
    if (!word_in(c->url_allow_private, YES) && !word_in(c->url_allow_private, NO)) {
        fprintf(stderr, "cicada: url_allow_private must be yes or no (got \"%s\")\n", c->url_allow_private);
        return false;
    }
    c->max_sign_lifetime_s = 0;   /* unset: the API's default (API_DEFAULT_SIGN_LIFETIME) */
    if (c->max_sign_lifetime[0] && !parse_duration(c->max_sign_lifetime, &c->max_sign_lifetime_s)) {
        fprintf(stderr, "cicada: max_sign_lifetime must be seconds or Nm, Nh, Nd, up to 10 years (got \"%s\")\n",
                c->max_sign_lifetime);
        return false;
    }
    static const char *const ROLES[] = {"all", "api", "worker", NULL};
    if (!word_in(c->role, ROLES)) {
        fprintf(stderr, "cicada: role must be all, api or worker (got \"%s\")\n", c->role);
        return false;
    }
    if (c->s3_path_style[0] && !word_in(c->s3_path_style, YES) && !word_in(c->s3_path_style, NO)) {
        fprintf(stderr, "cicada: s3_path_style must be yes or no (got \"%s\")\n", c->s3_path_style);
        return false;
    }
    int64_t lease_s = 30;
    if (c->job_lease[0] && (!parse_duration(c->job_lease, &lease_s) || lease_s > 24 * 3600)) {
        fprintf(stderr, "cicada: job_lease must be seconds or Nm, Nh, from 1 s to 24 h (got \"%s\")\n", c->job_lease);
        return false;
    }
    c->job_lease_ms = lease_s * 1000;
    for (const char *p = c->node_id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_.:", *p)) {
            fprintf(stderr, "cicada: node_id may hold letters, digits and - _ . : only (got \"%s\")\n", c->node_id);
            return false;
        }
    if (c->s3_endpoint[0] && (!c->s3_bucket[0] || !c->s3_access_key[0] || !c->s3_secret_key[0])) {
        fprintf(stderr, "cicada: an S3 endpoint needs s3_bucket, s3_access_key and s3_secret_key too\n");
        return false;
    }
    if (!c->default_bucket[0])
        snprintf(c->default_bucket, sizeof c->default_bucket, "cicada-%s", c->appid);
    if (!c->model_dir[0] && snprintf(c->model_dir, sizeof c->model_dir, "%s/models", c->data_dir) >=
                                (int)sizeof c->model_dir) {
        fprintf(stderr, "cicada: the data directory's path is too long for the model directory\n");
        return false;
    }
    return true;
}

bool config_load(config *c, cli_command cmd, int argc, char **argv, const cli_extra_opt *extra, size_t nextra,
                 const char **positional, size_t npos_max, size_t *npos)
{
    const char *flag_values[NSETTINGS] = {0};
    const char *path = NULL;
    if (!read_command_line(cmd, argc, argv, extra, nextra, flag_values, &path, positional, npos_max, npos))
        return false;
    defaults(c);
    if (!path)
        path = getenv("CICADA_CONFIG");
    if (path && path[0]) {
        snprintf(c->config_file, sizeof c->config_file, "%s", path);
        if (!load_ini(c, path))
            return false;
    }
    return apply_env(c) && apply_flags(c, flag_values) && finish(c);
}

void config_engine_params(const config *c, engine_registry_params *p)
{
    *p = engine_registry_default_params();
    p->sphinx_zh_dir = c->sphinx_zh_model;
    p->model_dir = c->model_dir;
    p->engines = c->engines;
    p->whisper_threads = c->whisper_threads;
    p->max_concurrent = c->workers;
    p->vad_model = c->vad_model;
    p->blacklist_file = c->whisper_blacklist;
}

void config_print_help(cli_command cmd)
{
    printf("Configuration (flag, environment variable, INI key; flags win over the environment,\n"
           "which wins over the --config FILE / CICADA_CONFIG file):\n");
    for (size_t i = 0; i < NSETTINGS; i++)
        if (SETTINGS[i].used_by & cmd)
            printf("  %-20s %-24s %-17s %s\n", SETTINGS[i].flag, SETTINGS[i].env, SETTINGS[i].key, SETTINGS[i].help);
    printf("  %-20s %-24s %-17s %s\n", "--config", "CICADA_CONFIG", "", "INI file with the keys above");
}
