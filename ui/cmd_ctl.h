/*
 * cmd_ctl.h - `ringside ctl`: the management protocol's client.
 */
#ifndef RS_CMD_CTL_H
#define RS_CMD_CTL_H

int cmd_ctl(int argc, char **argv);

#endif
