/*
 * cmd_host.h - `ringside host`: several VMs on one simulated computer.
 */
#ifndef RS_CMD_HOST_H
#define RS_CMD_HOST_H

int cmd_host(int argc, char **argv);

#endif
