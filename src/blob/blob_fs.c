/* blob_fs.c — the embedded object store's file-system backend (see blob_internal.h): one file per
 * written version of an object under root/objects/<2 hex>/<sha256 hex of bucket "\0" key>.<32
 * random hex>, so no key can ever name a path of its own; a SQLite index (root/index.db) of buckets
 * and objects for head and listing in byte order, whose row for an object names its current file;
 * streaming puts into root/tmp (blob.c computes their MD5 ETag on the way).
 *
 * Publishing a put, in this order, so that a crash (kill -9, power loss) at any point leaves every
 * object either wholly old or wholly new, never an index row describing other bytes:
 *   1. the temp file is fsync'd and renamed to its new, never used file name in objects/ (its
 *      directory fsync'd): no row names it yet, so no reader can see it;
 *   2. one index transaction reads the file the row named so far and points the row at the new
 *      file: its COMMIT is the single publish point (before it the old object is current, after it
 *      the new one);
 *   3. after the commit the old file is removed.
 * A crash before 2 leaves an unreferenced new file (and perhaps a temp file), a crash between 2 and
 * 3 an unreferenced old one: blob_open removes such debris (see cleanup_debris). Readers open the
 * file the row names; a file is never rewritten, only created under a new name and later removed.
 * blob_delete removes the row first and the file after, for the same reason.
 *
 * Index versions (PRAGMA user_version), upgraded in place by open_index:
 *   1  buckets and objects; an object's file was root/objects/<2 hex>/<sha256 hex>, overwritten in
 *      place by each put (not crash-safe: the rename preceded the commit).
 *   2  objects.file names the object's file; version-1 rows keep their file (file = the bare hash),
 *      and their next put moves them to a versioned name. */
#include "blob/blob_internal.h"

#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STALE_MS (3600 * 1000LL)   /* debris age that proves no live process still owns it */
#define SHA256_HEX 64
#define VERSION_HEX 32             /* random file version: 128 bits, never reused in practice */
#define FILE_NAME_MAX (SHA256_HEX + 1 + VERSION_HEX + 1)
#define INDEX_VERSION 2            /* PRAGMA user_version this code writes */
#define OPEN_READ_TRIES 8          /* another process may replace a file between lookup and open */

/* Index migrations: migrations[v] takes an index from version v to v + 1 (0 is an empty file). */
static const char *const migrations[INDEX_VERSION] = {
    /* 0 → 1 (IF NOT EXISTS: version 1 wrote its tables and its version in separate statements) */
    "CREATE TABLE IF NOT EXISTS buckets(name TEXT PRIMARY KEY, create_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS objects("
    "  bucket TEXT NOT NULL,"
    "  key BLOB NOT NULL," /* always bound as a BLOB: compared byte by byte */
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  mtime_ms INTEGER NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  PRIMARY KEY(bucket, key)) WITHOUT ROWID;",
    /* 1 → 2: rows name their file; version-1 files keep their bare-hash name */
    "ALTER TABLE objects ADD COLUMN file TEXT NOT NULL DEFAULT '';"
    "UPDATE objects SET file = blob_legacy_file(bucket, key);"
    "CREATE UNIQUE INDEX IF NOT EXISTS objects_file ON objects(file);",
};

typedef struct fs_store {
    char *root;
    char *tmp_dir;
    char *obj_dir;
    int64_t max_size;
    int lock_fd;        /* root/lock, held shared while open (see cleanup_debris) */
    sqlite3 *db;
    pthread_mutex_t mu; /* guards db; held from an index lookup to the open of the file it names */
} fs_store;

typedef struct fs_writer {
    fs_store *bs;
    char bucket[BLOB_BUCKET_MAX + 1];
    char *key;
    size_t keylen;
    char content_type[128];
    char tmp_path[PATH_MAX]; /* empty once the file has moved to objects/ */
    char file[FILE_NAME_MAX]; /* the object file this put creates */
    int fd;
} fs_writer;

/* ---- names ---- */

