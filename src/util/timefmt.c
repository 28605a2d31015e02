/* timefmt.c — clocks and the API's time formats: "2020-08-20T17:43:01+0800" (server's local offset)
 * out, lenient ISO-8601 in (the SDKs disagree on offsets and separators), and the "m:s.mmm" offsets
 * used in recognition result lines. */
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The local UTC offset, looked up once per minute (and per TZ setting) per thread: localtime_r takes
 * glibc's time-zone lock on every call, which serialised the HTTP threads rendering times.
 * Offsets change on whole minutes of UTC, not on whole hours: Lord Howe Island's DST starts at
 * 15:30 UTC, Nepal's +0545 puts a local 02:00 at :15. Once a minute is exact for the rules of every
 * zone in use, and still one lookup per thread per minute. */
static long local_offset(time_t secs)
{
    static _Thread_local time_t cached_minute = -1;
    static _Thread_local long cached_off;
    static _Thread_local char cached_tz[64];
    const char *tz = getenv("TZ");
    if (!tz)
        tz = "";
    time_t minute = secs / 60;
    if (minute != cached_minute || strncmp(tz, cached_tz, sizeof cached_tz) != 0) {
        struct tm tm;
        if (!localtime_r(&secs, &tm))
            return 0;
        cached_off = tm.tm_gmtoff;
        cached_minute = minute;
        snprintf(cached_tz, sizeof cached_tz, "%s", tz);
    }
    return cached_off;
}

static char *put_digits(char *p, long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void time_format(int64_t ms, char out[TIME_FMT_LEN])
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    long off = ms > 0 ? local_offset(secs) : 0;
    time_t shifted = secs + off;
    if (ms <= 0 || !gmtime_r(&shifted, &tm) || tm.tm_year + 1900 > 9999) {
        strcpy(out, "-");
        return;
    }
    char *p = put_digits(out, tm.tm_year + 1900, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p++ = off < 0 ? '-' : '+';
    long a = off < 0 ? -off : off;
    p = put_digits(p, a / 3600, 2);
    p = put_digits(p, a / 60 % 60, 2);
    *p = '\0';
}

void time_format_offset(int64_t ms, char out[32])
{
    if (ms < 0)
        ms = 0;
    snprintf(out, 32, "%lld:%lld.%03lld", (long long)(ms / 60000), (long long)(ms % 60000 / 1000),
             (long long)(ms % 1000));
}

/* ---- parsing ---- */

/* Reads exactly n decimal digits at *p; advances on success. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct parsed_time {
    int year, month, day, hour, minute, second, millis;
    bool has_offset;
    int offset_seconds; /* east of UTC */
} parsed_time;

static bool parse_date(const char **p, parsed_time *t)
{
    return read_digits(p, 4, &t->year) && *(*p)++ == '-' && read_digits(p, 2, &t->month) &&
           *(*p)++ == '-' && read_digits(p, 2, &t->day);
}

/* HH:MM[:SS[.fraction]]; the fraction keeps milliseconds and ignores further digits. */
static bool parse_clock(const char **p, parsed_time *t)
{
    if (!read_digits(p, 2, &t->hour) || *(*p)++ != ':' || !read_digits(p, 2, &t->minute))
        return false;
    if (**p != ':')
        return true;
    (*p)++;
    if (!read_digits(p, 2, &t->second))
        return false;
    if (**p != '.' && **p != ',')
        return true;
    (*p)++;
    if (!isdigit((unsigned char)**p))
        return false;
    int scale = 100;
    for (; isdigit((unsigned char)**p); (*p)++, scale /= 10)
        t->millis += (**p - '0') * scale;
    return true;
}

/* "Z", "+0800", "+08:00", "+08" or nothing. */
static bool parse_offset(const char **p, parsed_time *t)
{
    while (**p == ' ')
        (*p)++;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        t->has_offset = true;
        return true;
    }
    if (**p != '+' && **p != '-')
        return true;
    int sign = *(*p)++ == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (!read_digits(p, 2, &hh))
        return false;
    if (**p == ':')
        (*p)++;
    if (isdigit((unsigned char)**p) && !read_digits(p, 2, &mm))
        return false;
    if (hh > 23 || mm > 59)
        return false;
    t->has_offset = true;
    t->offset_seconds = sign * (hh * 3600 + mm * 60);
    return true;
}

static bool fields_valid(const parsed_time *t)
{
    return t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->month) && t->hour <= 23 && t->minute <= 59 &&
           t->second <= 60;
}

static bool to_epoch_ms(const parsed_time *t, int64_t *out_ms)
{
    int64_t secs;
    if (t->has_offset) {
        secs = days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->minute * 60 +
               t->second - t->offset_seconds;
    } else {
        struct tm tm = {.tm_year = t->year - 1900, .tm_mon = t->month - 1, .tm_mday = t->day,
                        .tm_hour = t->hour, .tm_min = t->minute, .tm_sec = t->second, .tm_isdst = -1};
        time_t local = mktime(&tm);
        if (local == (time_t)-1)
            return false;
        secs = (int64_t)local;
    }
    *out_ms = secs * 1000 + t->millis;
    return true;
}

/* The Python SDK's "%Y-%m-%dT%H:%m:%S%z" puts the month where the minutes belong; months are always
 * valid minutes, so such a string is taken at face value like any other. */
bool time_parse(const char *s, int64_t *out_ms)
{
    if (!s)
        return false;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    parsed_time t = {0};
    if (!parse_date(&p, &t))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_clock(&p, &t) || !parse_offset(&p, &t))
            return false;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '\0' || !fields_valid(&t))
        return false;
    return to_epoch_ms(&t, out_ms);
}
