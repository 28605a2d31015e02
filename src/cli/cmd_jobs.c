/* cmd_jobs.c — `cicada jobs submit|list|get|cancel|watch`: the CI API's job calls from the command
 * line, through client.c.
 *
 * submit uploads each local file to the server's object store (streamed; URLs are passed as
 * Input/Url), submits one job per file, and with --wait follows the jobs until they end and writes
 * each result into the --out directory. A manifest there (.cicada-jobs.json, rewritten atomically
 * after every step) remembers each input (path, size, modification time, the recognition options)
 * with its job and result, so running the same command again after an interruption skips what is
 * done, follows the jobs still running without submitting them again, and resubmits only what
 * failed or was never submitted. Ctrl-C stops the client, never the server's jobs.
 *
 * Following jobs polls GET /asr_jobs/<id>,<id>... (50 ids per request). On a terminal the jobs are
 * drawn as one progress bar each on stderr, redrawn in place, with finished jobs printed once above
 * the bars; otherwise each change of state is one plain line. The bar's fraction is the job's
 * <Progress> (README "Job progress"). */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_NAME ".cicada-jobs.json"
#define DESCRIBE_BATCH 50          /* ids per GET /asr_jobs/<id>,...: a 1.7 KB path */
#define POLL_TTY_MS 500            /* how often a terminal's bars are refreshed */
#define POLL_PLAIN_MS 1000         /* ... and a log's lines */
#define BAR_WIDTH 24

/* ---- one input and its job ---- */

typedef struct item {
    char input[PATH_MAX];      /* the absolute path, or the URL */
    const char *name;          /* what the user typed: shown in bars and tables */
    bool is_url;
    long long size, mtime;     /* of a local file, to notice a changed file on a re-run */
    char job_id[40];
    char state[16];            /* "" before submission; then the job's State */
    char code[64];
    char message[512];
    char output_object[1024];  /* the object the server writes the result to */
    char result[512];          /* the result's file name inside --out */
    double progress;           /* 0..1 */
    bool ended;                /* Success, Failed or Cancel seen (and the result written) */
    bool shown;                /* its final line is printed */
} item;

static bool state_ended(const char *s)
{
    return !strcmp(s, "Success") || !strcmp(s, "Failed") || !strcmp(s, "Cancel");
}

/* ---- the recognition options a submit sends ---- */

typedef struct submit_opts {
    const char *engine, *format, *res_text_format, *queue, *template_id, *job_level, *callback, *user_data;
    const char *channel_num, *filter_dirty, *filter_modal, *filter_punc, *convert_num_mode, *speaker_number;
    const char *sentence_max_length, *hot_vocab, *out, *limit_rate;
    bool speaker_diarization, wait, json;
} submit_opts;

/* <SpeechRecognition>...</SpeechRecognition> (or the TemplateId) of every job: also the manifest's
 * record of the options, so a re-run with other options submits again. */
static void speech_xml(const submit_opts *o, buf *out)
{
    xml_writer w = {out};
    if (o->template_id)
        xw_text_elem(&w, "TemplateId", o->template_id);
    if (o->template_id && !o->engine)
        return;
    xw_open(&w, "SpeechRecognition");
    struct { const char *name, *value; } p[] = {
        {"EngineModelType", o->engine},     {"ResTextFormat", o->res_text_format},
        {"ChannelNum", o->channel_num},     {"FilterDirty", o->filter_dirty},
        {"FilterModal", o->filter_modal},   {"FilterPunc", o->filter_punc},
        {"ConvertNumMode", o->convert_num_mode}, {"SpeakerDiarization", o->speaker_diarization ? "1" : NULL},
        {"SpeakerNumber", o->speaker_number}, {"SentenceMaxLength", o->sentence_max_length},
        {"HotVocabularyTableId", o->hot_vocab}, {"OutputFileType", o->format},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (p[i].value)
            xw_text_elem(&w, p[i].name, p[i].value);
    xw_close(&w, "SpeechRecognition");
}

/* ---- the manifest ---- */

typedef struct manifest {
    char path[PATH_MAX];
    json_t *root;              /* {"version":1,"jobs":[...]} */
} manifest;

static bool manifest_load(manifest *m, const char *dir, char *err, size_t errlen)
{
    snprintf(m->path, sizeof m->path, "%s/%s", dir, MANIFEST_NAME);
    json_error_t je;
    m->root = json_load_file(m->path, 0, &je);
    if (!m->root) {
        if (access(m->path, F_OK) == 0) {
            err_printf(err, errlen, "%s is damaged (%s): move it away to start afresh", m->path, je.text);
            return false;
        }
        m->root = json_pack("{s:i,s:[]}", "version", 1, "jobs");
    }
    if (!json_is_array(json_object_get(m->root, "jobs"))) {
        err_printf(err, errlen, "%s is not a cicada manifest: move it away to start afresh", m->path);
        json_decref(m->root);
        m->root = NULL;
        return false;
    }
    return true;
}

static bool manifest_save(const manifest *m)
{
    if (!m->root)
        return true;
    char *s = json_dumps(m->root, JSON_INDENT(1));
    bool ok = s && fs_write_file_atomic(m->path, s, strlen(s), 0644);
    free(s);
    return ok;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The manifest's entry for it, or NULL: the same input, file size and time, and options. */
static json_t *manifest_find(const manifest *m, const item *it, const char *options)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(m->root, "jobs"), i, e)
        if (!strcmp(jstr(e, "input"), it->input) && !strcmp(jstr(e, "options"), options) &&
            json_integer_value(json_object_get(e, "size")) == it->size &&
            json_integer_value(json_object_get(e, "mtime")) == it->mtime)
            return e;
    return NULL;
}

