/* s3_xml.c — the S3 answers blob_s3.c reads, parsed with src/xml (see s3_xml.h). Key-like text
 * (Key, Prefix, NextMarker, UploadId) is taken raw, since a key may begin or end with blanks;
 * numbers, dates and ETags trimmed. Every parser checks the root element's name, so an Error
 * document (or anything else) is never read as a result. */
#include "blob/s3_xml.h"

#include "util/util.h"
#include "xml/xml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A ListBucketResult holds up to 1000 Contents of ~8 elements each (Owner included) plus the
 * CommonPrefixes: 16384 elements leaves room; S3 documents are at most 4 levels deep. */
#define S3_XML_MAX_NODES 16384
#define S3_XML_MAX_DEPTH 8

/* Control characters (a server's Message or a listed key may hold newlines) become blanks: the
 * text goes into one-line messages and logs. */
static void one_line(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static xml_node *parse_root(const char *body, size_t len, const char *root, char *err, size_t errlen)
{
    xml_parse_params p = xml_parse_default_params();
    p.max_nodes = S3_XML_MAX_NODES;
    p.max_depth = S3_XML_MAX_DEPTH;
    char why[200] = "";
    xml_node *doc = xml_parse(body ? body : "", body ? len : 0, &p, why, sizeof why);
    if (!doc) {
        err_printf(err, errlen, "unreadable XML from S3: %s", why);
        return NULL;
    }
    if (strcmp(xml_name(doc), root) != 0) {
        char code[64] = "", msg[256] = "";
        if (strcmp(xml_name(doc), "Error") == 0) {
            snprintf(code, sizeof code, "%s", xml_path_text(doc, "Code") ? xml_path_text(doc, "Code") : "");
            snprintf(msg, sizeof msg, "%s", xml_path_text(doc, "Message") ? xml_path_text(doc, "Message") : "");
            one_line(code);
            one_line(msg);
            err_printf(err, errlen, "S3 error %s: %s", code[0] ? code : "(no code)", msg);
        } else {
            err_printf(err, errlen, "S3 answered <%.60s> where <%s> was expected", xml_name(doc), root);
        }
        xml_free(doc);
        return NULL;
    }
    return doc;
}

bool s3_iso_time(const char *s, int64_t *ms)
{
    if (!s)
        return false;
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
        return false;
    for (int i = 0; i < 19; i++) /* sscanf takes signs and blanks: require the digits themselves */
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && !isdigit((unsigned char)s[i]))
            return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (strcmp(p, "Z") != 0)
        return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ms = (int64_t)t * 1000;
    return true;
}

bool s3_etag_clean(const char *in, char out[S3_ETAG_MAX])
{
    if (!in)
        return false;
    while (isspace((unsigned char)*in))
        in++;
    size_t n = strlen(in);
    while (n > 0 && isspace((unsigned char)in[n - 1]))
        n--;
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
        in++;
        n -= 2;
    }
    if (n == 0 || n >= S3_ETAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)in[i]) && in[i] != '-')
            return false;
    memcpy(out, in, n);
    out[n] = '\0';
    return true;
}

/* A non-negative decimal without sign or blanks inside. */
static bool parse_size(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!s || !*s) {
        *out = false;
        return true;
    }
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        *out = s[0] == 't';
        return true;
    }
    return false;
}

static bool read_entry(const xml_node *c, s3_list_entry *e, char *err, size_t errlen)
{
    const char *key = xml_path_raw_text(c, "Key");
    if (!key || !*key) {
        err_printf(err, errlen, "S3 listing: a Contents without a Key");
        return false;
    }
    if (!parse_size(xml_path_text(c, "Size"), &e->size)) {
        err_printf(err, errlen, "S3 listing: %.100s has no valid Size", key);
        return false;
    }
    if (!s3_iso_time(xml_path_text(c, "LastModified"), &e->mtime_ms)) {
        err_printf(err, errlen, "S3 listing: %.100s has no valid LastModified", key);
        return false;
    }
    const char *etag = xml_path_text(c, "ETag");
    if (!s3_etag_clean(etag, e->etag)) {
        err_printf(err, errlen, "S3 listing: %.100s has no valid ETag", key);
        return false;
    }
    e->key = xstrdup(key);
    return true;
}

