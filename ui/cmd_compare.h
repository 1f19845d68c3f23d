/*
 * cmd_compare.h - `ringside compare`: every engine, phase by phase.
 */
#ifndef RS_CMD_COMPARE_H
#define RS_CMD_COMPARE_H

/* Returns the process exit status: 0 engines agree, 1 they differ, 2 bad input. */
int cmd_compare(int argc, char **argv);

#endif
