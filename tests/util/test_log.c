/* test_log.c — log line format and level filtering. stderr is redirected to a temp file to read
 * back what was written; CICADA_LOG is set before the first log call, so the lazy read sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static char g_path[] = "/tmp/cicada-test-log-XXXXXX";
static int g_saved_stderr = -1;

/* Sends stderr to a fresh temp file. */
static void capture_begin(void)
{
    fflush(stderr);
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    g_saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restores stderr and returns what was written (caller frees). */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(g_saved_stderr, STDERR_FILENO);
    close(g_saved_stderr);
    char *text = NULL;
    size_t len = 0;
    assert_true(fs_read_file(g_path, &text, &len, 0));
    unlink(g_path);
    strcpy(g_path, "/tmp/cicada-test-log-XXXXXX");
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_env_level_read_lazily(void **state)
{
    (void)state;
    capture_begin();
    log_info("hidden %d", 1);
    log_debug("hidden too");
    log_warn("shown %s", "warn");
    log_error("shown error");
    char *out = capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " WARN shown warn\n"));
    assert_non_null(strstr(out, " ERROR shown error\n"));
    free(out);
}

static void test_line_format(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    capture_begin();
    log_info("job %s started", "s1");
    char *out = capture_end();
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "INFO job s1 started\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("unexpected log line: %s", out);
    regfree(&re);
    free(out);
}

static void test_set_level_filters_and_one_line_per_record(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    capture_begin();
    log_warn("not shown");
    log_error("multi\nline\n");
    log_set_level(LOG_DEBUG);
    log_debug("debug now %d", 7);
    char *out = capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "not shown"));
    assert_non_null(strstr(out, " ERROR multi line\n"));
    assert_non_null(strstr(out, " DEBUG debug now 7\n"));
    free(out);
}

int main(void)
{
    setenv("CICADA_LOG", "warn", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_level_read_lazily),
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_set_level_filters_and_one_line_per_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
