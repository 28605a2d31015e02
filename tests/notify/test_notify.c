/* test_notify.c — job-end callbacks through the outbox, end to end: jobs end in a real store (a
 * SQLite file in a temporary directory, or with CICADA_TEST_STORE=pg a fresh database per test on
 * the PostgreSQL server CICADA_TEST_PG names) with their callback queued in the same transaction,
 * and notifiers deliver them to real HTTP receivers (libmicrohttpd in this process, on loopback).
 *
 * What is pinned down: the body is the job's JobsDetail (XML or JSON, parsed here); src/fetch's
 * address policy holds (a loopback receiver hears nothing unless the operator allows private
 * addresses, whether the URL names it by address, as localhost, or by a name that resolves to it;
 * no redirects; no proxies from the environment; a refused delivery is given up at once); failures
 * are retried with a growing, capped back-off and given up after max_attempts (the row kept, the
 * give-up logged); rows survive a restart; two notifiers on one store deliver each callback once;
 * a sender whose lease passed to another cannot settle; notify_target's choice of URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef CICADA_TEST_HAVE_PQ
#include <libpq-fe.h>
#endif

#include "fetch/fetch.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/util.h"
#include "xml/xml.h"

#define APPID "1250000000"
#define BUCKET "notify-" APPID
#define WAIT_MS 20000          /* the longest any wait below may take before the test fails */

#define WAIT_UNTIL(cond)                                                   \
    do {                                                                   \
        int64_t end_ = time_mono_ms() + WAIT_MS;                           \
        while (!(cond)) {                                                  \
            if (time_mono_ms() > end_)                                     \
                fail_msg("timed out waiting for %s", #cond);               \
            usleep(10 * 1000);                                             \
        }                                                                  \
    } while (0)

/* ---- the receiver: what it heard, and how each path answers ---- */

#define HEARD_MAX 512

typedef struct heard {
    char path[32];
    char type[64];
    char *body;
    int64_t at_ms;             /* monotonic */
} heard;

typedef struct receiver {
    pthread_mutex_t mu;        /* guards everything below (MHD answers on its own threads) */
    pthread_cond_t cv;
    heard log[HEARD_MAX];
    int n;
    int fail_left;             /* /flaky: answers 500 this many more times, then 200 */
    bool hold;                 /* /hold: answers once this is cleared */
    int64_t hold_first_ms;     /* /hold-first: the first request is answered after this long */
                               /* (/slow: every request is answered after 30 ms) */
    bool first_seen;
} receiver;

static receiver g_rx = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static struct MHD_Daemon *g_httpd;
static int g_port;

typedef struct upload {
    buf body;
} upload;

static enum MHD_Result send_status(struct MHD_Connection *c, unsigned status, const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
    if (location)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Records a finished request; returns the status its path answers with. Called with rx->mu held. */
static unsigned record(receiver *rx, struct MHD_Connection *c, const char *url, upload *u)
{
    if (rx->n < HEARD_MAX) {
        heard *h = &rx->log[rx->n++];
        snprintf(h->path, sizeof h->path, "%s", url);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        snprintf(h->type, sizeof h->type, "%s", ct ? ct : "");
        h->body = xstrdup(u->body.data ? u->body.data : "");
        h->at_ms = time_mono_ms();
    }
    if (strcmp(url, "/redirect") == 0)
        return 302;
    if (strcmp(url, "/always500") == 0)
        return 500;
    if (strcmp(url, "/flaky") == 0 && rx->fail_left > 0) {
        rx->fail_left--;
        return 500;
    }
    return 200;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *data, size_t *data_len, void **state)
{
    (void)method, (void)version;
    receiver *rx = cls;
    upload *u = *state;
    if (!u) {
        u = xcalloc(1, sizeof *u);
        buf_init(&u->body);
        *state = u;
        return MHD_YES;
    }
    if (*data_len) {
        buf_append(&u->body, data, *data_len);
        *data_len = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx->mu);
    unsigned status = record(rx, c, url, u);
    if (strcmp(url, "/hold") == 0) {
        int64_t end = time_mono_ms() + WAIT_MS;
        while (rx->hold && time_mono_ms() < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&rx->cv, &rx->mu, &ts);
        }
    }
    int64_t wait = strcmp(url, "/slow") == 0 ? 30 : 0;
    if (strcmp(url, "/hold-first") == 0 && !rx->first_seen) {
        rx->first_seen = true;
        wait = rx->hold_first_ms;
    }
    pthread_mutex_unlock(&rx->mu);
    time_sleep_ms(wait);
    return send_status(c, status, status == 302 ? "/cb" : NULL);
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    upload *u = *state;
    if (u) {
        buf_free(&u->body);
        free(u);
    }
    *state = NULL;
}

/* A receiver on port (0: any); its port in *port_out. */
static struct MHD_Daemon *receiver_start(int port, int *port_out)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    struct MHD_Daemon *d = MHD_start_daemon(flags | MHD_USE_DUAL_STACK, (uint16_t)port, NULL, NULL, serve, &g_rx,
                                            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!d)   /* no IPv6 here: IPv4 only */
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, serve, &g_rx, MHD_OPTION_NOTIFY_COMPLETED,
                             request_done, NULL, MHD_OPTION_END);
    if (d && port_out)
        *port_out = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return d;
}

