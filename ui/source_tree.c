/*
 * source_tree.c - see source_tree.h.
 */
#include "source_tree.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int source_tree_path(const char *rel, char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        n = (ssize_t)strlen(strcpy(exe, "./ringside"));
    exe[n] = 0;
    const char *dir = dirname(exe);
    static const char *const up[] = { "", "/../.." };
    for (int i = 0; i < 2; i++) {
        snprintf(buf, len, "%s%s/%s", dir, up[i], rel);
        if (access(buf, R_OK) == 0)
            return 0;
    }
    snprintf(buf, len, "%s/%s", dir, rel);
    return -1;
}
