/*
 * cmd_lesson.h - `ringside lesson` (cmd_lesson.c) and its TUI (lesson_tui.c).
 */
#ifndef RS_CMD_LESSON_H
#define RS_CMD_LESSON_H

#include "lesson.h"

int cmd_lesson(int argc, char **argv);
/* Give l as text (check: run every item, print every check and answer, with
   points for a lab's criteria). 0 when everything held, 1 if not. */
int lesson_give(struct lesson *l, bool check);
int cmd_lab(int argc, char **argv);
/* Give lesson l in a full-screen pane: narration, runs, checks, questions
   answered on the spot. Exit status as `ringside lesson`'s. */
int lesson_tui(struct lesson *l);

#endif
