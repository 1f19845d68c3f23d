/*
 * ctlsock.h - the control socket: lines in, replies and events out.
 *
 * ADDR is a Unix socket path (created with permissions 0600: only its owner
 * can connect) or HOST:PORT for TCP. TCP binds 127.0.0.1 unless the user
 * passes --listen-any, and every TCP client must first send
 *   {"execute": "auth", "arguments": {"token": "..."}}
 * with the token read from --token-file; until then every other command is
 * refused. All sockets are non-blocking and polled between the host's time
 * slices, so a slow, silent or vanished client never stalls the VMs.
 */
#ifndef RS_CTLSOCK_H
#define RS_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include "host/host.h"

#define CTL_MAX_CLIENTS 256
#define CTL_LINE_MAX 65536          /* a longer request is answered with an error */
#define CTL_OUT_MAX (1u << 20)      /* events beyond this per client are dropped */

struct ctl_client;

struct ctl_server {
    int listen_fd;
    bool tcp;
    char path[108];                 /* Unix socket path, removed on close */
    char token[128];                /* TCP: the shared secret */
    struct ctl_client *clients[CTL_MAX_CLIENTS];
    int nclients;
    struct host *host;
    bool quit;                      /* a client asked the host to stop */
};

/* Listen on addr. 0, or -1 with a one-line err. */
int ctl_listen(struct ctl_server *s, struct host *h, const char *addr, const char *token_file,
               bool listen_any, char *err, size_t errlen);
/* Accept clients, read and answer their requests; wait at most timeout_ms. */
void ctl_poll(struct ctl_server *s, int timeout_ms);
void ctl_close(struct ctl_server *s);

#endif
