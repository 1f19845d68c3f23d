/*
 * tui_view_host.c - the host view's own panes as styled text (tui --host):
 * the VM list and the map of machine memory.
 *
 * The VM list is the host's table (`ringside host -v`) made live: each VM's
 * engine, state, share of the CPU so far, machine memory (guest pages with
 * a frame), pages on shared frames and the VMM's overhead (overhead_pct of
 * the stats JSON); `=>` marks the selected VM, `||` the one beside it. The memory
 * map draws the frame pool as cells, each the VM owning most of the used
 * frames in it (by the VM's label), `=` for frames shared by content, `.`
 * for free ones, so consolidation and sharing are visible at a glance:
 * frames are handed out lowest first, so the used ones gather at the start
 * and the map covers the pool up to its high-water mark (the rest is free).
 */
#include "tui_view_host.h"

#include <inttypes.h>
#include <string.h>

#include "cmd_run.h"

static void vm_state(const struct host_vm *hv, bool running, char *buf, size_t len)
{
    const struct machine *m = &hv->vm->m;
    if (hv->state == HVM_ENDED && m->end != END_GUEST_EXIT)
        snprintf(buf, len, "ended %d", cmd_run_exit_status(m));
    else
        snprintf(buf, len, "%s", hv->state == HVM_PAUSED ? "paused"
                               : hv->state == HVM_INCOMING ? "incoming"
                               : hv->state == HVM_ENDED ? "exited"
                               : running ? "running" : "ready");
}

void tui_view_vm_list(const struct tui_host *th, bool running, struct tui_text *out)
{
    const struct host *h = &th->host;
    tui_text_line(out, TS_HEAD, "    # name         engine state    CPU   guest mem  shared "
                  "overhead  guest insns");
    for (int i = 0; i < h->nvms; i++) {
        const struct host_vm *hv = &h->vms[i];
        const struct machine *m = &hv->vm->m;
        const char *mark = i == th->sel ? "=>" : i == th->other ? "||" : "  ";
        char state[24];
        vm_state(hv, running, state, sizeof state);
        struct tui_line *l = tui_text_line(out, i == th->sel ? TS_CURRENT : TS_NORMAL,
            "%s %c %-12.12s %-6s %-8s %5.1f%% %6.1f MiB %6u %7.1f%% %12" PRIu64, mark,
            tui_host_label(i), hv->name, machine_mode_name(m->mode), state,
            100.0 * host_cpu_share(h, i), host_vm_mapped_pages(h, i) * 4.0 / 1024.0,
            m->pm.shared_now, machine_overhead_pct(m), cpu_guest_insns(&m->cpu));
        if (i != th->sel && hv->state == HVM_ENDED && m->end != END_GUEST_EXIT)
            tui_line_style(l, TS_EMULATED);
    }
    tui_text_line(out, TS_NORMAL, "host: type %d, %.1f M cycles, %" PRIu64 " VM switches "
                  "(%" PRIu64 " cycles)", h->cfg.type, (double)h->host_cycles / 1e6,
                  h->switches, h->switch_cycles_total);
}

/* ---- the memory map ----------------------------------------------------- */

#define MAP_OWNERS (HOST_MAX_VMS + 1)     /* VMs by index, then "shared" */

/* What a cell of frames [lo, hi) shows: the VM (or shared) with most frames
   there, or -1 when all are free. */
static int cell_owner(const struct frames *f, const int *by_slot, uint32_t lo, uint32_t hi)
{
    unsigned count[MAP_OWNERS] = { 0 };
    for (uint32_t k = lo; k < hi; k++) {
        uint16_t o = f->owner[k];
        if (o == FRAME_FREE)
            continue;
        int who = o == FRAME_SHARED ? HOST_MAX_VMS : o <= FRAMES_MAX_OWNERS ? by_slot[o] : -1;
        if (who >= 0)
            count[who]++;
    }
    int best = -1;
    for (int w = 0; w < MAP_OWNERS; w++)
        if (count[w] && (best < 0 || count[w] > count[best]))
            best = w;
    return best;
}

static enum tui_style owner_style(int who)
{
    static const enum tui_style cycle[] = { TS_DIRECT, TS_TRANSLATED, TS_HEAD, TS_NATIVE };
    return who == HOST_MAX_VMS ? TS_EMULATED : cycle[who % 4];
}

/* The highest frame ever used, + 1 (the map's extent). */
static uint32_t used_extent(const struct frames *f)
{
    uint32_t n = f->nframes;
    while (n && f->owner[n - 1] == FRAME_FREE)
        n--;
    return n;
}

void tui_view_memmap(const struct tui_host *th, int rows, struct tui_text *out)
{
    const struct host *h = &th->host;
    const struct frames *f = &h->mem;
    struct host_mem_report mr;
    host_mem_report(h, &mr);
    tui_text_line(out, TS_NORMAL, "%u of %u frames used, %u free; %u shared frames back %u "
                  "pages: %u saved", mr.used, mr.frames, mr.free, mr.shared_frames,
                  mr.shared_pages, mr.saved);
    int cells_rows = rows - 3, width = out->width;
    if (!f->nframes || cells_rows < 1 || width < 8)
        return;
    int by_slot[FRAMES_MAX_OWNERS + 1];
    for (int s = 0; s <= (int)FRAMES_MAX_OWNERS; s++)
        by_slot[s] = -1;
    for (int i = 0; i < h->nvms; i++)
        if (h->vms[i].vm->m.pm.slot)
            by_slot[h->vms[i].vm->m.pm.slot] = i;
    uint64_t cells = (uint64_t)cells_rows * (uint64_t)width;
    uint32_t extent = used_extent(f);
    if (extent < cells)
        extent = (uint32_t)(cells < f->nframes ? cells : f->nframes);
    uint32_t per = (uint32_t)((extent + cells - 1) / cells);
    for (int r = 0; r < cells_rows; r++) {
        tui_text_line(out, TS_NORMAL, "%s", "");
        for (int c = 0; c < width; c++) {
            uint64_t lo = ((uint64_t)r * (uint64_t)width + (uint64_t)c) * per;
            if (lo >= extent)
                break;
            uint64_t hi = lo + per < extent ? lo + per : extent;
            int who = cell_owner(f, by_slot, (uint32_t)lo, (uint32_t)hi);
            if (who < 0)
                tui_text_put(out, TS_NORMAL, ".");
            else
                tui_text_put(out, owner_style(who), "%c",
                             who == HOST_MAX_VMS ? '=' : tui_host_label(who));
        }
    }
    tui_text_line(out, TS_NORMAL, "cell = %u frame%s; frames 0-%u shown%s", per,
                  per == 1 ? "" : "s", extent ? extent - 1 : 0,
                  extent < f->nframes ? ", the rest free" : "");
    struct tui_line *legend = tui_text_line(out, TS_NORMAL, "%s", "");
    for (int i = 0; i < h->nvms && legend->len + 16 < width; i++)
        tui_text_put(out, owner_style(i), "%c %s  ", tui_host_label(i), h->vms[i].name);
    tui_text_put(out, TS_EMULATED, "= shared");
    tui_text_put(out, TS_NORMAL, "  . free");
}
