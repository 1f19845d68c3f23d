/*
 * test_lesson.c - lessons: the strict parser, the expressions, the grading,
 * and every lesson in lessons/ checked against the engines it describes.
 *
 * The lessons' checks are assertions about the simulator written in the
 * lesson format (e.g. that bt prints exactly what native prints for
 * sensitive.elf, that the compute phase lands in 80-95 % of native): when
 * an engine changes so that a lesson's story is no longer true, `ringside
 * lesson --check` fails here. The parser and expression tests pin the
 * format against wrong implementations (a lost line number, a silent zero
 * for a missing field, operator precedence).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lesson.h"
#include "lesson_run.h"
#include "proc.h"
#include "tmux.h"

#define HEADER "lesson: t\ntitle: T\nminutes: 5\n"

static const char good[] =
    HEADER
    "param: K 3..9\n"
    "[step One]\n"
    "say: first line\n"
    "  continued ${K}\n"
    "run a: run --mode native samples/bin/hello.elf\n"
    "check: a.exit_status == 1\n"
    "ask: how many?\n"
    "answer: a.guest_insns\n"
    "within: 2%\n"
    "[step Two]\n"
    "ask: which?\n"
    "choice: this\n"
    "choice: that\n"
    "  one\n"
    "answer: b\n";

static void test_parse_good(void)
{
    char err[256] = "";
    struct lesson *l = lesson_parse("g.lesson", good, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(l->name, "t");
    CU_ASSERT_EQUAL(l->nsteps, 2);
    CU_ASSERT_EQUAL(l->steps[0].nitems, 4);
    CU_ASSERT_STRING_EQUAL(l->steps[0].items[0].text, "first line continued ${K}");
    CU_ASSERT_EQUAL(l->steps[0].items[1].kind, LI_RUN);
    CU_ASSERT_STRING_EQUAL(l->steps[0].items[1].run_name, "a");
    CU_ASSERT_EQUAL(l->steps[0].items[1].line, 8);
    CU_ASSERT(l->steps[0].items[3].within_pct && l->steps[0].items[3].within == 2);
    CU_ASSERT_EQUAL(l->steps[1].items[0].nchoices, 2);
    CU_ASSERT_STRING_EQUAL(l->steps[1].items[0].choices[1], "that one");
    char *s = lesson_expand(l, "k=${K}");
    CU_ASSERT_STRING_EQUAL(s, "k=3");            /* seed 0: as written */
    free(s);
    struct lesson *p = lesson_parse("p.lesson", HEADER "[step P]\nsay: one\n  two\n  .\n  three\n",
                                    err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->steps[0].items[0].text, "one two\nthree");   /* a paragraph */
    lesson_free(p);
    lesson_set_seed(l, 12345);
    CU_ASSERT(l->params[0].value >= 3 && l->params[0].value <= 9);
    int64_t v = l->params[0].value;
    lesson_set_seed(l, 12345);
    CU_ASSERT_EQUAL(l->params[0].value, v);      /* the same seed, the same variant */
    lesson_free(l);
}