static void receiver_reset(void)
{
    pthread_mutex_lock(&g_rx.mu);
    for (int i = 0; i < g_rx.n; i++)
        free(g_rx.log[i].body);
    g_rx.n = 0;
    g_rx.fail_left = 0;
    g_rx.hold = false;
    g_rx.hold_first_ms = 0;
    g_rx.first_seen = false;
    pthread_mutex_unlock(&g_rx.mu);
}

static void receiver_release(void)
{
    pthread_mutex_lock(&g_rx.mu);
    g_rx.hold = false;
    pthread_cond_broadcast(&g_rx.cv);
    pthread_mutex_unlock(&g_rx.mu);
}

static int heard_count(void)
{
    pthread_mutex_lock(&g_rx.mu);
    int n = g_rx.n;
    pthread_mutex_unlock(&g_rx.mu);
    return n;
}

static int heard_on(const char *path)
{
    pthread_mutex_lock(&g_rx.mu);
    int n = 0;
    for (int i = 0; i < g_rx.n; i++)
        n += strcmp(g_rx.log[i].path, path) == 0;
    pthread_mutex_unlock(&g_rx.mu);
    return n;
}

/* ---- reading a callback body ---- */

typedef struct body_fields {
    char event[32], job_id[40], state[16], code[64], result[256];
} body_fields;

