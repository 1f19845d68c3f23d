/*
 * cmd_snapshot.h - `ringside snapshot`: inspect snapshot files.
 */
#ifndef RS_CMD_SNAPSHOT_H
#define RS_CMD_SNAPSHOT_H

int cmd_snapshot(int argc, char **argv);

#endif