/* Each malformed lesson is refused with its file, its line and the reason. */
static void test_parse_errors(void)
{
    static const struct { const char *text, *where, *why; } bad[] = {
        { "lesson: t\ntitle: T\n[step A]\nsay: x\n", "b.lesson:3:", "minutes" },
        { HEADER "colour: red\n", "b.lesson:4:", "unknown header key" },
        { HEADER "[step A]\nsay: x\nfoo: y\n", "b.lesson:6:", "unknown key 'foo'" },
        { HEADER "[step A]\nanswer: 3\n", "b.lesson:5:", "must follow an 'ask:'" },
        { HEADER "[step A]\nask: q\n[step B]\nsay: x\n", "b.lesson:6:", "has no answer" },
        { HEADER "[step A]\nask: q\n", "line 5 has no answer", "b.lesson:" },
        { HEADER "[step A]\nask: q\nchoice: x\nchoice: y\nanswer: c\n", "b.lesson:8:",
          "letter a-b" },
        { HEADER "[step A]\nsay: ${N}\n", "b.lesson:5:", "${N} is not a param" },
        { HEADER "param: N 9..3\n", "b.lesson:4:", "above high end" },
        { HEADER "[step A]\n[step B]\nsay: x\n", "b.lesson:5:", "is empty" },
        { HEADER "  floating\n", "b.lesson:4:", "indented line" },
        { HEADER "[step A]\ncheck: a.b ==\n", "b.lesson:5:", "ends too early" },
        { HEADER "[step A]\ncheck: (a.b\n", "b.lesson:5:", "expected ')'" },
        { HEADER "[step A]\nrun 9x: run k\n", "b.lesson:5:", "run NAME" },
        { HEADER "[step A]\nask: q\nanswer: 1\nwithin: lots\n", "b.lesson:7:", "tolerance" },
        { HEADER "minutes: 0\n", "b.lesson:4:", "minutes must be" },
        { HEADER "[step A]\nsay: \x01\n", "b.lesson:5:", "control character" },
        { HEADER, "b.lesson:4:", "at least one [step" },
        { HEADER "[step A]\nstart 9x: run k\n", "b.lesson:5:", "needs NAME a word" },
        { HEADER "[step A]\nstart h:\n", "b.lesson:5:", "needs a command" },
        { HEADER "[step A]\nstart h: run k\nstart h: run k\n", "b.lesson:6:", "already running" },
        { HEADER "[step A]\nwait h: end\n", "b.lesson:5:", "names no background command" },
        { HEADER "[step A]\nkill h:\n", "b.lesson:5:", "names no background command" },
        { HEADER "[step A]\nstart h: run k\nwait h: soon\n", "b.lesson:6:", "'socket PATH'" },
        { HEADER "[step A]\nstart h: run k\nkill h: now\n", "b.lesson:6:", "takes no value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        struct lesson *l = lesson_parse("b.lesson", bad[i].text, err, sizeof err);
        CU_ASSERT_PTR_NULL(l);
        lesson_free(l);
        if (!strstr(err, bad[i].where) || !strstr(err, bad[i].why))
            fprintf(stderr, "\ncase %zu: got '%s', want '%s' ... '%s'\n", i, err,
                    bad[i].where, bad[i].why);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].where));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
    }
}

/* Mutations of a real lesson: parsed or refused with a located reason,
   never a crash (this suite runs under ASan/UBSan). */