static void copy_text(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* Parses a body as its content type says; fails the test when it is neither well-formed XML with
 * <Response><JobsDetail> nor a JSON object with a JobsDetail object. */
static body_fields parse_body(const heard *h)
{
    body_fields b;
    memset(&b, 0, sizeof b);
    if (strcmp(h->type, "application/json") == 0) {
        json_error_t e;
        json_t *o = json_loads(h->body, 0, &e);
        if (!o)
            fail_msg("a JSON callback body does not parse (%s): %s", e.text, h->body);
        json_t *d = json_object_get(o, "JobsDetail");
        assert_true(json_is_object(d));
        copy_text(b.event, sizeof b.event, json_string_value(json_object_get(o, "EventName")));
        copy_text(b.job_id, sizeof b.job_id, json_string_value(json_object_get(d, "JobId")));
        copy_text(b.state, sizeof b.state, json_string_value(json_object_get(d, "State")));
        copy_text(b.code, sizeof b.code, json_string_value(json_object_get(d, "Code")));
        json_t *r = json_object_get(json_object_get(d, "Operation"), "SpeechRecognitionResult");
        copy_text(b.result, sizeof b.result, json_string_value(json_object_get(r, "Result")));
        json_decref(o);
        return b;
    }
    assert_string_equal(h->type, "application/xml");
    char err[256];
    xml_node *root = xml_parse(h->body, strlen(h->body), NULL, err, sizeof err);
    if (!root)
        fail_msg("an XML callback body does not parse (%s): %s", err, h->body);
    assert_string_equal(xml_name(root), "Response");
    assert_non_null(xml_child(root, "JobsDetail"));
    copy_text(b.event, sizeof b.event, xml_path_text(root, "EventName"));
    copy_text(b.job_id, sizeof b.job_id, xml_path_text(root, "JobsDetail/JobId"));
    copy_text(b.state, sizeof b.state, xml_path_text(root, "JobsDetail/State"));
    copy_text(b.code, sizeof b.code, xml_path_text(root, "JobsDetail/Code"));
    copy_text(b.result, sizeof b.result, xml_path_text(root, "JobsDetail/Operation/SpeechRecognitionResult/Result"));
    xml_free(root);
    return b;
}

/* How many bodies the receiver heard for job_id; the last one's fields in *last (may be NULL). */
static int heard_job(const char *job_id, body_fields *last, char *type, size_t typecap)
{
    pthread_mutex_lock(&g_rx.mu);
    int n = 0;
    for (int i = 0; i < g_rx.n; i++) {
        body_fields b = parse_body(&g_rx.log[i]);
        if (strcmp(b.job_id, job_id) == 0) {
            n++;
            if (last)
                *last = b;
            if (type)
                snprintf(type, typecap, "%s", g_rx.log[i].type);
        }
    }
    pthread_mutex_unlock(&g_rx.mu);
    return n;
}

/* ---- the store: one fresh database per test ---- */

typedef struct fixture {
    bool pg;
    char dir[64];
    char path[128];            /* SQLite */
    char db[64];               /* PostgreSQL: this test's database */
    char url[1024];            /* PostgreSQL: its connection string */
    store *st;
    store_queue q;             /* the bucket's default queue */
} fixture;

static bool use_pg(void)
{
    const char *b = getenv("CICADA_TEST_STORE");
    return b && strcmp(b, "pg") == 0;
}

#ifdef CICADA_TEST_HAVE_PQ
/* Runs sql on the server CICADA_TEST_PG names, or on conninfo when given. */
static void pg_exec(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo ? conninfo : getenv("CICADA_TEST_PG"));
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("PostgreSQL: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}
#endif

/* Runs sql on the fixture's database beside the store (what no store function does). */
static void fx_sql(fixture *f, const char *sql)
{
    if (f->pg) {
#ifdef CICADA_TEST_HAVE_PQ
        pg_exec(f->url, sql);
#endif
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static store *fx_open_store(fixture *f)
{
    store_params p = store_default_params();
    if (f->pg)
        p.database_url = f->url;
    else
        p.sqlite_path = f->path;
    char err[512] = "";
    store *st = store_open(&p, err, sizeof err);
    if (!st)
        fail_msg("store_open: %s", err);
    return st;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    static int serial;
    fixture *f = xcalloc(1, sizeof *f);
    f->pg = use_pg();
    if (f->pg) {
#ifdef CICADA_TEST_HAVE_PQ
        snprintf(f->db, sizeof f->db, "cicada_notify_%d_%d", (int)getpid(), ++serial);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0", f->db);
        pg_exec(NULL, sql);
        snprintf(f->url, sizeof f->url, "%s dbname=%s", getenv("CICADA_TEST_PG"), f->db);
#endif
    } else {
        snprintf(f->dir, sizeof f->dir, "/tmp/cicada-notify-XXXXXX");
        if (!mkdtemp(f->dir))
            return -1;
        snprintf(f->path, sizeof f->path, "%s/cicada.db", f->dir);
    }
    f->st = fx_open_store(f);
    store_bucket b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "%s", BUCKET);
    snprintf(b.appid, sizeof b.appid, "%s", APPID);
    snprintf(b.region, sizeof b.region, "ap-chongqing");
    b.create_ms = time_now_ms();
    assert_int_equal(store_bucket_open(f->st, &b, &f->q), STORE_OK);
    receiver_reset();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    receiver_release();
    store_close(f->st);
    if (f->pg) {
#ifdef CICADA_TEST_HAVE_PQ
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->db);
        pg_exec(NULL, sql);
#endif
    } else {
        nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
    free(f);
    return 0;
}

/* Closes and reopens the store, as a server restart would. */
static void fx_restart(fixture *f)
{
    store_close(f->st);
    f->st = fx_open_store(f);
}

/* A Submitted job of the fixture's queue whose CallBack is url (NULL: none of its own). */
static void insert_job(fixture *f, store_job *j, const char *url, const char *format)
{
    store_job_init(j);
    ids_new(j->id, "s");
    snprintf(j->tag, sizeof j->tag, "SpeechRecognition");
    snprintf(j->bucket, sizeof j->bucket, "%s", BUCKET);
    snprintf(j->region, sizeof j->region, "ap-chongqing");
    snprintf(j->queue_id, sizeof j->queue_id, "%s", f->q.id);
    snprintf(j->input_object, sizeof j->input_object, "in/a.wav");
    snprintf(j->params.engine_model_type, sizeof j->params.engine_model_type, "16k_en");
    j->create_ms = time_now_ms();
    if (url) {
        snprintf(j->callback, sizeof j->callback, "%s", url);
        snprintf(j->callback_format, sizeof j->callback_format, "%s", format);
        snprintf(j->callback_type, sizeof j->callback_type, "Url");
    }
    assert_int_equal(store_job_insert(f->st, j), STORE_OK);
}

/* Ends a new job the API's way: cancelled, its callback (notify_target) queued with the cancel. */
static void cancelled_job(fixture *f, const char *url, const char *format, char id[40])
{
    store_job j;
    insert_job(f, &j, url, format);
    store_callback cb;
    bool any = notify_target(&j, &f->q, &cb);
    assert_int_equal(store_job_cancel(f->st, BUCKET, j.id, time_now_ms(), any ? &cb : NULL), STORE_OK);
    memcpy(id, j.id, sizeof j.id);
    store_job_clear(&j);
}

/* Ends a new job the scheduler's way: claimed, its result staged, finished as Success (or Failed
 * with code when code is not NULL) with its callback. */
static void finished_job(fixture *f, const char *url, const char *format, const char *code, char id[40])
{
    store_job j, c;
    insert_job(f, &j, url, format);
    store_job_clear(&j);
    store_job_init(&c);
    store_claim claim = {.node = "worker", .now_ms = time_now_ms(), .lease_ms = 60000};
    assert_int_equal(store_job_claim(f->st, &claim, &c), STORE_OK);
    assert_string_equal(c.id, j.id);
    if (code) {
        c.state = JOB_FAILED;
        snprintf(c.code, sizeof c.code, "%s", code);
        snprintf(c.message, sizeof c.message, "the audio could not be decoded");
    } else {
        c.audio_time = 1.5;
        c.result = xstrdup("[0:0.000,0:1.500]  hello callback");
        c.result_detail = xstrdup("[]");
        snprintf(c.object_name, sizeof c.object_name, "out/%s.txt", c.id);
        assert_int_equal(store_job_stage(f->st, &c), STORE_OK);
        c.state = JOB_SUCCESS;
    }
    c.end_ms = time_now_ms();
    store_callback cb;
    assert_true(notify_target(&c, &f->q, &cb));
    assert_int_equal(store_job_finish(f->st, &c, &cb), STORE_OK);
    memcpy(id, c.id, sizeof c.id);
    store_job_clear(&c);
}

static void url_of(char *out, size_t cap, const char *host, const char *path)
{
    snprintf(out, cap, "http://%s:%d%s", host, g_port, path);
}

/* The outbox rows of a job (at most 4). */
static size_t rows_of(fixture *f, const char *id, store_outbox *rows)
{
    size_t n = 0;
    assert_int_equal(store_outbox_of_job(f->st, id, rows, 4, &n), STORE_OK);
    return n;
}

static void expect_counts(fixture *f, int64_t pending, int64_t given_up)
{
    int64_t p = -1, g = -1;
    assert_int_equal(store_outbox_count(f->st, &p, &g), STORE_OK);
    assert_int_equal(p, pending);
    assert_int_equal(g, given_up);
}

/* ---- notifiers ---- */

/* Quick settings for tests: short back-off and polling. */
static notify_params test_params(const char *node, bool allow_private)
{
    notify_params p = notify_default_params();
    p.node = node;
    p.allow_private = allow_private;
    p.first_backoff_ms = 50;
    p.max_backoff_ms = 200;
    p.timeout_ms = 5000;
    p.poll_ms = 50;
    return p;
}

static notifier *start(store *st, const notify_params *p)
{
    char err[256] = "";
    notifier *n = notify_start(p, st, err, sizeof err);
    if (!n)
        fail_msg("notify_start: %s", err);
    return n;
}

static uint64_t settled(notifier *n)
{
    notify_stats s = notify_get_stats(n);
    return s.delivered + s.given_up;
}

/* Captures what is logged (stderr) between begin and end. */
static int capture_begin(char path[64])
{
    fflush(stderr);
    snprintf(path, 64, "/tmp/cicada-notify-log-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static char *capture_end(int saved, const char *path)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = NULL;
    size_t len = 0;
    assert_true(fs_read_file(path, &text, &len, 1 << 20));
    unlink(path);
    return text;
}

/* ---- tests ---- */

/* This machine's own name, when it resolves to loopback addresses only (as /etc/hosts often has
 * it): a name that passes any check on the URL's text and still leads home. */
static bool own_name_resolving_to_loopback(char *name, size_t len)
{
    if (gethostname(name, len) != 0)
        return false;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return false;
    bool all = res != NULL;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        all = all && fetch_address_is_internal(a->ai_addr);
    freeaddrinfo(res);
    return all;
}

static void test_loopback_refused_by_default(void **state)
{
    fixture *f = *state;
    const char *hosts[] = {"127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.0.0.2", NULL};
    char own[256], url[512], ids[8][40];
    bool by_name = own_name_resolving_to_loopback(own, sizeof own);
    if (by_name)
        hosts[5] = own;
    else
        print_message("this machine's name does not resolve to loopback only: that case is not run\n");
    size_t posted = 0;
    for (size_t i = 0; i < 6 && hosts[i]; i++, posted++) {
        url_of(url, sizeof url, hosts[i], "/cb");
        cancelled_job(f, url, "XML", ids[i]);
    }
    notify_params p = test_params("node-a", false);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= posted);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.given_up, posted);
    assert_int_equal(s.refused, posted);
    assert_int_equal(s.failed_attempts, 0);   /* refused once, never retried */
    assert_int_equal(heard_count(), 0);
    expect_counts(f, 0, (int64_t)posted);
    for (size_t i = 0; i < posted; i++) {
        store_outbox rows[4];
        assert_int_equal(rows_of(f, ids[i], rows), 1);
        assert_int_equal(rows[0].attempts, 1);
        if (!strstr(rows[0].last_error, "CICADA_URL_ALLOW_PRIVATE"))
            fail_msg("the given-up row says \"%s\", not how to allow the address", rows[0].last_error);
    }
}

/* A Success job's callback, allowed to reach loopback: delivered once, the XML JobsDetail of the
 * job with its result, and the row gone. */
static void test_delivered_once_xml(void **state)
{
    fixture *f = *state;
    char url[512], id[40];
    url_of(url, sizeof url, "127.0.0.1", "/cb");
    finished_job(f, url, "XML", NULL, id);
    expect_counts(f, 1, 0);
    notify_params p = test_params("node-a", true);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 1);
    notify_stats s = notify_get_stats(n);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.refused, 0);
    time_sleep_ms(300);   /* several polls: nothing is sent again */
    notify_stop(n, 1000);
    body_fields b;
    char type[64];
    assert_int_equal(heard_job(id, &b, type, sizeof type), 1);
    assert_int_equal(heard_count(), 1);
    assert_string_equal(type, "application/xml");
    assert_string_equal(b.event, "TaskFinish");
    assert_string_equal(b.state, "Success");
    assert_string_equal(b.code, "Success");
    assert_string_equal(b.result, "[0:0.000,0:1.500]  hello callback");
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 0);
    expect_counts(f, 0, 0);
}

