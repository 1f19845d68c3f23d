/*
 * gdbstub.h - `ringside run --gdb PORT`: the GDB remote serial protocol.
 */
#ifndef RS_GDBSTUB_H
#define RS_GDBSTUB_H

#include "vm.h"

/* Listen on 127.0.0.1:port, wait for gdb, and serve it until it detaches,
   kills the guest or the guest's run ends. Returns 0, or -1 after one
   stderr line if the port cannot be opened. */
int gdbstub_serve(struct vm *vm, int port);

#endif