static void test_parse_mutations(void)
{
    size_t len;
    char *text = proc_read_file("lessons/04-tcache.lesson", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    uint64_t x = 0x5eed;
    int refused = 0;
    for (int round = 0; round < 3000; round++) {
        char *m = malloc(len + 64);
        memcpy(m, text, len + 1);
        size_t n = len;
        for (int k = 0; k < 1 + round % 4; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(x >> 33) % (n ? n : 1);
            switch ((x >> 20) % 4) {
            case 0: m[at] = (char)(x >> 8); break;                    /* any byte */
            case 1: memmove(m + at, m + at + 1, n - at); n--; break;   /* delete */
            case 2: m[at] = "[]:\n $.{}\"#"[(x >> 10) % 11]; break;    /* syntax */
            default: m[at] = '\n'; break;                              /* split */
            }
        }
        m[n] = 0;
        char err[256] = "";
        struct lesson *l = lesson_parse("m.lesson", m, err, sizeof err);
        if (!l) {
            refused++;
            CU_ASSERT(!strncmp(err, "m.lesson:", 9));
        }
        lesson_free(l);
        free(m);
    }
    CU_ASSERT(refused > 100);
    free(text);
}

static json_t *sample_runs(void)
{
    json_error_t je;
    return json_loads("{\"a\": {\"x\": 6, \"y\": 4, \"f\": 2.5, \"output\": \"hello world\","
                      " \"by\": {\"pop ds\": 7}, \"vms\": [{\"n\": 1}, {\"n\": 9}]},"
                      " \"b\": {\"x\": 3, \"output\": \"hello world\"}}", 0, &je);
}

static double eval_num(json_t *runs, const char *e)
{
    char err[256];
    struct lesson_value v;
    if (lesson_eval(e, runs, &v, err, sizeof err)) {
        fprintf(stderr, "\n%s: %s\n", e, err);
        return -12345;
    }
    CU_ASSERT_FALSE(v.is_str);
    return v.num;
}

static void test_expr_values(void)
{
    json_t *r = sample_runs();
    CU_ASSERT_EQUAL(eval_num(r, "a.x + a.y * 2"), 14);         /* precedence */
    CU_ASSERT_EQUAL(eval_num(r, "(a.x + a.y) * 2"), 20);
    CU_ASSERT_EQUAL(eval_num(r, "a.x - a.y - 1"), 1);          /* left to right */
    CU_ASSERT_EQUAL(eval_num(r, "a.x / a.y"), 1.5);
    CU_ASSERT_EQUAL(eval_num(r, "-a.x + 10"), 4);
    CU_ASSERT_EQUAL(eval_num(r, "pct(a.y, a.x * 2)"), 100.0 * 4 / 12);
    CU_ASSERT_EQUAL(eval_num(r, "round(a.f) + min(a.x, b.x) + max(a.x, b.x) + abs(0 - 2)"),
                    3 + 3 + 6 + 2);
    CU_ASSERT_EQUAL(eval_num(r, "a.by[\"pop ds\"]"), 7);
    CU_ASSERT_EQUAL(eval_num(r, "a.vms[1].n"), 9);
    CU_ASSERT_EQUAL(eval_num(r, "len(a.vms) + len(a.by) + len(a.output)"), 2 + 1 + 11);
    CU_ASSERT_EQUAL(eval_num(r, "a.x > b.x and a.y <= 4"), 1);
    CU_ASSERT_EQUAL(eval_num(r, "a.x < b.x or a.y != 4"), 0);
    CU_ASSERT_EQUAL(eval_num(r, "not a.x == 6"), 0);
    CU_ASSERT_EQUAL(eval_num(r, "a.output contains \"lo wo\""), 1);
    CU_ASSERT_EQUAL(eval_num(r, "a.output contains \"bye\""), 0);
    CU_ASSERT_EQUAL(eval_num(r, "a.output == b.output"), 1);
    json_decref(r);
}

static void expect_error(json_t *r, const char *e, const char *why)
{
    char err[256] = "";
    struct lesson_value v;
    CU_ASSERT_EQUAL(lesson_eval(e, r, &v, err, sizeof err), -1);
    if (!strstr(err, why))
        fprintf(stderr, "\n%s: got '%s', want '%s'\n", e, err, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
}

static void test_expr_errors(void)
{
    json_t *r = sample_runs();
    expect_error(r, "a.nope + 1", "a.nope: no such field");     /* never a silent 0 */
    expect_error(r, "c.x", "no run named 'c'");
    expect_error(r, "a.x / (a.y - 4)", "division by zero");
    expect_error(r, "a.output + 1", "needs a number");
    expect_error(r, "a.x contains \"6\"", "compares two texts");
    expect_error(r, "a.vms[5].n", "no such element");
    expect_error(r, "a.by", "a group");
    expect_error(r, "a.x 7", "unexpected");
    expect_error(r, "frob(a.x)", "unknown function");
    expect_error(r, "pct(a.x)", "takes 2 arguments");
    expect_error(r, "len(a.x)", "not a list");
    json_decref(r);
}

static void test_answer_grading(void)
{
    struct lesson_item num = { .kind = LI_ASK }, pct = { .kind = LI_ASK, .within = 5,
                                                          .within_pct = true },
                       abs = { .kind = LI_ASK, .within = 0.1 }, ch = { .nchoices = 3 };
    CU_ASSERT_TRUE(lesson_answer_right(&num, "7631", "7631"));
    CU_ASSERT_TRUE(lesson_answer_right(&num, "7631", " 7,631"));
    CU_ASSERT_FALSE(lesson_answer_right(&num, "7631", "7630"));
    CU_ASSERT_FALSE(lesson_answer_right(&num, "7631", "76 31x"));
    CU_ASSERT_TRUE(lesson_answer_right(&pct, "200", "209"));
    CU_ASSERT_FALSE(lesson_answer_right(&pct, "200", "211"));
    CU_ASSERT_TRUE(lesson_answer_right(&abs, "99.82", "99.8"));
    CU_ASSERT_FALSE(lesson_answer_right(&abs, "99.82", "99.7"));
    CU_ASSERT_TRUE(lesson_answer_right(&ch, "b", "B"));
    CU_ASSERT_TRUE(lesson_answer_right(&ch, "b", "b) the second"));
    CU_ASSERT_FALSE(lesson_answer_right(&ch, "b", "a"));
    CU_ASSERT_FALSE(lesson_answer_right(&ch, "b", "bb"));
}

/* ---- the command ---- */

static void run_lesson(char **args, const char *input, struct proc_result *r)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "printf '%s' | %s lesson", input, proc_ringside());
    for (char **a = args; *a; a++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", *a);
    char *argv[] = { "sh", "-c", cmd, NULL };
    CU_ASSERT_FATAL(proc_run(argv, 600, r) == 0);
}

/* The --check transcript of every lesson: its answers drive the TUI test. */
static char *check_transcript;

/* Every lesson's checks hold and every answer can be computed. */
static void test_every_lesson_checks(void)
{
    char *args[] = { "--check", NULL };
    struct proc_result r;
    run_lesson(args, "", &r);
    free(check_transcript);
    check_transcript = strdup(r.out);
    if (r.status != 0)
        fprintf(stderr, "\n%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NULL(strstr(r.out, "FAILED"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "ERROR"));
    int lessons = 0;
    for (const char *p = r.out; (p = strstr(p, "\nlesson ")); p++)
        lessons++;
    CU_ASSERT(lessons >= 12);
    proc_result_free(&r);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A check that does not hold fails --check (the checker can fail). */
static void test_failing_check_fails(void)
{
    char path[] = "/tmp/rs_lesson_XXXXXX.lesson";
    int fd = mkstemps(path, 7);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_file(path, HEADER "[step A]\nrun a: run --mode native samples/bin/hello.elf\n"
                            "check: a.exit_status == 3\n");
    char *args[] = { path, "--check", NULL };
    struct proc_result r;
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "check FAILED: a.exit_status == 3"));
    proc_result_free(&r);
    write_file(path, HEADER "[step A]\nsay: x\nfoo\n");
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, ".lesson:6: expected 'key: value'"));
    proc_result_free(&r);
    unlink(path);
}

