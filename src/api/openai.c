/* openai.c — the OpenAI-compatible audio API (POST /v1/audio/transcriptions, POST
 * /v1/audio/translations, GET /v1/models) on top of the same durable queue as the CI API.
 *
 * A transcription request becomes an ordinary job: its file is written to the key's bucket under
 * openai/<request id>/, a SpeechRecognition job is inserted on the bucket's default queue (so
 * MaxConcurrent, Paused, MaxSize and the fair turn between queues apply, and it shows in job
 * listings, tagged by its UserData), and the HTTP layer parks the connection until the job ends
 * (api_openai_poll, asked by the http layer's waiter; api_openai_abandon when the client goes
 * away: a job not yet started is cancelled). The answer is then rendered from the job's record
 * (json, text, verbose_json) or its output object (srt, vtt, written by src/output like any job's),
 * and the uploaded audio and the output object are deleted: nothing of the request stays but the
 * job row.
 *
 * Authentication is by bearer key (api_deps.bearer_keys: a keyring whose SecretId is the key): the
 * key names an appid, and the appid's bucket is the default bucket when it is the appid's, else
 * cicada-<appid> (the serve command opens it at start-up), so tenants stay apart. With no key
 * configured the endpoint is off. Errors are in OpenAI's shape {"error": {message, type, param,
 * code}}.
 *
 * Model names (documented in the README): an operator's name (CICADA_OPENAI_MODELS, NAME=TYPE) or an
 * EngineModelType ("16k_zh") is that type; "whisper-1"
 * (and OpenAI's newer transcription model names) means the best engine installed for `language`:
 * its 16k type (zh, en, ja, th, ms; yue is 16k_ca), or with no language the auto-detecting
 * 16k_zh-PY when whisper serves it, else 16k_en. Anything else is a 400 naming the model. */
#include "api/api_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#define OUTPUT_MAX (64 << 20)   /* the largest srt/vtt object read back */

void api_openai_error(api_response *r, int status, const char *type, const char *code, const char *param,
                      const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "message", json_string(msg));
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "param", param ? json_string(param) : json_null());
    json_object_set_new(e, "code", code ? json_string(code) : json_null());
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    buf_reset(&r->body);
    if (s) {
        buf_puts(&r->body, s);
        buf_putc(&r->body, '\n');
        free(s);
    }
    r->status = status;
    r->content_type = "application/json";
    r->fd = -1;
}

bool api_openai_enabled(const api *a)
{
    return auth_keyring_count(a->d.bearer_keys) > 0;
}

size_t api_openai_max_upload(const api *a)
{
    return a->p.openai_max_upload;
}

/* The bucket an appid's OpenAI requests use (see the file comment). */
static void bucket_for(const api *a, const char *appid, char out[AUTH_BUCKET_MAX])
{
    char owner[32];
    if (a->default_bucket[0] && auth_bucket_name_valid(a->default_bucket, owner) && strcmp(owner, appid) == 0)
        snprintf(out, AUTH_BUCKET_MAX, "%s", a->default_bucket);
    else
        snprintf(out, AUTH_BUCKET_MAX, "cicada-%s", appid);
}

void api_openai_bucket(const api *a, const char *appid, char out[AUTH_BUCKET_MAX])
{
    bucket_for(a, appid, out);
}