/* hex receives the SHA-256 of bucket "\0" key: the stem of every file of that object. */
static void object_hash(const char *bucket, const char *key, size_t keylen, char hex[SHA256_HEX + 1])
{
    unsigned char digest[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int dlen = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, bucket, strlen(bucket) + 1) != 1 || EVP_DigestUpdate(ctx, key, keylen) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &dlen) != 1) {
        log_error("blob: SHA-256 unavailable");
        abort(); /* the default OpenSSL provider always has SHA-256 */
    }
    EVP_MD_CTX_free(ctx);
    hex_encode(digest, sizeof digest, hex);
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* An object file name: <64 hex> (version 1) or <64 hex>.<32 hex>. Anything else in objects/ is
 * not ours, and an index row naming anything else is corrupt (it could name a path elsewhere). */
static bool file_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == SHA256_HEX)
        return all_hex(name, n);
    return n == FILE_NAME_MAX - 1 && name[SHA256_HEX] == '.' && all_hex(name, SHA256_HEX) &&
           all_hex(name + SHA256_HEX + 1, VERSION_HEX);
}

/* root/objects/<first 2 hex of file>/<file>; dir_out (if given) receives root/objects/<2 hex>. */
static void file_path(const fs_store *bs, const char *file, char *out, size_t outlen, char *dir_out, size_t dirlen)
{
    snprintf(out, outlen, "%s/%.2s/%s", bs->obj_dir, file, file);
    if (dir_out)
        snprintf(dir_out, dirlen, "%s/%.2s", bs->obj_dir, file);
}

/* ---- small file-system helpers ---- */

static bool fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* mkdir that tolerates an existing directory; makes a new one durable in its parent. */
static bool ensure_dir(const char *dir, const char *parent)
{
    if (mkdir(dir, 0755) == 0)
        return !parent || fsync_dir(parent);
    return errno == EEXIST;
}

static bool write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ---- index helpers (callers hold bs->mu) ---- */

static bool db_exec(fs_store *bs, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(bs->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    log_error("blob index: %s: %s", sql, msg ? msg : sqlite3_errmsg(bs->db));
    sqlite3_free(msg);
    return false;
}

static sqlite3_stmt *db_prepare(fs_store *bs, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(bs->db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("blob index: %s: %s", sql, sqlite3_errmsg(bs->db));
        return NULL;
    }
    return st;
}

static bool bucket_exists_locked(fs_store *bs, const char *bucket)
{
    sqlite3_stmt *st = db_prepare(bs, "SELECT 1 FROM buckets WHERE name = ?1");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static void read_info(sqlite3_stmt *st, int first, blob_info *out)
{
    memset(out, 0, sizeof *out);
    out->size = sqlite3_column_int64(st, first);
    const unsigned char *etag = sqlite3_column_text(st, first + 1);
    strlcpy_ok(out->etag, etag ? (const char *)etag : "", sizeof out->etag);
    out->mtime_ms = sqlite3_column_int64(st, first + 2);
    const unsigned char *ct = sqlite3_column_text(st, first + 3);
    strlcpy_ok(out->content_type, ct ? (const char *)ct : "", sizeof out->content_type);
}

/* Copies a file column into file[FILE_NAME_MAX]; false (logged) if it is not an object file name. */
static bool read_file_column(sqlite3_stmt *st, int col, char *file)
{
    const unsigned char *name = sqlite3_column_text(st, col);
    if (!name || strlen((const char *)name) >= FILE_NAME_MAX || !file_name_valid((const char *)name)) {
        log_error("blob index: an object row names the file \"%s\": the index is corrupt", name ? (char *)name : "");
        return false;
    }
    strlcpy_ok(file, (const char *)name, FILE_NAME_MAX);
    return true;
}

/* Looks up one object's index row: BLOB_OK, BLOB_NO_KEY or BLOB_NO_BUCKET (BLOB_IO on a corrupt
 * row). file (if given, FILE_NAME_MAX bytes) receives the name of its current file. */
static blob_rc lookup_locked(fs_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out,
                             char *file)
{
    sqlite3_stmt *st = db_prepare(
        bs, "SELECT size, etag, mtime_ms, content_type, file FROM objects WHERE bucket = ?1 AND key = ?2");
    if (!st)
        return BLOB_IO;
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, (int)keylen, SQLITE_STATIC);
    int r = sqlite3_step(st);
    blob_rc rc = BLOB_IO;
    if (r == SQLITE_ROW) {
        if (out)
            read_info(st, 0, out);
        rc = !file || read_file_column(st, 4, file) ? BLOB_OK : BLOB_IO;
    } else if (r == SQLITE_DONE) {
        rc = bucket_exists_locked(bs, bucket) ? BLOB_NO_KEY : BLOB_NO_BUCKET;
    } else {
        log_error("blob index lookup: %s", sqlite3_errmsg(bs->db));
    }
    sqlite3_finalize(st);
    return rc;
}

static bool upsert_locked(fs_store *bs, const fs_writer *w, const blob_info *info)
{
    sqlite3_stmt *st = db_prepare(bs,
                                  "INSERT INTO objects(bucket, key, size, etag, mtime_ms, content_type, file)"
                                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(bucket, key) DO UPDATE SET"
                                  " size = excluded.size, etag = excluded.etag, mtime_ms = excluded.mtime_ms,"
                                  " content_type = excluded.content_type, file = excluded.file");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, w->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, w->key, (int)w->keylen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, info->size);
    sqlite3_bind_text(st, 4, info->etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, info->mtime_ms);
    sqlite3_bind_text(st, 6, info->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, w->file, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        log_error("blob index upsert: %s", sqlite3_errmsg(bs->db));
    sqlite3_finalize(st);
    return ok;
}

/* true if an index row names file (on an index error too: never remove what may be in use). */
static bool file_referenced_locked(fs_store *bs, const char *file)
{
    sqlite3_stmt *st = db_prepare(bs, "SELECT 1 FROM objects WHERE file = ?1");
    if (!st)
        return true;
    sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r != SQLITE_DONE;
}

/* ---- open / close ---- */

static char *join_path(const char *a, const char *b)
{
    buf p;
    buf_init(&p);
    buf_printf(&p, "%s/%s", a, b);
    return buf_steal(&p);
}

/* SQL blob_legacy_file(bucket, key): the file name version 1 gave an object (migration 1 → 2). */
static void legacy_file_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *bucket = (const char *)sqlite3_value_text(argv[0]);
    const void *key = sqlite3_value_blob(argv[1]);
    int keylen = sqlite3_value_bytes(argv[1]);
    char hex[SHA256_HEX + 1];
    object_hash(bucket ? bucket : "", key ? key : "", (size_t)keylen, hex);
    sqlite3_result_text(ctx, hex, SHA256_HEX, SQLITE_TRANSIENT);
}

