/*
 * tui_captions.c - what the demo says at the first event of each kind.
 *
 * A caption is read aloud in a lecture, so it must be true of the run on
 * screen: the same event means different things under different engines (a
 * system call is delivered by the CPU natively and reflected by the VMM under
 * trap and bt; a ring change is the same ring natively and a compressed one
 * under a VMM), and its price is the cost profile's, not a number written
 * into the text. Each caption is therefore composed here from the engine and
 * the profile in use; the demo (tui_main.c) only decides when to show it.
 * Under hw (VT-x style) the guest kernel is not deprivileged: what the
 * native captions say of rings, system calls and exceptions is true there
 * too, and the VMM appears only at VM exits and injections.
 */
#include "tui_captions.h"

#include <stdio.h>
#include <string.h>

/* The event kinds the demo stops at, in the order of the lecture. */
static const enum ev_kind narrated[] = {
    EV_TRAP, EV_SENSITIVE, EV_TRANSLATE, EV_TC_HIT, EV_CALLOUT, EV_RING,
    EV_SOFTINT, EV_REFLECT, EV_INTERRUPT, EV_TC_INVALIDATE, EV_VMEXIT, EV_INJECT,
};

/* The guest owns the CPU's rings and IDT: native, and hw's non-root mode. */
static bool guest_owns_cpu(const struct tui_caption_ctx *c)
{
    return !strcmp(c->mode, "native") || !strcmp(c->mode, "hw");
}

uint32_t tui_caption_kinds(void)
{
    uint32_t m = 0;
    for (size_t i = 0; i < sizeof narrated / sizeof *narrated; i++)
        m |= EV_BIT(narrated[i]);
    return m;
}

static void ring_caption(const struct tui_caption_ctx *c, char *buf, size_t len)
{
    if (!strcmp(c->mode, "hw"))
        snprintf(buf, len, "RING CHANGE. The guest switched privilege level (%s). In VMX "
                 "non-root mode the guest's CPL is the hardware's: its kernel really runs at "
                 "ring 0, and no VMM is involved in the change.", c->detail);
    else if (!strcmp(c->mode, "native"))
        snprintf(buf, len, "RING CHANGE. The guest switched privilege level (%s). With no "
                 "VMM the guest's CPL is the hardware's: its kernel really runs at ring 0.",
                 c->detail);
    else
        snprintf(buf, len, "RING CHANGE. The guest switched privilege level (%s). Under the "
                 "VMM the virtual CPL (the guest's) and the real CPL (the hardware's) differ: "
                 "the guest kernel's ring 0 is deprivileged. Compare the Registers pane.",
                 c->detail);
}

static void softint_caption(const struct tui_caption_ctx *c, char *buf, size_t len)
{
    if (guest_owns_cpu(c))
        snprintf(buf, len, "SYSTEM CALL. User code executed INT n: the CPU delivered it "
                 "through the guest's IDT into its kernel, %u cycles for the round trip "
                 "(native_syscall)%s.", c->costs->v[COST_NATIVE_SYSCALL],
                 strcmp(c->mode, "hw") ? "" : "; under hw no VM exit: the IDT is the guest's");
    else
        snprintf(buf, len, "SYSTEM CALL. User code executed INT n. The hardware IDT is the "
                 "VMM's: the world switched into the VMM, which reflected the interrupt "
                 "through the guest's own IDT (%u cycles to build the frame, reflect; "
                 "natively the round trip costs %u).", c->costs->v[COST_REFLECT],
                 c->costs->v[COST_NATIVE_SYSCALL]);
}

static void interrupt_caption(const struct tui_caption_ctx *c, char *buf, size_t len)
{
    if (!strcmp(c->mode, "hw"))
        snprintf(buf, len, "TIMER INTERRUPT. The PIT fired IRQ 0 at the virtual PIC. At the "
                 "next VM entry the VMM injected it (the entry interruption field) and the CPU "
                 "delivered it through the guest's IDT; had the guest had IF clear, the VMM "
                 "would have asked for an interrupt-window exit first.");
    else if (!strcmp(c->mode, "native"))
        snprintf(buf, len, "TIMER INTERRUPT. The PIT fired IRQ 0 through the PIC: an "
                 "external interrupt, delivered by the hardware through the guest's IDT.");
    else
        snprintf(buf, len, "TIMER INTERRUPT. The PIT fired IRQ 0 through the PIC. The VMM "
                 "takes every external interrupt first and, once the guest's virtual IF "
                 "allows, reflects it through the guest's IDT; until then it stays pending "
                 "at the PIC, as it would on real hardware with IF clear.");
}

