/* xml_parse.c — turns an untrusted XML request body into a small read-only element tree (expat).
 * DTDs and entity declarations are refused outright, and depth, element count and total text are
 * capped, so a hostile body costs bounded memory and time. Attributes and namespaces are ignored:
 * the API never uses them. */
#include "xml/xml.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_DEFAULT_MAX_DEPTH 32
#define XML_DEFAULT_MAX_NODES 4096
#define XML_MAX_TEXT_BYTES (1024 * 1024) /* character data of the whole document */
#define XML_PARSE_CHUNK (1 << 20)

struct xml_node {
    char *name;
    buf text;      /* character data directly inside, exactly as sent */
    char *trimmed; /* the same without surrounding whitespace, when that differs; else NULL */
    xml_node *parent;
    xml_node *first_child;
    xml_node *last_child;
    xml_node *next;
};

typedef struct parse_ctx {
    XML_Parser parser;
    xml_parse_params limits;
    xml_node *root;
    xml_node *cur;
    size_t depth;
    size_t nodes;
    size_t text_bytes;
    bool failed;
    char reason[160];
} parse_ctx;

xml_parse_params xml_parse_default_params(void)
{
    return (xml_parse_params){.max_depth = XML_DEFAULT_MAX_DEPTH, .max_nodes = XML_DEFAULT_MAX_NODES};
}

static void fail(parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parse_ctx *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    XML_StopParser(c->parser, XML_FALSE);
}

static bool is_xml_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Keeps a trimmed copy beside the text when surrounding whitespace makes them differ (pretty-printed
 * bodies); most elements have none, and cost nothing extra. */
