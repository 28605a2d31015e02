/* xml.h — parsing untrusted request bodies (expat) into a small read-only tree, and writing
 * response bodies with correct escaping. Parsing refuses DTDs and entity declarations, deep
 * nesting and huge documents, so a hostile body costs bounded memory and time. */
#ifndef CICADA_XML_H
#define CICADA_XML_H

#include <stdbool.h>
#include <stddef.h>
#include "util/util.h"

typedef struct xml_node xml_node;

typedef struct xml_parse_params {
    size_t max_depth;   /* default 32 */
    size_t max_nodes;   /* default 4096 */
} xml_parse_params;
xml_parse_params xml_parse_default_params(void);

/* Parses a document; returns its root element, or NULL with a one-line reason in err. */
xml_node *xml_parse(const char *data, size_t len, const xml_parse_params *p, char *err, size_t errlen);
void xml_free(xml_node *root);

const char *xml_name(const xml_node *n);
/* Concatenated character data directly inside n, whitespace-trimmed; "" when none. */
const char *xml_text(const xml_node *n);
/* The same character data exactly as sent, surrounding whitespace included (for text that is
 * echoed byte for byte, such as UserData). */
const char *xml_raw_text(const xml_node *n);
const xml_node *xml_first_child(const xml_node *n);
const xml_node *xml_next_sibling(const xml_node *n);
/* First child element with that name (case-sensitive), or NULL. */
const xml_node *xml_child(const xml_node *n, const char *name);
/* Next sibling after n with the same name, or NULL (iterates repeated elements). */
const xml_node *xml_next_named(const xml_node *n);
/* Walks "A/B/C" from n; NULL when any step is missing. */
const xml_node *xml_path(const xml_node *n, const char *path);
/* Text at path, or NULL when the element is absent ("" when present but empty). */
const char *xml_path_text(const xml_node *n, const char *path);
const char *xml_path_raw_text(const xml_node *n, const char *path);   /* the same, untrimmed */

/* ---- writer: appends to a buf ---- */
typedef struct xml_writer {
    buf *out;
} xml_writer;

void xml_escape(buf *out, const char *s);          /* & < > " ' and control chars */
void xw_decl(xml_writer *w);                        /* <?xml version="1.0" encoding="utf-8"?> */
void xw_open(xml_writer *w, const char *name);
void xw_close(xml_writer *w, const char *name);
void xw_text_elem(xml_writer *w, const char *name, const char *text);  /* NULL text -> empty */
void xw_int_elem(xml_writer *w, const char *name, long long v);
void xw_fmt_elem(xml_writer *w, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
