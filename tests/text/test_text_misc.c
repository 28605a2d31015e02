/* test_text_misc.c — the rest of the text library: OpenCC Traditional→Simplified, width
 * normalisation, UTF-8 cleaning, operator dirty-word files (format and errors), and one engine used
 * from several threads at once giving the same answers as from one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/text.h"

static text_engine *new_engine(const char *dirty_file, bool t2s, char *err, size_t errlen)
{
    text_engine_params ep = text_engine_default_params();
    ep.dirty_words_file = dirty_file;
    ep.t2s = t2s;
    return text_engine_new(&ep, err, errlen);
}

static void test_t2s(void **state)
{
    (void)state;
    char err[256];
    text_engine *e = new_engine(NULL, true, err, sizeof err);
    if (!e) {
        printf("skipped: %s\n", err);
        skip();
    }
    const char *cases[][2] = {
        {"漢語", "汉语"},
        {"這是一個測試", "这是一个测试"},
        {"頭髮很長", "头发很长"},
        {"已经是简体", "已经是简体"},
        {"Hello, 世界! 123", "Hello, 世界! 123"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = text_t2s(e, cases[i][0]);
        assert_non_null(got);
        assert_string_equal(got, cases[i][1]);
        free(got);
    }
    text_engine_free(e);
    e = new_engine(NULL, false, err, sizeof err);
    assert_non_null(e);
    assert_null(text_t2s(e, "漢語"));
    text_engine_free(e);
}

static void test_width(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"ＧＰＴ４", "GPT4"},                              /* rule 1 */
        {"ｈｅｌｌｏ　ｗｏｒｌｄ", "hello world"},         /* letters and the ideographic space */
        {"你好！", "你好！"},                              /* rule 2: next to CJK, stays */
        {"（你好）", "（你好）"},
        {"ＯＫ！", "OK!"},                                 /* rule 2: not next to CJK */
        {"５０％", "50%"},
        {"增长了５０％", "增长了50%"},                     /* ％ touches 0, not CJK */
        {"你好，世界", "你好，世界"},
        {"你好,世界.", "你好，世界。"},                    /* rule 3 */
        {"真的吗?", "真的吗？"},
        {"注意:这里;那里!", "注意：这里；那里！"},
        {"3.5元", "3.5元"},
        {"是的,OK", "是的,OK"},
        {"你好, world", "你好, world"},
        {"a,b", "a,b"},
        {"", ""},
        {"\xff", "\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = text_normalize_width(cases[i][0]);
        assert_string_equal(got, cases[i][1]);
        assert_true(strlen(got) <= TEXT_MAX_OUTPUT(strlen(cases[i][0])));
        free(got);
    }
}