/* ${NAME.FIELD} in a command line is a field of an earlier record (a text
   as words, a whole number as an integer); a missing field fails the
   command; outside a command line it is no expression (status 2). */
static void test_record_refs_in_commands(void)
{
    char path[] = "/tmp/rs_lesson_XXXXXX.lesson";
    int fd = mkstemps(path, 7);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_file(path, HEADER "[step A]\nrun a: run --mode native samples/bin/hello.elf\n"
                            "run b: run --mode ${a.mode} ${a.kernel}\n"
                            "check: b.mode == \"native\" and b.guest_insns == a.guest_insns\n"
                            "run c: run --mode native --mem ${a.exit_status}0 ${a.kernel}\n"
                            "check: c.status == a.status\n");
    char *args[] = { path, "--check", NULL };
    struct proc_result r;
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "$ ringside run --mode native samples/bin/hello.elf"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "$ ringside run --mode native --mem 10 samples/bin/hello.elf"));
    if (r.status)
        fprintf(stderr, "\n%s%s", r.out, r.err);
    proc_result_free(&r);
    write_file(path, HEADER "[step A]\nrun a: run --mode native samples/bin/hello.elf\n"
                            "run b: run --mode ${a.nope} samples/bin/hello.elf\n");
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "nope"));
    proc_result_free(&r);
    write_file(path, HEADER "[step A]\nrun a: run --mode native samples/bin/hello.elf\n"
                            "check: ${a.mode} == 1\n");
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, ".lesson:6: check: unexpected '${a.mode}"));
    proc_result_free(&r);
    unlink(path);
}

