/* hotvocab.c — hot-vocabulary tables: POST /asrhotvocabtable (create), PUT /asrhotvocabtable
 * (update by the body's TableId; absent fields stay), GET /asrhotvocabtable/<id>,
 * GET /asrhotvocabtable?offset=&limit= and DELETE /asrhotvocabtable/<id>. This file owns the
 * rules for a table's name, description and words, given as repeated VocabularyWeights or as
 * VocabularyWeightStr (base64 of "word|weight" lines, which wins when non-empty). Every check runs
 * before the store is touched, so a refused request changes nothing. Jobs name a table by id; the
 * pipeline turns its words into the engine's hot words. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HV_NAME_MAX 255       /* bytes */
#define HV_DESCRIPTION_MAX 1000 /* bytes */
#define HV_WORD_MAX_HAN 10    /* characters, for a word with a Chinese character in it */
#define HV_WORD_MAX_OTHER 30  /* characters, for any other word */
#define HV_PAGE_MAX 100

/* ---- words ---- */

/* Why a Vocabulary is refused, or NULL when it is fine. */
static const char *word_problem(const char *w)
{
    size_t n = strlen(w), at = 0, chars = 0;
    bool han = false;
    if (n == 0)
        return "is empty";
    while (at < n) {
        uint32_t cp;
        size_t len = utf8_decode_strict(w + at, n - at, &cp);
        if (len == 0)
            return "is not valid UTF-8";
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
            return "contains a control character";
        han = han || utf8_is_han(cp);
        chars++;
        at += len;
    }
    if (han && chars > HV_WORD_MAX_HAN)
        return "is longer than 10 characters (the limit for a word with Chinese characters)";
    if (chars > HV_WORD_MAX_OTHER)
        return "is longer than 30 characters";
    return NULL;
}

/* A weight: the digits of 1..11 or 100, nothing else. */
static bool parse_weight(const char *v, int *out)
{
    if (!v || !v[0] || strlen(v) > 3 || strspn(v, "0123456789") != strlen(v))
        return false;
    int n = atoi(v);
    if ((n < 1 || n > 11) && n != 100)
        return false;
    *out = n;
    return true;
}

static bool has_word(const store_hotvocab *h, const char *w)
{
    for (size_t i = 0; i < h->nwords; i++)
        if (strcmp(h->words[i].word, w) == 0)
            return true;
    return false;
}

/* Checks one entry and appends it; `where` names it in the error ("VocabularyWeights[2]"). */
static bool add_entry(api_response *r, const api_request *q, store_hotvocab *h, const char *where, const char *word,
                      const char *weight)
{
    const char *problem = word_problem(word ? word : "");
    int wt = 0;
    if (problem) {
        api_error(r, q, 400, "InvalidArgument", "%s/Vocabulary \"%.200s\" %s", where, word ? word : "", problem);
        return false;
    }
    if (!weight) {
        api_error(r, q, 400, "InvalidArgument", "%s/Weight is required", where);
        return false;
    }
    if (!parse_weight(weight, &wt)) {
        api_error(r, q, 400, "InvalidArgument", "%s/Weight must be an integer from 1 to 11, or 100 (got \"%.40s\")",
                  where, weight);
        return false;
    }
    if (h->nwords >= STORE_HOTVOCAB_MAX_WORDS) {
        api_error(r, q, 400, "InvalidArgument", "a table holds at most %d words; %s is one too many",
                  STORE_HOTVOCAB_MAX_WORDS, where);
        return false;
    }
    if (has_word(h, word)) {
        api_error(r, q, 400, "InvalidArgument", "%s/Vocabulary \"%s\" appears more than once", where, word);
        return false;
    }
    if (!store_hotvocab_add_word(h, word, wt)) {   /* cannot happen within 30 characters; kept as a guard */
        api_error(r, q, 400, "InvalidArgument", "%s/Vocabulary is too long", where);
        return false;
    }
    return true;
}

static bool words_from_elements(api_response *r, const api_request *q, const xml_node *first, store_hotvocab *h)
{
    size_t i = 0;
    for (const xml_node *e = first; e; e = xml_next_named(e)) {
        char where[48];
        snprintf(where, sizeof where, "VocabularyWeights[%zu]", ++i);
        if (!add_entry(r, q, h, where, xml_path_text(e, "Vocabulary"), xml_path_text(e, "Weight")))
            return false;
    }
    return true;
}

/* Trims ASCII spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* One "word|weight" line (CR already removed); the weight follows the last '|'. */
static bool add_line(api_response *r, const api_request *q, store_hotvocab *h, char *line, size_t lineno)
{
    char where[48];
    snprintf(where, sizeof where, "VocabularyWeightStr line %zu", lineno);
    char *bar = strrchr(line, '|');
    if (!bar) {
        api_error(r, q, 400, "InvalidArgument", "%s is not \"word|weight\" (got \"%.200s\")", where, line);
        return false;
    }
    *bar = '\0';
    return add_entry(r, q, h, where, trim(line), trim(bar + 1));
}

