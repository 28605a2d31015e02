/* util.h — small shared pieces every layer may use: a growable byte buffer, ids, UTF-8 and base64
 * decoding, the Range header's arithmetic, the API's time format, logging and a few file-system
 * helpers. Nothing here knows about HTTP requests, XML or storage. */
#ifndef CICADA_UTIL_H
#define CICADA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable buffer (always NUL-terminated when data != NULL) ---- */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b);                          /* len = 0, keeps memory */
void buf_append(buf *b, const void *p, size_t n); /* aborts on out-of-memory */
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
char *buf_steal(buf *b);                         /* returns data ("" if empty), re-inits b */

/* ---- memory helpers: abort on out-of-memory, never return NULL ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copies src into dst of size n, always terminating; returns false if it had to truncate. */
bool strlcpy_ok(char *dst, const char *src, size_t n);
/* Formats an error message into err (when err is non-NULL and errlen > 0): the errors-as-values
 * idiom of `bool f(..., char *err, size_t errlen)`. */
void err_printf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- ids (OpenSSL RAND_bytes) ---- */
#define ID_JOB_LEN 33      /* "s" + 32 hex */
#define ID_QUEUE_LEN 33    /* "p" + 32 hex */
#define ID_TEMPLATE_LEN 34 /* "t1" + 32 hex */
#define ID_HOTVOCAB_LEN 33 /* "h" + 32 hex */
void ids_random_hex(char *out, size_t nhex);    /* writes nhex chars + NUL */
/* Lower-case hex of n bytes into out (2n chars + NUL), e.g. for digests. */
void hex_encode(const unsigned char *in, size_t n, char *out);
int hex_digit(char c);   /* 0..15 for 0-9, a-f, A-F; -1 for anything else */
void ids_new(char *out, const char *prefix);    /* prefix + 32 hex + NUL; out >= strlen(prefix)+33 */
bool ids_valid(const char *id, const char *prefix);
/* A 32-hex request id: unique within the process, unpredictable, telling nothing about other requests. */
void ids_request(char out[33]);

/* ---- sealed tokens (seal.c, AES-256-GCM) ---- */
typedef struct seal_key {
    unsigned char bytes[32];
} seal_key;
#define SEAL_TOKEN_LEN 72
void seal_key_random(seal_key *k);
/* An opaque token for value, bound to context (e.g. the bucket it is valid for). */
void seal_u64(const seal_key *k, const char *context, uint64_t value, char out[SEAL_TOKEN_LEN + 1]);
/* False for anything that is not a token sealed with k for this context. */
bool unseal_u64(const seal_key *k, const char *context, const char *token, uint64_t *value);

/* ---- percent-decoding (url.c) ---- */
/* Decodes "%XY" escapes of s in place and returns the new length. "%00" is left as those three
 * characters and reported through *had_nul (when given); a '%' not followed by two hex digits is
 * kept as it is. '+' is not a space here (COS signs it as "%2B"-free bytes). */
size_t url_unescape(char *s, bool *had_nul);

/* ---- comma lists in query values (url.c) ---- */
/* The next item of the comma list at *cursor, without the spaces around it; empty items are
 * skipped. *item and *len point into the list; false at its end. */
bool comma_next(const char **cursor, const char **item, size_t *len);
/* Appends item (len bytes) to the comma list out, which holds *used bytes and a NUL in cap; false,
 * out unchanged, when it does not fit. */
bool comma_append(char *out, size_t *used, size_t cap, const char *item, size_t len);

/* ---- UTF-8 ---- */
/* Decodes the code point at s (n bytes available) into *cp; returns its length in bytes, or 0 when
 * s does not start with a valid UTF-8 sequence (truncated, overlong, a surrogate, above U+10FFFF). */
size_t utf8_decode_strict(const char *s, size_t n, uint32_t *cp);
/* A Chinese character: a CJK unified ideograph (any extension) or a compatibility ideograph. */
bool utf8_is_han(uint32_t cp);
/* The one definition of "written without spaces", shared by whisper's word joining, the output's
 * sentences and the OpenAI endpoint's transcript, so they agree on every character:
 * utf8_is_spaceless: scripts where each character is a word (Han, kana, the iteration marks 々〆〇,
 * half-width katakana); utf8_is_wide_punct: CJK and full-width punctuation and forms (U+3000-303F,
 * U+FE10-FE1F, U+FE30-FE6F, U+FF00-FF65). Neither side of a join wants a space next to either. */
