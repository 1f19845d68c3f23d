/*
 * cmd_lab.c - `ringside lab`: lab assignments, checked automatically.
 *
 *   ringside lab                          the labs in lessons/labs/
 *   ringside lab check N [WORKDIR]        grade the work in WORKDIR (default .): points
 *                                         per criterion, status 0 only if all are met
 *   ringside lab export N DIR [--seed S]  the student's copy: the assignment and starter
 *                                         files, every solution block removed
 *   ringside lab export N DIR --reference the teacher's copy: solutions kept
 *
 * A lab is a directory lessons/labs/NN-name/ holding README.md (the
 * assignment), starter files whose reference solution sits between
 * "SOLUTION BEGIN" and "SOLUTION END" lines (optionally followed by the
 * student's version between "STARTER BEGIN" and "STARTER END"), and
 * lab.lesson: its checker,
 * written in the lesson format (docs/lessons.md) with ${WORK} for the
 * student's directory and points on each `check N:`. Checking reuses the
 * lesson runner, so a criterion is an expression over measured runs.
 */
#define _GNU_SOURCE
#include "cmd_lesson.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hw/hostfile.h"
#include "lesson_run.h"
#include "options.h"

#define LAB_MAX_FILE (1u << 20)

struct lab {
    char dir[PATH_MAX + 300]; /* lessons/labs/NN-name */
    char name[256];           /* NN-name */
};

#define LAB_MAX 99

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct lab *)a)->name, ((const struct lab *)b)->name);
}

/* The labs of lessons/labs/ (directories NN-name), by name: by number. */
static int lab_dirs(struct lab *out, int max)
{
    char root[PATH_MAX], labs[PATH_MAX + 16];   /* a lab's dir holds labs + a name */
    if (lesson_root(root, sizeof root))
        return 0;
    snprintf(labs, sizeof labs, "%s/lessons/labs", root);
    DIR *d = opendir(labs);
    int n = 0;
    for (struct dirent *e; d && n < max && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strchr(e->d_name, '-'))
            continue;
        snprintf(out[n].dir, sizeof out[n].dir, "%s/%s", labs, e->d_name);
        snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    qsort(out, (size_t)n, sizeof *out, by_name);
    return n;
}

/* Lab N (or NN-name, or name) in lessons/labs/. */
static int find_lab(const char *want, struct lab *out)
{
    static struct lab all[LAB_MAX];   /* large for the stack; one command at a time */
    int n = lab_dirs(all, LAB_MAX);
    char *end;
    long num = strtol(want, &end, 10);
    bool by_num = *end == 0 && end != want;
    for (int i = 0; i < n; i++)
        if ((by_num && atol(all[i].name) == num) || !strcmp(all[i].name, want) ||
            !strcmp(strchr(all[i].name, '-') + 1, want)) {
            *out = all[i];
            return 0;
        }
    return -1;
}

static struct lesson *load_checker(const struct lab *lab)
{
    char path[sizeof lab->dir + 16], err[512];
    snprintf(path, sizeof path, "%.*s/lab.lesson", (int)sizeof lab->dir - 1, lab->dir);
    struct lesson *l = lesson_load(path, err, sizeof err);
    if (!l)
        fprintf(stderr, "ringside: %s\n", err);
    return l;
}

static int list_labs(void)
{
    static struct lab all[LAB_MAX];
    int n = lab_dirs(all, LAB_MAX);
    printf(" #  %-22s %s\n", "lab", "title");
    for (int i = 0; i < n; i++) {
        struct lesson *l = load_checker(&all[i]);
        printf("%2ld  %-22s %s\n", atol(all[i].name), all[i].name,
               l ? l->title : "(bad lab.lesson)");
        lesson_free(l);
    }
    return EXIT_OK;
}

static int check_lab(const struct lab *lab, const char *workdir, uint64_t seed)
{
    struct lesson *l = load_checker(lab);
    if (!l)
        return EXIT_BAD_INPUT;
    struct stat st;
    if (!realpath(workdir, l->workdir) || stat(l->workdir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ringside: lab check: %s is not a directory\n", workdir);
        lesson_free(l);
        return EXIT_BAD_INPUT;
    }
    lesson_set_seed(l, seed);
    printf("checking %s in %s\n", lab->name, l->workdir);
    int rc = lesson_give(l, true);
    lesson_free(l);
    return rc;
}

/* ---- export ---- */

/* True if the line holds more than `marker` and blanks (a comment around it). */
static bool marker_has_text(const char *line, size_t len, size_t mlen)
{
    size_t other = 0;
    for (size_t i = 0; i < len; i++)
        other += line[i] != ' ' && line[i] != '\t' && line[i] != '\n';
    return other > mlen - 1;   /* the marker's own non-blank characters, less its space */
}

/*
 * text for the student (or, with reference, the teacher): a block between
 * "SOLUTION BEGIN" and "SOLUTION END" lines is the reference solution, a
 * block between "STARTER BEGIN" and "STARTER END" what the student starts
 * from instead. Marker lines never reach either copy, except that a BEGIN
 * marker inside a comment ("/" "* SOLUTION BEGIN *" "/") becomes "TODO: your
 * code here" in the student's. ${PARAM}s are filled in for this seed.
 */
static char *student_text(const struct lesson *l, const char *text, bool reference)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 64), *o = out;   /* each TODO grows a line by 6 bytes */
    if (!out)
        exit(EXIT_INTERNAL);
    enum { NORMAL, SOLUTION, STARTER } state = NORMAL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        const char *sb = memmem(p, len, "SOLUTION BEGIN", 14);
        if (sb) {
            state = SOLUTION;
            if (!reference && marker_has_text(p, len, 14))
                o += sprintf(o, "%.*sTODO: your code here%.*s", (int)(sb - p), p,
                             (int)(len - (size_t)(sb + 14 - p)), sb + 14);
        } else if (memmem(p, len, "STARTER BEGIN", 13))
            state = STARTER;
        else if (memmem(p, len, "SOLUTION END", 12) || memmem(p, len, "STARTER END", 11))
            state = NORMAL;
        else if (state == NORMAL || (state == SOLUTION) == reference) {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = 0;
    char *expanded = lesson_expand(l, out);
    free(out);
    return expanded;
}

