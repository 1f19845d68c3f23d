/*
 * cmd_lesson.h - `ringside lesson` (cmd_lesson.c) and its TUI (lesson_tui.c).
 */
#ifndef RS_CMD_LESSON_H
#define RS_CMD_LESSON_H

#include "lesson.h"

int cmd_lesson(int argc, char **argv);
/* Give lesson l in a full-screen pane: narration, runs, checks, questions
   answered on the spot. Exit status as `ringside lesson`'s. */
int lesson_tui(struct lesson *l);

#endif
