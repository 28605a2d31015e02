/* xml_write.c — writes response bodies. Every text goes through xml_escape, which escapes the five
 * markup characters and drops what XML 1.0 cannot carry (most control characters, U+FFFE/U+FFFF,
 * broken UTF-8), so any byte string a user stored comes back as a well-formed document. */
#include "xml/xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t utf8_seq_len(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, *cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

/* XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
static bool is_xml_char(unsigned cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

static const char *markup_entity(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    case '\r': return "&#13;"; /* a raw CR would be normalised away by the reader */
    default: return NULL;
    }
}

/* Printable ASCII that needs no escaping: written in runs, not byte by byte (the hot path). */
static bool plain_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'';
}

void xml_escape(buf *out, const char *s)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p;
        while (plain_ascii(*p) || *p == '\n' || *p == '\t')
            p++;
        if (p > run) {
            buf_append(out, run, (size_t)(p - run));
            continue;
        }
        const char *ent = markup_entity(*p);
        if (ent) {
            buf_puts(out, ent);
            p++;
            continue;
        }
        unsigned cp;
        size_t len = utf8_seq_len(p, &cp);
        if (len == 0) { /* not UTF-8: drop the byte */
            p++;
            continue;
        }
        if (is_xml_char(cp))
            buf_append(out, p, len);
        p += len;
    }
}

void xw_decl(xml_writer *w)
{
    buf_puts(w->out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
}

void xw_open(xml_writer *w, const char *name)
{
    buf_putc(w->out, '<');
    buf_puts(w->out, name);
    buf_putc(w->out, '>');
}

void xw_close(xml_writer *w, const char *name)
{
    buf_puts(w->out, "</");
    buf_puts(w->out, name);
    buf_putc(w->out, '>');
}

void xw_text_elem(xml_writer *w, const char *name, const char *text)
{
    xw_open(w, name);
    xml_escape(w->out, text);
    xw_close(w, name);
}

void xw_int_elem(xml_writer *w, const char *name, long long v)
{
    char digits[24];
    char *end = digits + sizeof digits, *p = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    xw_open(w, name);
    buf_append(w->out, p, (size_t)(end - p));
    xw_close(w, name);
}

void xw_fmt_elem(xml_writer *w, const char *name, const char *fmt, ...)
{
    buf text;
    buf_init(&text);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    xw_text_elem(w, name, text.data);
    buf_free(&text);
}