bool utf8_is_spaceless(uint32_t cp);
bool utf8_is_wide_punct(uint32_t cp);
/* Checks that s (n bytes) is UTF-8 text without control characters: every sequence valid (as
 * utf8_decode_strict) and no C0 control (U+0000-U+001F: tab and line breaks too), DEL or C1 control
 * (U+007F-U+009F). True with the length in code points in *chars. False at the first offending
 * byte, its offset in *bad and *malformed saying whether it was broken UTF-8 (else a control
 * character); *chars is then the number of good characters before it. O(n). */
bool utf8_text_valid(const char *s, size_t n, size_t *chars, size_t *bad, bool *malformed);

/* ---- base64 (RFC 4648 standard alphabet) ---- */
/* Appends the bytes of in, standard base64, to out. Whitespace (space, tab, CR, LF) anywhere is
 * skipped; '=' padding is optional, but only at the end and only as much as the last group needs.
 * Returns false on any other character, misplaced or excess padding, or a dangling single digit;
 * out may then hold part of the bytes. */
bool base64_decode(const char *in, buf *out);

/* ---- HTTP Range header (RFC 9110 14.2), one range against an object of size bytes ---- */
typedef enum range_result {
    RANGE_UNSATISFIABLE = -1,   /* well-formed but selects nothing: 416 */
    RANGE_NONE = 0,             /* absent, multi-range, another unit or unparsed: send it all */
    RANGE_OK = 1,               /* *off, *len set: 0 <= *off, 1 <= *len, *off + *len <= size */
} range_result;
/* Parses "bytes=a-b", "bytes=a-" or "bytes=-n" (h may be NULL) against size >= 0. Leading spaces and a sign before a
 * number are taken as strtoll takes them; trailing characters make the header ignored. */
range_result range_parse(const char *h, int64_t size, int64_t *off, int64_t *len);

/* ---- time ---- */
int64_t time_now_ms(void);          /* wall clock, ms since the epoch */
int64_t time_mono_ms(void);         /* monotonic clock, ms */
void time_sleep_ms(int64_t ms);     /* sleeps ms (<= 0: returns at once), resuming after signals */
/* Formats a unix time in ms as "2020-08-20T17:43:01+0800" in the server's local offset;
 * ms <= 0 formats as "-". out must hold TIME_FMT_LEN bytes. */
#define TIME_FMT_LEN 32
void time_format(int64_t ms, char out[TIME_FMT_LEN]);
/* Parses leniently: ISO-8601 with offset "+0800", "+08:00" or "Z", a space or 'T' separator,
 * no offset (= local), and the Python SDK's month-in-minutes slip is accepted as long as the
 * result is a valid date. Returns false if unparseable. */
bool time_parse(const char *s, int64_t *out_ms);
/* "[m:s.mmm,m:s.mmm]" pieces: formats ms as "m:s.mmm" (minutes unbounded, seconds not padded). */
void time_format_offset(int64_t ms, char out[32]);

/* ---- logging (to stderr; level from CICADA_LOG=debug|info|warn|error, default info) ---- */
typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
void log_set_level(log_level lv);
void log_msg(log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record format (CICADA_LOG_FORMAT): text lines "TIME LEVEL message", or one JSON object per line
 * {"time", "level", "msg", then the thread's context and the record's own fields}. */
typedef enum { LOG_FORMAT_TEXT, LOG_FORMAT_JSON } log_format;
void log_set_format(log_format f);
/* What the calling thread works for, carried by its records until changed: key "request_id",
 * "job_id" or "queue" (others are ignored); value NULL or "" clears it. */
void log_context_set(const char *key, const char *value);
void log_context_clear(void);
/* A record with fields of its own: fields is key, value, key, value, ..., NULL. In JSON they are
 * members (a value that reads as a number is written as one); in text they follow the message as
 * key=value. */
void log_fields(log_level lv, const char *const *fields, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* ---- files ---- */
bool fs_mkdirs(const char *path, int mode);                  /* mkdir -p */
bool fs_read_file(const char *path, char **out, size_t *len, size_t max); /* NUL-terminated */
bool fs_write_file_atomic(const char *path, const void *data, size_t len, int mode); /* tmp+fsync+rename */
int  fs_cpu_count(void);

#endif