static bool result_name_taken(const manifest *m, const item *items, size_t n, const item *self, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (&items[i] != self && !strcmp(items[i].result, name))
            return true;
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(m->root, "jobs"), k, e)
        if (!strcmp(jstr(e, "result"), name) && strcmp(jstr(e, "input"), self->input) != 0)
            return true;
    return false;
}

/* Records it in the manifest (replacing the entry of the same input and options). */
static void manifest_put(manifest *m, const item *it, const char *options)
{
    if (!m->root)
        return;
    json_t *e = manifest_find(m, it, options);
    if (!e) {
        e = json_object();
        json_array_append_new(json_object_get(m->root, "jobs"), e);
    }
    json_object_set_new(e, "input", json_string(it->input));
    json_object_set_new(e, "size", json_integer(it->size));
    json_object_set_new(e, "mtime", json_integer(it->mtime));
    json_object_set_new(e, "options", json_string(options));
    json_object_set_new(e, "job_id", json_string(it->job_id));
    json_object_set_new(e, "state", json_string(it->state));
    json_object_set_new(e, "output_object", json_string(it->output_object));
    json_object_set_new(e, "result", json_string(it->result));
}

/* ---- display ---- */

typedef struct display {
    bool tty;
    size_t drawn;              /* lines of bars drawn last time (to move back over) */
    int cols, rows;
} display;

static void display_init(display *d)
{
    memset(d, 0, sizeof *d);
    d->tty = isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;
    d->cols = 80;
    d->rows = 24;
    struct winsize ws;
    if (d->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 && ws.ws_row >= 4) {
        d->cols = ws.ws_col;
        d->rows = ws.ws_row;
    }
}

/* Moves back over the bars drawn last and erases them. */
static void display_clear(display *d)
{
    if (!d->tty || !d->drawn)
        return;
    fprintf(stderr, "\033[%zuA\r\033[J", d->drawn);
    d->drawn = 0;
    fflush(stderr);
}

/* The name cut to fit w columns (from the left, as the end of a path tells files apart). */
static void fit(char *out, size_t outlen, const char *name, int w)
{
    size_t n = strlen(name);
    if ((int)n <= w || w < 4)
        snprintf(out, outlen, "%s", name);
    else
        snprintf(out, outlen, "...%s", name + n - (size_t)(w - 3));
}

/* Prints the final lines of jobs that ended, then (on a terminal) the bars of the others, over
 * the bars drawn before: every line is rewritten in place and the screen below the new bars erased,
 * all in one write, so the terminal never shows a half-drawn frame. */
static void display_draw(display *d, item *items, size_t n, const char *dir)
{
    buf out;
    buf_init(&out);
    if (d->tty && d->drawn)
        buf_printf(&out, "\033[%zuA\r", d->drawn);
    const char *eol = d->tty ? "\033[K\n" : "\n";
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (!it->ended || it->shown)
            continue;
        if (!strcmp(it->state, "Success"))
            buf_printf(&out, "%s  Success%s%s%s%s%s", it->name, dir ? "  -> " : "", dir ? dir : "", dir ? "/" : "",
                       dir ? it->result : "", eol);
        else
            buf_printf(&out, "%s  %s  %s%s%s%s", it->name, it->state, it->code, it->code[0] ? ": " : "", it->message,
                       eol);
        it->shown = true;
    }
    size_t drawn = 0;
    if (d->tty) {
        size_t room = (size_t)(d->rows > 3 ? d->rows - 2 : 1), waiting = 0;
        int namew = d->cols - BAR_WIDTH - 20;
        if (namew > 40)
            namew = 40;
        for (size_t i = 0; i < n; i++) {
            item *it = &items[i];
            if (it->ended)
                continue;
            if (drawn >= room) {
                waiting++;
                continue;
            }
            char name[64], bar[BAR_WIDTH + 1];
            fit(name, sizeof name, it->name, namew);
            int fill = (int)(it->progress * BAR_WIDTH + 0.5);
            for (int k = 0; k < BAR_WIDTH; k++)
                bar[k] = k < fill ? '#' : '.';
            bar[BAR_WIDTH] = 0;
            buf_printf(&out, "%-*s [%s] %3d%%  %s%s", namew, name, bar, (int)(it->progress * 100 + 0.5),
                       it->state[0] ? it->state : "Submitted", eol);
            drawn++;
        }
        if (waiting) {
            buf_printf(&out, "... and %zu more waiting%s", waiting, eol);
            drawn++;
        }
        buf_puts(&out, "\033[J");
    }
    d->drawn = drawn;
    if (out.len)
        fwrite(out.data, 1, out.len, stderr);
    fflush(stderr);
    buf_free(&out);
}

/* ---- following jobs ---- */

static void take_detail(item *it, const xml_node *jd)
{
    const char *state = xml_path_text(jd, "State");
    const char *progress = xml_path_text(jd, "Progress");
    if (state)
        snprintf(it->state, sizeof it->state, "%s", state);
    if (progress && progress[0])
        it->progress = strtod(progress, NULL);
    else
        it->progress = !strcmp(it->state, "Success") ? 1.0 : it->progress;
    if (it->progress < 0 || it->progress != it->progress)
        it->progress = 0;
    if (it->progress > 1)
        it->progress = 1;
    const char *code = xml_path_text(jd, "Code"), *msg = xml_path_text(jd, "Message");
    snprintf(it->code, sizeof it->code, "%s", code && strcmp(code, "Success") != 0 ? code : "");
    snprintf(it->message, sizeof it->message, "%s", msg ? msg : "");
    const char *obj = xml_path_text(jd, "Operation/SpeechRecognitionResult/ObjectName");
    if (obj && obj[0])
        snprintf(it->output_object, sizeof it->output_object, "%s", obj);
}

