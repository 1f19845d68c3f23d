/*
 * proc.h - run a program from a test and capture what it prints.
 *
 * The integration tests drive the real `ringside` binary (and QEMU) as a user
 * would, so they check the command-line contract itself: standard output,
 * standard error and the exit status.
 */
#ifndef RS_TEST_PROC_H
#define RS_TEST_PROC_H

#include <stddef.h>

struct proc_result {
    char *out;        /* captured stdout, NUL-terminated (malloc'd) */
    size_t out_len;
    char *err;        /* captured stderr, NUL-terminated (malloc'd) */
    int status;       /* exit status, or 128 + signal */
};

/* Run argv (argv[0] looked up in PATH) with a wall-clock timeout in seconds
   (a safety net only: tests bound guests with --max-insns). Returns 0 if the
   program ran, -1 if it could not be started. */
int proc_run(char *const argv[], int timeout_s, struct proc_result *r);
void proc_result_free(struct proc_result *r);
/* Path of the ringside binary under test ($RINGSIDE, else ./ringside). */
const char *proc_ringside(void);
/* Whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *proc_read_file(const char *path, size_t *len);

#endif
