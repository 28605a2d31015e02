/* download.c — `cicada models pull` underneath: one libcurl transfer into DEST.part, continued with
 * a Range request when a previous attempt left a part behind (a server that answers 200 instead of
 * 206 restarts it from zero), capped in size, with progress on a terminal bar or as plain lines.
 * The part is renamed onto DEST only after its checksum matches; a mismatch discards it. A lock on
 * the part keeps two pulls of the same model from interleaving their writes. */
#include "models/models.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

models_pull_params models_pull_default_params(void)
{
    return (models_pull_params){.max_bytes = 4LL << 30, .low_speed_secs = 60, .connect_secs = 30};
}

typedef struct transfer {
    const models_pull_params *p;
    CURL *curl;
    int fd;
    const char *label;        /* the file name, for progress lines */
    int64_t offset;           /* bytes already in the part before this response */
    int64_t received;         /* bytes this response added */
    bool status_checked;
    bool too_big;
    int write_errno;          /* non-zero when writing the part failed */
    int64_t start_ms, last_draw_ms;
    int last_decile;          /* line mode: last 10% step printed */
} transfer;

/* ---- progress ---- */

static void draw_bar(transfer *t, int64_t done, int64_t total, int64_t now)
{
    char d[32], all[32], rate[32];
    models_format_size(done, d, sizeof d);
    double secs = (double)(now - t->start_ms) / 1000.0;
    models_format_size(secs > 0 ? (int64_t)((double)t->received / secs) : 0, rate, sizeof rate);
    if (total <= 0) {
        fprintf(t->p->progress, "\r%s  %s  %s/s   ", t->label, d, rate);
    } else {
        int pct = (int)(done * 100 / total);
        char bar[31];
        int fill = (int)(done * 30 / total);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : ' ';
        bar[30] = '\0';
        models_format_size(total, all, sizeof all);
        fprintf(t->p->progress, "\r%s %3d%% [%s] %s / %s  %s/s   ", t->label, pct, bar, d, all, rate);
    }
    fflush(t->p->progress);
}

/* Line mode: one line per 10% step, or every 5 s when the size is unknown. */
static void print_line(transfer *t, int64_t done, int64_t total, int64_t now)
{
    char d[32], all[32];
    models_format_size(done, d, sizeof d);
    if (total > 0) {
        int decile = (int)(done * 10 / total);
        if (decile <= t->last_decile)
            return;
        t->last_decile = decile;
        models_format_size(total, all, sizeof all);
        fprintf(t->p->progress, "%s: %d%% (%s of %s)\n", t->label, decile * 10, d, all);
    } else {
        if (now - t->last_draw_ms < 5000)
            return;
        t->last_draw_ms = now;
        fprintf(t->p->progress, "%s: %s\n", t->label, d);
    }
    fflush(t->p->progress);
}

static void report(transfer *t, int64_t now_total, bool force)
{
    if (!t->p->progress)
        return;
    int64_t now = time_mono_ms();
    int64_t done = t->offset + t->received;
    int64_t total = now_total > 0 ? t->offset + now_total : 0;
    if (!t->p->progress_bar) {
        print_line(t, done, total, now);
    } else if (force || now - t->last_draw_ms >= 200) {
        t->last_draw_ms = now;
        draw_bar(t, done, total, now);
    }
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    transfer *t = ud;
    if (t->status_checked)
        report(t, (int64_t)dltotal, false);
    return 0;
}