/* A Failed job of a queue whose NotifyConfig asks for JSON: the JSON JobsDetail, a single object. */
static void test_queue_callback_json(void **state)
{
    fixture *f = *state;
    url_of(f->q.notify_url, sizeof f->q.notify_url, "127.0.0.1", "/cb");
    snprintf(f->q.notify_state, sizeof f->q.notify_state, "On");
    snprintf(f->q.notify_event, sizeof f->q.notify_event, "TaskFinish");
    snprintf(f->q.notify_format, sizeof f->q.notify_format, "JSON");
    assert_int_equal(store_queue_update(f->st, &f->q), STORE_OK);
    char failed_id[40], cancelled_id[40];
    finished_job(f, NULL, NULL, "InputAudioInvalid", failed_id);
    cancelled_job(f, NULL, NULL, cancelled_id);
    notify_params p = test_params("node-a", true);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 2);
    notify_stop(n, 1000);
    body_fields b;
    char type[64];
    assert_int_equal(heard_job(failed_id, &b, type, sizeof type), 1);
    assert_string_equal(type, "application/json");
    assert_string_equal(b.event, "TaskFinish");
    assert_string_equal(b.state, "Failed");
    assert_string_equal(b.code, "InputAudioInvalid");
    assert_int_equal(heard_job(cancelled_id, &b, NULL, 0), 1);
    assert_string_equal(b.state, "Cancel");
    expect_counts(f, 0, 0);
}

