/* bare_mhd.c — the baseline for the HTTP benchmark: a libmicrohttpd server in the same threading
 * mode as cicada (an epoll thread pool; argv[2] threads, 0 = thread per connection) answering every request with a fixed JobsDetail-sized XML
 * body and no other work. cicada's GET /asr_jobs/<id> is measured against this. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char body[1800];

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    (void)cls; (void)url; (void)method; (void)version; (void)upload; (void)upload_size;
    if (*ctx == NULL) {
        *ctx = c;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/xml");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 18081;
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 32;   /* as cicada: 0 = thread per connection */
    memset(body, 'x', sizeof body - 1);
    memcpy(body, "<Response><JobsDetail>", 22);
    unsigned flags = threads ? MHD_USE_EPOLL_INTERNAL_THREAD
                             : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, NULL,
                                            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on %d\n", port);
        return 1;
    }
    printf("bare libmicrohttpd on port %d\n", port);
    fflush(stdout);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