/* Background commands: one started, waited for and killed (status 137);
   a lesson that fails while one runs leaves no process behind (its marker,
   a unique --name, is in no command line under /proc afterwards). */
static bool marker_running(const char *marker)
{
    char cmd[256];
    /* "[b]gmark..." matches the marker but not this command's own line */
    snprintf(cmd, sizeof cmd, "grep -l -a -e '[%c]%s' /proc/[0-9]*/cmdline 2>/dev/null | "
             "head -1", marker[0], marker + 1);
    FILE *f = popen(cmd, "r");
    char line[128] = "";
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        pclose(f);
    }
    return line[0] != 0;
}

static void test_background_commands(void)
{
    char path[] = "/tmp/rs_lesson_XXXXXX.lesson", text[1024], marker[64];
    int fd = mkstemps(path, 7);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    snprintf(marker, sizeof marker, "bgmark%d", (int)getpid());
    snprintf(text, sizeof text, HEADER "[step A]\nstart h: host --control ${TMP}/h.sock "
             "--vm \"samples/bin/writer.elf --mode bt --name %s --append passes=1000000\"\n"
             "wait h: socket ${TMP}/h.sock\nkill h:\nsay: killed\ncheck: h.status == 137\n", marker);
    write_file(path, text);
    char *args[] = { path, "--check", NULL };
    struct proc_result r;
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(!marker_running(marker));
    proc_result_free(&r);
    snprintf(text, sizeof text, HEADER "[step A]\nstart h: host --control ${TMP}/h.sock "
             "--vm \"samples/bin/writer.elf --mode bt --name %s --append passes=1000000\"\n"
             "wait h: socket ${TMP}/h.sock\nrun a: run --mode native samples/bin/hello.elf\n"
             "check: a.exit_status == 3\n", marker);
    write_file(path, text);
    run_lesson(args, "", &r);
    CU_ASSERT_EQUAL(r.status, 1);                  /* the check fails mid-lesson */
    CU_ASSERT(!marker_running(marker));            /* and the host went with it */
    proc_result_free(&r);
    unlink(path);
}

/* Headless: a right and a wrong answer, graded against the run's figure. */
static void test_headless_grading(void)
{
    char *args[] = { "rings", "--headless", NULL };
    struct proc_result r;
    /* Q1 wrong on purpose (0), Q2 the share of direct execution, Q3 right */
    run_lesson(args, "0\\n99.8\\nb\\n", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "not quite (0): the answer is") ||
                           strstr(r.out, "not quite: the answer is"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "right: 99.82"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "right: b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "End of lesson 1: 2 of 5 questions right."));
    proc_result_free(&r);
}

/* --seed gives another instance of the numbers, the same one every time;
   --answers prints them. */
static void test_seed_variants(void)
{
    char *a1[] = { "tcache", "--answers", "--seed", "2", NULL };
    char *a0[] = { "tcache", "--answers", NULL };
    struct proc_result r1, r2, r0;
    run_lesson(a1, "", &r1);
    run_lesson(a1, "", &r2);
    run_lesson(a0, "", &r0);
    CU_ASSERT_EQUAL(r1.status, 0);
    CU_ASSERT_STRING_EQUAL(r1.out, r2.out);
    CU_ASSERT_PTR_NOT_NULL(strstr(r0.out, "--tc-size 4 "));
    CU_ASSERT_PTR_NULL(strstr(r1.out, "--tc-size 4 "));   /* seed 2 draws 5 */
    CU_ASSERT_PTR_NOT_NULL(strstr(r1.out, "  answer: "));
    proc_result_free(&r1);
    proc_result_free(&r2);
    proc_result_free(&r0);
}

static void test_bad_usage(void)
{
    char *u1[] = { "--frobnicate", NULL }, *u2[] = { "no-such-lesson", NULL },
         *u3[] = { "/dev/zero", NULL };
    char **cases[] = { u1, u2, u3 };
    for (int i = 0; i < 3; i++) {
        struct proc_result r;
        run_lesson(cases[i], "", &r);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "ringside: "));
        CU_ASSERT_PTR_NULL(strchr(strchr(r.err, '\n') ? strchr(r.err, '\n') + 1 : "", '\n'));
        proc_result_free(&r);
    }
}

