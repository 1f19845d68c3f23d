/*
 * ctlsock.c - the control socket's connections (ctlsock.h).
 */
#include "host/ctlsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/control.h"

struct ctl_client {
    int fd;
    bool authed;                    /* Unix sockets are authed by their 0600 mode */
    bool too_long;                  /* discarding the rest of an oversized line */
    bool subscribed;
    uint32_t event_mask;
    int event_vm;                   /* VM id (-1: all) */
    char in[CTL_LINE_MAX];
    size_t in_len;
    char *out;                      /* bytes not yet written */
    size_t out_len;
    uint64_t dropped;               /* events lost to a full out buffer */
};

/* ---- listening ---- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_unix(struct ctl_server *s, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof a.sun_path) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return -1;
    }
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    mode_t old = umask(0077);               /* the socket is born 0600 */
    int rc = s->listen_fd < 0 ? -1 : bind(s->listen_fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(s->listen_fd, 64) != 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    return 0;
}

static int read_token(struct ctl_server *s, const char *file, char *err, size_t errlen)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "TCP control needs --token-file FILE%s%s", file ? ": cannot read " : "",
                 file ? file : "");
        return -1;
    }
    size_t n = fread(s->token, 1, sizeof s->token - 1, f);
    fclose(f);
    while (n && (s->token[n - 1] == '\n' || s->token[n - 1] == '\r' || s->token[n - 1] == ' '))
        n--;
    s->token[n] = 0;
    if (n < 8) {
        snprintf(err, errlen, "--token-file %s: the token must be at least 8 characters", file);
        return -1;
    }
    return 0;
}

static int listen_tcp(struct ctl_server *s, const char *host, int port, bool any,
                      char *err, size_t errlen)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(err, errlen, "control address %s: not an IPv4 address", host);
        return -1;
    }
    if (!any && (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
        snprintf(err, errlen, "control address %s is not loopback (pass --listen-any to allow it)", host);
        return -1;
    }
    int one = 1;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd < 0 || setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) || listen(s->listen_fd, 64)) {
        snprintf(err, errlen, "control address %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    s->tcp = true;
    return 0;
}

int ctl_listen(struct ctl_server *s, struct host *h, const char *addr, const char *token_file,
               bool listen_any, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->host = h;
    s->listen_fd = -1;
    const char *colon = strrchr(addr, ':');
    int rc;
    if (colon && !strchr(addr, '/')) {
        char host[64];
        char *end;
        long port = strtol(colon + 1, &end, 10);
        snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
        if (*end || port < 1 || port > 65535) {
            snprintf(err, errlen, "control address %s: bad port", addr);
            return -1;
        }
        rc = read_token(s, token_file, err, errlen);
        rc = rc ? rc : listen_tcp(s, host, (int)port, listen_any, err, errlen);
    } else {
        rc = listen_unix(s, addr, err, errlen);
    }
    if (rc == 0 && set_nonblock(s->listen_fd) != 0)
        rc = -1;
    if (rc != 0 && s->listen_fd >= 0)
        close(s->listen_fd);
    return rc;
}

/* ---- clients ---- */

static void client_queue(struct ctl_client *c, const char *line, bool droppable)
{
    size_t n = strlen(line);
    if (droppable && c->out_len + n + 1 > CTL_OUT_MAX) {
        c->dropped++;
        return;
    }
    char *p = realloc(c->out, c->out_len + n + 1);
    if (!p)
        return;
    c->out = p;
    memcpy(c->out + c->out_len, line, n);
    c->out[c->out_len + n] = '\n';
    c->out_len += n + 1;
}

static bool client_flush(struct ctl_client *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return true;
}

static void client_drop(struct ctl_server *s, int i)
{
    close(s->clients[i]->fd);
    free(s->clients[i]->out);
    free(s->clients[i]);
    s->clients[i] = s->clients[--s->nclients];
}

static void accept_clients(struct ctl_server *s)
{
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            return;
        struct ctl_client *c = s->nclients < CTL_MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
        if (!c || set_nonblock(fd) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->authed = !s->tcp;
        if (s->tcp) {                       /* replies go out at once (no Nagle wait) */
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        c->event_vm = -1;
        char *g = control_greeting();
        client_queue(c, g, false);
        free(g);
        s->clients[s->nclients++] = c;
    }
}

/* TCP clients must authenticate before anything else: the line must be
   the auth command with our token (parsed with jansson like any request). */
static bool client_auth(struct ctl_server *s, struct ctl_client *c, const char *line)
{
    json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    json_t *token = json_object_get(json_object_get(req, "arguments"), "token");
    bool ok = json_is_string(json_object_get(req, "execute")) &&
              !strcmp(json_string_value(json_object_get(req, "execute")), "auth") &&
              json_is_string(token) && !strcmp(json_string_value(token), s->token);
    json_decref(req);
    if (ok) {
        c->authed = true;
        client_queue(c, "{\"return\":{}}", false);
        return true;
    }
    client_queue(c, "{\"error\":{\"class\":\"Unauthorized\",\"desc\":\"send {\\\"execute\\\": "
                    "\\\"auth\\\", \\\"arguments\\\": {\\\"token\\\": ...}} first\"}}", false);
    return false;
}

static void client_line(struct ctl_server *s, struct ctl_client *c, const char *line)
{
    if (!c->authed) {
        client_auth(s, c, line);
        return;
    }
    struct control_effect fx;
    char *r = control_handle(s->host, line, &fx);
    client_queue(c, r, false);
    free(r);
    if (fx.subscribe) {
        c->subscribed = true;
        c->event_mask = fx.event_mask;
        c->event_vm = fx.event_vm >= 0 ? s->host->vms[fx.event_vm].id : -1;
    }
    s->quit |= fx.quit;
}

/* Split what arrived into lines; an oversized line gets one error reply. */
static bool client_read_some(struct ctl_server *s, struct ctl_client *c, bool *more)
{
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    *more = n == (ssize_t)sizeof buf;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return false;                       /* gone: nothing it half-sent is acted on */
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            c->in[c->in_len] = 0;
            if (c->too_long)
                client_queue(c, "{\"error\":{\"class\":\"ParseError\",\"desc\":\"request line "
                                "longer than 65535 bytes\"}}", false);
            else if (c->in_len)
                client_line(s, c, c->in);
            c->in_len = 0;
            c->too_long = false;
        } else if (c->in_len < CTL_LINE_MAX - 1) {
            c->in[c->in_len++] = buf[i];
        } else {
            c->too_long = true;
        }
    }
    return true;
}