/* Brings the index to INDEX_VERSION in one transaction (so concurrent opens migrate once). */
static bool migrate_index(fs_store *bs, char *err, size_t errlen)
{
    if (sqlite3_create_function(bs->db, "blob_legacy_file", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                legacy_file_sql, NULL, NULL) != SQLITE_OK ||
        !db_exec(bs, "BEGIN IMMEDIATE")) {
        snprintf(err, errlen, "cannot set up the object index: %s", sqlite3_errmsg(bs->db));
        return false;
    }
    sqlite3_stmt *st = db_prepare(bs, "PRAGMA user_version");
    int version = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    bool ok = version >= 0 && version <= INDEX_VERSION;
    if (!ok)
        snprintf(err, errlen, "the object index has version %d; this build knows versions up to %d", version,
                 INDEX_VERSION);
    for (int v = version; ok && v < INDEX_VERSION; v++)
        if (!db_exec(bs, migrations[v])) {
            snprintf(err, errlen, "cannot upgrade the object index from version %d: %s", v, sqlite3_errmsg(bs->db));
            ok = false;
        }
    char set_version[64];
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", INDEX_VERSION);
    if (ok && version < INDEX_VERSION && !db_exec(bs, set_version)) {
        snprintf(err, errlen, "cannot upgrade the object index: %s", sqlite3_errmsg(bs->db));
        ok = false;
    }
    if (ok && !db_exec(bs, "COMMIT")) {
        snprintf(err, errlen, "cannot set up the object index: %s", sqlite3_errmsg(bs->db));
        ok = false;
    }
    if (!ok)
        db_exec(bs, "ROLLBACK");
    else if (version < INDEX_VERSION && version > 0)
        log_info("blob: upgraded the object index from version %d to %d", version, INDEX_VERSION);
    return ok;
}