bool api_openai_authenticate(api *a, api_request *q, api_response *r)
{
    if (!api_openai_enabled(a)) {
        api_openai_error(r, 404, "invalid_request_error", "endpoint_disabled", NULL,
                         "the OpenAI-compatible endpoint is off on this server: no API key is configured "
                         "(CICADA_API_KEYS, api_keys or CICADA_API_KEYS_FILE)");
        return false;
    }
    const char *h = api_header(q, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        api_openai_error(r, 401, "invalid_request_error", "missing_api_key", NULL,
                         "no API key: send it as \"Authorization: Bearer <key>\"");
        return false;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    const auth_key *k = auth_keyring_find_secret(a->d.bearer_keys, token);
    if (!k) {
        api_openai_error(r, 401, "invalid_request_error", "invalid_api_key", NULL, "the API key is not valid here");
        return false;
    }
    q->key = k;
    snprintf(q->appid, sizeof q->appid, "%s", k->appid);
    bucket_for(a, k->appid, q->bucket);
    return true;
}

/* ---- models ---- */

static const char *const k_openai_names[] = {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"};
#define NOPENAI (sizeof k_openai_names / sizeof k_openai_names[0])

static const struct {
    const char *iso, *type;
} k_languages[] = {{"zh", "16k_zh"}, {"en", "16k_en"}, {"ja", "16k_ja"}, {"yue", "16k_ca"}, {"th", "16k_th"}, {"ms", "16k_ms"}};
#define NLANG (sizeof k_languages / sizeof k_languages[0])

/* Every EngineModelType, to list what is installed. */
static const char *const k_types[] = {"16k_zh", "16k_zh_video", "16k_en", "16k_ca", "16k_ja", "16k_zh_edu",
                                      "16k_en_edu", "16k_zh_medical", "16k_th", "16k_zh_dialect", "16k_zh-PY",
                                      "16k_ms", "8k_zh", "8k_zh_s", "8k_en"};
#define NTYPES (sizeof k_types / sizeof k_types[0])

bool api_openai_set_models(api *a, const char *list, char *err, size_t errlen)
{
    api_model_alias got[API_OPENAI_MAX_ALIASES];
    size_t n = 0;
    const char *cur = list ? list : "", *item;
    size_t len;
    while (comma_next(&cur, &item, &len)) {
        const char *eq = memchr(item, '=', len);
        size_t nl = eq ? (size_t)(eq - item) : 0, tl = eq ? len - nl - 1 : 0;
        api_model_alias *m = &got[n < API_OPENAI_MAX_ALIASES ? n : 0];
        bool ok = eq && nl > 0 && nl < sizeof m->name && tl > 0 && tl < sizeof m->type && n < API_OPENAI_MAX_ALIASES;
        if (ok) {
            memcpy(m->name, item, nl);
            m->name[nl] = '\0';
            memcpy(m->type, eq + 1, tl);
            m->type[tl] = '\0';
            for (const char *c = m->name; ok && *c; c++)
                ok = isalnum((unsigned char)*c) || strchr("-_.:/", *c);
            ok = ok && engine_type_known(m->type) && !engine_type_known(m->name);
        }
        if (!ok) {
            err_printf(err, errlen, "model alias %zu (\"%.*s\"): expected NAME=TYPE, the name 1-63 characters of "
                       "letters, digits and -_.:/ and not an EngineModelType, the type an EngineModelType (at most "
                       "%d aliases)", n + 1, (int)(len > 80 ? 80 : len), item, API_OPENAI_MAX_ALIASES);
            return false;
        }
        n++;
    }
    memcpy(a->aliases, got, n * sizeof *got);
    a->naliases = n;
    return true;
}

static const engine *installed(api *a, const char *type)
{
    engine *e = NULL;
    return engine_registry_get(a->d.engines, type, &e, NULL, NULL, 0) == ENGINE_FOUND ? e : NULL;
}

/* One model of OpenAI's list shape. */
static json_t *model_entry(const char *id, const char *owner)
{
    json_t *m = json_object();
    json_object_set_new(m, "id", json_string(id));
    json_object_set_new(m, "object", json_string("model"));
    json_object_set_new(m, "created", json_integer(0));
    json_object_set_new(m, "owned_by", json_string(owner));
    return m;
}

static void answer_json(api_response *r, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));   /* 0.29, not 0.28999999999999998 */
    r->status = 200;
    r->content_type = "application/json";
    if (s) {
        buf_puts(&r->body, s);
        buf_putc(&r->body, '\n');
        free(s);
    }
}

void api_openai_models(api *a, api_request *q, api_response *r)
{
    (void)q;
    json_t *data = json_array();
    bool any = false;
    for (size_t i = 0; i < NTYPES; i++)
        any |= installed(a, k_types[i]) != NULL;
    for (size_t i = 0; any && i < NOPENAI; i++) {
        json_array_append_new(data, model_entry(k_openai_names[i], "cicada"));
    }
    for (size_t i = 0; i < a->naliases; i++) {   /* the operator's names for installed types */
        const engine *e = installed(a, a->aliases[i].type);
        if (!e)
            continue;
        json_array_append_new(data, model_entry(a->aliases[i].name, e->name));
    }
    for (size_t i = 0; i < NTYPES; i++) {
        const engine *e = installed(a, k_types[i]);
        if (!e)
            continue;
        json_array_append_new(data, model_entry(k_types[i], e->name));
    }
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", data);
    answer_json(r, o);
    json_decref(o);
}