static void test_redirects_not_followed(void **state)
{
    fixture *f = *state;
    char url[512], id[40];
    url_of(url, sizeof url, "127.0.0.1", "/redirect");
    cancelled_job(f, url, "XML", id);
    notify_params p = test_params("node-a", true);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 1);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.refused, 1);
    assert_int_equal(s.failed_attempts, 0);
    assert_int_equal(heard_on("/redirect"), 1);
    assert_int_equal(heard_on("/cb"), 0);
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 1);
    assert_non_null(strstr(rows[0].last_error, "redirect"));
}

/* A listening socket nobody serves: any connection to it waits in its backlog, where accept() finds it. */
static int quiet_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_environment_proxies_ignored(void **state)
{
    fixture *f = *state;
    int pport;
    int proxy = quiet_listener(&pport);
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
    const char *vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        setenv(vars[i], purl, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    char url[512], direct[40], via_proxy[40];
    url_of(url, sizeof url, "127.0.0.1", "/cb");
    cancelled_job(f, url, "XML", direct);                                          /* straight to the receiver */
    cancelled_job(f, "http://cicada-no-such-host.invalid/cb", "XML", via_proxy);   /* a proxy would take it */
    notify_params p = test_params("node-a", true);
    p.max_attempts = 1;
    p.timeout_ms = 3000;
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 2);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.given_up, 1);
    assert_int_equal(heard_job(direct, NULL, NULL, 0), 1);
    int c = accept(proxy, NULL, NULL);
    if (c >= 0)
        fail_msg("a callback went through the proxy named in the environment");
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(proxy);
}

/* URLs no request may be made to, found in the outbox (whoever wrote them): given up at once as
 * refused, without a connection; the log shows no password nor raw control bytes. */
static void test_bad_urls_given_up(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"ftp://example.com/x", "http://user:pw@example.com/x", "http://example.com/a\r\nX: 1",
                         "http:///x", "file:///etc/passwd"};
    size_t nbad = sizeof bad / sizeof bad[0];
    char ids[8][40];
    for (size_t i = 0; i < nbad; i++)
        cancelled_job(f, bad[i], "XML", ids[i]);
    notify_params p = test_params("node-a", true);
    char logpath[64];
    int saved = capture_begin(logpath);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= nbad);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    char *log = capture_end(saved, logpath);
    if (strstr(log, "user:pw") || !strstr(log, "callback to http://***@example.com/x refused") ||
        strstr(log, "\r\nX: 1") || !strstr(log, "callback to ftp://example.com/x refused"))
        fail_msg("the refusals are not logged once each, with the URL's password hidden and its control "
                 "bytes replaced:\n%s", log);
    free(log);
    assert_int_equal(s.given_up, nbad);
    assert_int_equal(s.refused, nbad);
    assert_int_equal(s.failed_attempts, 0);
    expect_counts(f, 0, (int64_t)nbad);
    for (size_t i = 0; i < nbad; i++) {
        store_outbox rows[4];
        assert_int_equal(rows_of(f, ids[i], rows), 1);
        assert_int_equal(rows[0].attempts, 1);
        assert_true(rows[0].last_error[0] != '\0');
    }
    char err[256];
    assert_false(notify_url_valid(NULL, "http://127.0.0.1/x", err, sizeof err));
    assert_non_null(strstr(err, "CICADA_URL_ALLOW_PRIVATE"));
    assert_true(notify_url_valid(NULL, "https://hooks.example.com/x", err, sizeof err));
    for (size_t i = 0; i < nbad; i++)
        assert_false(notify_url_valid(NULL, bad[i], err, sizeof err));
}

/* A port nothing listens on (connection refused), found by binding and closing. */
static int closed_port(void)
{
    int port;
    int fd = quiet_listener(&port);
    close(fd);
    return port;
}

/* The receiver is down (connection refused) when the job ends, and comes up later: the callback
 * is retried after the back-off and delivered. */