/* ---- data ---- */

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The first bytes of the final response: a 200 to a Range request means "here is all of it". */
static bool check_status(transfer *t)
{
    t->status_checked = true;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (t->offset == 0 || code != 200)
        return true;
    if (t->p->progress)
        fprintf(t->p->progress, "%s: the server does not resume downloads; starting again from zero\n", t->label);
    t->offset = 0;
    return ftruncate(t->fd, 0) == 0 && lseek(t->fd, 0, SEEK_SET) == 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer *t = ud;
    size_t n = size * nmemb;
    if (!t->status_checked && !check_status(t)) {
        t->write_errno = errno;
        return 0;
    }
    if (t->offset + t->received + (int64_t)n > t->p->max_bytes) {
        t->too_big = true;
        return 0;
    }
    if (!write_all(t->fd, data, n)) {
        t->write_errno = errno ? errno : EIO;
        return 0;
    }
    t->received += (int64_t)n;
    return n;
}

/* ---- the pull ---- */

static void configure(transfer *t, char *curl_err)
{
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_URL, t->p->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cicada-models/1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t->p->connect_secs > 0 ? t->p->connect_secs : 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t->p->low_speed_secs > 0 ? t->p->low_speed_secs : 60L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->p->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    if (t->offset > 0) {
        char range[32];
        snprintf(range, sizeof range, "%lld-", (long long)t->offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);   /* copied by libcurl */
    }
}

static bool params_valid(const models_pull_params *p, char *err, size_t errlen)
{
    if (!p->url || !*p->url || !p->dest || !*p->dest) {
        err_printf(err, errlen, "a URL and a destination are required");
        return false;
    }
    if (!p->sha1 && !p->sha256) {
        err_printf(err, errlen, "no checksum to verify %s against (give --sha256 or --sha1)", p->url);
        return false;
    }
    if ((p->sha1 && !models_hex_valid(p->sha1, 40)) || (p->sha256 && !models_hex_valid(p->sha256, 64))) {
        err_printf(err, errlen, "a SHA-1 is 40 hex digits and a SHA-256 64");
        return false;
    }
    return true;
}