/* ---- submitting ---- */

/* A form field's value as text (at most cap - 1 bytes, no NUL inside); NULL when absent. */
static const char *field(const api_form *f, const char *name, char *out, size_t cap, bool *too_long)
{
    const api_form_part *p = api_form_get(f, name);
    if (!p)
        return NULL;
    if (p->len >= cap || memchr(p->data, '\0', p->len)) {
        *too_long = true;
        return NULL;
    }
    memcpy(out, p->data, p->len);
    out[p->len] = '\0';
    return out;
}

/* `prompt`: UTF-8 text of at most 1023 bytes, line breaks and tabs as spaces; false with the 400. */
static bool take_prompt(api_response *r, const api_form_part *p, char out[1024])
{
    out[0] = '\0';
    if (!p || p->len == 0)
        return true;
    if (p->len >= 1024) {
        api_openai_error(r, 400, "invalid_request_error", "invalid_value", "prompt",
                         "prompt is %zu bytes long; at most 1023 are taken", p->len);
        return false;
    }
    memcpy(out, p->data, p->len);
    out[p->len] = '\0';
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    size_t chars, bad;
    bool malformed;
    if (p->len != strlen(out) || !utf8_text_valid(out, p->len, &chars, &bad, &malformed)) {
        api_openai_error(r, 400, "invalid_request_error", "invalid_value", "prompt",
                         "prompt must be UTF-8 text without control characters");
        return false;
    }
    return true;
}

/* The EngineModelType for a model name and language; false with the 400 in r. */
static bool pick_type(api *a, api_response *r, const char *model, const char *language, char type[32])
{
    const api_model_alias *alias = NULL;
    for (size_t i = 0; i < a->naliases; i++)
        if (strcmp(model, a->aliases[i].name) == 0)
            alias = &a->aliases[i];
    if (engine_type_known(model) || alias) {
        snprintf(type, 32, "%s", alias ? alias->type : model);
    } else {
        bool openai = false;
        for (size_t i = 0; i < NOPENAI; i++)
            openai |= strcmp(model, k_openai_names[i]) == 0;
        if (!openai) {
            api_openai_error(r, 400, "invalid_request_error", "model_not_found", "model",
                             "model \"%s\" is not served here: use whisper-1, an EngineModelType or one of the "
                             "operator's names (GET /v1/models lists them)", model);
            return false;
        }
        if (language && language[0]) {
            const char *t = NULL;
            for (size_t i = 0; i < NLANG; i++)
                if (strcasecmp(language, k_languages[i].iso) == 0)
                    t = k_languages[i].type;
            if (!t) {
                api_openai_error(r, 400, "invalid_request_error", "unsupported_language", "language",
                                 "language \"%s\" is not served here (zh, en, ja, yue, th, ms; or leave it out "
                                 "to have it detected)", language);
                return false;
            }
            snprintf(type, 32, "%s", t);
        } else {
            const engine *e = installed(a, "16k_zh-PY");
            snprintf(type, 32, "%s", e && strcmp(e->vt->kind, "whisper") == 0 ? "16k_zh-PY" : "16k_en");
        }
    }
    char hint[768];
    engine *e = NULL;
    if (engine_registry_get(a->d.engines, type, &e, NULL, hint, sizeof hint) != ENGINE_FOUND) {
        api_openai_error(r, 400, "invalid_request_error", "model_not_available", "model", "%s", hint);
        return false;
    }
    return true;
}