static void test_receiver_down_then_up(void **state)
{
    fixture *f = *state;
    int port = closed_port();
    char url[512], id[40];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cb", port);
    cancelled_job(f, url, "XML", id);
    notify_params p = test_params("node-a", true);
    p.first_backoff_ms = 100;
    p.max_backoff_ms = 100;
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(notify_get_stats(n).failed_attempts >= 2);
    assert_int_equal(notify_get_stats(n).delivered, 0);
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 1);
    assert_true(rows[0].last_error[0] != '\0');   /* the connection error, recorded */
    struct MHD_Daemon *late = receiver_start(port, NULL);
    assert_non_null(late);
    WAIT_UNTIL(notify_get_stats(n).delivered >= 1);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    MHD_stop_daemon(late);
    assert_int_equal(s.given_up, 0);
    assert_int_equal(heard_job(id, NULL, NULL, 0), 1);
    assert_int_equal(rows_of(f, id, rows), 0);
}

/* 500s, then 200: retried until delivered, each wait at least the back-off, which doubles. */
static void test_retried_after_5xx(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&g_rx.mu);
    g_rx.fail_left = 3;
    pthread_mutex_unlock(&g_rx.mu);
    char url[512], id[40];
    url_of(url, sizeof url, "127.0.0.1", "/flaky");
    cancelled_job(f, url, "XML", id);
    notify_params p = test_params("node-a", true);
    p.first_backoff_ms = 100;
    p.max_backoff_ms = 250;   /* waits: 100, 200, then 250 (capped) */
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 1);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.failed_attempts, 3);
    assert_int_equal(heard_on("/flaky"), 4);
    const int64_t waits[] = {100, 200, 250};
    pthread_mutex_lock(&g_rx.mu);
    for (int i = 1; i < 4; i++) {
        int64_t gap = g_rx.log[i].at_ms - g_rx.log[i - 1].at_ms;
        if (gap < waits[i - 1] - 5 || gap > waits[i - 1] + 2000)
            fail_msg("try %d came %lld ms after the one before; the back-off is %lld ms", i + 1, (long long)gap,
                     (long long)waits[i - 1]);
    }
    pthread_mutex_unlock(&g_rx.mu);
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 0);
}

/* A receiver that always fails: given up after max_attempts, the row kept as given up with the last
 * error, and the give-up logged with the job id, URL, attempts and error. */
static void test_gives_up_after_max_attempts(void **state)
{
    fixture *f = *state;
    char url[512], id[40], logpath[64];
    url_of(url, sizeof url, "127.0.0.1", "/always500");
    cancelled_job(f, url, "JSON", id);
    notify_params p = test_params("node-a", true);
    p.max_attempts = 3;
    p.first_backoff_ms = 20;
    int saved = capture_begin(logpath);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 1);
    notify_stats s = notify_get_stats(n);
    time_sleep_ms(300);   /* several polls: a given-up row is never sent again */
    notify_stop(n, 1000);
    char *log = capture_end(saved, logpath);
    assert_int_equal(s.given_up, 1);
    assert_int_equal(s.refused, 0);
    assert_int_equal(s.failed_attempts, 2);
    assert_int_equal(heard_on("/always500"), 3);
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 1);
    assert_int_equal(rows[0].attempts, 3);
    assert_string_equal(rows[0].last_error, "it answered HTTP 500");
    assert_string_equal(rows[0].owner, "");
    expect_counts(f, 0, 1);
    const char *line = strstr(log, "given up after 3 attempts");
    if (!line || !strstr(log, id) || !strstr(log, url) || !strstr(log, "HTTP 500"))
        fail_msg("the give-up is not logged with job id, URL, attempts and error:\n%s", log);
    free(log);
}

/* A row whose job is gone: given up with an error saying so. */
static void test_job_gone(void **state)
{
    fixture *f = *state;
    char url[512], id[40], sql[128];
    url_of(url, sizeof url, "127.0.0.1", "/cb");
    cancelled_job(f, url, "XML", id);
    snprintf(sql, sizeof sql, "DELETE FROM jobs WHERE id = '%s'", id);
    fx_sql(f, sql);
    notify_params p = test_params("node-a", true);
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(settled(n) >= 1);
    notify_stats s = notify_get_stats(n);
    notify_stop(n, 1000);
    assert_int_equal(s.given_up, 1);
    assert_int_equal(heard_count(), 0);
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 1);
    assert_non_null(strstr(rows[0].last_error, "no longer exists"));
}

/* notify_kick sends at once what would otherwise wait for the next poll. */
static void test_kick(void **state)
{
    fixture *f = *state;
    notify_params p = test_params("node-a", true);
    p.poll_ms = 60000;
    notifier *n = start(f->st, &p);
    time_sleep_ms(200);   /* its first look at the outbox is over */
    char url[512], id[40];
    url_of(url, sizeof url, "127.0.0.1", "/cb");
    cancelled_job(f, url, "XML", id);
    time_sleep_ms(500);
    assert_int_equal(heard_count(), 0);   /* no poll for a minute */
    int64_t kicked = time_mono_ms();
    notify_kick(n);
    WAIT_UNTIL(settled(n) >= 1);
    assert_true(time_mono_ms() - kicked < 5000);
    notify_stop(n, 1000);
    assert_int_equal(heard_job(id, NULL, NULL, 0), 1);
}