/* The answers of lesson `name` in the --check transcript, in order. */
static int lesson_answers(const char *name, char ans[][64], int max)
{
    const char *end = NULL, *start = check_transcript;
    char tail[96];
    snprintf(tail, sizeof tail, "\nlesson %s: ", name);
    if (!start || !(end = strstr(start, tail)))
        return -1;
    /* the lesson's block starts after the previous lesson's tally line */
    for (const char *p = start; (p = strstr(p, "\nlesson ")) && p < end; p++)
        start = p + 1;
    int n = 0;
    for (const char *p = start; (p = strstr(p, "  answer Q")) && p < end && n < max; p++)
        if (sscanf(strchr(p, ':') + 2, "%63s", ans[n]) == 1)
            n++;
    return n;
}

/* One lesson in the TUI, as a student: every question answered right but
   the second (wrong), every step ended with Enter; the pane grades each
   on the spot and the lesson ends with the tally. */
static void drive_lesson_tui(const char *name, int cols, int rows)
{
    char ans[32][64], cmd[128], key[160], prompt[32];
    int n = lesson_answers(name, ans, 32);
    CU_ASSERT_FATAL(n > 0);
    struct tmux t;
    snprintf(cmd, sizeof cmd, "lesson %s", name);
    CU_ASSERT_FATAL(tmux_run(&t, cols, rows, cmd));
    int q = 0, wrong = 0;
    for (time_t deadline = time(NULL) + 300; time(NULL) < deadline;) {
        snprintf(prompt, sizeof prompt, "Answer Q%d:", q + 1);
        const char *screen = tmux_capture(&t);
        if (strstr(screen, "TUI EXIT"))
            break;
        if (strstr(screen, prompt)) {
            bool give_wrong = q == 1;
            snprintf(key, sizeof key, "'%s' Enter", give_wrong ? "777777" : ans[q]);
            tmux_keys(&t, key);
            CU_ASSERT(tmux_wait(&t, give_wrong ? "not quite" : "right: ", 120));
            CU_ASSERT(tmux_wait_gone(&t, prompt, 120));
            wrong += give_wrong;
            q++;
        } else if (strstr(screen, "Enter: next step") || strstr(screen, "Enter: finish")) {
            char step[32];
            const char *at = strstr(screen, "step ");
            snprintf(step, sizeof step, "%.12s", at ? at : "");
            tmux_keys(&t, "Enter");
            tmux_wait_gone(&t, step, 120);
        } else
            usleep(100000);
    }
    char tally[96];
    snprintf(tally, sizeof tally, "lesson %s: %d of %d questions right", name, n - wrong, n);
    CU_ASSERT(tmux_wait(&t, tally, 60));
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 10));
    CU_ASSERT_EQUAL(q, n);
    if (q != n || !strstr(tmux_capture(&t), tally))
        fprintf(stderr, "\nlesson %s: %d of %d answered; screen:\n%s\n", name, q, n, t.screen);
    tmux_stop(&t);
}

