/* fuzz_xml.c — libFuzzer target for the XML body parser (src/xml, expat). Every input is parsed
 * with the default params, as the API parses a request body. Besides crashes, leaks and UB it
 * checks the parser's promises: a failure has a one-line reason; a tree holds at most max_nodes
 * elements nested at most max_depth deep, at most 1 MiB of text, names non-empty and texts trimmed;
 * the paths the API reads (xml_path_text) agree with walking the tree by hand. Then the whole tree
 * is written out again through the escaping writer (xw_open, xml_escape, xw_close) and must parse
 * back to the same names and texts: whatever a client can send, a response can carry. Built with
 * a replay main() (fuzz_replay.c) it is an ordinary test over the seed corpus (corpus/xml).
 *
 * Run:      build-fuzz/fuzz/fuzz_xml -dict=fuzz/fuzz_xml.dict -max_len=4096 -max_total_time=600 WORK fuzz/corpus/xml
 * Minimise: mkdir NEW; build-fuzz/fuzz/fuzz_xml -merge=1 NEW WORK fuzz/corpus/xml; replace
 *           corpus/xml with NEW (build-fuzz: CC=clang CXX=clang++ -DCICADA_FUZZ=ON). */
#include "xml/xml.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (256 * 1024)  /* enough to reach the node limit; longer only slows the search */
#define XML_TEXT_LIMIT (1024 * 1024) /* xml_parse.c's cap on a document's character data */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_xml: broken promise: %s\n", what);
        abort();
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

typedef struct tree_stats {
    size_t nodes, max_depth, text_bytes;
} tree_stats;

static void walk(const xml_node *n, size_t depth, tree_stats *st)
{
    for (; n; n = xml_next_sibling(n)) {
        st->nodes++;
        if (depth > st->max_depth)
            st->max_depth = depth;
        check(xml_name(n)[0] != '\0', "element names are not empty");
        const char *t = xml_text(n);
        size_t len = strlen(t);
        st->text_bytes += len;
        check(len == 0 || (!is_space(t[0]) && !is_space(t[len - 1])), "texts are trimmed");
        const char *raw = xml_raw_text(n);   /* the trimmed text is the raw text without its ends */
        size_t lead = 0, rlen = strlen(raw);
        while (lead < rlen && is_space(raw[lead]))
            lead++;
        check(rlen >= len && strncmp(raw + lead, t, len) == 0, "the raw text holds the trimmed one");
        check(rlen - lead == len || is_space(raw[lead + len]), "only whitespace is trimmed");
        walk(xml_first_child(n), depth + 1, st);
    }
}

/* xml_path_text(root, "A/B") is the text of the first A's first B, or NULL. */
static void check_path(const xml_node *root, const char *a, const char *b)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", a, b);
    const xml_node *first = xml_child(root, a);
    const xml_node *want = first ? xml_child(first, b) : NULL;
    const char *got = xml_path_text(root, path);
    check(want ? got != NULL && strcmp(got, xml_text(want)) == 0 : got == NULL, "xml_path_text walks the tree");
    check(xml_path(root, "") == root, "the empty path is the node itself");
}

/* Writes n and its descendants as the API writes a response: texts escaped, before the children. */
static void write_tree(xml_writer *w, const xml_node *n)
{
    for (; n; n = xml_next_sibling(n)) {
        xw_open(w, xml_name(n));
        xml_escape(w->out, xml_text(n));
        write_tree(w, xml_first_child(n));
        xw_close(w, xml_name(n));
    }
}

static void check_same(const xml_node *a, const xml_node *b)
{
    for (; a || b; a = xml_next_sibling(a), b = xml_next_sibling(b)) {
        check(a && b, "the written tree has the same shape");
        check(strcmp(xml_name(a), xml_name(b)) == 0, "the written tree has the same names");
        if (strcmp(xml_text(a), xml_text(b)) != 0) {
            fprintf(stderr, "text \"%s\" came back as \"%s\"\n", xml_text(a), xml_text(b));
            check(0, "the written tree has the same texts");
        }
        check_same(xml_first_child(a), xml_first_child(b));
    }
}

static void round_trip(const xml_node *root)
{
    buf out;
    buf_init(&out);
    xml_writer w = {&out};
    xw_decl(&w);
    write_tree(&w, root);
    char err[256] = "";
    xml_parse_params p = xml_parse_default_params();
    xml_node *again = xml_parse(out.data, out.len, &p, err, sizeof err);
    if (!again)
        fprintf(stderr, "written back: %s\nparse error: %s\n", out.data, err);
    check(again != NULL, "the written tree parses");
    check_same(root, again);
    xml_free(again);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    xml_parse_params p = xml_parse_default_params();
    char err[256];
    memset(err, 'x', sizeof err);
    xml_node *root = xml_parse((const char *)data, size, &p, err, sizeof err);
    if (!root) {
        size_t n = strnlen(err, sizeof err);
        check(n > 0 && n < sizeof err, "a failure has a reason");
        check(strchr(err, '\n') == NULL, "the reason is one line");
        return 0;
    }
    check(xml_next_sibling(root) == NULL, "one root element");
    tree_stats st = {0};
    walk(root, 1, &st);
    check(st.nodes <= p.max_nodes, "at most max_nodes elements");
    check(st.max_depth <= p.max_depth, "at most max_depth deep");
    check(st.text_bytes <= XML_TEXT_LIMIT, "at most 1 MiB of text");

    static const char *const paths[][2] = {
        {"Input", "Object"}, {"Input", "Url"}, {"Operation", "SpeechRecognition"}, {"Operation", "TemplateId"},
        {"Operation", "UserData"}, {"Output", "Object"}, {"Output", "Region"}, {"Output", "Bucket"},
        {"VocabularyWeights", "Vocabulary"}, {"VocabularyWeights", "Weight"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        check_path(root, paths[i][0], paths[i][1]);
    const char *emt = xml_path_text(root, "Operation/SpeechRecognition/EngineModelType");
    const xml_node *sr = xml_path(root, "Operation/SpeechRecognition");
    check((emt != NULL) == (xml_child(sr, "EngineModelType") != NULL), "three-step paths");
    for (const xml_node *v = xml_child(root, "VocabularyWeights"); v; v = xml_next_named(v))
        check(strcmp(xml_name(v), "VocabularyWeights") == 0, "xml_next_named keeps the name");
    check(xml_path_text(root, "//") == xml_text(root), "empty steps are skipped");

    round_trip(root);
    xml_free(root);
    return 0;
}