bool s3_xml_list(const char *body, size_t len, s3_list_page *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    xml_node *doc = parse_root(body, len, "ListBucketResult", err, errlen);
    if (!doc)
        return false;
    bool ok = parse_bool(xml_path_text(doc, "IsTruncated"), &out->truncated);
    if (!ok)
        err_printf(err, errlen, "S3 listing: IsTruncated is neither true nor false");
    size_t ecap = 0, pcap = 0;
    for (const xml_node *c = xml_first_child(doc); ok && c; c = xml_next_sibling(c)) {
        if (strcmp(xml_name(c), "Contents") == 0) {
            if (out->n == ecap) {
                ecap = ecap ? 2 * ecap : 16;
                out->entries = xrealloc(out->entries, ecap * sizeof *out->entries);
            }
            memset(&out->entries[out->n], 0, sizeof out->entries[out->n]);
            ok = read_entry(c, &out->entries[out->n], err, errlen);
            if (ok)
                out->n++;
        } else if (strcmp(xml_name(c), "CommonPrefixes") == 0) {
            const char *p = xml_path_raw_text(c, "Prefix");
            if (!p || !*p) {
                err_printf(err, errlen, "S3 listing: a CommonPrefixes without a Prefix");
                ok = false;
                break;
            }
            if (out->nprefixes == pcap) {
                pcap = pcap ? 2 * pcap : 8;
                out->prefixes = xrealloc(out->prefixes, pcap * sizeof *out->prefixes);
            }
            out->prefixes[out->nprefixes++] = xstrdup(p);
        }
    }
    const char *next = xml_path_raw_text(doc, "NextMarker");
    if (ok && next && *next)
        out->next_marker = xstrdup(next);
    xml_free(doc);
    if (!ok) {
        s3_list_page_free(out);
        one_line(err);
    }
    return ok;
}

void s3_list_page_free(s3_list_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->entries[i].key);
    for (size_t i = 0; i < p->nprefixes; i++)
        free(p->prefixes[i]);
    free(p->entries);
    free(p->prefixes);
    free(p->next_marker);
    memset(p, 0, sizeof *p);
}

bool s3_xml_error(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
    if (codelen)
        code[0] = '\0';
    if (msglen)
        msg[0] = '\0';
    char why[200];
    xml_node *doc = parse_root(body, len, "Error", why, sizeof why);
    if (!doc)
        return false;
    const char *c = xml_path_text(doc, "Code"), *m = xml_path_text(doc, "Message");
    if (codelen) {
        snprintf(code, codelen, "%s", c ? c : "");
        one_line(code);
    }
    if (msglen) {
        snprintf(msg, msglen, "%s", m ? m : "");
        one_line(msg);
    }
    xml_free(doc);
    return true;
}

bool s3_xml_upload_id(const char *body, size_t len, char *upload_id, size_t idlen, char *err, size_t errlen)
{
    xml_node *doc = parse_root(body, len, "InitiateMultipartUploadResult", err, errlen);
    if (!doc)
        return false;
    const char *id = xml_path_raw_text(doc, "UploadId");
    bool ok = id && *id && strlen(id) < idlen && strlen(id) < S3_UPLOAD_ID_MAX;
    if (ok)
        snprintf(upload_id, idlen, "%s", id);
    else
        err_printf(err, errlen, "S3 started a multipart upload without a usable UploadId");
    xml_free(doc);
    return ok;
}

bool s3_xml_etag_result(const char *body, size_t len, const char *root, char etag[S3_ETAG_MAX], char *err,
                        size_t errlen)
{
    xml_node *doc = parse_root(body, len, root, err, errlen);
    if (!doc)
        return false;
    bool ok = s3_etag_clean(xml_path_text(doc, "ETag"), etag);
    if (!ok)
        err_printf(err, errlen, "S3's %s has no valid ETag", root);
    xml_free(doc);
    return ok;
}

bool s3_xml_uploads(const char *body, size_t len, s3_upload **out, size_t *n, bool *truncated, char *err,
                    size_t errlen)
{
    *out = NULL;
    *n = 0;
    xml_node *doc = parse_root(body, len, "ListMultipartUploadsResult", err, errlen);
    if (!doc)
        return false;
    bool ok = parse_bool(xml_path_text(doc, "IsTruncated"), truncated);
    if (!ok)
        err_printf(err, errlen, "S3 upload listing: IsTruncated is neither true nor false");
    size_t cap = 0;
    for (const xml_node *c = xml_child(doc, "Upload"); ok && c; c = xml_next_named(c)) {
        const char *key = xml_path_raw_text(c, "Key"), *id = xml_path_raw_text(c, "UploadId");
        if (!key || !*key || !id || !*id) {
            err_printf(err, errlen, "S3 upload listing: an Upload without Key or UploadId");
            ok = false;
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[*n].key = xstrdup(key);
        (*out)[*n].upload_id = xstrdup(id);
        (*n)++;
    }
    xml_free(doc);
    if (!ok) {
        one_line(err);
        s3_uploads_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return ok;
}

void s3_uploads_free(s3_upload *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(u[i].key);
        free(u[i].upload_id);
    }
    free(u);
}