static void test_every_lesson_in_tui(void)
{
    static const char *names[] = { "rings", "sensitive", "bt", "tcache", "smc", "shadow",
                                   "costs", "paper", "host", "hosted", "snapshots", "migration",
                                   "recovery" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        drive_lesson_tui(names[i], i % 2 ? 100 : 80, i % 2 ? 30 : 24);
}

/* ---- labs ---- */

static void run_ringside(const char *args, struct proc_result *r)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s", proc_ringside(), args);
    char *argv[] = { "sh", "-c", cmd, NULL };
    CU_ASSERT_FATAL(proc_run(argv, 600, r) == 0);
}

/* The reference solution meets every criterion; the exported starter meets
   fewer and fails; the student's copy holds no line of the solution. */
static void check_lab(int n, const char *solution_line)
{
    char ref[] = "/tmp/rs_lab_ref_XXXXXX", stu[] = "/tmp/rs_lab_stu_XXXXXX", args[256];
    CU_ASSERT_FATAL(mkdtemp(ref) && mkdtemp(stu));
    struct proc_result r;
    snprintf(args, sizeof args, "lab export %d %s --reference", n, ref);
    run_ringside(args, &r);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    snprintf(args, sizeof args, "lab check %d %s --seed 11", n, ref);
    run_ringside(args, &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "of 100 points - all criteria met"));
    if (r.status)
        fprintf(stderr, "\nreference of lab %d:\n%s%s", n, r.out, r.err);
    proc_result_free(&r);
    snprintf(args, sizeof args, "lab export %d %s --seed 11", n, stu);
    run_ringside(args, &r);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    snprintf(args, sizeof args, "lab check %d %s --seed 11", n, stu);
    run_ringside(args, &r);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[FAIL]"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "all criteria met"));
    proc_result_free(&r);
    snprintf(args, sizeof args, "grep -rl -e SOLUTION -e '%s' %s; ls %s/lab.lesson",
             solution_line, stu, stu);
    char *argv[] = { "sh", "-c", args, NULL };
    CU_ASSERT_FATAL(proc_run(argv, 60, &r) == 0);
    CU_ASSERT_STRING_EQUAL(r.out, "");          /* no solution, no checker */
    proc_result_free(&r);
    snprintf(args, sizeof args, "rm -rf %s %s", ref, stu);
    CU_ASSERT(system(args) == 0);
}

static void test_lab_traps(void)
{
    check_lab(1, "lidt %0");
}

static void test_lab_leak(void)
{
    check_lab(2, "irqs_off = 1");
}

static void test_lab_shares(void)
{
    check_lab(3, "\"shares\": 10}");
}

static void test_lab_costs(void)
{
    check_lab(4, "vt_pf_exit = 4000");
}

static void test_lab_tcpolicy(void)
{
    check_lab(5, "RECENT = 50");
}

static void test_lab_precopy(void)
{
    check_lab(6, "stop-pages 80");
}

/* A plug-in that names impossible places costs speed, never correctness:
   the TC flushes instead; a path that is not a policy is one error line. */
static void test_tc_plugin_contract(void)
{
    const char *src = "/tmp/rs_badpolicy.c", *so = "/tmp/rs_badpolicy.so";
    FILE *f = fopen(src, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("#include \"tc_policy.h\"\n"
          "static unsigned n;\n"
          "static uint32_t place(const struct tc_policy_view *v, uint32_t len)\n"
          "{ n++; return n % 3 == 0 ? v->size : n % 3 == 1 ? 7 : v->size - len + 16; }\n"
          "const struct tc_policy ringside_tc_policy = { TC_POLICY_ABI, \"bad\", place };\n", f);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "gcc -shared -fPIC -Isim/vmm/bt -o %s %s", so, src);
    CU_ASSERT_FATAL(system(cmd) == 0);
    struct proc_result bad, ref;
    snprintf(cmd, sizeof cmd, "run --mode bt --tc-size 4 --tc-policy plugin:%s "
                              "samples/bin/rings.elf", so);
    run_ringside(cmd, &bad);
    run_ringside("run --mode bt --tc-size 4 samples/bin/rings.elf", &ref);
    CU_ASSERT_EQUAL(bad.status, 1);
    CU_ASSERT_STRING_EQUAL(bad.out, ref.out);
    proc_result_free(&bad);
    proc_result_free(&ref);
    static const char *refused[] = {
        "run --mode bt --tc-policy plugin:/nonexistent.so samples/bin/hello.elf",
        "run --mode bt --tc-policy plugin:policy.so samples/bin/hello.elf",
        "run --mode bt --tc-policy plugin:/tmp/rs_badpolicy.c samples/bin/hello.elf",
        "run --mode bt --tc-policy plugin: samples/bin/hello.elf",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        run_ringside(refused[i], &bad);
        CU_ASSERT_EQUAL(bad.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(bad.err, "--tc-policy"));
        CU_ASSERT_EQUAL(strchr(bad.err, '\n'), bad.err + strlen(bad.err) - 1);
        proc_result_free(&bad);
    }
    remove(src);
    remove(so);
}

