/*
 * run_vm.h - the `run` command line as a VM recipe.
 *
 * Every command that takes `ringside run`'s options (run, tc-dump, tui)
 * turns them into a struct vm_config here, cost file included, so that
 * each option means the same in all of them.
 */
#ifndef RS_RUN_VM_H
#define RS_RUN_VM_H

#include <stddef.h>
#include "options.h"
#include "vm.h"

/* Fill cfg from o as engine `mode` (-1: o->mode), loading o->costs into
   *prof (which cfg then points to). 0, or -1 with a one-line reason. */
int run_vm_config(const struct run_options *o, int mode, struct vm_config *cfg,
                  struct cost_profile *prof, char *err, size_t errlen);

/* Build the VM `o` describes, as engine `mode` (-1: o->mode). NULL after one
   stderr line "ringside: reason" (bad input: exit status 2). */
struct vm *run_vm_create(const struct run_options *o, int mode);

#endif