static void trap_caption(const struct tui_caption_ctx *c, char *buf, size_t len)
{
    if (!strcmp(c->mode, "hw"))
        snprintf(buf, len, "EMULATED AFTER A VM EXIT. The guest kernel, at its own ring 0, "
                 "executed an instruction the VMCS's controls reserve for the VMM (%s): a VM "
                 "exit; the VMM read the exit fields, emulated it with the same library as "
                 "trap and bt, and re-entered: %u cycles for the round trip (vt_entry) + %u "
                 "for the handler (vt_exit_handle).", c->detail, c->costs->v[COST_VT_ENTRY],
                 c->costs->v[COST_VT_EXIT_HANDLE]);
    else if (!strcmp(c->mode, "bt"))
        snprintf(buf, len, "TRAP. Code the VMM runs directly (not translated) executed a "
                 "privileged instruction (%s): the CPU raised #GP, the world switched into "
                 "the VMM, which emulated it against the virtual CPU (%u cycles, "
                 "trap_emulate). Translated kernel code never traps: it calls out.",
                 c->detail, c->costs->v[COST_TRAP_EMULATE]);
    else
        snprintf(buf, len, "TRAP. The guest kernel runs deprivileged at ring 1. It just "
                 "executed a privileged instruction (%s): the CPU raised #GP, the world "
                 "switched into the VMM, which decoded the instruction and emulated it "
                 "against the virtual CPU: %u cycles per trap (trap_emulate, "
                 "Adams & Agesen 2006).",
                 c->detail, c->costs->v[COST_TRAP_EMULATE]);
}

static void sensitive_caption(const struct tui_caption_ctx *c, char *buf, size_t len)
{
    snprintf(buf, len, "THE x86 PROBLEM. %s is sensitive but not privileged: %s it ran "
             "without trapping and saw the hardware's state instead of the guest's (Robin "
             "& Irvine 2000). %s", c->detail,
             !strcmp(c->mode, "bt") ? "run directly (not translated)," : "at ring 1",
             !strcmp(c->mode, "bt") ? "Binary translation rewrites it only where it "
                                      "translates: in the guest kernel."
                                    : "Trap-and-emulate cannot catch it; binary "
                                      "translation rewrites it.");
}

bool tui_caption(enum ev_kind kind, const struct tui_caption_ctx *c, char *buf, size_t len)
{
    const uint32_t *k = c->costs->v;
    switch (kind) {
    case EV_TRAP: trap_caption(c, buf, len); return true;
    case EV_SENSITIVE: sensitive_caption(c, buf, len); return true;
    case EV_RING: ring_caption(c, buf, len); return true;
    case EV_SOFTINT: softint_caption(c, buf, len); return true;
    case EV_INTERRUPT: interrupt_caption(c, buf, len); return true;
    case EV_TRANSLATE:
        snprintf(buf, len, "TRANSLATION. The VMM decoded a block of guest kernel code (up to "
                 "a control transfer or %d instructions) and wrote x86 into the translation "
                 "cache, %u cycles per guest instruction (translate_insn): innocuous "
                 "instructions are copied (IDENT), sensitive ones rewritten or turned into "
                 "callouts. See the Translated code pane.", c->block_insns,
                 k[COST_TRANSLATE_INSN]);
        return true;
    case EV_TC_HIT:
        snprintf(buf, len, "TC HIT. The block was already translated: the VMM jumped straight "
                 "into the translation cache. The hit rate climbs as the kernel loops.");
        return true;
    case EV_CALLOUT:
        snprintf(buf, len, "CALLOUT. Translated code called into the VMM to emulate something "
                 "it could not do inline: %u cycles (callout_emulate), against %u for a trap.",
                 k[COST_CALLOUT_EMULATE], k[COST_TRAP_EMULATE]);
        return true;
    case EV_REFLECT:
        snprintf(buf, len, "REFLECTION. An exception or interrupt arrived: the VMM got it "
                 "first and reflected it through the guest's own IDT, building the frame on "
                 "the guest stack (%u cycles, reflect).", k[COST_REFLECT]);
        return true;
    case EV_VMEXIT:
        snprintf(buf, len, "VM EXIT. The CPU left VMX non-root mode: it stored the guest's "
                 "state in the VMCS, recorded why (%s) and loaded the VMM's. Each exit costs a "
                 "round trip, %u cycles (vt_entry; %u for a #PF, vt_pf_exit): the price of "
                 "early VT-x that Adams & Agesen measured. See the VM exits pane.", c->detail,
                 k[COST_VT_ENTRY], k[COST_VT_PF_EXIT]);
        return true;
    case EV_INJECT:
        snprintf(buf, len, "EVENT INJECTION. The VMM wrote an event (%s) into the VMCS's entry "
                 "interruption field; the VM entry delivered it through the guest's own IDT, "
                 "as the hardware delivers its own.", c->detail);
        return true;
    case EV_TC_INVALIDATE:
        snprintf(buf, len, "INVALIDATION. The guest wrote to a page holding translated code: "
                 "the VMM dropped those translations (self-modifying code).");
        return true;
    default:
        return false;
    }
}