/* Up to 256 KiB a poll: a migration stream's long lines arrive in a few
   polls, and one client still cannot keep the host from its VMs. */
static bool client_read(struct ctl_server *s, struct ctl_client *c)
{
    bool more = true;
    for (int k = 0; k < 64 && more; k++)
        if (!client_read_some(s, c, &more))
            return false;
    return true;
}

/* ---- events ---- */

static void on_event(void *ctx, const struct event *ev)
{
    struct ctl_server *s = ctx;
    char *line = NULL;
    for (int i = 0; i < s->nclients; i++) {
        struct ctl_client *c = s->clients[i];
        if (!c->subscribed || !(c->event_mask & EV_BIT(ev->kind)) ||
            (c->event_vm >= 0 && c->event_vm != ev->vm))
            continue;
        if (!line)
            line = control_event_line(s->host, ev);
        client_queue(c, line, true);
    }
    free(line);
}

static bool follows(const struct event_bus *eb, const struct ctl_server *s)
{
    for (int k = 0; k < eb->nsubs; k++)
        if (eb->subs[k].fn == on_event && eb->subs[k].ctx == s)
            return true;
    return false;
}

/* Listen to the event bus of every VM that appeared (or was reset) since
   the last poll. */
static void follow_vms(struct ctl_server *s)
{
    for (int i = 0; i < s->host->nvms; i++) {
        struct event_bus *eb = &s->host->vms[i].vm->m.events;
        if (!follows(eb, s))
            event_subscribe(eb, EV_ALL & ~EV_BIT(EV_INSNS), on_event, s);
    }
}

void ctl_poll(struct ctl_server *s, int timeout_ms)
{
    struct pollfd p[CTL_MAX_CLIENTS + 1];
    follow_vms(s);
    p[0] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
    for (int i = 0; i < s->nclients; i++)
        p[i + 1] = (struct pollfd){ .fd = s->clients[i]->fd,
                                    .events = POLLIN | (s->clients[i]->out_len ? POLLOUT : 0) };
    int n = s->nclients;
    if (poll(p, (nfds_t)n + 1, timeout_ms) <= 0)
        return;
    if (p[0].revents & POLLIN)
        accept_clients(s);
    for (int i = n - 1; i >= 0; i--) {
        struct ctl_client *c = s->clients[i];
        bool alive = true;
        if (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
            alive = client_read(s, c);
        if (alive)
            alive = client_flush(c);
        if (!alive)
            client_drop(s, i);
    }
    follow_vms(s);
}

void ctl_close(struct ctl_server *s)
{
    while (s->nclients)
        client_drop(s, s->nclients - 1);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->path[0])
        unlink(s->path);
}
