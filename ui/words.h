/*
 * words.h - a command line held in one string ("KERNEL --append 'a b'") split
 * into words, the way `ringside host --vm` specs and lesson `run:` lines are
 * written: blanks separate words, single or double quotes group them.
 */
#ifndef RS_WORDS_H
#define RS_WORDS_H

/* Split s in place into at most max words (argv is not NULL-terminated).
   The number of words, or -1 for more than max words or an unclosed quote. */
int words_split(char *s, char **argv, int max);

#endif