/* Downloads a finished job's result into dir. */
static int fetch_result(client *c, item *it, const char *dir, char *err, size_t errlen)
{
    if (!it->output_object[0]) {
        err_printf(err, errlen, "job %s wrote no result object", it->job_id);
        return CLIENT_EXIT_UNREACHABLE;
    }
    if (!it->result[0]) {   /* a job followed by id: named as the server named its object */
        const char *slash = strrchr(it->output_object, '/');
        snprintf(it->result, sizeof it->result, "%s", slash ? slash + 1 : it->output_object);
    }
    char path[1024];
    snprintf(path, sizeof path, "/%s", it->output_object);
    client_call call = {.method = "GET", .path = path, .object = true};
    client_reply r;
    int rc = client_request(c, &call, &r);
    if (rc == CLIENT_EXIT_OK) {
        char dest[PATH_MAX + 600];
        snprintf(dest, sizeof dest, "%s/%s", dir, it->result);
        if (!fs_write_file_atomic(dest, r.body.data ? r.body.data : "", r.body.len, 0644)) {
            err_printf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
            rc = CLIENT_EXIT_USAGE;
        }
    } else
        err_printf(err, errlen, "%s: %s", it->name, r.error);
    client_reply_free(&r);
    return rc;
}

/* Polls until every item has ended (writing results into dir when given), the user interrupts,
 * or the server fails. Returns the exit code. */
static int follow(client *c, item *items, size_t n, const char *dir, manifest *m, const char *options,
                  const char *prog)
{
    display d;
    display_init(&d);
    int rc = CLIENT_EXIT_OK;
    for (;;) {
        size_t open = 0;
        for (size_t i = 0; i < n; i++)
            open += !items[i].ended;
        display_draw(&d, items, n, dir);
        if (!open || client_interrupted(c))
            break;
        for (size_t i = 0; i < n && rc == CLIENT_EXIT_OK && !client_interrupted(c);) {
            buf path;
            buf_init(&path);
            buf_puts(&path, "/asr_jobs/");
            size_t batch = 0, j = i;
            for (; j < n && batch < DESCRIBE_BATCH; j++)
                if (!items[j].ended)
                    buf_printf(&path, "%s%s", batch++ ? "," : "", items[j].job_id);
            i = j;
            if (!batch) {
                buf_free(&path);
                break;
            }
            client_call call = {.method = "GET", .path = path.data};
            client_reply r;
            rc = client_request(c, &call, &r);
            buf_free(&path);
            if (rc != CLIENT_EXIT_OK) {
                if (rc != CLIENT_EXIT_INTERRUPTED) {
                    display_clear(&d);
                    fprintf(stderr, "%s: %s\n", prog, r.error);
                }
                client_reply_free(&r);
                break;
            }
            for (const xml_node *jd = xml_child(r.root, "JobsDetail"); jd; jd = xml_next_named(jd)) {
                const char *id = xml_path_text(jd, "JobId");
                for (size_t k = 0; id && k < n; k++)
                    if (!items[k].ended && !strcmp(items[k].job_id, id))
                        take_detail(&items[k], jd);
            }
            for (const xml_node *ne = xml_child(r.root, "NonExistJobIds"); ne; ne = xml_next_named(ne))
                for (size_t k = 0; k < n; k++)
                    if (!items[k].ended && !strcmp(items[k].job_id, xml_text(ne))) {
                        snprintf(items[k].state, sizeof items[k].state, "Failed");
                        snprintf(items[k].code, sizeof items[k].code, "NoSuchJob");
                        snprintf(items[k].message, sizeof items[k].message, "the server has no job %s",
                                 items[k].job_id);
                        items[k].ended = true;
                    }
            client_reply_free(&r);
        }
        if (rc != CLIENT_EXIT_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            item *it = &items[i];
            if (it->ended || !state_ended(it->state))
                continue;
            if (dir && !strcmp(it->state, "Success")) {
                char err[1200];
                int frc = fetch_result(c, it, dir, err, sizeof err);
                if (frc == CLIENT_EXIT_INTERRUPTED)
                    break;
                if (frc != CLIENT_EXIT_OK) {
                    display_clear(&d);
                    fprintf(stderr, "%s: %s\n", prog, err);
                    rc = frc;
                    break;
                }
            }
            it->ended = true;
            if (m) {
                manifest_put(m, it, options);
                manifest_save(m);
            }
        }
        if (rc != CLIENT_EXIT_OK)
            break;
        for (int64_t end = time_mono_ms() + (d.tty ? POLL_TTY_MS : POLL_PLAIN_MS); !client_interrupted(c) && time_mono_ms() < end;)
            time_sleep_ms(50);
    }
    display_clear(&d);
    if (client_interrupted(c)) {
        size_t open = 0;
        for (size_t i = 0; i < n; i++)
            open += !items[i].ended;
        fprintf(stderr, "%s: interrupted; %zu job(s) go on on the server: run the same command again to follow them%s\n",
                prog, open, m ? " (the manifest remembers them)" : "");
        return CLIENT_EXIT_INTERRUPTED;
    }
    if (rc != CLIENT_EXIT_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].state, "Success") != 0)
            return CLIENT_EXIT_JOB_FAILED;
    return CLIENT_EXIT_OK;
}

