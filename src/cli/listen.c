/* listen.c — the `serve` listen address as the operator writes it: parsed strictly (a typo in the
 * host or port is refused, never read as port 0), probed by binding it once before anything is
 * created, and turned into the address clients on this machine connect to. The HTTP layer is then
 * handed the canonical form ("127.0.0.1:8080", "[::1]:8080"). */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

#define LISTEN_FORMS "IP:PORT, [IPv6]:PORT or :PORT for all addresses, e.g. 127.0.0.1:8080"

/* "0".."65535", digits only. */
static bool parse_port(const char *s, int *port)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 5 || s[n] != '\0')
        return false;
    long v = strtol(s, NULL, 10);
    *port = (int)v;
    return v <= 65535;
}

/* Splits "[v6]:port", "host:port" or ":port" into host and port text (a host longer than hostlen is
 * cut short: it is then no IP address and refused as such). */
static bool split(const char *s, char *host, size_t hostlen, const char **port, bool *bracketed, char *err,
                  size_t errlen)
{
    const char *colon;
    *bracketed = s[0] == '[';
    if (*bracketed) {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            err_printf(err, errlen, "listen address \"%s\": an IPv6 address needs a port after it: [::1]:8080", s);
            return false;
        }
        s++;
        colon = close + 1;
        snprintf(host, hostlen, "%.*s", (int)(close - s), s);
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            err_printf(err, errlen, "listen address \"%s\" has no port: give " LISTEN_FORMS, s);
            return false;
        }
        if (memchr(s, ':', (size_t)(colon - s))) {
            err_printf(err, errlen, "listen address \"%s\": write an IPv6 address in brackets, e.g. [::1]:8080", s);
            return false;
        }
        snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
    }
    *port = colon + 1;
    return true;
}

bool listen_parse(const char *s, listen_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    char host[128];
    const char *port;
    bool bracketed;
    if (!split(s, host, sizeof host, &port, &bracketed, err, errlen))
        return false;
    if (!parse_port(port, &a->port)) {
        err_printf(err, errlen, "listen address \"%s\": the port \"%s\" must be a number from 0 to 65535 (0 = any "
                   "free port)", s, port);
        return false;
    }
    unsigned char bin[sizeof(struct in6_addr)];
    a->v6 = bracketed;
    if (!bracketed && (!host[0] || strcmp(host, "0.0.0.0") == 0))
        snprintf(host, sizeof host, "0.0.0.0");
    else if (!bracketed && strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(a->v6 ? AF_INET6 : AF_INET, host, bin) != 1) {
        err_printf(err, errlen, "listen address \"%s\": \"%s\" is not an IP%s address (listen on an address of "
                   "this machine: 127.0.0.1, 0.0.0.0 for all, [::1], or localhost)", s, host, a->v6 ? "v6" : "v4");
        return false;
    }
    a->any = a->v6 ? memcmp(bin, &in6addr_any, sizeof in6addr_any) == 0 : strcmp(host, "0.0.0.0") == 0;
    inet_ntop(a->v6 ? AF_INET6 : AF_INET, bin, a->ip, sizeof a->ip);   /* fits: INET6_ADDRSTRLEN is 46 */
    return true;
}

/* Why bind() failed, in the operator's terms. */
static void bind_error(const listen_addr *a, int e, char *err, size_t errlen)
{
    char where[80];
    listen_format(a, a->port, where, sizeof where);
    if (e == EADDRINUSE)
        err_printf(err, errlen, "cannot listen on %s: port %d is in use (is another server running? choose another "
                   "port with --listen or CICADA_LISTEN)", where, a->port);
    else if (e == EACCES)
        err_printf(err, errlen, "cannot listen on %s: permission denied (ports below 1024 need privileges; use a port "
                   "from 1024 up)", where);
    else if (e == EADDRNOTAVAIL)
        err_printf(err, errlen, "cannot listen on %s: %s is not an address of this machine", where, a->ip);
    else
        err_printf(err, errlen, "cannot listen on %s: %s", where, strerror(e));
}

/* Binds a socket to the address as the HTTP layer will (SO_REUSEADDR; IPv6 only on a v6 address)
 * and closes it again. Costs one socket; the HTTP layer binds for real a moment later. */
bool listen_probe(const listen_addr *a, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (a->v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)a->port);
        inet_pton(AF_INET6, a->ip, &s6->sin6_addr);
        len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)a->port);
        inet_pton(AF_INET, a->ip, &s4->sin_addr);
        len = sizeof *s4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err_printf(err, errlen, "cannot create a socket: %s", strerror(errno));
        return false;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (a->v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    bool ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    if (!ok)
        bind_error(a, errno, err, errlen);
    close(fd);
    return ok;
}

void listen_format(const listen_addr *a, int port, char *out, size_t outlen)
{
    snprintf(out, outlen, a->v6 ? "[%s]:%d" : "%s:%d", a->ip, port);
}

const char *listen_client_ip(const listen_addr *a)
{
    if (a->any)
        return a->v6 ? "::1" : "127.0.0.1";
    return a->ip;
}