static void trim_text(xml_node *n)
{
    const buf *b = &n->text;
    if (!b->data)
        return;
    size_t start = 0, end = b->len;
    while (start < end && is_xml_space(b->data[start]))
        start++;
    while (end > start && is_xml_space(b->data[end - 1]))
        end--;
    if (start == 0 && end == b->len)
        return;
    n->trimmed = xmalloc(end - start + 1);
    memcpy(n->trimmed, b->data + start, end - start);
    n->trimmed[end - start] = '\0';
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    parse_ctx *c = ud;
    if (c->failed)
        return;
    if (c->depth >= c->limits.max_depth) {
        fail(c, "elements nested deeper than %zu", c->limits.max_depth);
        return;
    }
    if (c->nodes >= c->limits.max_nodes) {
        fail(c, "more than %zu elements", c->limits.max_nodes);
        return;
    }
    xml_node *n = xcalloc(1, sizeof *n);
    n->name = xstrdup(name);
    buf_init(&n->text);
    n->parent = c->cur;
    if (c->cur) {
        if (c->cur->last_child)
            c->cur->last_child->next = n;
        else
            c->cur->first_child = n;
        c->cur->last_child = n;
    } else {
        c->root = n;
    }
    c->cur = n;
    c->depth++;
    c->nodes++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    parse_ctx *c = ud;
    if (c->failed || !c->cur)
        return;
    trim_text(c->cur);
    c->cur = c->cur->parent;
    c->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    parse_ctx *c = ud;
    if (c->failed || !c->cur || len <= 0)
        return;
    if ((size_t)len > XML_MAX_TEXT_BYTES - c->text_bytes) {
        fail(c, "more than %d bytes of text", XML_MAX_TEXT_BYTES);
        return;
    }
    c->text_bytes += (size_t)len;
    buf_append(&c->cur->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(ud, "DOCTYPE declarations are not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                                   int value_len, const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    fail(ud, "entity declarations are not allowed");
}

static int XMLCALL on_external_entity(XML_Parser p, const XML_Char *context, const XML_Char *base,
                                      const XML_Char *sysid, const XML_Char *pubid)
{
    (void)context, (void)base, (void)sysid, (void)pubid;
    fail(XML_GetUserData(p), "external entities are not allowed");
    return XML_STATUS_ERROR;
}

static XML_Parser new_parser(parse_ctx *c)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return NULL;
    XML_SetUserData(p, c);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetExternalEntityRefHandler(p, on_external_entity);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    return p;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Feeds the document in chunks (XML_Parse takes an int length). */
static bool feed(parse_ctx *c, const char *data, size_t len)
{
    do {
        size_t n = len > XML_PARSE_CHUNK ? XML_PARSE_CHUNK : len;
        bool last = n == len;
        if (XML_Parse(c->parser, data, (int)n, last) != XML_STATUS_OK)
            return false;
        data += n;
        len -= n;
    } while (len > 0);
    return !c->failed;
}

xml_node *xml_parse(const char *data, size_t len, const xml_parse_params *p, char *err, size_t errlen)
{
    parse_ctx c = {0};
    c.limits = p ? *p : xml_parse_default_params();
    if (c.limits.max_depth == 0)
        c.limits.max_depth = XML_DEFAULT_MAX_DEPTH;
    if (c.limits.max_nodes == 0)
        c.limits.max_nodes = XML_DEFAULT_MAX_NODES;
    if (!data || len == 0) {
        set_err(err, errlen, "empty document");
        return NULL;
    }
    c.parser = new_parser(&c);
    if (!c.parser) {
        set_err(err, errlen, "cannot create XML parser");
        return NULL;
    }
    if (!feed(&c, data, len)) {
        if (!c.failed) {
            snprintf(c.reason, sizeof c.reason, "line %lu, column %lu: %s",
                     (unsigned long)XML_GetCurrentLineNumber(c.parser),
                     (unsigned long)XML_GetCurrentColumnNumber(c.parser),
                     XML_ErrorString(XML_GetErrorCode(c.parser)));
        }
        set_err(err, errlen, c.reason);
        XML_ParserFree(c.parser);
        xml_free(c.root);
        return NULL;
    }
    XML_ParserFree(c.parser);
    return c.root;
}

/* Iterative post-order walk: each child is unlinked from its parent before it is visited. */
void xml_free(xml_node *root)
{
    xml_node *n = root;
    while (n) {
        xml_node *child = n->first_child;
        if (child) {
            n->first_child = child->next;
            n = child;
            continue;
        }
        xml_node *up = n == root ? NULL : n->parent;
        free(n->name);
        buf_free(&n->text);
        free(n->trimmed);
        free(n);
        n = up;
    }
}

/* ---- navigation ---- */

const char *xml_name(const xml_node *n)
{
    return n ? n->name : "";
}

const char *xml_text(const xml_node *n)
{
    if (n && n->trimmed)
        return n->trimmed;
    return n && n->text.data ? n->text.data : "";
}

const char *xml_raw_text(const xml_node *n)
{
    return n && n->text.data ? n->text.data : "";
}

const xml_node *xml_first_child(const xml_node *n)
{
    return n ? n->first_child : NULL;
}

const xml_node *xml_next_sibling(const xml_node *n)
{
    return n ? n->next : NULL;
}

const xml_node *xml_child(const xml_node *n, const char *name)
{
    for (const xml_node *c = xml_first_child(n); c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const xml_node *xml_next_named(const xml_node *n)
{
    if (!n)
        return NULL;
    for (const xml_node *s = n->next; s; s = s->next)
        if (strcmp(s->name, n->name) == 0)
            return s;
    return NULL;
}

const xml_node *xml_path(const xml_node *n, const char *path)
{
    const char *p = path;
    while (n && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len > 0) {
            const xml_node *found = NULL;
            for (const xml_node *c = n->first_child; c && !found; c = c->next)
                if (strlen(c->name) == len && memcmp(c->name, p, len) == 0)
                    found = c;
            n = found;
        }
        p += len + (slash ? 1 : 0);
    }
    return n;
}

const char *xml_path_text(const xml_node *n, const char *path)
{
    const xml_node *found = xml_path(n, path);
    return found ? xml_text(found) : NULL;
}

const char *xml_path_raw_text(const xml_node *n, const char *path)
{
    const xml_node *found = xml_path(n, path);
    return found ? xml_raw_text(found) : NULL;
}