static bool open_index(fs_store *bs, char *err, size_t errlen)
{
    char *path = join_path(bs->root, "index.db");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int r = sqlite3_open_v2(path, &bs->db, flags, NULL);
    free(path);
    if (r != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the object index: %s", bs->db ? sqlite3_errmsg(bs->db) : "out of memory");
        return false;
    }
    sqlite3_busy_timeout(bs->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(bs->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up the object index: %s", msg ? msg : sqlite3_errmsg(bs->db));
        sqlite3_free(msg);
        return false;
    }
    return migrate_index(bs, err, errlen);
}

/* Debris a crash leaves (see the top of the file): temp files in tmp/, and object files that no
 * index row names. Both are garbage unless a live process sharing the root is in the middle of the
 * put that owns them, so which debris may go is decided by a lock, not by a guess: every open store
 * holds a shared flock on root/lock until blob_close. blob_open first tries to take it exclusively
 * without waiting; if that works no other process (or other handle) has the root open, and all
 * debris goes at once, however young. Otherwise only debris not written to for STALE_MS goes: a
 * live put writes its temp file at every chunk, and renames it into objects/ (which keeps its
 * mtime) right after the last write and just before its commit, so an hour of stillness proves it
 * dead (an upload idle that long has long been cut off by the HTTP layer); the rest waits for a
 * later sole open.
 * (A lock rather than an age alone because kill -9 and a restart take a second, and debris should
 * not outlive them; an age as the fallback because a busy shared root may never be opened alone.) */
static bool stale(const struct stat *st, int64_t now, bool alone)
{
    return alone || now - ((int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000) > STALE_MS;
}

static void remove_temps(fs_store *bs, bool alone)
{
    DIR *d = opendir(bs->tmp_dir);
    if (!d)
        return;
    int64_t now = time_now_ms();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG(st.st_mode) && stale(&st, now, alone))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Removes unreferenced object files from one objects/<2 hex> directory. One index lookup per file:
 * O(objects × log objects) at every open, about a second per 100,000 objects. */
static void remove_orphans_in(fs_store *bs, const char *sub, bool alone, int64_t now)
{
    char *dir = join_path(bs->obj_dir, sub);
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!file_name_valid(e->d_name) || strncmp(e->d_name, sub, 2) != 0 ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            !stale(&st, now, alone))
            continue;
        pthread_mutex_lock(&bs->mu);
        bool referenced = file_referenced_locked(bs, e->d_name);
        pthread_mutex_unlock(&bs->mu);
        if (!referenced && unlinkat(dirfd(d), e->d_name, 0) == 0)
            log_info("blob: removed %s/%s, an object file left by an interrupted put", sub, e->d_name);
    }
    closedir(d);
}

static void remove_orphans(fs_store *bs, bool alone)
{
    DIR *d = opendir(bs->obj_dir);
    if (!d)
        return;
    int64_t now = time_now_ms();
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strlen(e->d_name) == 2 && all_hex(e->d_name, 2))
            remove_orphans_in(bs, e->d_name, alone, now);
    closedir(d);
}

/* Takes the root's lock, clears debris, and leaves the lock held shared. */
static bool cleanup_debris(fs_store *bs, char *err, size_t errlen)
{
    char *path = join_path(bs->root, "lock");
    bs->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (bs->lock_fd < 0) {
        snprintf(err, errlen, "cannot open the object store's lock file: %s", strerror(errno));
        return false;
    }
    bool alone = flock(bs->lock_fd, LOCK_EX | LOCK_NB) == 0;
    if (!alone && flock(bs->lock_fd, LOCK_SH) != 0) { /* waits while a sole opener cleans up */
        snprintf(err, errlen, "cannot lock the object store: %s", strerror(errno));
        return false;
    }
    remove_temps(bs, alone);
    remove_orphans(bs, alone);
    /* a downgrade is not atomic: another opener may take the lock exclusively in between, and this
     * call then waits for it; both clean-ups happen before either store is used */
    if (alone && flock(bs->lock_fd, LOCK_SH) != 0) {
        snprintf(err, errlen, "cannot lock the object store: %s", strerror(errno));
        return false;
    }
    return true;
}

static void fs_close(void *impl)
{
    fs_store *bs = impl;
    if (!bs)
        return;
    sqlite3_close(bs->db);
    if (bs->lock_fd >= 0)
        close(bs->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&bs->mu);
    free(bs->root);
    free(bs->tmp_dir);
    free(bs->obj_dir);
    free(bs);
}