static bool words_from_str(api_response *r, const api_request *q, const char *b64, store_hotvocab *h)
{
    buf text;
    buf_init(&text);
    bool ok = base64_decode(b64, &text);
    if (!ok)
        api_error(r, q, 400, "InvalidArgument", "VocabularyWeightStr is not valid base64");
    if (ok && text.len && memchr(text.data, '\0', text.len)) {
        api_error(r, q, 400, "InvalidArgument", "VocabularyWeightStr holds a NUL byte");
        ok = false;
    }
    /* line by line, counting blank ones too so that errors name the line an editor shows */
    size_t lineno = 0;
    for (char *line = ok ? text.data : NULL; line && ok;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
            line[n - 1] = '\0';
        lineno++;
        if (trim(line)[0])   /* blank lines (a trailing newline) are no entries */
            ok = add_line(r, q, h, line, lineno);
        line = next;
    }
    buf_free(&text);
    return ok;
}

/* The request's words into h; *given is false when it carries none (an update keeps the old). */
static bool parse_words(api_response *r, const api_request *q, const xml_node *root, store_hotvocab *h, bool *given)
{
    const char *str = xml_path_text(root, "VocabularyWeightStr");
    const xml_node *first = xml_child(root, "VocabularyWeights");
    *given = (str && str[0]) || first;
    if (!*given)
        return true;
    bool ok = str && str[0] ? words_from_str(r, q, str, h) : words_from_elements(r, q, first, h);
    if (ok && h->nwords == 0) {
        api_error(r, q, 400, "InvalidArgument", "VocabularyWeights (or VocabularyWeightStr) must hold 1 to %d entries",
                  STORE_HOTVOCAB_MAX_WORDS);
        return false;
    }
    return ok;
}

/* TableName and TableDescription, each only when present; *fields gets what was given. */
static bool parse_texts(api_response *r, const api_request *q, const xml_node *root, store_hotvocab *h,
                        unsigned *fields)
{
    const char *name = xml_path_text(root, "TableName");
    const char *desc = xml_path_text(root, "TableDescription");
    if (name && (!name[0] || strlen(name) > HV_NAME_MAX)) {
        api_error(r, q, 400, "InvalidArgument", "TableName must be 1 to %d bytes (got %zu)", HV_NAME_MAX, strlen(name));
        return false;
    }
    if (desc && strlen(desc) > HV_DESCRIPTION_MAX) {
        api_error(r, q, 400, "InvalidArgument", "TableDescription must be at most %d bytes (got %zu)",
                  HV_DESCRIPTION_MAX, strlen(desc));
        return false;
    }
    if (name) {
        strlcpy_ok(h->name, name, sizeof h->name);
        *fields |= STORE_HOTVOCAB_NAME;
    }
    if (desc) {
        strlcpy_ok(h->description, desc, sizeof h->description);
        *fields |= STORE_HOTVOCAB_DESCRIPTION;
    }
    return true;
}

/* Everything a create or update body says, checked; *fields names what it gives. */
static bool parse_table(api_response *r, const api_request *q, const xml_node *root, store_hotvocab *h,
                        unsigned *fields)
{
    bool words_given = false;
    *fields = 0;
    if (!parse_texts(r, q, root, h, fields) || !parse_words(r, q, root, h, &words_given))
        return false;
    if (words_given)
        *fields |= STORE_HOTVOCAB_WORDS;
    return true;
}

/* ---- responses ---- */

static void not_found(api_response *r, const api_request *q, const char *id)
{
    api_error(r, q, 404, "NoSuchHotVocabularyTable", "hot-vocabulary table %.64s does not exist in bucket %s", id,
              q->bucket);
}

/* Answers a store failure; true when rc is STORE_OK. */
static bool store_answer(api_response *r, const api_request *q, store_rc rc, const char *id)
{
    if (rc == STORE_NOT_FOUND)
        not_found(r, q, id);
    else if (rc == STORE_CONFLICT)
        api_error(r, q, 400, "InvalidArgument", "%s", store_last_error());
    else if (rc != STORE_OK)
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    return rc == STORE_OK;
}

static void write_table(api_response *r, const api_request *q, const store_hotvocab *h)
{
    xml_writer w;
    api_xml_begin(r, &w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "RequestId", q->request_id);
    tree_out *t = tree_xml(&w);
    render_hotvocab(t, h, NULL);
    tree_free(t);
    xw_close(&w, "Response");
}

/* Reads the table back and answers with it. */
static void answer_with_table(api *a, const api_request *q, api_response *r, const char *id)
{
    store_hotvocab h;
    if (store_answer(r, q, store_hotvocab_get(a->d.st, q->bucket, id, &h), id))
        write_table(r, q, &h);
    store_hotvocab_clear(&h);
}

