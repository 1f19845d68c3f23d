/*
 * control.h - the management protocol: one JSON request in, one JSON reply out.
 *
 * Modeled on QEMU's QMP (docs/control.md): a request is
 *   {"execute": "COMMAND", "arguments": {...}, "id": ANY}
 * and the reply is {"return": ..., "id": ANY} or
 *   {"error": {"class": "CLASS", "desc": "one line"}, "id": ANY}.
 * This file knows the commands and nothing of sockets (ctlsock.c carries the
 * lines); parsing and writing JSON is jansson's. A malformed request is an
 * error reply, never a crash, and changes nothing.
 */
#ifndef RS_CONTROL_H
#define RS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "host/host.h"

#define CONTROL_PROTOCOL 1

/* What a command asks of the connection beyond its reply. */
struct control_effect {
    bool quit;                  /* the host should stop */
    bool subscribe;             /* the client wants events */
    uint32_t event_mask;        /* ... of these kinds */
    int event_vm;               /* ... of this VM (-1: all) */
};

/* Handle one request line (NUL-terminated, not necessarily valid JSON).
   Returns the reply as a malloc'd one-line JSON string (no newline). */
char *control_handle(struct host *h, const char *line, struct control_effect *fx);

/* The greeting a server sends first: {"ringside": {"version": ..., "protocol": 1}}. */
char *control_greeting(void);

/* An event as a line for subscribed clients (malloc'd). */
char *control_event_line(const struct host *h, const struct event *ev);

#endif