static int format_of(const char *s)
{
    static const char *const names[] = {"json", "text", "srt", "vtt", "verbose_json"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* A short, safe extension from the uploaded file's name (".webm"), or "". */
static void extension_of(const char *filename, char out[12])
{
    out[0] = '\0';
    const char *dot = strrchr(filename, '.');
    if (!dot || strlen(dot) > 10)
        return;
    for (const char *p = dot + 1; *p; p++)
        if (!isalnum((unsigned char)*p))
            return;
    snprintf(out, 12, "%s", dot);
}

bool api_openai_submit(api *a, api_request *q, api_response *r, bool translate, api_openai_wait *w)
{
    memset(w, 0, sizeof *w);
    w->translate = translate;
    api_form form;
    char why[256];
    if (!api_form_parse(api_header(q, "Content-Type"), q->body, q->body_len, &form, why, sizeof why)) {
        api_openai_error(r, 400, "invalid_request_error", "invalid_form", NULL, "%s", why);
        return false;
    }
    const api_form_part *file = api_form_get(&form, "file");
    if (!file || file->len == 0) {
        api_openai_error(r, 400, "invalid_request_error", "missing_file", "file",
                         file ? "the file is empty" : "the form has no file part");
        return false;
    }
    char prompt[sizeof ((job_params *)0)->prompt] = "";
    if (!take_prompt(r, api_form_get(&form, "prompt"), prompt))
        return false;
    char model[64], language[16], fmt[32], temp[32];
    bool long_value = false;
    const char *m = field(&form, "model", model, sizeof model, &long_value);
    const char *lang = field(&form, "language", language, sizeof language, &long_value);
    const char *rf = field(&form, "response_format", fmt, sizeof fmt, &long_value);
    const char *tp = field(&form, "temperature", temp, sizeof temp, &long_value);
    if (long_value) {
        api_openai_error(r, 400, "invalid_request_error", "invalid_value", NULL,
                         "a form field is too long or holds a NUL byte (model, language, response_format, "
                         "temperature)");
        return false;
    }
    if (!m || !m[0]) {
        api_openai_error(r, 400, "invalid_request_error", "missing_model", "model", "model is required (e.g. whisper-1)");
        return false;
    }
    if (tp && tp[0]) {
        char *end;
        double t = strtod(tp, &end);
        if (*end || !(t >= 0 && t <= 1)) {
            api_openai_error(r, 400, "invalid_request_error", "invalid_value", "temperature",
                             "temperature must be a number from 0 to 1");
            return false;
        }
        if (t != 0) {
            api_openai_error(r, 400, "invalid_request_error", "unsupported_parameter", "temperature",
                             "only temperature 0 is supported here (decoding starts greedy and falls back to "
                             "higher temperatures by itself)");
            return false;
        }
    }
    w->format = rf && rf[0] ? format_of(rf) : 0;
    if (w->format < 0) {
        api_openai_error(r, 400, "invalid_request_error", "invalid_value", "response_format",
                         "response_format must be json, text, srt, vtt or verbose_json");
        return false;
    }
    for (size_t i = 0; i < form.n; i++) {
        const api_form_part *p = &form.part[i];
        if (strcmp(p->name, "timestamp_granularities[]") != 0 && strcmp(p->name, "timestamp_granularities") != 0)
            continue;
        if (p->len == 4 && memcmp(p->data, "word", 4) == 0)
            w->words = true;
        else if (!(p->len == 7 && memcmp(p->data, "segment", 7) == 0)) {
            api_openai_error(r, 400, "invalid_request_error", "invalid_value", "timestamp_granularities",
                             "timestamp_granularities must be word or segment");
            return false;
        }
        if (w->format != OPENAI_VERBOSE_JSON) {
            api_openai_error(r, 400, "invalid_request_error", "invalid_value", "timestamp_granularities",
                             "timestamp_granularities needs response_format verbose_json");
            return false;
        }
    }
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    bool ok = pick_type(a, r, m, lang, j->params.engine_model_type);
    if (ok && translate) {   /* whisper's translate task: no other engine has one */
        const engine *e = installed(a, j->params.engine_model_type);
        if (!e || strcmp(e->vt->kind, "whisper") != 0) {
            api_openai_error(r, 400, "invalid_request_error", "unsupported_task", "model",
                             "translation needs whisper, and %s is served by %s here (install a multilingual "
                             "model: `cicada models pull base`)", j->params.engine_model_type, e ? e->name : "nothing");
            ok = false;
        }
        j->params.translate = 1;
    }
    snprintf(j->params.prompt, sizeof j->params.prompt, "%s", prompt);
    ok = ok && api_asr_open(a, q, r);
    if (!ok) {
        if (r->status != 400)   /* api_asr_open answered in the CI shape */
            api_openai_error(r, r->status == 404 ? 503 : r->status, "server_error", "bucket_not_open", NULL,
                             "bucket %s, where this key's requests run, does not have speech recognition open",
                             q->bucket);
        goto out;
    }
    snprintf(w->language, sizeof w->language, "%s", lang ? lang : "");
    snprintf(w->bucket, sizeof w->bucket, "%s", q->bucket);
    char ext[12];
    extension_of(file->filename, ext);
    snprintf(w->input_key, sizeof w->input_key, "openai/%s/audio%s", q->request_id, ext);
    blob_rc brc = blob_put(a->d.blobs, q->bucket, w->input_key, file->data, file->len,
                           file->content_type[0] ? file->content_type : "application/octet-stream", NULL);
    if (brc != BLOB_OK) {
        api_openai_error(r, brc == BLOB_TOO_LARGE ? 413 : 500, "server_error", NULL, "file",
                         "cannot store the upload: %s", blob_rc_message(brc));
        ok = false;
        goto out;
    }
    if (w->format == OPENAI_SRT || w->format == OPENAI_VTT) {
        snprintf(w->output_key, sizeof w->output_key, "openai/%s/result", q->request_id);
        snprintf(j->output_object, sizeof j->output_object, "%s", w->output_key);
        snprintf(j->params.output_file_type, sizeof j->params.output_file_type, "%s",
                 w->format == OPENAI_SRT ? "srt" : "vtt");
    }
    snprintf(j->input_object, sizeof j->input_object, "%s", w->input_key);
    snprintf(j->user_data, sizeof j->user_data, "openai:%.200s", file->filename[0] ? file->filename : "upload");
    for (char *c = j->user_data; *c; c++)   /* UserData is text without control characters */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '_';
    snprintf(j->callback, sizeof j->callback, "no");
    snprintf(j->callback_format, sizeof j->callback_format, "XML");
    snprintf(j->callback_type, sizeof j->callback_type, "Url");
    store_queue_filter qf = {.bucket = q->bucket, .page_number = 1, .page_size = 1};
    store_queue qu;
    size_t nq = 0;
    int64_t total;
    if (store_queue_list(a->d.st, &qf, &qu, &nq, &total) != STORE_OK || nq == 0) {
        api_openai_error(r, 500, "server_error", NULL, NULL, "bucket %s has no ASR queue", q->bucket);
        ok = false;
        goto out;
    }
    snprintf(j->queue_id, sizeof j->queue_id, "%s", qu.id);
    store_rc rc = api_job_insert(a, q, j);
    if (rc != STORE_OK) {
        if (rc == STORE_FULL)
            api_openai_error(r, 429, "rate_limit_error", "queue_full", NULL,
                             "queue %s already holds its MaxSize of waiting jobs; retry later", j->queue_id);
        else
            api_openai_error(r, 500, "server_error", NULL, NULL, "cannot store the job: %s", store_last_error());
        ok = false;
        goto out;
    }
    snprintf(w->job_id, sizeof w->job_id, "%s", j->id);
out:
    if (!ok && w->input_key[0])
        blob_delete(a->d.blobs, q->bucket, w->input_key, strlen(w->input_key));
    store_job_clear(j);
    free(j);
    return ok;
}

/* ---- answering ---- */

/* Whether the first (or last) character of s is written without spaces (src/util's definition). */
static bool cjk_edge(const char *s, bool last)
{
    size_t n = strlen(s), i = 0;
    if (n == 0)
        return false;
    if (last) {   /* back to the start of the last character */
        i = n - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
            i--;
    }
    uint32_t cp;
    return utf8_decode_strict(s + i, n - i, &cp) > 0 && (utf8_is_spaceless(cp) || utf8_is_wide_punct(cp));
}

/* The transcript: the sentences joined by a space, except where Chinese or Japanese meets. */
static void join_text(json_t *sentences, buf *out)
{
    const char *prev = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(sentences, i, s) {
        const char *t = json_string_value(json_object_get(s, "FinalSentence"));
        if (!t || !t[0])
            continue;
        if (prev && !cjk_edge(prev, true) && !cjk_edge(t, false))
            buf_putc(out, ' ');
        buf_puts(out, t);
        prev = t;
    }
}

static json_t *usage(double seconds)
{
    json_t *u = json_object();
    json_object_set_new(u, "type", json_string("duration"));
    json_object_set_new(u, "seconds", json_integer((json_int_t)ceil(seconds)));
    return u;
}

/* compression_ratio as OpenAI's Whisper computes it: the text's UTF-8 bytes over their
 * zlib-compressed size (high values flag a decoder looping on one phrase). 0 for no text. */
static double compression_ratio(const char *text)
{
    size_t n = strlen(text);
    if (n == 0)
        return 0;
    uLongf cap = compressBound((uLong)n);
    Bytef *z = xmalloc(cap);
    double r = compress2(z, &cap, (const Bytef *)text, (uLong)n, Z_DEFAULT_COMPRESSION) == Z_OK && cap > 0
                   ? (double)n / (double)cap : 0;
    free(z);
    return r;
}

/* verbose_json: OpenAI's segments and, when asked, words. The decoder's statistics come from the
 * job's ResultDetail (AvgLogprob, NoSpeechProb, Tokens: kept where the engine has them, whisper);
 * with pocketsphinx they are neutral (an empty token list, 0). temperature is the one decoding
 * starts at: whisper.cpp does not tell whether a window fell back to a higher one. */
static json_t *verbose(const store_job *j, json_t *sentences, const api_openai_wait *w, const char *text)
{
    json_t *segs = json_array(), *words = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(sentences, i, s) {
        double start = (double)json_integer_value(json_object_get(s, "StartMs")) / 1000.0;
        double end = (double)json_integer_value(json_object_get(s, "EndMs")) / 1000.0;
        const char *t = json_string_value(json_object_get(s, "FinalSentence"));
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)i));
        json_object_set_new(o, "seek", json_integer(0));
        json_object_set_new(o, "start", json_real(start));
        json_object_set_new(o, "end", json_real(end));
        json_object_set_new(o, "text", json_string(t ? t : ""));
        json_t *tokens = json_object_get(s, "Tokens");
        json_object_set_new(o, "tokens", json_is_array(tokens) ? json_deep_copy(tokens) : json_array());
        json_object_set_new(o, "temperature", json_real(0.0));
        json_object_set_new(o, "avg_logprob", json_real(json_number_value(json_object_get(s, "AvgLogprob"))));
        json_object_set_new(o, "compression_ratio", json_real(compression_ratio(t ? t : "")));
        json_object_set_new(o, "no_speech_prob", json_real(json_number_value(json_object_get(s, "NoSpeechProb"))));
        json_object_set_new(o, "speaker", json_integer(json_integer_value(json_object_get(s, "SpeakerId"))));
        json_array_append_new(segs, o);
        size_t k;
        json_t *wd;
        json_array_foreach(json_object_get(s, "Words"), k, wd) {
            json_t *x = json_object();
            const char *word = json_string_value(json_object_get(wd, "Word"));
            json_object_set_new(x, "word", json_string(word ? word : ""));
            json_object_set_new(x, "start", json_real(start + (double)json_integer_value(json_object_get(wd, "OffsetStartMs")) / 1000.0));
            json_object_set_new(x, "end", json_real(start + (double)json_integer_value(json_object_get(wd, "OffsetEndMs")) / 1000.0));
            json_array_append_new(words, x);
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "task", json_string(w->translate ? "translate" : "transcribe"));
    json_object_set_new(o, "language", json_string(w->language[0] ? w->language : "auto"));
    json_object_set_new(o, "duration", json_real(j->audio_time));
    json_object_set_new(o, "text", json_string(text));
    json_object_set_new(o, "segments", segs);
    if (w->words)
        json_object_set_new(o, "words", words);
    else
        json_decref(words);
    json_object_set_new(o, "usage", usage(j->audio_time));
    return o;
}

