/* blob_fs.c — the embedded object store: one file per object under root/objects/<2 hex>/<sha256 hex
 * of bucket "\0" key>, so no key can ever name a path of its own; a SQLite index (root/index.db)
 * of buckets and objects for head and listing in byte order; streaming puts into root/tmp that
 * compute the MD5 ETag on the way, are fsync'd and renamed over the final name together with the
 * index update, so a reader sees the old object or the new one, never a part. */
#include "blob/blob.h"

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
#include <sys/stat.h>
#include <unistd.h>

#define BLOB_BUCKET_MAX 63
#define STALE_TEMP_MS (24 * 3600 * 1000LL)
#define SHA256_HEX 64

static const char index_schema[] =
    "CREATE TABLE IF NOT EXISTS buckets(name TEXT PRIMARY KEY, create_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS objects("
    "  bucket TEXT NOT NULL,"
    "  key BLOB NOT NULL," /* always bound as a BLOB: compared byte by byte */
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  mtime_ms INTEGER NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  PRIMARY KEY(bucket, key)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

struct blob_store {
    char *root;
    char *tmp_dir;
    char *obj_dir;
    int64_t max_size;
    sqlite3 *db;
    pthread_mutex_t mu; /* guards db, and makes rename + index update one step */
};

struct blob_writer {
    blob_store *bs;
    char bucket[BLOB_BUCKET_MAX + 1];
    char *key;
    size_t keylen;
    char content_type[128];
    char tmp_path[PATH_MAX];
    int fd;
    EVP_MD_CTX *md5;
    int64_t size;
    blob_rc failed; /* BLOB_OK while healthy */
};

blob_params blob_default_params(void)
{
    blob_params p = {.root = "objects", .max_object_size = 5LL * 1024 * 1024 * 1024};
    return p;
}

const char *blob_rc_message(blob_rc rc)
{
    switch (rc) {
    case BLOB_OK: return "ok";
    case BLOB_NO_BUCKET: return "the bucket does not exist";
    case BLOB_NO_KEY: return "the key does not exist";
    case BLOB_INVALID: return "invalid bucket name or key";
    case BLOB_TOO_LARGE: return "the object is larger than the maximum object size";
    case BLOB_IO: return "storage failure";
    }
    return "unknown error";
}

/* ---- names ---- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^[a-z0-9][a-z0-9-]{0,48}-[0-9]+$, at most 63 characters. */
static bool bucket_valid(const char *b)
{
    if (!b)
        return false;
    size_t len = strnlen(b, BLOB_BUCKET_MAX + 1);
    const char *dash = strrchr(b, '-');
    if (len > BLOB_BUCKET_MAX || !dash || !dash[1])
        return false;
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    size_t name_len = (size_t)(dash - b);
    if (name_len < 1 || name_len > 49 || !is_lower_alnum(b[0]))
        return false;
    for (size_t i = 1; i < name_len; i++)
        if (!is_lower_alnum(b[i]) && b[i] != '-')
            return false;
    return true;
}

static bool key_valid(const char *key, size_t keylen)
{
    return key && keylen >= 1 && keylen <= BLOB_MAX_KEY && !memchr(key, '\0', keylen);
}