/* ---- submit ---- */

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* The last path segment without its extension ("a" for dir/a.wav or http://h/x/a.wav?x=1). */
static void stem_of(const char *in, char *out, size_t outlen)
{
    size_t end = strcspn(in, "?#");
    size_t start = end;
    while (start > 0 && in[start - 1] != '/')
        start--;
    const char *dot = NULL;
    for (size_t i = start; i < end; i++)
        if (in[i] == '.')
            dot = in + i;
    size_t len = (dot && dot > in + start ? (size_t)(dot - in) : end) - start;
    if (len == 0) {
        snprintf(out, outlen, "audio");
        return;
    }
    snprintf(out, outlen, "%.*s", (int)(len < outlen - 1 ? len : outlen - 1), in + start);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < ' ' || *p == '\\' || *p == '/')
            *p = '_';
}

typedef struct upload_view {
    display *d;
    const char *name;
    long long shown;           /* bytes last shown, -1 before the first */
} upload_view;

static void on_upload(void *arg, long long sent, long long total)
{
    upload_view *v = arg;
    if (!v->d->tty || sent == v->shown)
        return;
    v->shown = sent;
    char name[64];
    fit(name, sizeof name, v->name, v->d->cols - 40 < 40 ? v->d->cols - 40 : 40);   /* one line, never wrapped */
    fprintf(stderr, "\r\033[2Kuploading %s  %lld%%  (%.1f of %.1f MB)", name, total ? sent * 100 / total : 100,
            sent / 1e6, total / 1e6);
    fflush(stderr);
}

/* Uploads it (a local file) and submits its job. */
static int submit_one(client *c, const submit_opts *o, const char *options, item *it, display *d, const char *prog)
{
    char dirkey[40], stem[200], key[1200];
    ids_random_hex(dirkey, 16);
    stem_of(it->input, stem, sizeof stem);
    if (!it->is_url) {
        const char *base = strrchr(it->input, '/');
        snprintf(key, sizeof key, "/cli/%s/%s", dirkey, base ? base + 1 : it->input);
        upload_view v = {d, it->name, -1};
        client_call up = {.method = "PUT", .path = key, .object = true, .upload_path = it->input,
                          .limit_rate = o->limit_rate ? atoll(o->limit_rate) : 0,
                          .on_progress = on_upload, .progress_arg = &v};
        client_reply r;
        int rc = client_request(c, &up, &r);
        if (d->tty)
            fprintf(stderr, "\r\033[2K");
        if (rc != CLIENT_EXIT_OK) {
            if (rc != CLIENT_EXIT_INTERRUPTED)
                fprintf(stderr, "%s: uploading %s: %s\n", prog, it->name, r.error);
            client_reply_free(&r);
            return rc;
        }
        client_reply_free(&r);
    }
    snprintf(it->output_object, sizeof it->output_object, "cli/%s/%s.%s", dirkey, stem, o->format);

    buf body;
    buf_init(&body);
    xml_writer w = {&body};
    xw_open(&w, "Request");
    xw_text_elem(&w, "Tag", "SpeechRecognition");
    xw_open(&w, "Input");
    xw_text_elem(&w, it->is_url ? "Url" : "Object", it->is_url ? it->input : key + 1);
    xw_close(&w, "Input");
    xw_open(&w, "Operation");
    buf_puts(&body, options);
    xw_open(&w, "Output");
    xw_text_elem(&w, "Region", client_region(c));
    if (client_bucket(c)[0])
        xw_text_elem(&w, "Bucket", client_bucket(c));
    xw_text_elem(&w, "Object", it->output_object);
    xw_close(&w, "Output");
    if (o->user_data)
        xw_text_elem(&w, "UserData", o->user_data);
    if (o->job_level)
        xw_text_elem(&w, "JobLevel", o->job_level);
    xw_close(&w, "Operation");
    if (o->queue)
        xw_text_elem(&w, "QueueId", o->queue);
    if (o->callback)
        xw_text_elem(&w, "CallBack", o->callback);
    xw_close(&w, "Request");

    client_call call = {.method = "POST", .path = "/asr_jobs", .body = body.data};
    client_reply r;
    int rc = client_request(c, &call, &r);
    buf_free(&body);
    if (rc == CLIENT_EXIT_OK) {
        const char *id = xml_path_text(r.root, "JobsDetail/JobId");
        if (!id || !id[0]) {
            snprintf(r.error, sizeof r.error, "the submit reply carries no JobId");
            rc = CLIENT_EXIT_UNREACHABLE;
        } else {
            snprintf(it->job_id, sizeof it->job_id, "%s", id);
            take_detail(it, xml_child(r.root, "JobsDetail"));
        }
    }
    if (rc != CLIENT_EXIT_OK && rc != CLIENT_EXIT_INTERRUPTED)
        fprintf(stderr, "%s: submitting %s: %s\n", prog, it->name, r.error);
    client_reply_free(&r);
    return rc;
}