/* A notifier stopped with rows pending — some in flight, held by their receiver past the grace,
 * some never claimed — leaves them in the store; a new notifier on the reopened store sends them. */
static void test_restart_delivers_pending(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&g_rx.mu);
    g_rx.hold = true;
    pthread_mutex_unlock(&g_rx.mu);
    char url[512], ids[5][40];
    url_of(url, sizeof url, "127.0.0.1", "/hold");
    for (int i = 0; i < 5; i++)
        cancelled_job(f, url, "XML", ids[i]);
    notify_params p = test_params("node-a", true);
    p.max_in_flight = 2;
    notifier *n = start(f->st, &p);
    WAIT_UNTIL(heard_on("/hold") >= 2);
    notify_stats s = notify_get_stats(n);
    assert_int_equal(s.in_flight, 2);
    notify_stop(n, 100);   /* the held two are handed back */
    expect_counts(f, 5, 0);
    receiver_release();
    fx_restart(f);
    expect_counts(f, 5, 0);
    n = start(f->st, &p);  /* the same node, restarted */
    WAIT_UNTIL(settled(n) >= 5);
    s = notify_get_stats(n);
    notify_stop(n, 1000);
    assert_int_equal(s.delivered, 5);
    for (int i = 0; i < 5; i++)
        assert_true(heard_job(ids[i], NULL, NULL, 0) >= 1);   /* at least once: the held ones twice */
    expect_counts(f, 0, 0);
}

/* Two nodes (two store handles, two node ids) sending from one outbox, each two requests at a time
 * to a receiver that takes 30 ms to answer: both take part, every callback arrives, none twice. */
static void test_two_notifiers(void **state)
{
    fixture *f = *state;
    enum { JOBS = 40 };
    char url[512], ids[JOBS][40];
    url_of(url, sizeof url, "127.0.0.1", "/slow");
    for (int i = 0; i < JOBS; i++)
        cancelled_job(f, url, i % 2 ? "JSON" : "XML", ids[i]);
    store *other = fx_open_store(f);
    notify_params pa = test_params("node-a", true), pb = test_params("node-b", true);
    pa.max_in_flight = pb.max_in_flight = 2;
    notifier *a = start(f->st, &pa), *b = start(other, &pb);
    WAIT_UNTIL(settled(a) + settled(b) >= JOBS);
    time_sleep_ms(300);   /* several polls: nothing is sent again */
    notify_stats sa = notify_get_stats(a), sb = notify_get_stats(b);
    notify_stop(a, 1000);
    notify_stop(b, 1000);
    store_close(other);
    print_message("node-a delivered %llu, node-b %llu\n", (unsigned long long)sa.delivered,
                  (unsigned long long)sb.delivered);
    assert_int_equal(sa.delivered + sb.delivered, JOBS);
    assert_true(sa.delivered > 0 && sb.delivered > 0);
    assert_int_equal(sa.fenced + sb.fenced, 0);
    for (int i = 0; i < JOBS; i++)
        assert_int_equal(heard_job(ids[i], NULL, NULL, 0), 1);
    assert_int_equal(heard_count(), JOBS);
    expect_counts(f, 0, 0);
}

/* Node A's lease runs out while its request is still unanswered (its lease is shorter than its
 * timeout: as if it had stalled); node B takes the row over (attempt 2) and delivers it. When A's answer comes
 * at last, the store refuses A's outcome: the row is B's. */
static void test_expired_lease_cannot_settle(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&g_rx.mu);
    g_rx.hold_first_ms = 1500;
    pthread_mutex_unlock(&g_rx.mu);
    char url[512], id[40];
    url_of(url, sizeof url, "127.0.0.1", "/hold-first");
    cancelled_job(f, url, "XML", id);
    store *other = fx_open_store(f);
    notify_params pa = test_params("node-a", true);
    pa.lease_ms = 300;
    pa.timeout_ms = 5000;
    pa.poll_ms = 60000;    /* A looks once, at start: the takeover is B's */
    notifier *a = start(f->st, &pa);
    WAIT_UNTIL(heard_on("/hold-first") >= 1);
    notify_params pb = test_params("node-b", true);
    notifier *b = start(other, &pb);
    WAIT_UNTIL(notify_get_stats(b).delivered >= 1);
    WAIT_UNTIL(notify_get_stats(a).fenced >= 1);
    notify_stats sa = notify_get_stats(a), sb = notify_get_stats(b);
    notify_stop(a, 1000);
    notify_stop(b, 1000);
    store_close(other);
    assert_int_equal(sa.delivered, 0);
    assert_int_equal(sa.fenced, 1);
    assert_int_equal(sb.delivered, 1);
    assert_int_equal(heard_job(id, NULL, NULL, 0), 2);   /* at-least-once: both requests arrived */
    store_outbox rows[4];
    assert_int_equal(rows_of(f, id, rows), 0);
    expect_counts(f, 0, 0);
}

