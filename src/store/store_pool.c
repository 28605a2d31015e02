/* store_pool.c — the pool of database connections both backends draw from (SQLite: one file's
 * connections, each with its cached statements; PostgreSQL: libpq sessions with their prepared
 * statements). Connections are reused most-recent-first (the warmest caches). A caller that finds
 * none idle waits in arrival order and is woken alone, handed a connection: one another caller
 * released, or one an opener thread opened for it (up to the limit). No thundering herd on a
 * release, no late arrival taking a connection ahead of those already waiting, and no caller stuck
 * behind an open: a new PostgreSQL backend can take seconds to start on a loaded machine while the
 * other connections come free every millisecond. (The broadcast pool before, with callers opening
 * connections themselves, left some requests waiting seconds while others went through.) */
#include "store/store_internal.h"

#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* A caller waiting for a connection. */
typedef struct pool_waiter {
    pthread_cond_t cv;
    void *given;      /* a connection, now this waiter's */
    bool failed;      /* no connection exists and none could be opened: err says why */
    char err[512];
    struct pool_waiter *next;
} pool_waiter;

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t openers_done; /* store_pool_free waits here for the openers */
    int max, nconn;            /* nconn: idle + in use + being opened */
    int opening;               /* connections being opened (by opener threads) */
    int nwaiting;
    void **idle;               /* max long; nidle used, the most recently released last */
    int nidle;
    pool_waiter *wait_head, **wait_tail;
    void *backend;
    store_conn_open_fn open;
    store_conn_close_fn close;
};

store_pool *store_pool_new(int max, void *backend, store_conn_open_fn open, store_conn_close_fn close, void *first)
{
    store_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->openers_done, NULL);
    p->max = max > 0 ? max : 1;
    p->idle = xcalloc((size_t)p->max, sizeof *p->idle);
    p->wait_tail = &p->wait_head;
    p->backend = backend;
    p->open = open;
    p->close = close;
    if (first) {
        p->idle[p->nidle++] = first;
        p->nconn = 1;
    }
    return p;
}

void store_pool_free(store_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    while (p->opening > 0) /* an opener hands its connection to the pool: let it finish */
        pthread_cond_wait(&p->openers_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nidle; i++)
        p->close(p->idle[i]);
    pthread_cond_destroy(&p->openers_done);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p);
}

static pool_waiter *pop_waiter(store_pool *p)
{
    pool_waiter *w = p->wait_head;
    if (w) {
        p->wait_head = w->next;
        if (!p->wait_head)
            p->wait_tail = &p->wait_head;
        p->nwaiting--;
    }
    return w;
}

/* A connection for the pool (mu held): to the first waiter, else idle. */
static void put_conn(store_pool *p, void *conn)
{
    pool_waiter *w = pop_waiter(p);
    if (w) {
        w->given = conn;
        pthread_cond_signal(&w->cv);
    } else {
        p->idle[p->nidle++] = conn;
    }
}

/* No connection exists, so none will be released (mu held): everybody waiting gets err. */
static void fail_waiters(store_pool *p, const char *err)
{
    for (pool_waiter *w; (w = pop_waiter(p)) != NULL;) {
        w->failed = true;
        snprintf(w->err, sizeof w->err, "%s", err);
        pthread_cond_signal(&w->cv);
    }
}

/* Opens one connection off the callers' threads: opening can take seconds on a loaded machine
 * (a new PostgreSQL backend starts up), and a caller that waited for it while others released
 * theirs would wait all that time. Waiters take whichever comes first. */
static void *opener_main(void *arg)
{
    store_pool *p = arg;
    char err[512];
    void *c = p->open(p->backend, err, sizeof err);
    pthread_mutex_lock(&p->mu);
    p->opening--;
    if (c) {
        put_conn(p, c);
    } else if (--p->nconn == 0) {
        fail_waiters(p, err); /* the next call tries again */
    }
    /* else: the pool stops growing at the connections it has, which its waiters will get */
    if (p->opening == 0)
        pthread_cond_broadcast(&p->openers_done);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Starts openers (mu held) while callers wait that no opener is coming for and the limit allows. */
static void grow(store_pool *p)
{
    while (p->opening < p->nwaiting && p->nconn < p->max) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        bool started = pthread_create(&t, &attr, opener_main, p) == 0;
        pthread_attr_destroy(&attr);
        if (!started)
            return; /* out of threads: the waiters get released connections */
        p->opening++;
        p->nconn++;
    }
}

void *store_pool_acquire(store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->wait_head && p->nidle > 0) {
        void *c = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
        return c;
    }
    pool_waiter w = {.given = NULL};
    pthread_cond_init(&w.cv, NULL);
    *p->wait_tail = &w;
    p->wait_tail = &w.next;
    p->nwaiting++;
    grow(p);
    if (p->nconn == 0) /* not even an opener could start */
        fail_waiters(p, "cannot start a thread to open a database connection");
    while (!w.given && !w.failed)
        pthread_cond_wait(&w.cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&w.cv);
    if (w.failed)
        store_set_error("%s", w.err);
    return w.given;
}

void store_pool_release(store_pool *p, void *conn, bool broken)
{
    void **drop = NULL;
    int ndrop = 0;
    pthread_mutex_lock(&p->mu);
    if (broken) {
        drop = xcalloc((size_t)p->nidle + 1, sizeof *drop);
        drop[ndrop++] = conn;
        while (p->nidle > 0)
            drop[ndrop++] = p->idle[--p->nidle];
        p->nconn -= ndrop;
        grow(p); /* the waiters get fresh connections */
    } else {
        put_conn(p, conn);
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < ndrop; i++)
        p->close(drop[i]);
    free(drop);
}