static void print_submitted(item *items, size_t n, bool json, bool wait, const char *dir)
{
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_pack("{s:s,s:s,s:s}", "input", items[i].name, "job_id", items[i].job_id, "state",
                                  items[i].state);
            if (items[i].code[0])
                json_object_set_new(o, "code", json_string(items[i].code));
            if (items[i].message[0] && strcmp(items[i].state, "Success") != 0)
                json_object_set_new(o, "message", json_string(items[i].message));
            if (wait && dir && !strcmp(items[i].state, "Success")) {
                char p[PATH_MAX + 600];
                snprintf(p, sizeof p, "%s/%s", dir, items[i].result);
                json_object_set_new(o, "result", json_string(p));
            }
            json_array_append_new(a, o);
        }
        client_print_json(a);
        json_decref(a);
        return;
    }
    const char *head[] = {"INPUT", "JOB ID", "STATE", wait && dir ? "RESULT" : ""};
    client_table t;
    client_table_init(&t, head, 4);
    for (size_t i = 0; i < n; i++) {
        char result[PATH_MAX + 600] = "";
        if (wait && dir && !strcmp(items[i].state, "Success"))
            snprintf(result, sizeof result, "%s/%s", dir, items[i].result);
        else if (items[i].code[0] && strcmp(items[i].state, "Success") != 0)
            snprintf(result, sizeof result, "%s", items[i].code);
        const char *row[] = {items[i].name, items[i].job_id[0] ? items[i].job_id : "-",
                             items[i].state[0] ? items[i].state : "not submitted", result};
        client_table_add(&t, row);
    }
    client_table_print(&t, stdout);
    client_table_free(&t);
}

static const char *const FORMATS[] = {"txt", "srt", "vtt", "json", NULL};

static void submit_help(void)
{
    printf("usage: cicada jobs submit FILE|URL... [options]\n\n"
           "Uploads each local file to the server's object store (streamed), submits one speech-recognition\n"
           "job per file or URL, and prints the jobs. With --wait, follows them (one progress bar per job on\n"
           "a terminal, a line per change otherwise) and writes each result into --out (default: the\n"
           "current directory). A manifest there (" MANIFEST_NAME ") remembers every file's job: running\n"
           "the same command again after an interruption skips finished files, follows running jobs\n"
           "without submitting them again, and resubmits only failed ones. Ctrl-C stops the client; the\n"
           "server's jobs go on.\n\n"
           "options:\n"
           "  --engine TYPE            EngineModelType: 16k_en, 16k_zh, 8k_en, ... (required without --template)\n"
           "  --format F               the result file: txt, srt, vtt or json (txt)\n"
           "  --res-text-format N      ResTextFormat 0-3 (0)\n"
           "  --channel-num N          ChannelNum 1 or 2\n"
           "  --filter-dirty N  --filter-modal N  --filter-punc N  --convert-num-mode N\n"
           "  --speaker-diarization    SpeakerDiarization 1;  --speaker-number N  SpeakerNumber 0-10\n"
           "  --sentence-max-length N  --hot-vocabulary-table-id ID\n"
           "  --template ID            TemplateId: the template's options (others given here are sent too)\n"
           "  --queue ID  --job-level N  --callback URL  --user-data TEXT\n"
           "  --wait                   follow the jobs until they end and write their results\n"
           "  --out DIR                where results and the manifest go (implies keeping a manifest)\n"
           "  --limit-rate N           upload at most N bytes per second\n"
           "  --json                   print the jobs as JSON\n\n");
    client_print_opts_help();
    printf("\nexample:\n  cicada jobs submit recordings/*.wav --engine 16k_en --format srt --wait --out subtitles/\n");
}

