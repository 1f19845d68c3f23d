/*
 * cmd_paper.h - `ringside paper`: the Adams & Agesen (ASPLOS 2006) figure 4
 * nanobenchmark table, reproduced from inside a guest under every engine.
 */
#ifndef RS_CMD_PAPER_H
#define RS_CMD_PAPER_H

int cmd_paper(int argc, char **argv);

#endif