void *blob_fs_open(const blob_params *p, char *err, size_t errlen)
{
    if (!p->root || !p->root[0] || strlen(p->root) > PATH_MAX - 200) {
        snprintf(err, errlen, "object store root is empty or too long");
        return NULL;
    }
    fs_store *bs = xcalloc(1, sizeof *bs);
    pthread_mutex_init(&bs->mu, NULL);
    bs->lock_fd = -1;
    bs->root = xstrdup(p->root);
    bs->tmp_dir = join_path(p->root, "tmp");
    bs->obj_dir = join_path(p->root, "objects");
    if (!fs_mkdirs(bs->root, 0755) || !ensure_dir(bs->tmp_dir, NULL) || !ensure_dir(bs->obj_dir, NULL)) {
        snprintf(err, errlen, "cannot create the object store under %s: %s", bs->root, strerror(errno));
        fs_close(bs);
        return NULL;
    }
    if (!open_index(bs, err, errlen) || !cleanup_debris(bs, err, errlen)) {
        fs_close(bs);
        return NULL;
    }
    return bs;
}

/* ---- buckets ---- */

static blob_rc fs_bucket_create(void *impl, const char *bucket)
{
    fs_store *bs = impl;
    pthread_mutex_lock(&bs->mu);
    sqlite3_stmt *st = db_prepare(bs, "INSERT INTO buckets(name, create_ms) VALUES(?1, ?2) ON CONFLICT DO NOTHING");
    blob_rc rc = BLOB_IO;
    if (st) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, time_now_ms());
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = BLOB_OK;
        else
            log_error("blob bucket create: %s", sqlite3_errmsg(bs->db));
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

static blob_rc fs_bucket_exists(void *impl, const char *bucket)
{
    fs_store *bs = impl;
    pthread_mutex_lock(&bs->mu);
    bool found = bucket_exists_locked(bs, bucket);
    pthread_mutex_unlock(&bs->mu);
    return found ? BLOB_OK : BLOB_NO_BUCKET;
}

static blob_rc fs_bucket_check(void *impl, const char *bucket, char *why, size_t whylen)
{
    fs_store *bs = impl;
    const char *dirs[] = {bs->obj_dir, bs->tmp_dir};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (access(dirs[i], R_OK | W_OK | X_OK) != 0) {
            err_printf(why, whylen, "%s: %s", dirs[i], strerror(errno));
            return BLOB_IO;
        }
    }
    return fs_bucket_exists(impl, bucket);   /* the index: never cached */
}

/* ---- streaming put ---- */

static void fs_put_abort(void *wp)
{
    fs_writer *w = wp;
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->fd >= 0 && w->tmp_path[0])
        unlink(w->tmp_path);
    free(w->key);
    free(w);
}

static blob_rc fs_put_begin(void *impl, const char *bucket, const char *key, size_t keylen, const char *content_type,
                            void **out)
{
    fs_store *bs = impl;
    fs_writer *w = xcalloc(1, sizeof *w);
    w->bs = bs;
    strlcpy_ok(w->bucket, bucket, sizeof w->bucket);
    w->key = xmalloc(keylen);
    memcpy(w->key, key, keylen);
    w->keylen = keylen;
    strlcpy_ok(w->content_type, content_type, sizeof w->content_type);
    object_hash(bucket, key, keylen, w->file);
    w->file[SHA256_HEX] = '.';
    ids_random_hex(w->file + SHA256_HEX + 1, VERSION_HEX);
    char name[33];
    ids_random_hex(name, 32);
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/%s.part", bs->tmp_dir, name);
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        log_error("blob: cannot start %s: %s", w->tmp_path, strerror(errno));
        fs_put_abort(w);
        return BLOB_IO;
    }
    *out = w;
    return BLOB_OK;
}

static blob_rc fs_put_write(void *wp, const void *data, size_t n)
{
    fs_writer *w = wp;
    if (!write_all(w->fd, data, n)) {
        log_error("blob: writing %s: %s", w->tmp_path, strerror(errno));
        return BLOB_IO;
    }
    return BLOB_OK;
}

/* Flushes the temp file to disk and fills info (size, etag, mtime, type). */
static bool finish_temp(fs_writer *w, const char *md5, int64_t size, blob_info *info)
{
    if (fsync(w->fd) != 0) {
        log_error("blob: flushing %s: %s", w->tmp_path, strerror(errno));
        return false;
    }
    memset(info, 0, sizeof *info);
    info->size = size;
    strlcpy_ok(info->etag, md5, sizeof info->etag);
    info->mtime_ms = time_now_ms();
    strlcpy_ok(info->content_type, w->content_type, sizeof info->content_type);
    return true;
}