static int jobs_submit(int argc, char **argv)
{
    const char *prog = "cicada jobs submit";
    submit_opts o = {0};
    client_cmd cc;
    client_cmd_init(&cc);
    struct { const char *name; const char **value; } vals[] = {
        {"--engine", &o.engine},           {"--format", &o.format},
        {"--res-text-format", &o.res_text_format}, {"--queue", &o.queue},
        {"--template", &o.template_id},    {"--job-level", &o.job_level},
        {"--callback", &o.callback},       {"--user-data", &o.user_data},
        {"--channel-num", &o.channel_num}, {"--filter-dirty", &o.filter_dirty},
        {"--filter-modal", &o.filter_modal}, {"--filter-punc", &o.filter_punc},
        {"--convert-num-mode", &o.convert_num_mode}, {"--speaker-number", &o.speaker_number},
        {"--sentence-max-length", &o.sentence_max_length}, {"--hot-vocabulary-table-id", &o.hot_vocab},
        {"--out", &o.out},                 {"--limit-rate", &o.limit_rate},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        client_cmd_add(&cc, vals[i].name, vals[i].value, NULL);
    client_cmd_add(&cc, "--speaker-diarization", NULL, &o.speaker_diarization);
    client_cmd_add(&cc, "--wait", NULL, &o.wait);
    const char **pos = xcalloc((size_t)argc + 1, sizeof *pos);
    size_t npos = 0;
    int rc = CLIENT_EXIT_USAGE;
    item *items = NULL;
    client *c = NULL;
    manifest m = {0};
    buf options;
    buf_init(&options);
    if (!cli_parse(prog, argc, argv, cc.opts, cc.nopts, pos, (size_t)argc, &npos))
        goto out;
    o.json = cc.json;
    if (cc.help) {
        submit_help();
        rc = CLIENT_EXIT_OK;
        goto out;
    }
    if (!npos) {
        fprintf(stderr, "%s: name at least one audio file or URL (see %s --help)\n", prog, prog);
        goto out;
    }
    if (!o.engine && !o.template_id) {
        fprintf(stderr, "%s: --engine is required (16k_en, 16k_zh, 8k_en, ...; or --template ID)\n", prog);
        goto out;
    }
    if (!o.format)
        o.format = "txt";
    bool known = false;
    for (size_t i = 0; FORMATS[i]; i++)
        known |= !strcmp(o.format, FORMATS[i]);
    if (!known) {
        fprintf(stderr, "%s: --format must be txt, srt, vtt or json (got \"%s\")\n", prog, o.format);
        goto out;
    }
    if (o.limit_rate && (atoll(o.limit_rate) <= 0 || strspn(o.limit_rate, "0123456789") != strlen(o.limit_rate))) {
        fprintf(stderr, "%s: --limit-rate must be a number of bytes per second (got \"%s\")\n", prog, o.limit_rate);
        goto out;
    }
    const char *dir = o.out ? o.out : o.wait ? "." : NULL;
    /* Every local file is checked before anything is sent. */
    items = xcalloc(npos, sizeof *items);
    for (size_t i = 0; i < npos; i++) {
        item *it = &items[i];
        it->name = pos[i];
        it->is_url = is_url(pos[i]);
        if (it->is_url) {
            if (!strlcpy_ok(it->input, pos[i], sizeof it->input)) {
                fprintf(stderr, "%s: the URL %s is too long\n", prog, pos[i]);
                goto out;
            }
            continue;
        }
        struct stat st;
        if (stat(pos[i], &st) != 0 || !realpath(pos[i], it->input)) {
            fprintf(stderr, "%s: cannot read %s: %s\n", prog, pos[i], strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr, "%s: %s is not a file\n", prog, pos[i]);
            goto out;
        }
        it->size = (long long)st.st_size;
        it->mtime = (long long)st.st_mtime;
    }
    if (dir) {
        char err[PATH_MAX + 200];
        if (!fs_mkdirs(dir, 0755)) {
            fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno));
            goto out;
        }
        if (!manifest_load(&m, dir, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto out;
        }
    }
    speech_xml(&o, &options);
    if (!(c = client_open(prog, &cc.cs)))
        goto out;
    rc = CLIENT_EXIT_OK;

    /* What the manifest already knows: done files are skipped, running jobs followed. */
    size_t todo = 0;
    for (size_t i = 0; i < npos; i++) {
        item *it = &items[i];
        json_t *e = m.root ? manifest_find(&m, it, options.data) : NULL;
        const char *state = e ? jstr(e, "state") : "";
        if (e && jstr(e, "job_id")[0] && strcmp(state, "Failed") != 0 && strcmp(state, "Cancel") != 0) {
            snprintf(it->job_id, sizeof it->job_id, "%s", jstr(e, "job_id"));
            snprintf(it->state, sizeof it->state, "%s", state);
            snprintf(it->output_object, sizeof it->output_object, "%s", jstr(e, "output_object"));
            snprintf(it->result, sizeof it->result, "%s", jstr(e, "result"));
            char p[PATH_MAX + 600];
            snprintf(p, sizeof p, "%s/%s", dir, it->result);
            if (!strcmp(state, "Success") && access(p, F_OK) == 0) {
                it->ended = it->shown = true;
                it->progress = 1;
                if (!o.json)
                    fprintf(stderr, "%s  done before: %s\n", it->name, p);
            } else if (!strcmp(state, "Success"))
                snprintf(it->state, sizeof it->state, "Running");   /* fetch its result again */
            continue;
        }
        todo++;
    }
    display d;
    display_init(&d);
    for (size_t i = 0; i < npos && todo; i++) {
        item *it = &items[i];
        if (it->job_id[0])
            continue;
        if (client_interrupted(c)) {
            rc = CLIENT_EXIT_INTERRUPTED;
            break;
        }
        /* results are named after the input, made unique within --out */
        char stem[200];
        stem_of(it->input, stem, sizeof stem);
        snprintf(it->result, sizeof it->result, "%s.%s", stem, o.format);
        for (int k = 2; m.root && result_name_taken(&m, items, npos, it, it->result); k++)
            snprintf(it->result, sizeof it->result, "%s-%d.%s", stem, k, o.format);
        rc = submit_one(c, &o, options.data, it, &d, prog);
        if (rc != CLIENT_EXIT_OK)
            break;
        if (!d.tty && !o.json)
            fprintf(stderr, "%s  submitted: %s\n", it->name, it->job_id);
        if (m.root) {
            manifest_put(&m, it, options.data);
            if (!manifest_save(&m))
                fprintf(stderr, "%s: warning: cannot write %s: %s\n", prog, m.path, strerror(errno));
        }
    }
    if (rc == CLIENT_EXIT_INTERRUPTED)
        fprintf(stderr, "%s: interrupted; nothing more is uploaded or submitted. Run the same command again to "
                        "go on%s\n", prog, m.root ? " (the manifest remembers what was submitted)" : "");
    if (rc == CLIENT_EXIT_OK && o.wait)
        rc = follow(c, items, npos, dir, m.root ? &m : NULL, options.data, prog);
    if (rc == CLIENT_EXIT_OK || rc == CLIENT_EXIT_JOB_FAILED)
        print_submitted(items, npos, o.json, o.wait, dir);
out:
    if (m.root)
        json_decref(m.root);
    client_close(c);
    buf_free(&options);
    free(items);
    free(pos);
    return rc;
}

/* ---- list, get, cancel, watch ---- */

static const char *const JOB_LISTS[] = {"JobsDetail", "ResultDetail", "Words", "NonExistJobIds", NULL};