/* srt / vtt: the job's output object, read back whole. */
static bool read_output(api *a, const api_openai_wait *w, api_response *r)
{
    int fd = -1;
    blob_info info;
    if (blob_open_read(a->d.blobs, w->bucket, w->output_key, strlen(w->output_key), &fd, &info) != BLOB_OK)
        return false;
    bool ok = info.size >= 0 && info.size <= OUTPUT_MAX;
    char chunk[65536];
    for (int64_t left = info.size; ok && left > 0;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            ok = false;
            break;
        }
        buf_append(&r->body, chunk, (size_t)n);
        left -= n;
    }
    close(fd);
    return ok;
}

static void render(api *a, const store_job *j, const api_openai_wait *w, api_response *r)
{
    json_error_t err;
    json_t *sentences = j->result_detail ? json_loads(j->result_detail, 0, &err) : json_array();
    if (!json_is_array(sentences)) {
        json_decref(sentences);
        sentences = json_array();
    }
    buf text;
    buf_init(&text);
    join_text(sentences, &text);
    const char *t = text.data ? text.data : "";
    switch (w->format) {
    case OPENAI_TEXT:
        r->status = 200;
        r->content_type = "text/plain; charset=utf-8";
        buf_puts(&r->body, t);
        buf_putc(&r->body, '\n');
        break;
    case OPENAI_SRT:
    case OPENAI_VTT:
        if (!read_output(a, w, r)) {
            api_openai_error(r, 500, "server_error", NULL, NULL, "job %s succeeded but its %s output cannot be read",
                             j->id, w->format == OPENAI_SRT ? "srt" : "vtt");
            break;
        }
        r->status = 200;
        r->content_type = "text/plain; charset=utf-8";
        break;
    case OPENAI_VERBOSE_JSON: {
        json_t *o = verbose(j, sentences, w, t);
        answer_json(r, o);
        json_decref(o);
        break;
    }
    default: {
        json_t *o = json_object();
        json_object_set_new(o, "text", json_string(t));
        json_object_set_new(o, "usage", usage(j->audio_time));
        answer_json(r, o);
        json_decref(o);
    }
    }
    buf_free(&text);
    json_decref(sentences);
}

