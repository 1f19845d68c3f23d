/*
 * main.c - the `ringside` program: subcommand dispatch.
 *
 *   ringside                 the bundled demo kernel: the TUI on a terminal, else headless
 *   ringside run [...] K     run a kernel headless (cmd_run.c)
 *   ringside trace SUB FILE  inspect and export a recorded trace (cmd_trace.c)
 *   ringside tui [...] K     the terminal UI (tui_main.c)
 *   ringside paper [...]     the Adams & Agesen nanobenchmark table (cmd_paper.c)
 *   ringside lesson [...]    lessons: list, give, check (cmd_lesson.c)
 *   ringside lab [...]       lab assignments: check, export (cmd_lab.c)
 *   ringside tc-dump [...] K the translation cache after a bt run (cmd_tcdump.c)
 *   ringside migrate [...] K live migration between two hosts in one process (cmd_migrate.c)
 *   ringside --help          commands and where to read more
 *   ringside --version
 *
 * The demo kernel is looked up next to the program (samples/bin/demo.elf), so
 * `make run` works from the source tree without installing anything.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compare.h"
#include "cmd_ctl.h"
#include "cmd_host.h"
#include "cmd_lesson.h"
#include "cmd_migrate.h"
#include "cmd_paper.h"
#include "cmd_snapshot.h"
#include "cmd_run.h"
#include "cmd_trace.h"
#include "source_tree.h"
#include "tui.h"

#include "version.h"

static void print_help(void)
{
    puts("ringside " RINGSIDE_VERSION " - watch an x86 guest kernel run under full virtualization\n"
         "\n"
         "usage:\n"
         "  ringside                  the bundled demo kernel (samples/bin/demo.elf) in the TUI\n"
         "                            (a headless report when not on a terminal)\n"
         "  ringside run [options] KERNEL\n"
         "                            run a multiboot kernel headless; see ringside run --help\n"
         "  ringside trace info|dump|export [options] FILE\n"
         "                            read a trace (run --trace FILE): counts, events, CSV,\n"
         "                            Perfetto JSON, Graphviz graphs; see ringside trace --help\n"
         "  ringside tui [options] KERNEL\n"
         "                            the terminal UI (step, watch traps and translation live);\n"
         "                            see ringside tui --help\n"
         "  ringside paper [--costs FILE] [--csv]\n"
         "                            the Adams & Agesen (ASPLOS 2006) nanobenchmark table,\n"
         "                            measured in a guest under every engine\n"
         "  ringside compare [run options] KERNEL\n"
         "                            KERNEL under every engine, phase by phase: speed as % of\n"
         "                            native and what the overhead paid for (samples/bin/lecture.elf)\n"
         "  ringside host [options] --vm \"KERNEL [options]\" ...\n"
         "                            several VMs on one host: shares, consoles, isolation\n"
         "  ringside ctl ADDR COMMAND [KEY=VALUE ...]\n"
         "                            manage a ringside host --control ADDR (docs/control.md);\n"
         "                            ctl ADDR migrate VM --to ADDR2: live migration\n"
         "  ringside migrate [--at INSNS] [link options] KERNEL [run options]\n"
         "                            live-migrate KERNEL between two hosts in this process\n"
         "                            (docs/migration.md)\n"
         "  ringside lesson [NAME] [--headless|--check|--answers] [--seed S]\n"
         "                            the lessons in lessons/: list them, give one (TUI or text),\n"
         "                            check them all; see ringside lesson --help\n"
         "  ringside lab [check N [DIR] | export N DIR]\n"
         "                            lab assignments: grade a student's work, export the\n"
         "                            student's copy; see ringside lab --help\n"
         "  ringside snapshot info FILE\n"
         "                            check a snapshot (run --snapshot-at N FILE) and show it\n"
         "  ringside tc-dump [run options] KERNEL\n"
         "                            run KERNEL under --mode bt, then print every translated\n"
         "                            block: guest code beside its translation (Capstone)\n"
         "  ringside --help           this text\n"
         "  ringside --version        print the version\n"
         "\n"
         "Exit status of run: (V << 1) | 1 when the guest writes V to port 0xf4, 2 bad input,\n"
         "4 triple fault, 6 halted with interrupts off, 8 budget exhausted, 10 unsupported.\n"
         "Documentation: README.md and docs/ in the source tree.");
}

static int run_demo(void)
{
    char path[PATH_MAX + 32];
    if (source_tree_path("samples/bin/demo.elf", path, sizeof path) != 0) {
        fprintf(stderr, "ringside: demo kernel %s not found (run `make samples`)\n", path);
        return EXIT_BAD_INPUT;
    }
    if (isatty(0) && isatty(1))       /* on a terminal: the TUI (ui/tui.h) */
        return tui_open_demo(path);
    char *args[] = { "-v", path };
    int status = cmd_run(2, args);
    /* the demo reports success as a program does: the guest's "exit 0"
       (isa-debug-exit status 1) is status 0 here, so `make run` succeeds */
    return status == 1 ? EXIT_OK : status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return run_demo();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "trace"))
        return cmd_trace(argc - 2, argv + 2);
    if (!strcmp(cmd, "tui"))
        return cmd_tui(argc - 2, argv + 2);
    if (!strcmp(cmd, "tc-dump"))
        return cmd_tcdump(argc - 2, argv + 2);
    if (!strcmp(cmd, "ctl"))
        return cmd_ctl(argc - 2, argv + 2);
    if (!strcmp(cmd, "host"))
        return cmd_host(argc - 2, argv + 2);
    if (!strcmp(cmd, "migrate"))
        return cmd_migrate(argc - 2, argv + 2);
    if (!strcmp(cmd, "snapshot"))
        return cmd_snapshot(argc - 2, argv + 2);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 2, argv + 2);
    if (!strcmp(cmd, "lesson"))
        return cmd_lesson(argc - 2, argv + 2);
    if (!strcmp(cmd, "lab"))
        return cmd_lab(argc - 2, argv + 2);
    if (!strcmp(cmd, "paper"))
        return cmd_paper(argc - 2, argv + 2);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        print_help();
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        puts("ringside " RINGSIDE_VERSION);
        return EXIT_OK;
    }
    fprintf(stderr, "ringside: unknown command '%s' (see ringside --help)\n", cmd);
    return EXIT_BAD_INPUT;
}
