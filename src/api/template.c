/* template.c — speech-recognition templates (spec section 9): POST /template (create),
 * PUT /template/<id> (a full replace of Name and SpeechRecognition), GET /template (list) and
 * DELETE /template/<id>, and what a job's Operation/TemplateId means. This file owns the rules for a
 * template's Tag, Name and the list's query; its SpeechRecognition goes through api_speech_parse
 * (speech.c), the one validator jobs use too. Every check runs before the store is touched, so a
 * refused request changes nothing. A job copies its template's parameters when it is submitted:
 * later edits and deletion never reach an accepted job. An unknown TemplateId (or another bucket's)
 * is a 400 InvalidArgument everywhere, as section 9 suggests. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPL_NAME_MAX 64     /* characters (code points) of a Name */
#define TPL_PAGE_MAX 100    /* most templates one list page returns (pageSize) */
#define TPL_IDS_MAX 100     /* most ids one list names */
#define TPL_ID_MAX 63       /* bytes of one id in ids= (real ones are 34) */

/* ---- the rules, pure functions (fuzz/fuzz_template.c drives them) ---- */

static bool name_char(uint32_t cp)
{
    return utf8_is_han(cp) || (cp < 0x80 && (((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') ||
                                             (cp >= '0' && cp <= '9') || cp == '_' || cp == '-' || cp == '*'));
}

bool template_name_valid(const char *name, char *why, size_t whylen)
{
    size_t n = strlen(name), at = 0, chars = 0;
    if (n == 0) {
        err_printf(why, whylen, "Name is required: 1 to %d characters", TPL_NAME_MAX);
        return false;
    }
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(name + at, n - at, &cp);
        if (len == 0) {
            err_printf(why, whylen, "Name is not valid UTF-8 (at byte %zu)", at);
            return false;
        }
        if (!name_char(cp)) {
            err_printf(why, whylen, "Name may hold only Chinese characters, ASCII letters, digits, _, - and * "
                       "(character %zu is U+%04X)", chars + 1, (unsigned)cp);
            return false;
        }
        chars++;
        at += len;
    }
    if (chars > TPL_NAME_MAX) {
        err_printf(why, whylen, "Name must be 1 to %d characters (got %zu)", TPL_NAME_MAX, chars);
        return false;
    }
    return true;
}

/* Whether the comma list out (len bytes) already holds item (k bytes). O(len), with at most
 * TPL_IDS_MAX short items. */
static bool list_has(const char *out, size_t len, const char *item, size_t k)
{
    for (size_t at = 0; at < len;) {
        size_t n = strcspn(out + at, ",");
        if (n == k && memcmp(out + at, item, k) == 0)
            return true;
        at += n + 1;
    }
    return false;
}

/* One id of ids=: printable ASCII without spaces or commas, at most TPL_ID_MAX bytes. */
static bool id_ok(const char *p, size_t k)
{
    if (k > TPL_ID_MAX)
        return false;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return false;
    return true;
}

bool template_ids_clean(const char *in, char *out, size_t cap, size_t *count, char *why, size_t whylen)
{
    size_t len = 0, k;
    const char *p = in, *id;
    *count = 0;
    if (cap > 0)
        out[0] = '\0';
    while (comma_next(&p, &id, &k)) {
        if (!id_ok(id, k)) {
            err_printf(why, whylen, "ids must be a comma list of template ids (\"%.*s\" is not one)",
                       (int)(k > TPL_ID_MAX ? TPL_ID_MAX : k), id);
            return false;
        }
        if (list_has(out, len, id, k))
            continue;
        if (++*count > TPL_IDS_MAX || !comma_append(out, &len, cap, id, k)) {
            err_printf(why, whylen, "ids names more than %d templates", TPL_IDS_MAX);
            return false;
        }
    }
    return true;
}

/* ---- requests ---- */

static void unknown_template(api_response *r, const api_request *q, const char *what, const char *id)
{
    api_error(r, q, 400, "InvalidArgument", "%s%.64s names no template of bucket %s", what, id, q->bucket);
}

/* Answers a store failure; true when rc is STORE_OK. */
static bool store_answer(api_response *r, const api_request *q, store_rc rc, const char *id)
{
    if (rc == STORE_NOT_FOUND)
        unknown_template(r, q, "template ", id);
    else if (rc == STORE_CONFLICT)
        api_error(r, q, 400, "InvalidArgument", "%s", store_last_error());
    else if (rc != STORE_OK)
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    return rc == STORE_OK;
}

/* A job's parameter defaults, from the one place that sets them (ChannelNum 1, txt, zeros). The
 * Python SDK leaves ChannelNum and ResTextFormat out when they are 0, so missing means default. */
static void default_params(job_params *p)
{
    store_job *j = xmalloc(sizeof *j);
    store_job_init(j);
    *p = j->params;
    free(j);
}

/* Tag, Name and SpeechRecognition of a create or update body, checked, into t. */
static bool parse_template(api *a, api_response *r, const api_request *q, const xml_node *root, store_template *t)
{
    const char *tag = xml_path_text(root, "Tag");
    if (!tag || strcmp(tag, "SpeechRecognition") != 0) {
        api_error(r, q, 400, "InvalidArgument", "Tag must be SpeechRecognition (got \"%.64s\")", tag ? tag : "");
        return false;
    }
    const char *name = xml_path_text(root, "Name");
    char why[160];
    if (!template_name_valid(name ? name : "", why, sizeof why)) {
        api_error(r, q, 400, "InvalidArgument", "%s", why);
        return false;
    }
    strlcpy_ok(t->name, name, sizeof t->name);   /* fits: 64 characters of at most 4 bytes */
    const xml_node *sr = xml_child(root, "SpeechRecognition");
    if (!sr) {
        api_error(r, q, 400, "InvalidArgument", "SpeechRecognition is required (with its EngineModelType)");
        return false;
    }
    default_params(&t->params);
    return api_speech_parse(a, r, q, sr, &t->params);
}

/* The body of a create or update: parsed, checked, into t (id and bucket left to the caller). */
static bool read_body(api *a, api_response *r, const api_request *q, store_template *t)
{
    xml_node *root = api_parse_body(r, q);
    if (!root)
        return false;
    bool ok = parse_template(a, r, q, root, t);
    xml_free(root);
    return ok;
}

/* Reads the template back and answers <Response><RequestId/><Template>…</Template></Response>. */
static void answer_with_template(api *a, const api_request *q, api_response *r, const char *id)
{
    store_template t;
    if (!store_answer(r, q, store_template_get(a->d.st, q->bucket, id, &t), id))
        return;
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    tree_out *out = tree_xml(&w);
    render_template(out, &t, "Template");
    tree_free(out);
    xw_close(&w, "Response");
}

void api_template_create(api *a, api_request *q, api_response *r)
{
    store_template t;
    memset(&t, 0, sizeof t);
    if (!api_asr_open(a, q, r) || !read_body(a, r, q, &t))
        return;
    ids_new(t.id, "t1");
    strlcpy_ok(t.bucket, q->bucket, sizeof t.bucket);
    t.create_ms = t.update_ms = time_now_ms();
    if (store_answer(r, q, store_template_insert(a->d.st, &t), t.id))
        answer_with_template(a, q, r, t.id);
}

void api_template_update(api *a, api_request *q, api_response *r, const char *id)
{
    store_template t;
    memset(&t, 0, sizeof t);
    if (!api_asr_open(a, q, r) || !read_body(a, r, q, &t))
        return;
    if (!strlcpy_ok(t.id, id, sizeof t.id)) {   /* longer than any id: names nothing */
        unknown_template(r, q, "template ", id);
        return;
    }
    strlcpy_ok(t.bucket, q->bucket, sizeof t.bucket);
    t.update_ms = time_now_ms();
    if (store_answer(r, q, store_template_update(a->d.st, &t), t.id))
        answer_with_template(a, q, r, t.id);
}

void api_template_delete(api *a, api_request *q, api_response *r, const char *id)
{
    if (!api_asr_open(a, q, r) || !store_answer(r, q, store_template_delete(a->d.st, q->bucket, id), id))
        return;
    xml_writer w;   /* never an empty 200: the Python SDK parses every answer as XML */
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    xw_text_elem(&w, "TemplateId", id);
    xw_close(&w, "Response");
}

/* ---- list ---- */

/* The list's query: paging, ids (cleaned into ids, "" when not given) and whether the category and
 * tag select ASR templates at all (Official and other tags: none). */
static bool parse_list_query(api_response *r, const api_request *q, store_template_filter *f, char *ids,
                             size_t cap, bool *any)
{
    if (!api_int_param(r, q, "pageNumber", 1, 1000000, 1, &f->page_number) ||
        !api_int_param(r, q, "pageSize", 1, TPL_PAGE_MAX, 10, &f->page_size))
        return false;
    const char *category = api_param(q, "category"), *tag = api_param(q, "tag");
    if (category && strcmp(category, "Custom") != 0 && strcmp(category, "Official") != 0) {
        api_error(r, q, 400, "InvalidArgument", "category must be Custom or Official (got \"%.64s\")", category);
        return false;
    }
    *any = (!category || strcmp(category, "Custom") == 0) &&
           (!tag || strcmp(tag, "All") == 0 || strcmp(tag, "SpeechRecognition") == 0);
    size_t count = 0;
    char why[160];
    if (!template_ids_clean(api_param(q, "ids") ? api_param(q, "ids") : "", ids, cap, &count, why, sizeof why)) {
        api_error(r, q, 400, "InvalidArgument", "%s", why);
        return false;
    }
    f->ids = ids;
    f->name_prefix = api_param(q, "name");
    return true;
}

/* <TemplateId> of each id in the comma list that names no template of the bucket, into missing. */
static bool find_missing(api *a, api_response *r, const api_request *q, const char *ids, buf *missing)
{
    xml_writer mw = {missing};
    char id[TPL_ID_MAX + 1];
    for (const char *p = ids; *p; p += *p == ',') {
        size_t k = strcspn(p, ",");
        snprintf(id, sizeof id, "%.*s", (int)k, p);
        p += k;
        store_template t;
        store_rc rc = store_template_get(a->d.st, q->bucket, id, &t);
        if (rc == STORE_NOT_FOUND)
            xw_text_elem(&mw, "TemplateId", id);
        else if (rc != STORE_OK)
            return store_answer(r, q, rc, id);
    }
    return true;
}

static void write_list(api_response *r, const api_request *q, const store_template_filter *f,
                       const store_template *list, size_t n, int64_t total, const buf *missing)
{
    xml_writer w;
    api_list_begin(r, q, &w, total, f->page_number, f->page_size);
    tree_out *t = tree_xml(&w);
    for (size_t i = 0; i < n; i++)
        render_template(t, &list[i], "TemplateList");
    tree_free(t);
    if (missing->len) {
        xw_open(&w, "NonExistTIDs");
        buf_append(&r->body, missing->data, missing->len);
        xw_close(&w, "NonExistTIDs");
    }
    xw_close(&w, "Response");
}

void api_template_list(api *a, api_request *q, api_response *r)
{
    store_template_filter f = {.bucket = q->bucket};
    char ids[TPL_IDS_MAX * (TPL_ID_MAX + 1) + 1];
    bool any = false;
    if (!api_asr_open(a, q, r) || !parse_list_query(r, q, &f, ids, sizeof ids, &any))
        return;
    store_template *list = xcalloc(TPL_PAGE_MAX, sizeof *list);
    size_t n = 0;
    int64_t total = 0;
    buf missing;
    buf_init(&missing);
    bool ok = find_missing(a, r, q, ids, &missing) &&
              (!any || store_answer(r, q, store_template_list(a->d.st, &f, list, &n, &total), ""));
    if (ok)
        write_list(r, q, &f, list, n, total, &missing);
    buf_free(&missing);
    free(list);
}

/* ---- jobs ---- */

/* The stored parameters, checked again as a job's inline SpeechRecognition would be (the engine
 * still installed, a named hot-vocabulary table still there, today's rules), by writing them as
 * <SpeechRecognition> and reading that back with api_speech_parse: one validator, whatever it
 * accepts. False with a 400 naming the element (500 if the tree cannot be read back). */
static bool recheck_params(api *a, api_response *r, const api_request *q, const job_params *stored, job_params *out)
{
    buf b;
    buf_init(&b);
    xml_writer w = {&b};
    tree_out *t = tree_xml(&w);
    render_speech(t, stored);
    tree_free(t);
    xml_parse_params pp = xml_parse_default_params();
    char err[256];
    xml_node *sr = xml_parse(b.data ? b.data : "", b.len, &pp, err, sizeof err);
    buf_free(&b);
    if (!sr) {
        api_error(r, q, 500, "InternalError", "a stored template does not read back: %s", err);
        return false;
    }
    default_params(out);
    bool ok = api_speech_parse(a, r, q, sr, out);
    xml_free(sr);
    return ok;
}

bool api_template_resolve(api *a, api_response *r, const api_request *q, store_job *j)
{
    store_template t;
    store_rc rc = store_template_get(a->d.st, q->bucket, j->template_id, &t);
    if (rc == STORE_NOT_FOUND) {
        unknown_template(r, q, "Operation/TemplateId ", j->template_id);
        return false;
    }
    if (!store_answer(r, q, rc, j->template_id) || !recheck_params(a, r, q, &t.params, &j->params))
        return false;
    strlcpy_ok(j->template_name, t.name, sizeof j->template_name);
    return true;
}
