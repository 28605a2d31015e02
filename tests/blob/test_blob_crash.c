/* test_blob_crash.c — overwrites killed at random moments: child processes, each with its own store
 * handle on one root, overwrite the same few keys with bodies of different sizes through blob_put
 * until the test SIGKILLs them all (30 rounds, 1–40 ms apart). After each round the store is
 * reopened and every object must be whole: its ETag is the MD5 of the bytes read, blob_head's size
 * is the number of bytes read, and no temporary or unreferenced object file is left in the root.
 * Its own executable because it forks. */
#include "blob_fixture.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

enum {
    ROUNDS = 30,     /* kills of the whole set of writers */
    WRITERS = 3,     /* concurrent child processes per round */
    NKEYS = 3,       /* keys every writer overwrites */
    MAX_BODY = 96 * 1024,
};

static const char *const keys[NKEYS] = {"hot/a", "hot/b", "hot/c"};

/* A child: puts bodies of random sizes (each byte the size's low byte, so equal sizes mean equal
 * bodies) to random keys until it is killed. */
static void writer(const char *root, unsigned seed)
{
    blob_params p = blob_default_params();
    p.root = root;
    char err[256];
    blob_store *bs = blob_open(&p, err, sizeof err);
    if (!bs)
        _exit(2);
    char *body = xmalloc(MAX_BODY);
    for (;;) {
        size_t n = (size_t)(rand_r(&seed) % MAX_BODY);
        memset(body, (int)(n & 0xff), n);
        blob_info info;
        if (blob_put(bs, BUCKET, keys[rand_r(&seed) % NKEYS], body, n, NULL, &info) != BLOB_OK)
            _exit(3);
    }
}

static const char *walk_root; /* nftw has no user pointer */
static int files_under_root;
static int count_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    const char *rel = path + strlen(walk_root);
    if (flag == FTW_F && (strncmp(rel, "/objects/", 9) == 0 || strncmp(rel, "/tmp/", 5) == 0))
        files_under_root++;
    return 0;
}

/* Every object is whole; returns the number of objects. */
static int check_objects(blob_store *bs, int round)
{
    int present = 0;
    for (int k = 0; k < NKEYS; k++) {
        blob_info head, opened;
        blob_rc rc = blob_head(bs, BUCKET, keys[k], strlen(keys[k]), &head);
        if (rc == BLOB_NO_KEY)
            continue;
        assert_int_equal(rc, BLOB_OK);
        present++;
        size_t n;
        char *data = bfx_read(bs, BUCKET, keys[k], strlen(keys[k]), &n, &opened);
        char md5[33];
        bfx_md5_hex(data, n, md5);
        if (strcmp(head.etag, md5) != 0 || head.size != (int64_t)n)
            fail_msg("round %d, %s: head says %lld bytes, ETag %s; read %zu bytes with MD5 %s", round, keys[k],
                     (long long)head.size, head.etag, n, md5);
        assert_string_equal(opened.etag, head.etag);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)data[i] != (n & 0xff))
                fail_msg("round %d, %s: byte %zu of %zu is %d", round, keys[k], i, n, data[i]);
        free(data);
    }
    return present;
}

static void test_kill_during_overwrites(void **state)
{
    bfixture *f = *state;
    blob_close(f->bs); /* the parent holds no handle while children write */
    f->bs = NULL;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("seed %u\n", seed);
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pids[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            unsigned child_seed = rand_r(&seed);
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0)
                writer(f->root, child_seed);
        }
        struct timespec ts = {0, (long)(1 + rand_r(&seed) % 40) * 1000000L};
        nanosleep(&ts, NULL);
        for (int i = 0; i < WRITERS; i++)
            kill(pids[i], SIGKILL);
        for (int i = 0; i < WRITERS; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            if (!WIFSIGNALED(status))
                fail_msg("round %d: writer exited with %d instead of being killed", round, WEXITSTATUS(status));
        }

        f->bs = bfx_open(f->root, 0);
        int present = check_objects(f->bs, round);
        walk_root = f->root;
        files_under_root = 0;
        nftw(f->root, count_file, 8, FTW_PHYS);
        if (files_under_root != present)
            fail_msg("round %d: %d files under objects/ and tmp/ for %d objects", round, files_under_root, present);
        blob_close(f->bs);
        f->bs = NULL;
    }
    f->bs = bfx_open(f->root, 0); /* for the teardown */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_during_overwrites, bfx_setup, bfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
