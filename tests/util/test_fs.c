/* test_fs.c — mkdir -p, bounded reads, atomic writes, CPU count; all inside a fresh temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

typedef struct fixture {
    char root[64];
} fixture;

static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            rm_tree(child);
        }
        if (d)
            closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->root, "/tmp/cicada-test-fs-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->root);
    free(f);
    return 0;
}

static char *join(const fixture *f, const char *rel)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s/%s", f->root, rel);
    return buf_steal(&b);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdirs(void **state)
{
    fixture *f = *state;
    char *deep = join(f, "a/b//c/d/");
    assert_true(fs_mkdirs(deep, 0755));
    assert_true(is_dir(deep));
    assert_true(fs_mkdirs(deep, 0755)); /* idempotent */
    free(deep);

    char *file = join(f, "a/file");
    assert_true(fs_write_file_atomic(file, "x", 1, 0644));
    char *under_file = join(f, "a/file/sub");
    assert_false(fs_mkdirs(under_file, 0755));
    assert_false(fs_mkdirs(file, 0755));
    assert_false(fs_mkdirs("", 0755));
    free(file);
    free(under_file);
}

static void test_write_then_read(void **state)
{
    fixture *f = *state;
    char *p = join(f, "data.bin");
    char payload[3000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (char)(i * 7);
    assert_true(fs_write_file_atomic(p, payload, sizeof payload, 0600));
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char *data = NULL;
    size_t len = 0;
    assert_true(fs_read_file(p, &data, &len, 0));
    assert_int_equal(len, sizeof payload);
    assert_memory_equal(data, payload, sizeof payload);
    assert_int_equal(data[len], '\0');
    free(data);

    assert_true(fs_read_file(p, &data, &len, sizeof payload)); /* exactly at the limit */
    free(data);
    data = NULL;
    assert_false(fs_read_file(p, &data, &len, sizeof payload - 1));
    assert_null(data);

    /* replacing keeps no temp files behind */
    assert_true(fs_write_file_atomic(p, "short", 5, 0644));
    assert_true(fs_read_file(p, &data, NULL, 100));
    assert_string_equal(data, "short");
    free(data);
    DIR *d = opendir(f->root);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    free(p);
}

static void test_read_empty_and_missing(void **state)
{
    fixture *f = *state;
    char *p = join(f, "empty");
    assert_true(fs_write_file_atomic(p, "", 0, 0644));
    char *data = NULL;
    size_t len = 99;
    assert_true(fs_read_file(p, &data, &len, 10));
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    free(p);

    char *missing = join(f, "nope");
    assert_false(fs_read_file(missing, &data, &len, 0));
    free(missing);
}

static void test_write_into_missing_dir_fails(void **state)
{
    fixture *f = *state;
    char *p = join(f, "no/such/dir/file");
    assert_false(fs_write_file_atomic(p, "x", 1, 0644));
    free(p);
}

static void test_cpu_count(void **state)
{
    (void)state;
    int n = fs_cpu_count();
    assert_true(n >= 1);
    assert_true(n <= sysconf(_SC_NPROCESSORS_CONF) || n <= 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_empty_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_into_missing_dir_fails, setup, teardown),
        cmocka_unit_test(test_cpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