static void test_target(void **state)
{
    (void)state;
    store_job j;
    store_job_init(&j);
    store_queue q;
    memset(&q, 0, sizeof q);
    snprintf(q.notify_url, sizeof q.notify_url, "https://hooks.example.com/q");
    snprintf(q.notify_event, sizeof q.notify_event, "TaskFinish");
    snprintf(q.notify_state, sizeof q.notify_state, "On");
    snprintf(q.notify_format, sizeof q.notify_format, "JSON");
    store_callback cb;

    assert_true(notify_target(&j, &q, &cb));   /* no CallBack of its own: the queue's */
    assert_string_equal(cb.url, "https://hooks.example.com/q");
    assert_string_equal(cb.format, "JSON");
    assert_false(notify_target(&j, NULL, &cb));
    assert_string_equal(cb.url, "");

    snprintf(q.notify_event, sizeof q.notify_event, "WorkflowFinish,TransCodingFinish");
    assert_true(notify_target(&j, &q, &cb));
    snprintf(q.notify_event, sizeof q.notify_event, "WorkflowFinish");
    assert_false(notify_target(&j, &q, &cb));
    snprintf(q.notify_event, sizeof q.notify_event, "TaskFinish");
    snprintf(q.notify_state, sizeof q.notify_state, "Off");
    assert_false(notify_target(&j, &q, &cb));
    snprintf(q.notify_state, sizeof q.notify_state, "On");
    q.notify_url[0] = '\0';
    assert_false(notify_target(&j, &q, &cb));
    snprintf(q.notify_url, sizeof q.notify_url, "https://hooks.example.com/q");
    snprintf(q.notify_format, sizeof q.notify_format, "XML");
    assert_true(notify_target(&j, &q, &cb));
    assert_string_equal(cb.format, "XML");

    snprintf(j.callback, sizeof j.callback, "https://hooks.example.com/job");   /* its own wins */
    snprintf(j.callback_format, sizeof j.callback_format, "JSON");
    assert_true(notify_target(&j, &q, &cb));
    assert_string_equal(cb.url, "https://hooks.example.com/job");
    assert_string_equal(cb.format, "JSON");
    j.callback_format[0] = '\0';   /* XML unless JSON */
    assert_true(notify_target(&j, NULL, &cb));
    assert_string_equal(cb.format, "XML");

    snprintf(j.callback, sizeof j.callback, "no");   /* none, whatever the queue says */
    assert_false(notify_target(&j, &q, &cb));
    assert_string_equal(cb.url, "");
}

static void test_params_checked(void **state)
{
    fixture *f = *state;
    char err[256];
    notify_params p = test_params(NULL, true);
    assert_null(notify_start(&p, f->st, err, sizeof err));
    assert_non_null(strstr(err, "node"));
    p = test_params("node-a", true);
    assert_null(notify_start(&p, NULL, err, sizeof err));
    p.max_attempts = 0;
    assert_null(notify_start(&p, f->st, err, sizeof err));
    p = test_params("node-a", true);
    p.max_backoff_ms = p.first_backoff_ms - 1;
    assert_null(notify_start(&p, f->st, err, sizeof err));
    notify_params d = notify_default_params();
    assert_int_equal(d.max_attempts, 10);
    assert_int_equal(d.first_backoff_ms, 1000);
    assert_int_equal(d.max_backoff_ms, 300000);
    assert_int_equal(d.timeout_ms, 10000);
    assert_int_equal(d.lease_ms, 60000);
    assert_int_equal(d.poll_ms, 250);
    assert_true(d.lease_ms > d.timeout_ms);
}

#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void)
{
    if (use_pg()) {
#ifdef CICADA_TEST_HAVE_PQ
        const char *conninfo = getenv("CICADA_TEST_PG");
        if (!conninfo || !conninfo[0]) {
            fprintf(stderr, "skip: CICADA_TEST_STORE=pg needs CICADA_TEST_PG (a libpq connection string)\n");
            return 77;
        }
        PGconn *c = PQconnectdb(conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "skip: the test PostgreSQL server (%s) cannot be reached: %s", conninfo,
                    PQerrorMessage(c));
            PQfinish(c);
            return 77;
        }
        PQfinish(c);
#else
        fprintf(stderr, "skip: CICADA_TEST_STORE=pg, but this test was built without libpq\n");
        return 77;
#endif
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!getenv("CICADA_LOG"))   /* CICADA_LOG=debug shows every claim and outcome */
        log_set_level(LOG_WARN);
    g_httpd = receiver_start(0, &g_port);
    if (!g_httpd) {
        fprintf(stderr, "cannot start the loopback receiver\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target),
        FX_TEST(test_params_checked),
        FX_TEST(test_loopback_refused_by_default),
        FX_TEST(test_delivered_once_xml),
        FX_TEST(test_queue_callback_json),
        FX_TEST(test_redirects_not_followed),
        FX_TEST(test_environment_proxies_ignored),
        FX_TEST(test_bad_urls_given_up),
        FX_TEST(test_receiver_down_then_up),
        FX_TEST(test_retried_after_5xx),
        FX_TEST(test_gives_up_after_max_attempts),
        FX_TEST(test_job_gone),
        FX_TEST(test_kick),
        FX_TEST(test_restart_delivers_pending),
        FX_TEST(test_two_notifiers),
        FX_TEST(test_expired_lease_cannot_settle),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    receiver_release();
    MHD_stop_daemon(g_httpd);
    receiver_reset();
    curl_global_cleanup();
    return rc;
}
