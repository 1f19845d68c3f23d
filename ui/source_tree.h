/*
 * source_tree.h - files of the source tree this program was built in.
 *
 * ringside runs from its source tree without being installed: `make run`
 * opens samples/bin/demo.elf, `paper` runs samples/bin/nanobench.elf,
 * `lesson` reads lessons/. The program is ./ringside at the tree's root or
 * a build variant such as build/san/ringside, so both places are tried.
 */
#ifndef RS_SOURCE_TREE_H
#define RS_SOURCE_TREE_H

#include <stddef.h>

/* The path of `rel` (e.g. "samples/bin/demo.elf", "lessons") in the source
   tree: 0 if it exists, -1 if not (buf then holds the first place tried). */
int source_tree_path(const char *rel, char *buf, size_t len);

#endif