/* Opens and locks DEST.part for appending; offset = what it already holds. */
static int open_part(const char *part, int64_t max_bytes, int64_t *offset, char *err, size_t errlen)
{
    int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_printf(err, errlen, "cannot create %s: %s", part, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        err_printf(err, errlen, "another `cicada models pull` is downloading %s", part);
        close(fd);
        return -1;
    }
    struct stat st;
    *offset = fstat(fd, &st) == 0 ? st.st_size : 0;
    if (*offset > max_bytes && ftruncate(fd, 0) == 0)
        *offset = 0;
    if (lseek(fd, *offset, SEEK_SET) < 0) {
        err_printf(err, errlen, "cannot seek in %s: %s", part, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void fsync_parent(const char *path)
{
    char *copy = xstrdup(path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

/* The transfer ended: sorts the outcome into keep-and-resume, give-up, or go-on-to-verify. */
static models_pull_status transfer_outcome(transfer *t, CURLcode rc, const char *curl_err, const char *part,
                                           char *err, size_t errlen)
{
    const models_pull_params *p = t->p;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    char got[32], limit[32];
    models_format_size(t->offset + t->received, got, sizeof got);
    models_format_size(p->max_bytes, limit, sizeof limit);
    if (rc == CURLE_OK || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t->offset > 0))
        return MODELS_PULL_INSTALLED;   /* complete (416: the part already holds everything) */
    if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        unlink(part);
        err_printf(err, errlen, "%s is larger than the limit of %s; nothing was kept", p->url, limit);
        return MODELS_PULL_FAILED;
    }
    if (t->write_errno) {
        err_printf(err, errlen, "cannot write %s: %s (%s kept; run the same command again to resume)", part,
                   strerror(t->write_errno), got);
        return MODELS_PULL_FAILED;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        err_printf(err, errlen, "%s answered HTTP %ld", p->url, code);
        return MODELS_PULL_FAILED;
    }
    err_printf(err, errlen, "download of %s interrupted after %s: %s; run the same command again to resume", p->url,
               got, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return MODELS_PULL_INTERRUPTED;
}

/* The part is complete: install it only if it is the file we were promised. */
static models_pull_status install_part(const models_pull_params *p, int fd, const char *part, char *err,
                                       size_t errlen)
{
    char detail[400];
    if (p->progress) {
        const char *slash = strrchr(p->dest, '/');
        fprintf(p->progress, "%s: verifying the checksum\n", slash ? slash + 1 : p->dest);
    }
    if (fsync(fd) != 0) {
        err_printf(err, errlen, "cannot flush %s: %s", part, strerror(errno));
        return MODELS_PULL_FAILED;
    }
    model_verdict v = models_verify_file(part, p->sha1, p->sha256, NULL, detail, sizeof detail);
    if (v != MODEL_VERIFIED) {
        unlink(part);
        err_printf(err, errlen, "checksum mismatch for %s: %s; the download was discarded", p->url, detail);
        return MODELS_PULL_FAILED;
    }
    if (rename(part, p->dest) != 0) {
        err_printf(err, errlen, "cannot rename %s to %s: %s", part, p->dest, strerror(errno));
        return MODELS_PULL_FAILED;
    }
    fsync_parent(p->dest);
    err_printf(err, errlen, "installed %s (%s)", p->dest, detail);
    return MODELS_PULL_INSTALLED;
}

/* An existing DEST is either the right file (nothing to do) or someone else's: never overwrite. */
static bool existing_dest(const models_pull_params *p, models_pull_status *st, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(p->dest, &sb) != 0)
        return false;
    char detail[400];
    if (models_verify_file(p->dest, p->sha1, p->sha256, NULL, detail, sizeof detail) == MODEL_VERIFIED) {
        err_printf(err, errlen, "%s is already installed (%s)", p->dest, detail);
        *st = MODELS_PULL_ALREADY;
    } else {
        err_printf(err, errlen, "%s exists but is not the expected file (%s); remove it to download again", p->dest,
                   detail);
        *st = MODELS_PULL_FAILED;
    }
    return true;
}

models_pull_status models_pull(const models_pull_params *p, char *err, size_t errlen)
{
    models_pull_status st;
    if (!params_valid(p, err, errlen))
        return MODELS_PULL_FAILED;
    if (existing_dest(p, &st, err, errlen))
        return st;
    char part[4200];
    if (snprintf(part, sizeof part, "%s.part", p->dest) >= (int)sizeof part) {
        err_printf(err, errlen, "destination path too long");
        return MODELS_PULL_FAILED;
    }
    transfer t = {.p = p, .last_decile = -1};
    t.fd = open_part(part, p->max_bytes, &t.offset, err, errlen);
    if (t.fd < 0)
        return MODELS_PULL_FAILED;
    const char *slash = strrchr(p->dest, '/');
    t.label = slash ? slash + 1 : p->dest;
    if (!(t.curl = curl_easy_init())) {
        close(t.fd);
        err_printf(err, errlen, "libcurl could not start");
        return MODELS_PULL_FAILED;
    }
    if (p->progress && t.offset > 0) {
        char have[32];
        models_format_size(t.offset, have, sizeof have);
        fprintf(p->progress, "%s: resuming after %s already downloaded\n", t.label, have);
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    configure(&t, curl_err);
    t.start_ms = t.last_draw_ms = time_mono_ms();
    CURLcode rc = curl_easy_perform(t.curl);
    if (rc == CURLE_OK) {
        curl_off_t total = 0;
        curl_easy_getinfo(t.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
        report(&t, total > 0 ? (int64_t)total : t.received, true);
    }
    if (p->progress && p->progress_bar)
        fputc('\n', p->progress);
    st = transfer_outcome(&t, rc, curl_err, part, err, errlen);
    curl_easy_cleanup(t.curl);
    struct stat sb;
    if (st == MODELS_PULL_INSTALLED)
        st = install_part(p, t.fd, part, err, errlen);
    else if (fstat(t.fd, &sb) == 0 && sb.st_size == 0)
        unlink(part);   /* nothing arrived: nothing to resume */
    close(t.fd);
    return st;
}
