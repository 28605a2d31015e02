/* cli.h — the `cicada` command: configuration (flags > environment > INI file > defaults) and the
 * subcommands. Owned by the executable only; no library layer includes it. */
#ifndef CICADA_CLI_H
#define CICADA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <stdio.h>

#include "auth/auth.h"
#include "engine/engine.h"
#include "util/util.h"
#include "xml/xml.h"

typedef struct config {
    char listen[128];          /* CICADA_LISTEN, 127.0.0.1:8080 */
    char data_dir[1024];       /* CICADA_DATA_DIR, ./data */
    char secret_id[128];       /* CICADA_SECRET_ID */
    char secret_key[128];      /* CICADA_SECRET_KEY */
    char appid[32];            /* CICADA_APPID, 1250000000 */
    char region[32];           /* CICADA_REGION, ap-chongqing */
    char default_bucket[64];   /* CICADA_DEFAULT_BUCKET, cicada-<appid> */
    int workers;               /* CICADA_WORKERS, number of cores */
    int http_threads;          /* CICADA_HTTP_THREADS, 32 */
    char keys_file[1024];      /* CICADA_KEYS_FILE: lines "SecretId SecretKey appid" */
    char sphinx_zh_model[1024];/* CICADA_SPHINX_ZH_MODEL */
    char model_dir[1024];      /* CICADA_MODEL_DIR, <data dir>/models */
    char engines[4096];        /* CICADA_ENGINES or the [engines] INI section: TYPE=ENGINE:MODEL[:LANG],... */
    int whisper_threads;       /* CICADA_WHISPER_THREADS: most threads per call, 0 = every core */
    char vad_model[1024];      /* CICADA_VAD_MODEL, <model dir>/ggml-silero-v6.2.0.bin when present */
    char whisper_blacklist[1024]; /* CICADA_WHISPER_BLACKLIST, the engine's built-in list */
    char log_level[16];        /* CICADA_LOG, info */
    char log_format[8];        /* CICADA_LOG_FORMAT: text or json (text) */
    char url_allow_private[8]; /* CICADA_URL_ALLOW_PRIVATE: Input/Url and callbacks may reach internal addresses (no) */
    char dirty_words[1024];    /* CICADA_DIRTY_WORDS: FilterDirty's word list (the built-in one) */
    char max_sign_lifetime[24];/* CICADA_MAX_SIGN_LIFETIME: 3600, 90m, 12h, 7d (7d) */
    int64_t max_sign_lifetime_s;  /* the same in seconds, set by config_load; 0 when unset */
    /* Scaling out (README "Scaling out"): a shared database and object store, node roles. */
    char database_url[1024];   /* CICADA_DATABASE_URL: libpq string or URI; "" = SQLite in the data dir */
    char s3_endpoint[512];     /* CICADA_S3_ENDPOINT: "" = the file-system object store */
    char s3_bucket[64];        /* CICADA_S3_BUCKET */
    char s3_prefix[256];       /* CICADA_S3_PREFIX ("") */
    char s3_region[32];        /* CICADA_S3_REGION (us-east-1) */
    char s3_access_key[128];   /* CICADA_S3_ACCESS_KEY */
    char s3_secret_key[128];   /* CICADA_S3_SECRET_KEY */
    char s3_path_style[8];     /* CICADA_S3_PATH_STYLE: yes/no ("" = yes for a custom endpoint) */
    char role[16];             /* CICADA_ROLE: all, api or worker (all) */
    char node_id[64];          /* CICADA_NODE_ID: this node's lease owner name (<host>-<random>, kept in the data dir) */
    char job_lease[24];        /* CICADA_JOB_LEASE: 30, 2m (30s) */
    int64_t job_lease_ms;      /* the same in ms, set by config_load */
    /* The OpenAI-compatible endpoint (README "OpenAI-compatible API"). */
    char api_keys[4096];       /* CICADA_API_KEYS: KEY[:APPID],... ("" = none) */
    char api_keys_file[1024];  /* CICADA_API_KEYS_FILE: lines "KEY [APPID]" */
    int openai_max_upload_mb;  /* CICADA_OPENAI_MAX_UPLOAD: MiB (25) */
    char openai_models[2048];  /* CICADA_OPENAI_MODELS: NAME=TYPE,... the operator's model names */
    char metrics_token[256];   /* CICADA_METRICS_TOKEN: /metrics from other machines ("" = loopback only) */
    char config_file[1024];    /* --config / CICADA_CONFIG */
} config;

/* An option a subcommand accepts (its own, or a configuration flag). */
typedef struct cli_extra_opt {
    const char *name;          /* "--engine" */
    bool takes_value;
    const char **value;        /* where to store it */
    bool *seen;                /* for flags without value */
} cli_extra_opt;

