/*
 * tui_view_hw.c - the VM-exits pane of the TUI (--mode hw).
 *
 * Under the hardware-assisted engine there is no translation cache to show;
 * what the VMM sees of the guest is its VM exits. The pane counts them by
 * exit reason (from the statistics, sim/stats.h), the events injected at VM
 * entry, and shows the last exit as the hardware recorded it: reason,
 * qualification, addresses, instruction length, with the VMCS fields that
 * differ from the exit before it highlighted. The session captures those
 * fields at every EV_VMEXIT (tui_exit_capture), so the pane needs nothing
 * but the session.
 */
#include "tui_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cpu/vmx.h"
#include "vmm/hw/hw.h"

/* The VMCS fields the pane follows, by name. */
static const char *const exit_field_names[TUI_EXIT_FIELDS] = {
    "exit reason", "qualification", "guest linear", "guest physical", "exit intr info",
    "IDT vectoring", "insn length", "guest EIP", "guest ESP", "guest EFLAGS", "guest CR0",
    "guest CR3", "guest CR4", "entry intr info", "proc controls", "CR0 shadow", "CR4 shadow",
};

static void exit_fields(const struct vmcs *vm, uint32_t *f)
{
    const uint32_t v[TUI_EXIT_FIELDS] = {
        vm->exit_reason, vm->exit_qual, vm->guest_linear, vm->guest_physical,
        vm->exit_intr_info, vm->idt_vectoring_info, vm->exit_insn_len, vm->guest.eip,
        vm->guest.r[R_ESP], vm->guest.eflags, vm->guest.cr0, vm->guest.cr3, vm->guest.cr4,
        vm->entry_intr_info, vm->proc, vm->cr0_shadow, vm->cr4_shadow,
    };
    memcpy(f, v, sizeof v);
}

bool tui_is_hw(const struct tui_session *s)
{
    return s->m && s->m->mode == MODE_HW;
}

void tui_exit_capture(struct tui_session *s)
{
    const struct vmcs *vm = s->m && s->m->vmm ? hw_vmcs(s->m->vmm) : NULL;
    if (!vm)
        return;
    memcpy(s->exit_prev, s->exit_cur, sizeof s->exit_prev);
    exit_fields(vm, s->exit_cur);
    s->exits_seen++;
}

static void exits_by_reason(const struct stats *st, struct tui_text *out)
{
    uint64_t left[64];
    memcpy(left, st->vmexits, sizeof left);
    for (int k = 0; k < 6; k++) {             /* the six most frequent */
        int best = -1;
        for (int r = 0; r < 64; r++)
            if (left[r] && (best < 0 || left[r] > left[best]))
                best = r;
        if (best < 0)
            break;
        const char *name = vmx_exit_name((unsigned)best);
        tui_text_line(out, TS_DIM, "  %-18s %10" PRIu64, name ? name : "?", left[best]);
        left[best] = 0;
    }
}

/* The last exit's fields; those that changed since the exit before it
   are highlighted. */
static void last_exit(const struct tui_session *s, struct tui_text *out)
{
    if (!s->exits_seen) {
        tui_text_line(out, TS_DIM, "(no VM exit yet)");
        return;
    }
    const char *name = vmx_exit_name(s->exit_cur[0]);
    tui_text_line(out, TS_HEAD, "last exit: %s", name ? name : "?");
    for (int i = 1; i < TUI_EXIT_FIELDS; i++) {
        bool changed = s->exits_seen > 1 && s->exit_cur[i] != s->exit_prev[i];
        tui_text_line(out, changed ? TS_CHANGED : TS_NORMAL, "  %-16s %08" PRIx32 "%s",
                      exit_field_names[i], s->exit_cur[i], changed ? " *" : "");
    }
}

void tui_view_vmexits(const struct tui_session *s, struct tui_text *out)
{
    const struct stats *st = &s->m->stats;
    tui_text_line(out, TS_NORMAL, "VM exits       %12" PRIu64, st->vmexits_total);
    exits_by_reason(st, out);
    tui_text_line(out, TS_NORMAL, "injected       %12" PRIu64, st->injections);
    tui_text_put(out, TS_DIM, " (%" PRIu64 " again)", st->reinjections);
    last_exit(s, out);
}
