/*
 * words.c - see words.h.
 */
#include "words.h"

#include <ctype.h>

int words_split(char *s, char **argv, int max)
{
    int n = 0;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        if (n == max)
            return -1;
        char q = (*s == '\'' || *s == '"') ? *s++ : 0;
        argv[n++] = s;
        while (*s && (q ? *s != q : !isspace((unsigned char)*s)))
            s++;
        if (q && !*s)
            return -1;
        if (*s)
            *s++ = 0;
    }
    return n;
}
