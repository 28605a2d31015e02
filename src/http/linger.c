/* linger.c — lingering close (RFC 9112 §9.6) for connections answered before their body was read.
 *
 * A refused request is answered at once, but its client may still be sending the body. Closing a
 * socket with unread data makes the kernel send a reset, and a reset that reaches the client before
 * it has read the answer destroys the answer: the client sees EPIPE or ECONNRESET instead of the
 * 400/403 it should have got. So the answering side is shut (the client reads the answer, then end
 * of stream) and the socket is handed here, where one thread reads and discards what still arrives
 * for at most LINGER_MS or LINGER_MAX_BYTES, then closes it. libmicrohttpd closes its own
 * descriptor meanwhile (removing it from its epoll set first); the socket lives on through the
 * descriptor this file was given (a dup).
 *
 * State (guarded by mu): the set of sockets and their deadlines, at most LINGER_MAX_SOCKETS. */
#include "http/linger.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

#define LINGER_MS 2000                  /* how long a refused client may go on sending */
#define LINGER_MAX_BYTES (4 << 20)      /* and how much of it is read, per socket */
#define LINGER_MAX_SOCKETS 256          /* more at once are closed straight away */
#define TICK_MS 100                     /* deadline granularity */

typedef struct lingering {
    int fd;                             /* -1: free slot */
    int64_t deadline_ms;
    int64_t bytes;
} lingering;

struct linger {
    pthread_mutex_t mu;
    pthread_t thread;
    int epfd;
    int wake[2];                        /* a byte on wake[1] stops the thread */
    lingering socks[LINGER_MAX_SOCKETS];
};

static void drop(linger *l, lingering *s)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);   /* libmicrohttpd's descriptor may still be open */
    close(s->fd);
    s->fd = -1;
}

/* Reads and discards what is there; false when the socket is done (end, error, budget spent). */
static bool drain(lingering *s)
{
    char scratch[16384];
    for (;;) {
        ssize_t n = read(s->fd, scratch, sizeof scratch);
        if (n > 0) {
            s->bytes += n;
            if (s->bytes > LINGER_MAX_BYTES)
                return false;
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

static void *run(void *arg)
{
    linger *l = arg;
    struct epoll_event ev[32];
    for (;;) {
        int n = epoll_wait(l->epfd, ev, 32, TICK_MS);
        int64_t now = time_mono_ms();
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {   /* the wake pipe: stop */
                pthread_mutex_unlock(&l->mu);
                return NULL;
            }
            lingering *s = ev[i].data.ptr;
            if (s->fd >= 0 && !drain(s))
                drop(l, s);
        }
        for (int i = 0; i < LINGER_MAX_SOCKETS; i++)
            if (l->socks[i].fd >= 0 && now >= l->socks[i].deadline_ms)
                drop(l, &l->socks[i]);
        pthread_mutex_unlock(&l->mu);
    }
}

linger *linger_start(void)
{
    linger *l = xcalloc(1, sizeof *l);
    for (int i = 0; i < LINGER_MAX_SOCKETS; i++)
        l->socks[i].fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (l->epfd < 0 || pipe(l->wake) != 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake[0], &ev) != 0 ||
        pthread_create(&l->thread, NULL, run, l) != 0) {
        if (l->epfd >= 0)
            close(l->epfd);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    return l;
}

void linger_add(linger *l, int fd)
{
    if (fd < 0)
        return;
    if (!l) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&l->mu);
    lingering *s = NULL;
    for (int i = 0; i < LINGER_MAX_SOCKETS && !s; i++)
        if (l->socks[i].fd < 0)
            s = &l->socks[i];
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    if (s) {
        *s = (lingering){.fd = fd, .deadline_ms = time_mono_ms() + LINGER_MS};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            drop(l, s);
    } else {
        close(fd);   /* too many at once: a plain close */
    }
    pthread_mutex_unlock(&l->mu);
}

void linger_stop(linger *l)
{
    if (!l)
        return;
    char b = 0;
    if (write(l->wake[1], &b, 1) == 1)
        pthread_join(l->thread, NULL);
    for (int i = 0; i < LINGER_MAX_SOCKETS; i++)
        if (l->socks[i].fd >= 0)
            drop(l, &l->socks[i]);
    close(l->wake[0]);
    close(l->wake[1]);
    close(l->epfd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