/* root/objects/<2 hex>/<64 hex>; dir_out (if given) receives root/objects/<2 hex>. */
static void object_path(const blob_store *bs, const char *bucket, const char *key, size_t keylen, char *out,
                        size_t outlen, char *dir_out, size_t dirlen)
{
    unsigned char digest[32];
    char hex[SHA256_HEX + 1];
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
    snprintf(out, outlen, "%s/%.2s/%s", bs->obj_dir, hex, hex);
    if (dir_out)
        snprintf(dir_out, dirlen, "%s/%.2s", bs->obj_dir, hex);
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

/* Removes temp files a crash left behind (only old ones: a live writer may share the root). */
static void remove_stale_temps(const char *tmp_dir)
{
    DIR *d = opendir(tmp_dir);
    if (!d)
        return;
    int64_t now = time_now_ms();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (S_ISREG(st.st_mode) && now - mtime_ms > STALE_TEMP_MS)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* ---- index helpers (callers hold bs->mu) ---- */

static bool db_exec(blob_store *bs, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(bs->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    log_error("blob index: %s: %s", sql, msg ? msg : sqlite3_errmsg(bs->db));
    sqlite3_free(msg);
    return false;
}

static sqlite3_stmt *db_prepare(blob_store *bs, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(bs->db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("blob index: %s: %s", sql, sqlite3_errmsg(bs->db));
        return NULL;
    }
    return st;
}

static bool bucket_exists_locked(blob_store *bs, const char *bucket)
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

/* Looks up one object's index row: BLOB_OK, BLOB_NO_KEY or BLOB_NO_BUCKET. */
static blob_rc lookup_locked(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out)
{
    sqlite3_stmt *st =
        db_prepare(bs, "SELECT size, etag, mtime_ms, content_type FROM objects WHERE bucket = ?1 AND key = ?2");
    if (!st)
        return BLOB_IO;
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, (int)keylen, SQLITE_STATIC);
    int r = sqlite3_step(st);
    blob_rc rc = BLOB_IO;
    if (r == SQLITE_ROW) {
        if (out)
            read_info(st, 0, out);
        rc = BLOB_OK;
    } else if (r == SQLITE_DONE) {
        rc = bucket_exists_locked(bs, bucket) ? BLOB_NO_KEY : BLOB_NO_BUCKET;
    } else {
        log_error("blob index lookup: %s", sqlite3_errmsg(bs->db));
    }
    sqlite3_finalize(st);
    return rc;
}

static bool upsert_locked(blob_store *bs, const blob_writer *w, const blob_info *info)
{
    sqlite3_stmt *st = db_prepare(bs,
                                  "INSERT INTO objects(bucket, key, size, etag, mtime_ms, content_type)"
                                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(bucket, key) DO UPDATE SET"
                                  " size = excluded.size, etag = excluded.etag, mtime_ms = excluded.mtime_ms,"
                                  " content_type = excluded.content_type");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, w->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, w->key, (int)w->keylen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, info->size);
    sqlite3_bind_text(st, 4, info->etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, info->mtime_ms);
    sqlite3_bind_text(st, 6, info->content_type, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        log_error("blob index upsert: %s", sqlite3_errmsg(bs->db));
    sqlite3_finalize(st);
    return ok;
}

/* ---- open / close ---- */

static char *join_path(const char *a, const char *b)
{
    buf p;
    buf_init(&p);
    buf_printf(&p, "%s/%s", a, b);
    return buf_steal(&p);
}

static bool open_index(blob_store *bs, char *err, size_t errlen)
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
    if (sqlite3_exec(bs->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(bs->db, index_schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up the object index: %s", msg ? msg : sqlite3_errmsg(bs->db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

void blob_close(blob_store *bs)
{
    if (!bs)
        return;
    sqlite3_close(bs->db);
    pthread_mutex_destroy(&bs->mu);
    free(bs->root);
    free(bs->tmp_dir);
    free(bs->obj_dir);
    free(bs);
}

blob_store *blob_open(const blob_params *p, char *err, size_t errlen)
{
    blob_params def = blob_default_params();
    if (!p)
        p = &def;
    if (!p->root || !p->root[0] || strlen(p->root) > PATH_MAX - 200) {
        snprintf(err, errlen, "object store root is empty or too long");
        return NULL;
    }
    blob_store *bs = xcalloc(1, sizeof *bs);
    pthread_mutex_init(&bs->mu, NULL);
    bs->root = xstrdup(p->root);
    bs->tmp_dir = join_path(p->root, "tmp");
    bs->obj_dir = join_path(p->root, "objects");
    bs->max_size = p->max_object_size > 0 ? p->max_object_size : def.max_object_size;
    if (!fs_mkdirs(bs->root, 0755) || !ensure_dir(bs->tmp_dir, NULL) || !ensure_dir(bs->obj_dir, NULL)) {
        snprintf(err, errlen, "cannot create the object store under %s: %s", bs->root, strerror(errno));
        blob_close(bs);
        return NULL;
    }
    if (!open_index(bs, err, errlen)) {
        blob_close(bs);
        return NULL;
    }
    remove_stale_temps(bs->tmp_dir);
    return bs;
}

/* ---- buckets ---- */

blob_rc blob_bucket_create(blob_store *bs, const char *bucket)
{
    if (!bucket_valid(bucket))
        return BLOB_INVALID;
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

bool blob_bucket_exists(blob_store *bs, const char *bucket)
{
    if (!bucket_valid(bucket))
        return false;
    pthread_mutex_lock(&bs->mu);
    bool found = bucket_exists_locked(bs, bucket);
    pthread_mutex_unlock(&bs->mu);
    return found;
}

/* ---- streaming put ---- */

blob_rc blob_put_begin(blob_store *bs, const char *bucket, const char *key, size_t keylen, const char *content_type,
                       blob_writer **out)
{
    *out = NULL;
    if (!bucket_valid(bucket) || !key_valid(key, keylen))
        return BLOB_INVALID;
    if (!blob_bucket_exists(bs, bucket))
        return BLOB_NO_BUCKET;
    blob_writer *w = xcalloc(1, sizeof *w);
    w->bs = bs;
    strlcpy_ok(w->bucket, bucket, sizeof w->bucket);
    w->key = xmalloc(keylen);
    memcpy(w->key, key, keylen);
    w->keylen = keylen;
    strlcpy_ok(w->content_type, content_type && content_type[0] ? content_type : "application/octet-stream",
               sizeof w->content_type);
    char name[33];
    ids_random_hex(name, 32);
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/%s.part", bs->tmp_dir, name);
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    w->md5 = EVP_MD_CTX_new();
    if (w->fd < 0 || !w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        log_error("blob: cannot start %s: %s", w->tmp_path, w->fd < 0 ? strerror(errno) : "MD5 unavailable");
        blob_put_abort(w);
        return BLOB_IO;
    }
    *out = w;
    return BLOB_OK;
}

blob_rc blob_put_write(blob_writer *w, const void *data, size_t n)
{
    if (w->failed != BLOB_OK)
        return w->failed;
    if (n > (uint64_t)(w->bs->max_size - w->size)) {
        w->failed = BLOB_TOO_LARGE;
        return w->failed;
    }
    if (!write_all(w->fd, data, n) || EVP_DigestUpdate(w->md5, data, n) != 1) {
        log_error("blob: writing %s: %s", w->tmp_path, strerror(errno));
        w->failed = BLOB_IO;
        return w->failed;
    }
    w->size += (int64_t)n;
    return BLOB_OK;
}

void blob_put_abort(blob_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp_path);
    }
    EVP_MD_CTX_free(w->md5);
    free(w->key);
    free(w);
}

/* Flushes the temp file to disk and fills info (size, etag, mtime, type). */
static bool finish_temp(blob_writer *w, blob_info *info)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (fsync(w->fd) != 0 || EVP_DigestFinal_ex(w->md5, digest, &dlen) != 1 || dlen != 16) {
        log_error("blob: flushing %s: %s", w->tmp_path, strerror(errno));
        return false;
    }
    memset(info, 0, sizeof *info);
    info->size = w->size;
    hex_encode(digest, dlen, info->etag);
    info->mtime_ms = time_now_ms();
    strlcpy_ok(info->content_type, w->content_type, sizeof info->content_type);
    return true;
}

/* The visible switch: index row and file change together under the index lock, so concurrent
 * puts of one key leave the index describing the file that won. */
static blob_rc publish(blob_writer *w, const blob_info *info)
{
    blob_store *bs = w->bs;
    char path[PATH_MAX], dir[PATH_MAX];
    object_path(bs, w->bucket, w->key, w->keylen, path, sizeof path, dir, sizeof dir);
    if (!ensure_dir(dir, bs->obj_dir)) {
        log_error("blob: cannot create %s: %s", dir, strerror(errno));
        return BLOB_IO;
    }
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = BLOB_IO;
    if (!db_exec(bs, "BEGIN IMMEDIATE")) {
        pthread_mutex_unlock(&bs->mu);
        return BLOB_IO;
    }
    bool ok = bucket_exists_locked(bs, w->bucket);
    if (!ok)
        rc = BLOB_NO_BUCKET;
    ok = ok && upsert_locked(bs, w, info);
    if (ok && rename(w->tmp_path, path) != 0) {
        log_error("blob: rename to %s: %s", path, strerror(errno));
        ok = false;
    }
    if (ok) {
        close(w->fd);
        w->fd = -1; /* the temp file is gone: nothing left for abort to remove */
        if (!fsync_dir(dir))
            log_warn("blob: fsync of %s: %s", dir, strerror(errno));
    }
    if (ok && db_exec(bs, "COMMIT"))
        rc = BLOB_OK;
    else
        db_exec(bs, "ROLLBACK");
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

blob_rc blob_put_commit(blob_writer *w, blob_info *out)
{
    blob_rc rc = w->failed;
    blob_info info;
    if (rc == BLOB_OK)
        rc = finish_temp(w, &info) ? publish(w, &info) : BLOB_IO;
    if (rc == BLOB_OK && out)
        *out = info;
    blob_put_abort(w); /* frees w; removes the temp file unless it was published */
    return rc;
}

blob_rc blob_put(blob_store *bs, const char *bucket, const char *key, const void *data, size_t n,
                 const char *content_type, blob_info *out)
{
    if (!key)
        return BLOB_INVALID;
    blob_writer *w;
    blob_rc rc = blob_put_begin(bs, bucket, key, strlen(key), content_type, &w);
    if (rc != BLOB_OK)
        return rc;
    rc = blob_put_write(w, data, n);
    if (rc != BLOB_OK) {
        blob_put_abort(w);
        return rc;
    }
    return blob_put_commit(w, out);
}

/* ---- reads and deletes ---- */

blob_rc blob_head(blob_store *bs, const char *bucket, const char *key, size_t keylen, blob_info *out)
{
    if (!bucket_valid(bucket) || !key_valid(key, keylen))
        return BLOB_INVALID;
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = lookup_locked(bs, bucket, key, keylen, out);
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

blob_rc blob_open_read(blob_store *bs, const char *bucket, const char *key, size_t keylen, int *fd, blob_info *out)
{
    *fd = -1;
    if (!bucket_valid(bucket) || !key_valid(key, keylen))
        return BLOB_INVALID;
    char path[PATH_MAX];
    object_path(bs, bucket, key, keylen, path, sizeof path, NULL, 0);
    blob_info info;
    pthread_mutex_lock(&bs->mu); /* the row and the file we open belong together */
    blob_rc rc = lookup_locked(bs, bucket, key, keylen, &info);
    if (rc == BLOB_OK) {
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0) {
            log_error("blob: %s is indexed but cannot be opened: %s", path, strerror(errno));
            rc = BLOB_IO;
        }
    }
    pthread_mutex_unlock(&bs->mu);
    if (rc == BLOB_OK && out)
        *out = info;
    return rc;
}

blob_rc blob_delete(blob_store *bs, const char *bucket, const char *key, size_t keylen)
{
    if (!bucket_valid(bucket) || !key_valid(key, keylen))
        return BLOB_INVALID;
    char path[PATH_MAX];
    object_path(bs, bucket, key, keylen, path, sizeof path, NULL, 0);
    pthread_mutex_lock(&bs->mu);
    blob_rc rc = BLOB_IO;
    sqlite3_stmt *st = db_prepare(bs, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2");
    if (st) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, key, (int)keylen, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            log_error("blob delete: %s", sqlite3_errmsg(bs->db));
        else if (sqlite3_changes(bs->db) == 0)
            rc = bucket_exists_locked(bs, bucket) ? BLOB_NO_KEY : BLOB_NO_BUCKET;
        else
            rc = BLOB_OK;
        sqlite3_finalize(st);
    }
    /* the row is gone first: a crash in between leaves an unreferenced file, never a dangling row */
    if (rc == BLOB_OK && unlink(path) != 0 && errno != ENOENT)
        log_warn("blob: cannot remove %s: %s", path, strerror(errno));
    pthread_mutex_unlock(&bs->mu);
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

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

typedef struct lister {
    blob_list_result *out;
    size_t entries_cap, prefixes_cap;
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
    blob_list_result *r = l->out;
    if (r->n == l->entries_cap) {
        l->entries_cap = l->entries_cap ? 2 * l->entries_cap : 16;
        r->entries = xrealloc(r->entries, l->entries_cap * sizeof *r->entries);
    }
    blob_entry *e = &r->entries[r->n++];
    e->key = xstrndup(key, keylen);
    read_info(st, 1, &e->info);
    l->last = e->key;
    l->count++;
}

static void add_prefix(lister *l, const char *cp, size_t cplen)
{
    blob_list_result *r = l->out;
    if (r->nprefixes == l->prefixes_cap) {
        l->prefixes_cap = l->prefixes_cap ? 2 * l->prefixes_cap : 8;
        r->common_prefixes = xrealloc(r->common_prefixes, l->prefixes_cap * sizeof *r->common_prefixes);
    }
    char *p = xstrndup(cp, cplen);
    r->common_prefixes[r->nprefixes++] = p;
    l->last = p;
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
static scan_end scan(blob_store *bs, const char *bucket, lister *l)
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
        if (bytes_cmp(key, cplen, l->marker, l->mlen) > 0)
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
    if (bytes_cmp(l->prefix, l->plen, l->lo.p, l->lo.n) > 0) {
        free(l->lo.p);
        l->lo.p = xstrndup(l->prefix, l->plen);
        l->lo.n = l->plen;
    }
    l->has_hi = l->plen && successor(l->prefix, l->plen, &l->hi);
}

blob_rc blob_list(blob_store *bs, const char *bucket, const char *prefix, const char *marker, const char *delimiter,
                  int max_keys, blob_list_result *out)
{
    memset(out, 0, sizeof *out);
    if (!bucket_valid(bucket))
        return BLOB_INVALID;
    lister l = {.out = out, .prefix = prefix ? prefix : "", .marker = marker ? marker : "",
                .delim = delimiter ? delimiter : "", .max = max_keys >= 1 && max_keys <= 1000 ? max_keys : 1000};
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
    if (rc != BLOB_OK)
        blob_list_free(out);
    return rc;
}

void blob_list_free(blob_list_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->entries[i].key);
    for (size_t i = 0; i < r->nprefixes; i++)
        free(r->common_prefixes[i]);
    free(r->entries);
    free(r->common_prefixes);
    free(r->next_marker);
    memset(r, 0, sizeof *r);
}