static void print_json(const xml_node *root, const char *const *lists)
{
    json_t *j = client_xml_json(root, lists);
    json_object_del(j, "RequestId");
    client_print_json(j);
    json_decref(j);
}

static const char *text_or(const xml_node *n, const char *path, const char *dflt)
{
    const char *s = xml_path_text(n, path);
    return s && s[0] ? s : dflt;
}

static void job_row(const xml_node *jd, const char **cells, char pct[16])
{
    const char *pr = xml_path_text(jd, "Progress");
    snprintf(pct, 16, "%d%%", (int)((pr && pr[0] ? strtod(pr, NULL) : 0) * 100 + 0.5));
    const char *row[6] = {text_or(jd, "JobId", "-"), text_or(jd, "State", "-"), pr && pr[0] ? pct : "-",
                          text_or(jd, "CreationTime", "-"), text_or(jd, "Operation/SpeechRecognition/EngineModelType", "-"),
                          text_or(jd, "Input/Object", text_or(jd, "Input/Url", "-"))};
    memcpy(cells, row, sizeof row);
}

/* GET /asr_jobs, one page or (all) every page by NextToken. */
static int jobs_list(client *c, bool json, const char *queue, const char *states, const char *size,
                     const char *token, bool all, const char *prog)
{
    static const char *const head[] = {"JOB ID", "STATE", "PROGRESS", "CREATED", "ENGINE", "INPUT"};
    client_table t;
    client_table_init(&t, head, 6);
    json_t *found = json ? json_array() : NULL;
    char next[512] = "";
    if (token)
        snprintf(next, sizeof next, "%s", token);
    int rc;
    do {
        auth_kv q[5];
        size_t nq = 0;
        q[nq++] = (auth_kv){"tag", "SpeechRecognition"};
        if (queue)
            q[nq++] = (auth_kv){"queueId", queue};
        if (states)
            q[nq++] = (auth_kv){"states", states};
        q[nq++] = (auth_kv){"size", size ? size : "100"};
        if (next[0])
            q[nq++] = (auth_kv){"nextToken", next};
        client_call call = {.method = "GET", .path = "/asr_jobs", .query = q, .nquery = nq};
        client_reply r;
        rc = client_request(c, &call, &r);
        if (rc != CLIENT_EXIT_OK) {
            if (rc != CLIENT_EXIT_INTERRUPTED)
                fprintf(stderr, "%s: %s\n", prog, r.error);
            client_reply_free(&r);
            break;
        }
        for (const xml_node *jd = xml_child(r.root, "JobsDetail"); jd; jd = xml_next_named(jd)) {
            if (found) {
                json_array_append_new(found, client_xml_json(jd, JOB_LISTS));
                continue;
            }
            const char *cells[6];
            char pct[16];
            job_row(jd, cells, pct);
            client_table_add(&t, cells);
        }
        snprintf(next, sizeof next, "%s", text_or(r.root, "NextToken", ""));
        client_reply_free(&r);
    } while (all && next[0] && !client_interrupted(c));
    if (rc == CLIENT_EXIT_OK && found) {
        json_t *o = json_pack("{s:O}", "JobsDetail", found);
        if (next[0] && !all)
            json_object_set_new(o, "NextToken", json_string(next));
        client_print_json(o);
        json_decref(o);
    } else if (rc == CLIENT_EXIT_OK) {
        client_table_print(&t, stdout);
        if (next[0] && !all)
            printf("(more: --next-token %s, or --all)\n", next);
    }
    json_decref(found);
    client_table_free(&t);
    return rc;
}

