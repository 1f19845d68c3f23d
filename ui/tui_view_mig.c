/*
 * tui_view_mig.c - the two-host view's panes as styled text (tui_view_mig.h).
 *
 * The pre-copy pane is not a second rendering of the figures: it is the
 * text `ringside migrate` writes (ctl_migrate_print of mig_report_json),
 * captured line by line, so a class reading the screen and a script reading
 * `ringside migrate --json` see the same rounds, pages, bytes, working set
 * and downtime. While pre-copy runs only the finished rounds' lines are
 * kept (the totals do not exist yet), with a line for the round on the wire.
 */
#include "tui_view_mig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "ctl_migrate.h"

static const char *vm_state(struct tui_mig *tm, int side, bool running, char *buf, size_t len)
{
    const struct host *h = &tm->hosts[side];
    if (h->nvms == 0)
        return side == 0 ? "gone (moved to the target)" : "no VM";
    const struct host_vm *hv = &h->vms[0];
    const struct machine *m = &hv->vm->m;
    const char *arrived = side == 1 ? "arrived, " : "";
    if (hv->state == HVM_ENDED) {
        if (m->end == END_GUEST_EXIT)
            snprintf(buf, len, "%sexited", arrived);
        else
            snprintf(buf, len, "%sended %d", arrived, cmd_run_exit_status(m));
    } else if (hv->state == HVM_INCOMING) {
        snprintf(buf, len, "incoming (pages arriving)");
    } else if (hv->state == HVM_PAUSED) {
        snprintf(buf, len, "%s", tm->phase == TM_STOPPED ? "paused (stop-and-copy)" : "paused");
    } else {
        bool moving = tm->phase == TM_PRECOPY;
        snprintf(buf, len, "%s%s%s", arrived, running || moving ? "running" : "ready",
                 moving ? " (pre-copy)" : "");
    }
    return buf;
}

void tui_view_mig_host(struct tui_mig *tm, int side, bool running, struct tui_text *out)
{
    const struct host *h = &tm->hosts[side];
    char st[64];
    const char *state = vm_state(tm, side, running, st, sizeof st);
    if (!h->nvms) {
        tui_text_line(out, TS_NORMAL, "%s", state);
    } else {
        const struct machine *m = &h->vms[0].vm->m;
        bool here = h->vms[0].state != HVM_INCOMING;
        tui_text_line(out, here ? TS_CURRENT : TS_NORMAL, "vm %s (%s): %s", h->vms[0].name,
                      machine_mode_name(m->mode), state);
        tui_text_line(out, TS_NORMAL, "guest insns %" PRIu64 "  cycles %" PRIu64,
                      cpu_guest_insns(&m->cpu), m->cpu.cycles);
    }
    tui_text_line(out, TS_NORMAL, "console: %zu bytes printed here", tm->con[side].total);
    if (side == 0 && tm->phase != TM_BEFORE)
        tui_text_line(out, TS_NORMAL, "printed during the migration: %zu bytes",
                      tm->con[0].total - tm->printed_before);
    if (side == 0 && tm->phase == TM_BEFORE)
        tui_text_line(out, TS_NORMAL, "moves at %" PRIu64 " guest instructions (m: now)",
                      tm->cli.at);
    else if (side == 0 && tm->phase == TM_FAILED)
        tui_text_line(out, TS_EMULATED, "did not move: %.200s", tm->err);
    else if (tm->phase == TM_MOVED)
        tui_text_line(out, TS_NORMAL, "%s at %" PRIu64 " guest instructions",
                      side ? "resumed" : "left", tm->rep.guest_insns);
}

/* Where the last `rows` lines of text[0, len) begin. */
static size_t tail_start(const char *text, size_t len, int rows)
{
    size_t k = len;
    if (k && text[k - 1] == '\n')
        k--;                                /* a final newline ends the last line */
    for (int seen = 0; k > 0; k--)
        if (text[k - 1] == '\n' && ++seen == rows)
            break;
    return k;
}

void tui_view_mig_console(const struct tui_mig *tm, int side, int rows, struct tui_text *out)
{
    const struct tui_mig_console *c = &tm->con[side];
    if (rows < 1)
        return;
    struct tui_line *l = NULL;
    for (size_t k = tail_start(c->text, c->len, rows); k < c->len; k++) {
        char ch = c->text[k];
        if (!l)
            l = tui_text_line(out, TS_NORMAL, "%s", "");
        if (ch == '\n')
            l = NULL;
        else if (ch != '\r')
            tui_text_put(out, TS_NORMAL, "%c", ch >= 0x20 && ch < 0x7f ? ch : '.');
    }
}

/* ctl_migrate_print's text of the report, one string (malloc'd). */
static char *report_text(const struct tui_mig *tm)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    json_t *j = mig_report_json(&tm->rep, MIG_CLI_TARGET);
    ctl_migrate_print(f, j);
    json_decref(j);
    fclose(f);
    return buf;
}

void tui_view_mig_precopy(const struct tui_mig *tm, struct tui_text *out)
{
    if (tm->phase == TM_BEFORE) {
        tui_text_line(out, TS_NORMAL, "not begun: round 0 will send every non-zero page of guest "
                      "RAM while the VM runs on");
        return;
    }
    const struct mig_report *rep = &tm->rep;
    bool done = tm->phase == TM_MOVED;
    int nr = rep->nrounds, last = nr ? nr - 1 : 0;
    bool round_done = tm->rounds_done == nr;
    int keep = done ? TUI_TEXT_MAX : 1 + tm->rounds_done;           /* heading + rounds */
    char *text = report_text(tm), *save = NULL;
    int k = 0;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && k < keep;
         l = strtok_r(NULL, "\n", &save), k++)
        tui_text_line(out, k == 0 ? TS_HEAD : TS_NORMAL, "%s", l);
    free(text);
    if (nr && !round_done)
        tui_text_line(out, TS_TRANSLATED, "round %d: %u pages on the wire (%" PRIu64 " bytes)%s",
                      last, rep->rounds[last].pages_sent, rep->rounds[last].bytes,
                      tm->phase == TM_FAILED ? " when it failed" : "; the VM runs on meanwhile");
    if (tm->phase == TM_STOPPED)
        tui_text_line(out, TS_EMULATED, "pre-copy stopped: %s; stop-and-copy: the VM is paused",
                      rep->stop_reason ? rep->stop_reason : "");
    else if (tm->phase == TM_FAILED)
        tui_text_line(out, TS_EMULATED, "the migration failed: %.200s", tm->err);
}

void tui_view_mig_status(struct tui_mig *tm, bool running, const char *msg, struct tui_text *out)
{
    static const char *const phase[] = { "on the source", "pre-copy", "stop-and-copy",
                                         "on the target", "stayed on the source" };
    /* while the migration call runs, its outcome is not known yet: the VM
       may have ended on the source, but "the run has ended" waits for it */
    bool moving = tm->phase == TM_PRECOPY || tm->phase == TM_STOPPED;
    const char *what = tui_mig_ended(tm) && !moving ? "the run has ended"
                       : running || moving ? "running" : "paused";
    tui_text_line(out, TS_STATUS, " migrate | %s | %s | c run/pause  m migrate now  q quit | %s",
                  phase[tm->phase], what, msg);
}
