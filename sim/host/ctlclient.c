/*
 * ctlclient.c - connecting to a control socket and exchanging lines (ctlclient.h).
 */
#include "host/ctlclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_tcp(const char *addr, const char *colon, bool loopback_only, char *err,
                       size_t errlen)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(err, errlen, "%s: not an IPv4 address", host);
        return -1;
    }
    if (loopback_only && (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
        snprintf(err, errlen, "%s: not a loopback address", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* request/reply lines */
        return fd;
    }
    snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static int connect_unix(const char *addr, char *err, size_t errlen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", addr);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int ctlc_connect(struct ctl_conn *c, const char *addr, bool loopback_only, int timeout_ms,
                 char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    c->len = 0;
    c->fd = colon && !strchr(addr, '/') ? connect_tcp(addr, colon, loopback_only, err, errlen)
                                        : connect_unix(addr, err, errlen);
    if (c->fd < 0)
        return -1;
    if (timeout_ms > 0) {
        struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    char *greeting = ctlc_line(c);
    if (!greeting) {
        snprintf(err, errlen, "no greeting from the host at %s", addr);
        ctlc_close(c);
        return -1;
    }
    free(greeting);
    return 0;
}

void ctlc_close(struct ctl_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

char *ctlc_line(struct ctl_conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, n);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        if (c->len == sizeof c->buf || c->fd < 0)
            return NULL;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        c->len += (size_t)r;
    }
}

int ctlc_send_line(struct ctl_conn *c, const char *line)
{
    size_t n = strlen(line), done = 0;
    char *buf = malloc(n + 1);               /* one send: no Nagle wait for the newline */
    if (!buf || c->fd < 0) {
        free(buf);
        return -1;
    }
    memcpy(buf, line, n);
    buf[n++] = '\n';
    while (done < n) {
        ssize_t w = send(c->fd, buf + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    free(buf);
    return done == n ? 0 : -1;
}

int ctlc_send(struct ctl_conn *c, json_t *req)
{
    char *s = json_dumps(req, JSON_COMPACT);
    int rc = s ? ctlc_send_line(c, s) : -1;
    free(s);
    return rc;
}

int ctlc_auth(struct ctl_conn *c, const char *token)
{
    json_t *req = json_pack("{s:s, s:{s:s}}", "execute", "auth", "arguments", "token", token);
    int rc = ctlc_send(c, req);
    json_decref(req);
    char *line = rc == 0 ? ctlc_line(c) : NULL;
    rc = line && strstr(line, "\"return\"") ? 0 : -1;
    free(line);
    return rc;
}

int ctlc_read_token(const char *file, char *tok, size_t len)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    bool ok = fgets(tok, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    tok[strcspn(tok, "\r\n ")] = 0;
    return 0;
}