static void print_job(const xml_node *jd)
{
    const char *pr = xml_path_text(jd, "Progress");
    const xml_node *res = xml_path(jd, "Operation/SpeechRecognitionResult");
    struct { const char *label, *path; } f[] = {
        {"JobId", "JobId"}, {"State", "State"}, {"Code", "Code"}, {"Message", "Message"},
        {"Queue", "QueueId"}, {"Created", "CreationTime"}, {"Started", "StartTime"}, {"Ended", "EndTime"},
        {"Input", "Input/Object"}, {"Url", "Input/Url"}, {"Engine", "Operation/SpeechRecognition/EngineModelType"},
        {"Template", "Operation/TemplateId"}, {"UserData", "Operation/UserData"},
        {"Output", "Operation/Output/Object"}, {"AudioTime", "Operation/SpeechRecognitionResult/AudioTime"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const char *v = xml_path_text(jd, f[i].path);
        if (i == 2 && v && !strcmp(v, "Success"))
            continue;   /* Code is worth a line only when something failed */
        if (v && v[0] && strcmp(v, "-") != 0)
            printf("%-10s %s\n", f[i].label, v);
        if (i == 1 && pr && pr[0])
            printf("%-10s %d%%\n", "Progress", (int)(strtod(pr, NULL) * 100 + 0.5));
    }
    const char *result = res ? xml_path_raw_text(res, "Result") : NULL;
    if (result && result[0]) {
        printf("Result\n");
        for (const char *p = result; *p;) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
}

static int jobs_get(client *c, const char *const *ids, size_t n, bool json, const char *prog)
{
    buf path;
    buf_init(&path);
    buf_puts(&path, "/asr_jobs/");
    for (size_t i = 0; i < n; i++)
        buf_printf(&path, "%s%s", i ? "," : "", ids[i]);
    client_call call = {.method = "GET", .path = path.data};
    client_reply r;
    int rc = client_request(c, &call, &r);
    buf_free(&path);
    if (rc != CLIENT_EXIT_OK) {
        if (rc != CLIENT_EXIT_INTERRUPTED)
            fprintf(stderr, "%s: %s\n", prog, r.error);
        client_reply_free(&r);
        return rc;
    }
    if (json)
        print_json(r.root, JOB_LISTS);
    else
        for (const xml_node *jd = xml_child(r.root, "JobsDetail"); jd; jd = xml_next_named(jd)) {
            if (jd != xml_child(r.root, "JobsDetail"))
                putchar('\n');
            print_job(jd);
        }
    for (const xml_node *ne = xml_child(r.root, "NonExistJobIds"); ne; ne = xml_next_named(ne)) {
        fprintf(stderr, "%s: no job %s\n", prog, xml_text(ne));
        rc = CLIENT_EXIT_REFUSED;
    }
    client_reply_free(&r);
    return rc;
}

static int jobs_cancel(client *c, const char *const *ids, size_t n, bool json, const char *prog)
{
    int rc = CLIENT_EXIT_OK;
    json_t *a = json ? json_array() : NULL;
    for (size_t i = 0; i < n && !client_interrupted(c); i++) {
        char path[128];
        snprintf(path, sizeof path, "/jobs/%s", ids[i]);
        auth_kv q = {"cancel", ""};
        client_call call = {.method = "PUT", .path = path, .query = &q, .nquery = 1};
        client_reply r;
        int one = client_request(c, &call, &r);
        if (one == CLIENT_EXIT_OK) {
            if (a)
                json_array_append_new(a, json_pack("{s:s,s:s}", "job_id", ids[i], "state", "Cancel"));
            else
                printf("%s  cancelled\n", ids[i]);
        } else {
            fprintf(stderr, "%s: %s: %s\n", prog, ids[i], r.error);
            if (rc == CLIENT_EXIT_OK || one == CLIENT_EXIT_UNREACHABLE)
                rc = one;
        }
        client_reply_free(&r);
    }
    if (a) {
        client_print_json(a);
        json_decref(a);
    }
    return rc;
}

static int jobs_watch(client *c, const char *const *ids, size_t n, const char *dir, bool json, const char *prog)
{
    item *items = xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i].name = ids[i];
        snprintf(items[i].job_id, sizeof items[i].job_id, "%s", ids[i]);
    }
    if (dir && !fs_mkdirs(dir, 0755)) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno));
        free(items);
        return CLIENT_EXIT_USAGE;
    }
    int rc = follow(c, items, n, dir, NULL, "", prog);
    if (rc == CLIENT_EXIT_OK || rc == CLIENT_EXIT_JOB_FAILED)
        print_submitted(items, n, json, dir != NULL, dir);
    free(items);
    return rc;
}

static void jobs_help(void)
{
    printf("usage: cicada jobs <submit|list|get|cancel|watch> [options]\n\n"
           "  submit FILE|URL...   upload and submit one job per file (see cicada jobs submit --help)\n"
           "  list                 list jobs, newest first: --queue ID, --states S[,S...], --size N (100),\n"
           "                       --next-token T, --all (every page)\n"
           "  get ID...            a job's detail and result\n"
           "  cancel ID...         cancel jobs that have not ended\n"
           "  watch ID...          follow jobs until they end (progress bars on a terminal);\n"
           "                       --out DIR writes their results there\n\n"
           "every subcommand prints a readable table, or JSON with --json.\n\n");
    client_print_opts_help();
}

int cmd_jobs(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (!strcmp(sub, "submit"))
        return jobs_submit(argc - 1, argv + 1);
    if (!sub[0] || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        jobs_help();
        return sub[0] ? CLIENT_EXIT_OK : CLIENT_EXIT_USAGE;
    }
    bool list = !strcmp(sub, "list"), get = !strcmp(sub, "get"), cancel = !strcmp(sub, "cancel"),
         watch = !strcmp(sub, "watch");
    if (!list && !get && !cancel && !watch) {
        fprintf(stderr, "cicada jobs: unknown subcommand \"%s\" (submit, list, get, cancel, watch)\n", sub);
        return CLIENT_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof prog, "cicada jobs %s", sub);
    client_cmd co;
    client_cmd_init(&co);
    const char *queue = NULL, *states = NULL, *size = NULL, *token = NULL, *out = NULL;
    bool all = false;
    if (list) {
        client_cmd_add(&co, "--queue", &queue, NULL);
        client_cmd_add(&co, "--states", &states, NULL);
        client_cmd_add(&co, "--size", &size, NULL);
        client_cmd_add(&co, "--next-token", &token, NULL);
        client_cmd_add(&co, "--all", NULL, &all);
    }
    if (watch)
        client_cmd_add(&co, "--out", &out, NULL);
    const char **pos = xcalloc((size_t)argc + 1, sizeof *pos);
    size_t npos = 0;
    int rc;
    client *c = NULL;
    if (client_cmd_parse(&co, prog, argc - 1, argv + 1, pos, list ? 0 : (size_t)argc, &npos, "s", !list, jobs_help,
                         &rc))
        c = client_open(prog, &co.cs);
    if (c && list)
        rc = jobs_list(c, co.json, queue, states, size, token, all, prog);
    else if (c && get)
        rc = jobs_get(c, pos, npos, co.json, prog);
    else if (c && cancel)
        rc = jobs_cancel(c, pos, npos, co.json, prog);
    else if (c)
        rc = jobs_watch(c, pos, npos, out, co.json, prog);
    free(pos);
    return client_cmd_end(c, rc);
}
