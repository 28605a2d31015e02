/* log.c — one-line log records on stderr: "2026-11-24T05:00:00.123Z INFO message". The level is
 * process configuration (CICADA_LOG, read once, or log_set_level), kept in one atomic. */
#include "util/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LEVEL_UNSET (-1)

static atomic_int g_level = LEVEL_UNSET;

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

void log_msg(log_level lv, const char *fmt, ...)
{
    if (lv < current_level())
        return;
    buf line;
    buf_init(&line);
    utc_stamp(&line);
    buf_printf(&line, " %s ", level_name(lv));
    size_t msg_start = line.len;

    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&line, fmt, ap);
    va_end(ap);

    /* one record, one line: fold embedded newlines, drop trailing ones */
    while (line.len > msg_start && (line.data[line.len - 1] == '\n' || line.data[line.len - 1] == '\r'))
        line.data[--line.len] = '\0';
    for (size_t i = msg_start; i < line.len; i++)
        if (line.data[i] == '\n' || line.data[i] == '\r')
            line.data[i] = ' ';
    buf_putc(&line, '\n');
    fwrite(line.data, 1, line.len, stderr);
    fflush(stderr);
    buf_free(&line);
}