/* Step 1 of a publish: the temp file becomes w->file in objects/, durably, still unreferenced. */
static bool move_into_objects(fs_writer *w, const char *path, const char *dir)
{
    if (!ensure_dir(dir, w->bs->obj_dir)) {
        log_error("blob: cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    if (rename(w->tmp_path, path) != 0) {
        log_error("blob: rename to %s: %s", path, strerror(errno));
        return false;
    }
    w->tmp_path[0] = '\0'; /* nothing left in tmp/ for abort to remove */
    if (!fsync_dir(dir))
        log_warn("blob: fsync of %s: %s", dir, strerror(errno));
    return true;
}

/* Step 2: the row points at w->file; old (FILE_NAME_MAX bytes) receives the file it named before,
 * or "" for a new object. The COMMIT is the publish point. */
static blob_rc point_row(fs_writer *w, const blob_info *info, char *old)
{
    fs_store *bs = w->bs;
    old[0] = '\0';
    pthread_mutex_lock(&bs->mu);
    if (!db_exec(bs, "BEGIN IMMEDIATE")) {
        pthread_mutex_unlock(&bs->mu);
        return BLOB_IO;
    }
    blob_rc rc = lookup_locked(bs, w->bucket, w->key, w->keylen, NULL, old);
    if (rc == BLOB_NO_KEY) {
        old[0] = '\0';
        rc = BLOB_OK;
    }
    if (rc == BLOB_OK && !upsert_locked(bs, w, info))
        rc = BLOB_IO;
    if (rc == BLOB_OK && !db_exec(bs, "COMMIT"))
        rc = BLOB_IO;
    if (rc != BLOB_OK)
        db_exec(bs, "ROLLBACK");
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

/* Publishes a finished temp file (see the top of the file). Concurrent puts of one key each
 * create their own file; the last commit wins and each removes the file it replaced. */
static blob_rc publish(fs_writer *w, const blob_info *info)
{
    char path[PATH_MAX], dir[PATH_MAX], old[FILE_NAME_MAX], old_path[PATH_MAX];
    file_path(w->bs, w->file, path, sizeof path, dir, sizeof dir);
    if (!move_into_objects(w, path, dir))
        return BLOB_IO;
    blob_rc rc = point_row(w, info, old);
    if (rc != BLOB_OK) {
        unlink(path); /* never published */
        return rc;
    }
    /* step 3; a reader of this process that found the old row opened its file under bs->mu before
     * the commit, and another process's reader that loses the race retries (blob_open_read) */
    if (old[0]) {
        file_path(w->bs, old, old_path, sizeof old_path, NULL, 0);
        if (unlink(old_path) != 0 && errno != ENOENT)
            log_warn("blob: cannot remove %s: %s", old_path, strerror(errno));
    }
    return BLOB_OK;
}

static blob_rc fs_put_commit(void *wp, const char *md5, int64_t size, blob_info *out)
{
    fs_writer *w = wp;
    blob_info info;
    blob_rc rc = finish_temp(w, md5, size, &info) ? publish(w, &info) : BLOB_IO;
    if (rc == BLOB_OK)
        *out = info;
    fs_put_abort(w); /* frees w; removes the temp file unless it was moved */
    return rc;
}

/* ---- reads and deletes ---- */

static blob_rc fs_head(void *impl, const char *bucket, const char *key, size_t keylen, blob_info *out)
{
    fs_store *bs = impl;
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = lookup_locked(bs, bucket, key, keylen, out, NULL);
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

static blob_rc fs_open_read(void *impl, const char *bucket, const char *key, size_t keylen, int *fd, blob_info *out)
{
    fs_store *bs = impl;
    *fd = -1;
    char file[FILE_NAME_MAX], path[PATH_MAX];
    blob_rc rc = BLOB_IO;
    /* the row and the file we open belong together: bs->mu keeps this process's puts from removing
     * the file in between; a put in another process may, and then the row has moved on: look again */
    pthread_mutex_lock(&bs->mu);
    for (int tries = 0; tries < OPEN_READ_TRIES; tries++) {
        rc = lookup_locked(bs, bucket, key, keylen, out, file);
        if (rc != BLOB_OK)
            break;
        file_path(bs, file, path, sizeof path, NULL, 0);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd >= 0 || errno != ENOENT)
            break;
    }
    if (rc == BLOB_OK && *fd < 0) {
        log_error("blob: %s is indexed but cannot be opened: %s", path, strerror(errno));
        rc = BLOB_IO;
    }
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

/* The object's own file, with the range chosen against the size its row records. */
static blob_rc fs_open_range(void *impl, const char *bucket, const char *key, size_t keylen, blob_range_fn choose,
                             void *ud, blob_reader *out, blob_info *info)
{
    int fd;
    blob_rc rc = fs_open_read(impl, bucket, key, keylen, &fd, info);
    if (rc != BLOB_OK)
        return rc;
    int64_t off = 0, len = info->size;
    if (!choose(ud, info, &off, &len)) {
        close(fd);
        return BLOB_OK;
    }
    out->fd = fd;
    out->seekable = true;
    out->offset = off;
    out->length = len;
    return BLOB_OK;
}

static blob_rc fs_delete(void *impl, const char *bucket, const char *key, size_t keylen)
{
    fs_store *bs = impl;
    char file[FILE_NAME_MAX] = "", path[PATH_MAX];
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = BLOB_IO;
    sqlite3_stmt *st = db_prepare(bs, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING file");
    if (st) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, key, (int)keylen, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            rc = read_file_column(st, 0, file) ? BLOB_OK : BLOB_IO;
            r = sqlite3_step(st);
        } else if (r == SQLITE_DONE) {
            rc = bucket_exists_locked(bs, bucket) ? BLOB_NO_KEY : BLOB_NO_BUCKET;
        }
        if (r != SQLITE_DONE) {
            log_error("blob delete: %s", sqlite3_errmsg(bs->db));
            rc = BLOB_IO;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&bs->mu);
    /* the row is gone first: a crash in between leaves an unreferenced file (removed at the next
     * open), never a dangling row */
    if (rc == BLOB_OK && file[0]) {
        file_path(bs, file, path, sizeof path, NULL, 0);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("blob: cannot remove %s: %s", path, strerror(errno));
    }
    return rc;
}

/* ---- listing ---- */

typedef struct bytes {
    char *p;
    size_t n;
} bytes;

/* The smallest byte string greater than every string starting with s; false when none exists. */
static bool successor(const char *s, size_t n, bytes *out)
{
    while (n > 0 && (unsigned char)s[n - 1] == 0xff)
        n--;
    if (n == 0)
        return false;
    free(out->p);
    out->p = xmalloc(n);
    memcpy(out->p, s, n);
    out->p[n - 1] = (char)((unsigned char)out->p[n - 1] + 1);
    out->n = n;
    return true;
}

typedef struct lister {
    blob_list_builder b;
    const char *prefix, *marker, *delim;
    size_t plen, mlen, dlen;
    int count, max;
    bytes lo;       /* inclusive lower bound of the next scan */
    bytes hi;       /* exclusive upper bound (end of the prefix range) */
    bool has_hi;
    const char *last;
} lister;

static void add_entry(lister *l, const char *key, size_t keylen, sqlite3_stmt *st)
{
    blob_entry *e = blob_list_add_entry(&l->b, key, keylen);
    read_info(st, 1, &e->info);
    l->last = e->key;
    l->count++;
}

static void add_prefix(lister *l, const char *cp, size_t cplen)
{
    blob_list_add_prefix(&l->b, cp, cplen);
    l->last = l->b.out->common_prefixes[l->b.out->nprefixes - 1];
    l->count++;
}

/* The common prefix of key under the delimiter, if any: its length, else 0. */
static size_t common_prefix_len(const lister *l, const char *key, size_t keylen)
{
    if (!l->dlen || keylen < l->plen)
        return 0;
    const char *at = memmem(key + l->plen, keylen - l->plen, l->delim, l->dlen);
    return at ? (size_t)(at - key) + l->dlen : 0;
}

typedef enum scan_end { SCAN_DONE, SCAN_SEEK, SCAN_TRUNCATED, SCAN_ERROR } scan_end;

/* One ordered scan from l->lo; stops early to seek past a common prefix. */
static scan_end scan(fs_store *bs, const char *bucket, lister *l)
{
    sqlite3_stmt *st = db_prepare(bs,
                                  "SELECT key, size, etag, mtime_ms, content_type FROM objects"
                                  " WHERE bucket = ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3)"
                                  " ORDER BY key LIMIT ?4");
    if (!st)
        return SCAN_ERROR;
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, l->lo.p ? l->lo.p : "", (int)l->lo.n, SQLITE_STATIC);
    if (l->has_hi)
        sqlite3_bind_blob(st, 3, l->hi.p, (int)l->hi.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, l->max - l->count + 1);
    scan_end end = SCAN_DONE;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = sqlite3_column_blob(st, 0);
        size_t keylen = (size_t)sqlite3_column_bytes(st, 0);
        if (l->count == l->max) {
            end = SCAN_TRUNCATED;
            break;
        }
        size_t cplen = common_prefix_len(l, key, keylen);
        if (!cplen) {
            add_entry(l, key, keylen, st);
            continue;
        }
        /* a prefix at or before the marker was already returned by an earlier page */
        if (blob_bytes_cmp(key, cplen, l->marker, l->mlen) > 0)
            add_prefix(l, key, cplen);
        end = successor(key, cplen, &l->lo) ? SCAN_SEEK : SCAN_DONE;
        break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        log_error("blob list: %s", sqlite3_errmsg(bs->db));
        end = SCAN_ERROR;
    }
    sqlite3_finalize(st);
    return end;
}

/* Sets the first lower bound: just after the marker, and no lower than the prefix. */
static void start_bounds(lister *l)
{
    l->lo.n = l->mlen + 1;
    l->lo.p = xmalloc(l->lo.n);
    memcpy(l->lo.p, l->marker, l->mlen);
    l->lo.p[l->mlen] = '\0'; /* marker + "\0" is the smallest key > marker */
    if (!l->mlen)
        l->lo.n = 0;
    if (blob_bytes_cmp(l->prefix, l->plen, l->lo.p, l->lo.n) > 0) {
        free(l->lo.p);
        l->lo.p = xstrndup(l->prefix, l->plen);
        l->lo.n = l->plen;
    }
    l->has_hi = l->plen && successor(l->prefix, l->plen, &l->hi);
}

static blob_rc fs_list(void *impl, const char *bucket, const char *prefix, const char *marker, const char *delimiter,
                       int max_keys, blob_list_result *out)
{
    fs_store *bs = impl;
    lister l = {.b = {.out = out}, .prefix = prefix, .marker = marker, .delim = delimiter, .max = max_keys};
    l.plen = strlen(l.prefix);
    l.mlen = strlen(l.marker);
    l.dlen = strlen(l.delim);
    start_bounds(&l);
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = bucket_exists_locked(bs, bucket) ? BLOB_OK : BLOB_NO_BUCKET;
    scan_end end = SCAN_SEEK;
    /* read every scan from one snapshot */
    if (rc == BLOB_OK && !db_exec(bs, "BEGIN"))
        rc = BLOB_IO;
    while (rc == BLOB_OK && end == SCAN_SEEK)
        end = scan(bs, bucket, &l);
    if (rc == BLOB_OK)
        db_exec(bs, "COMMIT");
    pthread_mutex_unlock(&bs->mu);
    if (rc == BLOB_OK && end == SCAN_ERROR)
        rc = BLOB_IO;
    if (rc == BLOB_OK && end == SCAN_TRUNCATED) {
        out->truncated = true;
        out->next_marker = xstrdup(l.last);
    }
    free(l.lo.p);
    free(l.hi.p);
    return rc;
}

const blob_backend blob_fs_backend = {
    .version = BLOB_BACKEND_VERSION,
    .name = "fs",
    .close = fs_close,
    .key_ok = NULL,
    .bucket_create = fs_bucket_create,
    .bucket_exists = fs_bucket_exists,
    .bucket_check = fs_bucket_check,
    .put_begin = fs_put_begin,
    .put_write = fs_put_write,
    .put_commit = fs_put_commit,
    .put_abort = fs_put_abort,
    .head = fs_head,
    .open_read = fs_open_read,
    .open_range = fs_open_range,
    .del = fs_delete,
    .list = fs_list,
};