static int export_file(const struct lesson *l, const char *from, const char *to,
                       bool reference)
{
    uint8_t *data;
    size_t len;
    char err[512];
    if (hostfile_read(from, LAB_MAX_FILE, &data, &len, err, sizeof err)) {
        fprintf(stderr, "ringside: %s\n", err);
        return -1;
    }
    char *text = student_text(l, (const char *)data, reference);
    FILE *f = fopen(to, "w");
    int rc = f && fputs(text, f) >= 0 && fclose(f) == 0 ? 0 : -1;
    if (rc)
        fprintf(stderr, "ringside: %s: %s\n", to, strerror(errno));
    free(text);
    free(data);
    return rc;
}

static int export_lab(const struct lab *lab, const char *dest, uint64_t seed, bool reference)
{
    struct lesson *l = load_checker(lab);
    if (!l)
        return EXIT_BAD_INPUT;
    lesson_set_seed(l, seed);
    if (mkdir(dest, 0755) && errno != EEXIST) {
        fprintf(stderr, "ringside: lab export: %s: %s\n", dest, strerror(errno));
        lesson_free(l);
        return EXIT_BAD_INPUT;
    }
    DIR *d = opendir(lab->dir);
    int rc = d ? 0 : -1, files = 0;
    for (struct dirent *e; d && rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "lab.lesson"))
            continue;   /* the checker stays with ringside */
        char from[sizeof lab->dir + 260], to[PATH_MAX + 260];
        snprintf(from, sizeof from, "%s/%s", lab->dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dest, e->d_name);
        rc = export_file(l, from, to, reference);
        files++;
    }
    if (d)
        closedir(d);
    if (rc == 0)
        printf("%s: %d files written to %s (%s copy%s)\n", lab->name, files, dest,
               reference ? "teacher's" : "student's", seed ? ", this seed's numbers" : "");
    lesson_free(l);
    return rc ? EXIT_BAD_INPUT : EXIT_OK;
}

/* ---- the command line ---- */

static void usage(void)
{
    puts("usage: ringside lab                               list the labs\n"
         "       ringside lab check N [WORKDIR] [--seed S]  grade the work in WORKDIR (default .)\n"
         "       ringside lab export N DIR [--seed S] [--reference]\n"
         "                                               the student's copy (solutions removed)\n"
         "Labs live in lessons/labs/NN-name/ (docs/lessons.md).");
}

int cmd_lab(int argc, char **argv)
{
    const char *words[3] = { 0 };
    int nwords = 0;
    uint64_t seed = 0;
    bool reference = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--reference"))
            reference = true;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-' || !argv[i][0]) {
                fprintf(stderr, "ringside: --seed needs a whole number\n");
                return EXIT_BAD_INPUT;
            }
        } else if (argv[i][0] == '-' || nwords == 3) {
            fprintf(stderr, "ringside: lab: unexpected '%s' (see ringside lab --help)\n", argv[i]);
            return EXIT_BAD_INPUT;
        } else
            words[nwords++] = argv[i];
    }
    if (nwords == 0)
        return list_labs();
    bool check = !strcmp(words[0], "check"), export = !strcmp(words[0], "export");
    if ((!check && !export) || nwords < 2 || (export && nwords != 3)) {
        fprintf(stderr, "ringside: lab: expected 'check N [WORKDIR]' or 'export N DIR'\n");
        return EXIT_BAD_INPUT;
    }
    struct lab lab;
    if (find_lab(words[1], &lab)) {
        fprintf(stderr, "ringside: no lab '%s' (ringside lab lists them)\n", words[1]);
        return EXIT_BAD_INPUT;
    }
    if (export)
        return export_lab(&lab, words[2], seed, reference);
    return check_lab(&lab, nwords == 3 ? words[2] : ".", seed);
}