/* The one command-line rule of every subcommand: "--name VALUE", "--name=VALUE", a flag "--name" or
 * "-h"; "--" ends the options; anything else (and "-") is positional, up to npos_max. An option's
 * name is looked up before its value is taken: an unknown one is refused as "unknown option
 * --name", a known one without its value as "--name needs a value", a flag given "=VALUE" as taking
 * none. False with the message on stderr, prefixed with prog ("cicada text"). */
bool cli_parse(const char *prog, int argc, char **argv, const cli_extra_opt *opts, size_t nopts,
               const char **positional, size_t npos_max, size_t *npos);

/* The subcommands reading the configuration; a setting's flag is taken (and shown in --help) only by
 * those that use it. Bits, so that a setting can name several. */
typedef enum cli_command { CLI_SERVE = 1, CLI_TRANSCRIBE = 2, CLI_MODELS = 4, CLI_MIGRATE = 8 } cli_command;

/* Builds the configuration from argv (after the subcommand), the environment and the INI file.
 * Non-option arguments are collected into positional (up to npos_max). Returns false with a
 * message on stderr for unknown options or bad values (the command line is read first, so a bad
 * option is reported before any file is opened). */
bool config_load(config *c, cli_command cmd, int argc, char **argv, const cli_extra_opt *extra, size_t nextra,
                 const char **positional, size_t npos_max, size_t *npos);
/* The help table of the settings cmd uses (for the subcommands' --help). */
void config_print_help(cli_command cmd);
/* A yes/no setting's value: true for yes, true, on, 1 (config_load has refused anything else). */
bool config_flag(const char *v);
/* The engine registry's parameters from the configuration (pointers into c). */
void config_engine_params(const config *c, engine_registry_params *p);

/* ---- the listen address (listen.c) ---- */
typedef struct listen_addr {
    char ip[48];               /* the numeric address: "127.0.0.1", "0.0.0.0", "::1" (no brackets) */
    int port;                  /* 0 = any free port */
    bool v6;
    bool any;                  /* all addresses: 0.0.0.0, [::] or no host */
} listen_addr;
/* "IP:PORT", "[IPv6]:PORT", ":PORT" (all addresses) or "localhost:PORT"; the port 0-65535, digits
 * only. False with err naming what is wrong and the forms that work. */
bool listen_parse(const char *s, listen_addr *a, char *err, size_t errlen);
/* Binds the address once and lets go: false with err (port in use, privileged port, not an
 * address of this machine) when the server could not listen there. Creates nothing on disk. */
bool listen_probe(const listen_addr *a, char *err, size_t errlen);
/* "127.0.0.1:8080" or "[::1]:8080" with the given port: what the HTTP layer is handed. */
void listen_format(const listen_addr *a, int port, char *out, size_t outlen);
/* The IP a client on this machine connects to: the loopback address for an all-addresses listen. */
const char *listen_client_ip(const listen_addr *a);

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_diarize(int argc, char **argv);
/* `cicada text`: the text options (ConvertNumMode, FilterModal/Dirty/Punc) on stdin lines. */
int cmd_text(int argc, char **argv);

/* ---- `cicada` as a client of a running server (client.c) ----
 * Where the server is and who asks: flags > environment (CICADA_ENDPOINT, CICADA_SECRET_ID,
 * CICADA_SECRET_KEY, CICADA_BUCKET, CICADA_REGION) > the client INI file (--config, else
 * $XDG_CONFIG_HOME/cicada/client.ini or ~/.config/cicada/client.ini) > defaults. */
typedef struct client_settings {
    const char *endpoint;      /* --endpoint: http(s)://host[:port] (http://127.0.0.1:8080) */
    const char *secret_id;     /* --secret-id */
    const char *secret_key;    /* --secret-key */
    const char *bucket;        /* --bucket: "" = the server's default bucket */
    const char *region;        /* --region (ap-chongqing) */
    const char *config;        /* --config: the client INI file */
} client_settings;

/* A client subcommand's options: its own (added with client_cmd_add) and the shared ones. */
typedef struct client_cmd {
    client_settings cs;
    bool json, help;           /* --json, --help / -h */
    cli_extra_opt opts[48];
    size_t nopts;
} client_cmd;
void client_cmd_init(client_cmd *cc);
/* A value option when value is given, else a flag. */
void client_cmd_add(client_cmd *cc, const char *name, const char **value, bool *seen);

/* The process exit codes every client subcommand uses (documented in their --help). */
enum {
    CLIENT_EXIT_OK = 0,
    CLIENT_EXIT_JOB_FAILED = 1,   /* a job ended Failed or Cancel */
    CLIENT_EXIT_USAGE = 2,
    CLIENT_EXIT_REFUSED = 3,      /* the server refused the request (a 4xx: credentials, bad value) */
    CLIENT_EXIT_UNREACHABLE = 4,  /* no answer, a 5xx or a reply that is not the API's */
    CLIENT_EXIT_INTERRUPTED = 130,
};