static void test_lab_usage(void)
{
    static const char *bad[] = { "lab check 99", "lab frob 1", "lab export 1",
                                 "lab check 1 /nonexistent", "lab check 1 . --seed x" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct proc_result r;
        run_ringside(bad[i], &r);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "ringside: "));
        proc_result_free(&r);
    }
    struct proc_result r;
    run_ringside("lab", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, " 1  01-traps "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, " 2  02-leak "));
    proc_result_free(&r);
}

void suite_lesson_register(void)
{
    CU_pSuite s = CU_add_suite("lesson", NULL, NULL);
    CU_add_test(s, "background commands: start, wait, kill; none left after a failure",
                test_background_commands);
    CU_add_test(s, "a lesson file parses into steps and items", test_parse_good);
    CU_add_test(s, "malformed lessons: file, line and reason", test_parse_errors);
    CU_add_test(s, "3000 mutated lessons: parsed or refused, never a crash",
                test_parse_mutations);
    CU_add_test(s, "expressions: precedence, functions, fields, texts", test_expr_values);
    CU_add_test(s, "expressions: missing fields and type errors are errors", test_expr_errors);
    CU_add_test(s, "answers: numbers within tolerance, choice letters", test_answer_grading);
    CU_add_test(s, "every lesson in lessons/ holds (--check)", test_every_lesson_checks);
    CU_add_test(s, "every lesson in the TUI at 80x24 and 100x30: graded on the spot",
                test_every_lesson_in_tui);
    CU_add_test(s, "a failing check fails --check; a bad file is status 2",
                test_failing_check_fails);
    CU_add_test(s, "${NAME.FIELD} in a command: an earlier record's field; errors",
                test_record_refs_in_commands);
    CU_add_test(s, "headless: right and wrong answers graded", test_headless_grading);
    CU_add_test(s, "--seed variants are stable; --answers", test_seed_variants);
    CU_add_test(s, "bad usage: one line, status 2", test_bad_usage);
    CU_add_test(s, "lab 1 (traps): reference passes, starter fails, no solution exported",
                test_lab_traps);
    CU_add_test(s, "lab 2 (leak): reference passes, starter fails, no solution exported",
                test_lab_leak);
    CU_add_test(s, "lab 3 (shares): reference passes, starter fails, no solution exported",
                test_lab_shares);
    CU_add_test(s, "lab 4 (costs): reference passes, starter fails, no solution exported",
                test_lab_costs);
    CU_add_test(s, "lab 5 (TC policy): reference passes, starter fails, no solution exported",
                test_lab_tcpolicy);
    CU_add_test(s, "lab 6 (pre-copy): reference passes, starter fails, no solution exported",
                test_lab_precopy);
    CU_add_test(s, "TC plug-in: impossible places flush (output intact); bad paths refused",
                test_tc_plugin_contract);
    CU_add_test(s, "lab: bad usage is status 2; the list", test_lab_usage);
}