static void forget(api *a, const api_openai_wait *w)
{
    if (w->input_key[0])
        blob_delete(a->d.blobs, w->bucket, w->input_key, strlen(w->input_key));
    if (w->output_key[0]) {   /* the output and its ResultDetail companion (<key>.detail) */
        char detail[sizeof w->output_key + 8];
        int n = snprintf(detail, sizeof detail, "%s.detail", w->output_key);
        blob_delete(a->d.blobs, w->bucket, w->output_key, strlen(w->output_key));
        blob_delete(a->d.blobs, w->bucket, detail, (size_t)n);
    }
}

bool api_openai_poll(api *a, const api_openai_wait *w, api_response *r)
{
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    store_rc rc = store_job_get(a->d.st, w->bucket, w->job_id, j);
    bool done = true;
    if (rc != STORE_OK) {
        api_openai_error(r, 500, "server_error", NULL, NULL, "job %s cannot be read: %s", w->job_id,
                         rc == STORE_NOT_FOUND ? "it is gone" : store_last_error());
    } else if (j->state == JOB_SUCCESS) {
        api_response_header(r, "x-cicada-job-id", j->id);
        render(a, j, w, r);
    } else if (j->state == JOB_FAILED) {
        api_response_header(r, "x-cicada-job-id", j->id);
        bool ours = strcmp(j->code, "InternalError") == 0;
        api_openai_error(r, ours ? 500 : 400, ours ? "server_error" : "invalid_request_error", j->code,
                         ours ? NULL : "file", "%s", j->message);
    } else if (j->state == JOB_CANCEL) {
        api_response_header(r, "x-cicada-job-id", j->id);
        api_openai_error(r, 409, "invalid_request_error", "cancelled", NULL, "job %s was cancelled", j->id);
    } else {
        done = false;
    }
    if (done)
        forget(a, w);
    store_job_clear(j);
    free(j);
    return done;
}

bool api_openai_abandon(api *a, const api_openai_wait *w)
{
    if (store_job_cancel(a->d.st, w->bucket, w->job_id, time_now_ms(), NULL) != STORE_OK)
        return false;   /* started (or ended): left to finish, polled until it does */
    forget(a, w);
    return true;
}
