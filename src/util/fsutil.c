/* fsutil.c — the few file-system operations the server needs: mkdir -p, bounded whole-file reads,
 * crash-safe replacement of a file (temp + fsync + rename + directory fsync), and the CPU count. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool mkdir_one(const char *path, int mode)
{
    if (mkdir(path, (mode_t)mode) == 0)
        return true;
    struct stat st;
    return errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_mkdirs(const char *path, int mode)
{
    if (!path || !*path)
        return false;
    char *p = xstrdup(path);
    bool ok = true;
    for (char *s = p + 1; *s && ok; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (s[-1] != '/')
            ok = mkdir_one(p, mode);
        *s = '/';
    }
    if (ok)
        ok = mkdir_one(p, mode);
    free(p);
    return ok;
}

/* Reads until EOF (works for pipes and /proc files too); max == 0 means no limit. */
bool fs_read_file(const char *path, char **out, size_t *len, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (max == 0)
        max = SIZE_MAX - 1;
    buf b;
    buf_init(&b);
    buf_append(&b, "", 0);
    bool ok = true;
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = false;
            break;
        }
        if (n == 0)
            break;
        if ((size_t)n > max - b.len) {
            ok = false;
            errno = EFBIG;
            break;
        }
        buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    if (!ok) {
        buf_free(&b);
        return false;
    }
    if (len)
        *len = b.len;
    *out = buf_steal(&b);
    return true;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* fsyncs the directory holding path so a rename into it survives a crash. */
static void fsync_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

bool fs_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
    buf tmp;
    buf_init(&tmp);
    buf_printf(&tmp, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp.data, O_CLOEXEC);
    if (fd < 0) {
        buf_free(&tmp);
        return false;
    }
    bool ok = write_all(fd, data, len) && fchmod(fd, (mode_t)mode) == 0 && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    if (ok)
        ok = rename(tmp.data, path) == 0;
    if (ok) {
        fsync_parent_dir(path);
    } else {
        int saved = errno;
        unlink(tmp.data);
        errno = saved;
    }
    buf_free(&tmp);
    return ok;
}

int fs_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < INT_MAX ? (int)n : 1;
}