/* ---- operations ---- */

void api_hotvocab_create(api *a, api_request *q, api_response *r)
{
    if (!api_asr_open(a, q, r))
        return;
    xml_node *root = api_parse_body(r, q);
    if (!root)
        return;
    store_hotvocab h;
    store_hotvocab_init(&h);
    unsigned fields = 0;
    bool ok = parse_table(r, q, root, &h, &fields);
    xml_free(root);
    if (ok && !(fields & STORE_HOTVOCAB_NAME)) {
        api_error(r, q, 400, "InvalidArgument", "TableName is required");
        ok = false;
    } else if (ok && !(fields & STORE_HOTVOCAB_WORDS)) {
        api_error(r, q, 400, "InvalidArgument", "VocabularyWeights (or VocabularyWeightStr) is required: 1 to %d "
                  "entries of Vocabulary and Weight", STORE_HOTVOCAB_MAX_WORDS);
        ok = false;
    }
    if (ok) {
        ids_new(h.id, "h");
        strlcpy_ok(h.bucket, q->bucket, sizeof h.bucket);
        h.create_ms = h.update_ms = time_now_ms();
        if (store_answer(r, q, store_hotvocab_insert(a->d.st, &h), h.id))
            answer_with_table(a, q, r, h.id);
    }
    store_hotvocab_clear(&h);
}

/* The table an update names: the body's TableId, or the path's (which must then agree). */
static const char *update_target(api_response *r, const api_request *q, const xml_node *root, const char *path_id)
{
    const char *body_id = xml_path_text(root, "TableId");
    if (body_id && body_id[0] && path_id && strcmp(body_id, path_id) != 0) {
        api_error(r, q, 400, "InvalidArgument", "TableId %.64s in the body differs from %.64s in the path", body_id,
                  path_id);
        return NULL;
    }
    const char *id = body_id && body_id[0] ? body_id : path_id;
    if (!id)
        api_error(r, q, 400, "InvalidArgument", "TableId is required");
    return id;
}

void api_hotvocab_update(api *a, api_request *q, api_response *r, const char *path_id)
{
    if (!api_asr_open(a, q, r))
        return;
    xml_node *root = api_parse_body(r, q);
    if (!root)
        return;
    store_hotvocab h;
    store_hotvocab_init(&h);
    unsigned fields = 0;
    const char *id = update_target(r, q, root, path_id);
    bool ok = id && parse_table(r, q, root, &h, &fields);
    if (ok && !strlcpy_ok(h.id, id, sizeof h.id)) {
        not_found(r, q, id);
        ok = false;
    }
    xml_free(root);
    if (ok) {
        strlcpy_ok(h.bucket, q->bucket, sizeof h.bucket);
        h.update_ms = time_now_ms();
        if (store_answer(r, q, store_hotvocab_update(a->d.st, &h, fields), h.id))
            answer_with_table(a, q, r, h.id);
    }
    store_hotvocab_clear(&h);
}

void api_hotvocab_get(api *a, api_request *q, api_response *r, const char *id)
{
    if (api_asr_open(a, q, r))
        answer_with_table(a, q, r, id);
}

void api_hotvocab_list(api *a, api_request *q, api_response *r)
{
    int offset = 0, limit = 0;
    if (!api_asr_open(a, q, r) || !api_int_param(r, q, "offset", 0, 1000000000, 0, &offset) ||
        !api_int_param(r, q, "limit", 1, HV_PAGE_MAX, 10, &limit))
        return;
    store_hotvocab *list = xcalloc(HV_PAGE_MAX, sizeof *list);
    size_t n = 0;
    int64_t total = 0;
    if (store_answer(r, q, store_hotvocab_list(a->d.st, q->bucket, offset, limit, list, &n, &total), "")) {
        xml_writer w;
        api_xml_begin(r, &w);
        xw_open(&w, "Response");
        xw_text_elem(&w, "RequestId", q->request_id);
        xw_int_elem(&w, "TotalCount", total);
        tree_out *t = tree_xml(&w);
        for (size_t i = 0; i < n; i++)
            render_hotvocab(t, &list[i], "HotVocabularyTable");
        tree_free(t);
        xw_close(&w, "Response");
    }
    for (size_t i = 0; i < n; i++)
        store_hotvocab_clear(&list[i]);
    free(list);
}

void api_hotvocab_delete(api *a, api_request *q, api_response *r, const char *id)
{
    if (!api_asr_open(a, q, r) || !store_answer(r, q, store_hotvocab_delete(a->d.st, q->bucket, id), id))
        return;
    r->status = 200;   /* like a cancel: 200 with an empty body */
    r->content_type = NULL;
}
