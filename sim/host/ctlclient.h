/*
 * ctlclient.h - the client side of the control protocol (docs/control.md).
 *
 * `ringside ctl` and a migrating host (which talks to the target host as
 * a client) share it: connect to a Unix socket path or HOST:PORT, read the
 * greeting, authenticate with a token over TCP, send request lines and read
 * reply lines. Every wait is bounded by the timeout given at connect time
 * (0: none), so a peer that stops answering is an error, not a hang.
 */
#ifndef RS_CTLCLIENT_H
#define RS_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct ctl_conn {
    int fd;
    char buf[1 << 16];
    size_t len;
};

/* Connect and read the greeting. loopback_only refuses a TCP address
   outside 127/8. 0, or -1 with a one-line err. */
int ctlc_connect(struct ctl_conn *c, const char *addr, bool loopback_only, int timeout_ms,
                 char *err, size_t errlen);
void ctlc_close(struct ctl_conn *c);
/* One line from the server (malloc'd, no newline), or NULL: closed, timed out. */
char *ctlc_line(struct ctl_conn *c);
/* Send one line (a newline is added). 0 or -1. */
int ctlc_send_line(struct ctl_conn *c, const char *line);
int ctlc_send(struct ctl_conn *c, json_t *req);
/* The auth request with `token`: 0 when the host accepted it. */
int ctlc_auth(struct ctl_conn *c, const char *token);
/* The first line of a token file, trailing blanks removed: 0 or -1. */
int ctlc_read_token(const char *file, char *tok, size_t len);

#endif