typedef struct client client;

/* The help lines of those options. */
void client_print_opts_help(void);
/* Fills what s leaves unset from the environment, the INI file and the defaults, and prepares a
 * connection. NULL with a message on stderr (prefixed with prog) for a bad endpoint, a missing or
 * unreadable --config, or no credentials. From then on SIGINT and SIGTERM interrupt: a transfer
 * under way ends with CLIENT_EXIT_INTERRUPTED and client_interrupted turns true. */
client *client_open(const char *prog, const client_settings *s);
void client_close(client *c);
bool client_interrupted(const client *c);
const char *client_bucket(const client *c);   /* "" for the server's default bucket */
const char *client_region(const client *c);

/* One request and its reply. */
typedef struct client_call {
    const char *method;        /* "GET", "POST", "PUT", "DELETE" */
    const char *path;          /* decoded: "/asr_jobs/s1...", "/cli/x/a.wav" */
    const auth_kv *query;      /* decoded; a NULL or "" value is sent as a bare name (?cancel) */
    size_t nquery;
    const char *body;          /* an XML body, or NULL */
    bool object;               /* an object call (the bucket's .cos. host) rather than a CI call */
    const char *upload_path;   /* PUT this file's bytes, streamed from disk */
    long long limit_rate;      /* bytes per second for the upload, 0 = no limit */
    /* called during an upload with bytes sent and total, at most a few times a second */
    void (*on_progress)(void *arg, long long sent, long long total);
    void *progress_arg;
} client_call;

typedef struct client_reply {
    long status;
    buf body;                  /* the raw reply */
    xml_node *root;            /* the parsed XML reply, or NULL */
    char error[1024];          /* what went wrong, one line, when the result is not CLIENT_EXIT_OK */
} client_reply;

/* Sends the call, signed; GETs are retried on no answer or a 5xx (three times, 0.5 s, 1 s, 2 s).
 * Returns CLIENT_EXIT_OK for a 2xx (root parsed when the reply is XML), else the exit code with
 * reply->error naming the cause: the server's Code and Message for a 4xx (and a hint for a
 * credentials error), curl's reason for no answer. Free the reply with client_reply_free. */
int client_request(client *c, const client_call *call, client_reply *reply);
void client_reply_free(client_reply *r);

/* The reply tree as JSON the way callbacks carry it: leaves are strings, elements named in
 * always_list (NULL-terminated) are always arrays, other repeated elements become arrays. */
json_t *client_xml_json(const xml_node *n, const char *const *always_list);
/* A table of text cells: a header row, then rows added one by one (copied); printed with columns
 * padded to their widest cell, counted in terminal cells (a Chinese character takes two). */
typedef struct client_table {
    char **cells;              /* nrows x ncols, row 0 the header */
    size_t ncols, nrows, cap;
} client_table;
void client_table_init(client_table *t, const char *const *head, size_t ncols);
void client_table_add(client_table *t, const char *const *row);   /* ncols cells; NULL prints as "" */
void client_table_print(const client_table *t, FILE *f);
void client_table_free(client_table *t);

/* A paged list call (GET path?pageNumber=N&pageSize=100, until TotalCount is reached) printed:
 * a table with the head's ncols columns, each item named element making its row (row fills ncols
 * cells), or with json {"<element>": [the items]} (lists: element names always kept as arrays).
 * Returns the exit code, the error said on stderr after prog. */
int client_list(client *c, const char *path, const char *element, const char *const *lists, const char *const *head,
                size_t ncols, void (*row)(const xml_node *item, const char **cells), bool json, const char *prog);
/* Prints a JSON value (pretty, in the order built) and a line break. */
void client_print_json(json_t *j);

/* The common start of `cicada <command> <sub> ...` (argv after sub): parses the options into
 * cc and the positional arguments into pos (up to npos_max), checks each is an id with id_prefix
 * (when given: "s" jobs, "p" queues) and that there is one when need_ids, and prints help on
 * --help. True to go on (then client_open); false with *rc set: CLIENT_EXIT_OK after help,
 * CLIENT_EXIT_USAGE after a message on stderr. */
bool client_cmd_parse(client_cmd *cc, const char *prog, int argc, char **argv, const char **pos, size_t npos_max,
                      size_t *npos, const char *id_prefix, bool need_ids, void (*help)(void), int *rc);
/* The exit code at the end of a subcommand: rc, or CLIENT_EXIT_INTERRUPTED if the user
 * interrupted a run that otherwise went well; closes c. */
int client_cmd_end(client *c, int rc);

int cmd_jobs(int argc, char **argv);
int cmd_queues(int argc, char **argv);
int cmd_buckets(int argc, char **argv);

#endif
