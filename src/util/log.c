/* log.c — one-line log records on stderr: "2026-11-24T05:00:00.123Z INFO message", or with
 * CICADA_LOG_FORMAT=json one JSON object per line carrying the thread's context (the request or
 * job it works for: a thread-local set by the HTTP layer and the workers) and the record's own
 * fields, so logs join up with metrics. Level and format are process configuration (CICADA_LOG,
 * CICADA_LOG_FORMAT, read once, or log_set_level / log_set_format), kept in atomics. */
#include "util/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LEVEL_UNSET (-1)

static atomic_int g_level = LEVEL_UNSET;
static atomic_int g_format = LEVEL_UNSET;   /* log_format, or unset: read CICADA_LOG_FORMAT */

/* The calling thread's context (log_context_set). */
static _Thread_local struct {
    char request_id[40];
    char job_id[40];
    char queue[40];
} t_ctx;

void log_set_format(log_format f)
{
    atomic_store(&g_format, (int)f);
}

static log_format current_format(void)
{
    int f = atomic_load_explicit(&g_format, memory_order_relaxed);
    if (f != LEVEL_UNSET)
        return (log_format)f;
    const char *v = getenv("CICADA_LOG_FORMAT");
    int want = v && strcasecmp(v, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;
    int expected = LEVEL_UNSET;
    atomic_compare_exchange_strong(&g_format, &expected, want);
    return (log_format)atomic_load(&g_format);
}

void log_context_set(const char *key, const char *value)
{
    char *dst = !strcmp(key, "request_id") ? t_ctx.request_id
              : !strcmp(key, "job_id")     ? t_ctx.job_id
              : !strcmp(key, "queue")      ? t_ctx.queue
                                           : NULL;
    if (dst)
        snprintf(dst, sizeof t_ctx.job_id, "%s", value ? value : "");
}

void log_context_clear(void)
{
    t_ctx.request_id[0] = t_ctx.job_id[0] = t_ctx.queue[0] = '\0';
}

/* A JSON string: quotes, backslashes and control characters escaped, bytes that are not UTF-8
 * replaced by U+FFFD, so every record parses. */
static void json_string(buf *out, const char *s, size_t n)
{
    buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)ch);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            buf_printf(out, "\\u%04x", ch);
            i++;
        } else if (ch < 0x80) {
            buf_putc(out, (char)ch);
            i++;
        } else {
            uint32_t cp;
            size_t len = utf8_decode_strict(s + i, n - i, &cp);
            if (len == 0) {
                buf_puts(out, "\\ufffd");
                i++;
            } else {
                buf_append(out, s + i, len);
                i += len;
            }
        }
    }
    buf_putc(out, '"');
}

/* True when v is a plain decimal number JSON can carry as one. */
static bool numeric(const char *v)
{
    if (!*v)
        return false;
    char *end;
    strtod(v, &end);
    return *end == '\0' && strspn(v, "-0123456789.") == strlen(v) && v[0] != '.' && strcmp(v, "-") != 0;
}

static const char *level_name(log_level lv)
{
    switch (lv) {
    case LOG_DEBUG: return "DEBUG";
    case LOG_INFO: return "INFO";
    case LOG_WARN: return "WARN";
    case LOG_ERROR: return "ERROR";
    }
    return "INFO";
}

static log_level level_from_env(void)
{
    const char *v = getenv("CICADA_LOG");
    if (!v)
        return LOG_INFO;
    if (strcasecmp(v, "debug") == 0)
        return LOG_DEBUG;
    if (strcasecmp(v, "warn") == 0 || strcasecmp(v, "warning") == 0)
        return LOG_WARN;
    if (strcasecmp(v, "error") == 0)
        return LOG_ERROR;
    return LOG_INFO;
}

static log_level current_level(void)
{
    int lv = atomic_load_explicit(&g_level, memory_order_relaxed);
    if (lv != LEVEL_UNSET)
        return (log_level)lv;
    int expected = LEVEL_UNSET;
    atomic_compare_exchange_strong(&g_level, &expected, (int)level_from_env());
    return (log_level)atomic_load(&g_level);
}

void log_set_level(log_level lv)
{
    atomic_store(&g_level, (int)lv);
}

/* "2026-11-24T05:00:00.123Z" */
static void utc_stamp(buf *line)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    buf_printf(line, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
}

static void write_record(log_level lv, const char *const *fields, const char *fmt, va_list ap)
{
    buf msg;
    buf_init(&msg);
    buf_vprintf(&msg, fmt, ap);
    /* one record, one line: fold embedded newlines, drop trailing ones */
    while (msg.len > 0 && (msg.data[msg.len - 1] == '\n' || msg.data[msg.len - 1] == '\r'))
        msg.data[--msg.len] = '\0';
    for (size_t i = 0; i < msg.len; i++)
        if (msg.data[i] == '\n' || msg.data[i] == '\r')
            msg.data[i] = ' ';
    buf line;
    buf_init(&line);
    if (current_format() == LOG_FORMAT_JSON) {
        buf_puts(&line, "{\"time\":\"");
        utc_stamp(&line);
        buf_printf(&line, "\",\"level\":\"%s\",\"msg\":", level_name(lv));
        json_string(&line, msg.data ? msg.data : "", msg.len);
        const char *ctx[] = {"request_id", t_ctx.request_id, "job_id", t_ctx.job_id, "queue", t_ctx.queue};
        for (size_t i = 0; i < 6; i += 2)
            if (ctx[i + 1][0]) {
                buf_printf(&line, ",\"%s\":", ctx[i]);
                json_string(&line, ctx[i + 1], strlen(ctx[i + 1]));
            }
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
            buf_putc(&line, ',');
            json_string(&line, fields[i], strlen(fields[i]));
            buf_putc(&line, ':');
            if (numeric(fields[i + 1]))
                buf_puts(&line, fields[i + 1]);
            else
                json_string(&line, fields[i + 1], strlen(fields[i + 1]));
        }
        buf_puts(&line, "}\n");
    } else {
        utc_stamp(&line);
        buf_printf(&line, " %s ", level_name(lv));
        buf_append(&line, msg.data ? msg.data : "", msg.len);
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2)
            buf_printf(&line, " %s=%s", fields[i], fields[i + 1]);
        buf_putc(&line, '\n');
    }
    fwrite(line.data, 1, line.len, stderr);
    fflush(stderr);
    buf_free(&line);
    buf_free(&msg);
}

void log_msg(log_level lv, const char *fmt, ...)
{
    if (lv < current_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    write_record(lv, NULL, fmt, ap);
    va_end(ap);
}

void log_fields(log_level lv, const char *const *fields, const char *fmt, ...)
{
    if (lv < current_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    write_record(lv, fields, fmt, ap);
    va_end(ap);
}