static void test_utf8_clean(void **state)
{
    (void)state;
    struct { const char *in; size_t n; const char *out; } cases[] = {
        {"abc", 3, "abc"},
        {"a\xff" "b", 3, "a\xEF\xBF\xBD" "b"},
        {"a\0b", 3, "a\xEF\xBF\xBD" "b"},
        {"\xc0\xaf", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},          /* overlong */
        {"\xe4\xb8", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},          /* truncated */
        {"\xed\xa0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
        {"中文", 6, "中文"},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = text_utf8_clean(cases[i].in, cases[i].n);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static char *write_file(const char *content)
{
    char *path = strdup("/tmp/cicada-dirty-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static char *process(const text_engine *e, int dirty, const char *line)
{
    text_params p = text_default_params();
    p.filter_dirty = dirty;
    return text_process_line(e, &p, line);
}

static void test_dirty_file(void **state)
{
    (void)state;
    char *path = write_file("# operator list\n\n  badword  \r\n坏话\n# another comment\nTwo Words\n");
    char err[256];
    text_engine *e = new_engine(path, false, err, sizeof err);
    assert_non_null(e);
    assert_int_equal(text_engine_dirty_count(e), 3);
    char *got = process(e, 1, "a BADWORD here, 说坏话 and two words; fuck");
    assert_string_equal(got, "a here, 说 and; fuck");   /* the built-in list is replaced */
    free(got);
    got = process(e, 2, "a badword here");
    assert_string_equal(got, "a ******* here");
    free(got);
    text_engine_free(e);
    unlink(path);
    free(path);

    path = write_file("");
    e = new_engine(path, false, err, sizeof err);
    assert_non_null(e);
    assert_int_equal(text_engine_dirty_count(e), 0);
    got = process(e, 1, "fuck");
    assert_string_equal(got, "fuck");
    free(got);
    text_engine_free(e);
    unlink(path);
    free(path);

    e = new_engine(NULL, false, err, sizeof err);
    assert_true(text_engine_dirty_count(e) > 20);
    text_engine_free(e);
}

static void test_dirty_file_errors(void **state)
{
    (void)state;
    char err[256], want[128];
    char *path = write_file("good\n# fine\nbad\xff\n");
    assert_null(new_engine(path, false, err, sizeof err));
    snprintf(want, sizeof want, "%s:3: not valid UTF-8", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);

    char long_line[400];
    memset(long_line, 'x', 300);
    strcpy(long_line + 300, "\n");
    path = write_file(long_line);
    assert_null(new_engine(path, false, err, sizeof err));
    assert_non_null(strstr(err, ":1: a word may have at most 256 bytes"));
    unlink(path);
    free(path);

    assert_null(new_engine("/nonexistent/dirty.txt", false, err, sizeof err));
    assert_non_null(strstr(err, "cannot read the dirty-word list /nonexistent/dirty.txt"));
}

/* ---- threads ---- */

#define THREADS 4
#define LINES 400

static const char *const samples[] = {
    "嗯，我觉得百分之六点三的人会在二零二三年三月五日下午三点半来。",
    "Um, I have twenty five fucking apples, uh, and three point five percent.",
    "你这个傻逼，三四十个人一起去了星期一的会。",
    "二加三等于五，二的三次方，根号二。",
    "Hello, world... nineteen eighty four!",
    "這是一個測試",
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

typedef struct job {
    const text_engine *e;
    char **expected;      /* [LINES] */
    int ok;
} job;

static text_params params_for(size_t i)
{
    text_params p = text_default_params();
    p.convert_num_mode = (int)(i % 3 == 2 ? 3 : i % 3);
    p.filter_modal = (int)(i / 3 % 3);
    p.filter_dirty = (int)(i / 9 % 3);
    p.filter_punc = (int)(i / 27 % 3);
    return p;
}

static char *work(const text_engine *e, size_t i)
{
    text_params p = params_for(i);
    if (i % 7 == 0)
        return text_t2s(e, samples[i % NSAMPLES]);
    return text_process_line(e, &p, samples[i % NSAMPLES]);
}

static void *run_job(void *arg)
{
    job *j = arg;
    j->ok = 1;
    for (size_t i = 0; i < LINES; i++) {
        char *got = work(j->e, i);
        j->ok &= got != NULL && strcmp(got, j->expected[i]) == 0;
        free(got);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char err[256];
    text_engine *e = new_engine(NULL, true, err, sizeof err);
    if (!e) {
        printf("skipped: %s\n", err);
        skip();
    }
    char *expected[LINES];
    for (size_t i = 0; i < LINES; i++) {
        expected[i] = work(e, i);
        assert_non_null(expected[i]);
    }
    pthread_t t[THREADS];
    job jobs[THREADS];
    for (int k = 0; k < THREADS; k++) {
        jobs[k] = (job){e, expected, 0};
        assert_int_equal(pthread_create(&t[k], NULL, run_job, &jobs[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        assert_true(jobs[k].ok);
    }
    for (size_t i = 0; i < LINES; i++)
        free(expected[i]);
    text_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t2s),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_dirty_file),
        cmocka_unit_test(test_dirty_file_errors),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
