/*
 * bt_run.c - the BT engine: running guest kernel code from the TC, guest
 * user code directly, and everything that happens at the seams.
 *
 * Two states of the hardware CPU alternate (Adams & Agesen 2006, §3):
 *   - *guest state*: CS:EIP is the guest's (compressed, RPL 1 for ring 0),
 *     GS is the guest's. Guest user code (virtual CPL 3) runs like this by
 *     direct execution, and the monitor's C code (the shared emulation
 *     library, reflection) always sees this state.
 *   - *TC state* (virtual CPL 0): CS is the TC code segment, EIP a TC
 *     address, GS the VMM region; the guest's CS and GS wait in struct bt.
 *     The vcpu page holds the virtual IF/IOPL and the guest-visible
 *     selectors for the in-TC sequences.
 * bt_enter goes from guest state to TC state at the block for the guest
 * EIP (a TC hit, or a miss that translates it); bt_leave comes back at a
 * guest-instruction boundary, which is always possible because
 *   - a fault at a TC address belongs to one guest instruction and happens
 *     before it changed anything (translate.c), so the guest EIP is that
 *     instruction's (the TC-to-guest map, as QEMU maps host PC to guest PC);
 *   - any other stop in the middle of a sequence is rolled forward, one
 *     instruction at a time with interrupts held, to the next boundary;
 *   - a fetch from a gate address is an exit: a direct branch whose target
 *     gets translated and chained, an indirect-branch lookup miss, or a
 *     callout that executes one guest instruction in the VMM.
 * A guest store to a write-protected code page faults into bt_smc_fault.
 * Callouts are jumps to a gate, not calls: a `call` would push a TC
 * address on the guest's stack, which must never hold one.
 */
#include "bt_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- segments of the TC state ---- */

static struct seg tc_code_seg(void)
{
    return (struct seg){ BT_SEL_TC, 0, 0xFFFFFFFFu, 0xBBu | SEGF_DB | SEGF_G };
}

static struct seg vmm_data_seg(void)
{
    return (struct seg){ BT_SEL_VMM, VMM_REGION_BASE, VMM_REGION_SIZE - 1u,
                         0xB3u | SEGF_DB | SEGF_G };
}

static uint32_t *vpage(struct bt *bt, uint32_t off)
{
    return (uint32_t *)(void *)(bt->v->cpu->bus.ram + bt->v->region_pa + off);
}

/* ---- life cycle ---- */

struct bt *bt_create(struct vmm *v, const struct bt_config *cfg)
{
    struct bt *bt = calloc(1, sizeof *bt);
    if (!bt)
        return NULL;
    bt->v = v;
    bt->cfg = *cfg;
    if (tc_init(bt) != 0) {
        bt_destroy(bt);
        return NULL;
    }
    v->cpu->boundary_map = bt->bmap;          /* guest_insns == native (tcache.c) */
    v->cpu->boundary_lo = tc_lin(0);
    v->cpu->boundary_hi = tc_lin(BT_TC_SIZE_MAX);
    return bt;
}

void bt_destroy(struct bt *bt)
{
    if (!bt)
        return;
    if (bt->v->cpu->boundary_map == bt->bmap)
        bt->v->cpu->boundary_map = NULL;
    tc_free(bt);
    free(bt->scratch);
    free(bt);
}

/* After vmm_reset rebuilt the region: empty TC, fresh page protection. */
void bt_reset(struct bt *bt)
{
    bt->pt_used = 0;
    memset(bt->prot, 0, bt->npages + 1);
    memset(&bt->n, 0, sizeof bt->n);
    memset(&bt->sel, 0, sizeof bt->sel);
    memset(bt->adapt, 0, sizeof bt->adapt);
    bt->tcf.valid = false;
    tc_flush(bt, false);
    memset(vpage(bt, BT_OFF_VCPU), 0, 4096);
    bt->in_tc = false;
    bt->v->cpu->s.cr0 |= CR0_WP;          /* ring-1 stores honour read-only pages */
    cpu_flush_caches(bt->v->cpu);
}

int bt_configure(struct bt *bt, const struct bt_config *cfg)
{
    if (cfg->tc_size < BT_TC_SIZE_MIN || cfg->tc_size > BT_TC_SIZE_MAX ||
        cfg->block_insns < 1 || cfg->block_insns > BT_MAX_INSNS)
        return -1;
    bt->cfg = *cfg;
    tc_flush(bt, false);
    return 0;
}

void bt_guest_written(struct bt *bt, uint32_t pa, uint32_t len)
{
    tc_invalidate_range(bt, pa, len, true);
}

/* ---- guest state <-> TC state ---- */

/* The port-0x80 accesses the TC counted (translate.c, emit_post): each
   costs tc_emulate (native would pay the I/O class and the port), and the
   writes reach the device model now, the last value counted each time. */
static void post_sync(struct bt *bt)
{
    struct vmm *v = bt->v;
    struct cpu *c = v->cpu;
    uint32_t n = *vpage(bt, VP_IN80) + *vpage(bt, VP_OUT80), outs = *vpage(bt, VP_OUT80);
    if (n == 0)
        return;
    *vpage(bt, VP_IN80) = *vpage(bt, VP_OUT80) = 0;
    vmm_emit(v, EV_TC_EMULATE, PATH_TRANSLATED, 0x80, n, outs, 0);
    for (uint32_t i = 0; i < outs; i++)
        c->bus.io_out(c->bus.ctx, 0x80, 1, *vpage(bt, VP_OUT80V) & 0xFFu);
    uint32_t native = c->class_cost[C_IO] + c->port_cost;
    for (uint32_t done = 0, k; done < n; done += k) {
        k = n - done < 1000u ? n - done : 1000u;
        vmm_charge(v, OV_TC_EMULATE, k * v->costs->v[COST_TC_EMULATE], k * native);
    }
}

static void to_guest(struct bt *bt, uint32_t guest_lin)
{
    struct cpu *c = bt->v->cpu;
    post_sync(bt);
    bt->v->vc.vif = *vpage(bt, VP_VIF) != 0;
    c->s.seg[S_CS] = bt->gcs;
    c->s.seg[S_GS] = bt->ggs;
    c->s.eip = guest_lin - bt->gcs.base;
    c->s.eflags = (c->s.eflags & ~FL_IF) | vmm_guest_hw_if(bt->v);
    c->gate_lo = c->gate_hi = 0;
    bt->in_tc = false;
}

/* A descriptor-table register as SGDT/SIDT store it: limit, then base. */
static void put_dtr(struct bt *bt, uint32_t off, const struct dtr *d)
{
    uint8_t *p = (uint8_t *)vpage(bt, off);
    uint16_t limit = (uint16_t)d->limit;
    memcpy(p, &limit, 2);
    memcpy(p + 2, &d->base, 4);
}

/* The vcpu page as the in-TC sequences read it. Only callouts change the
   values below, and every TC entry comes through here. */
static void sync_vcpu_page(struct bt *bt)
{
    struct vmm *v = bt->v;
    *vpage(bt, VP_VIF) = v->vc.vif ? FL_IF : 0;
    *vpage(bt, VP_VIOPL) = v->vc.iopl << 12;
    for (int i = 0; i < S_COUNT; i++)
        *vpage(bt, VP_SEL + 4u * (uint32_t)i) = guest_visible_sel(v->cpu->s.seg[i].sel);
    put_dtr(bt, VP_GDTR, &v->vc.gdtr);
    put_dtr(bt, VP_IDTR, &v->vc.idtr);
    *vpage(bt, VP_LDTR) = v->vc.ldtr;
    *vpage(bt, VP_TR) = v->vc.tr;
    *vpage(bt, VP_CR0) = v->vc.cr0;
    bt_seltab_sync(bt);                   /* LAR/LSL/VERR/VERW answers */
}

/* In the TC the hardware IF is the virtual one at entry: with the guest's
   interrupts off, the CPU then need not poll the PIC before every
   translated instruction (a request waits in the PIC until a callout
   - STI, POPF, IRET - turns the virtual IF on and the next entry sets the
   hardware IF again). An in-TC CLI leaves the hardware IF at 1, which is
   merely slower. PUSHFD's sequence corrects by VP_NHWIF. */
static void hw_if_follows_vif(struct bt *bt)
{
    struct cpu *c = bt->v->cpu;
    if (!bt->v->vc.vif)
        c->s.eflags &= ~FL_IF;
    *vpage(bt, VP_NHWIF) = (c->s.eflags & FL_IF) ? (uint32_t)-FL_IF : 0;
}

/* The block for guest linear `lin` in the current mode: hit or translate. */
static int block_for(struct bt *bt, uint32_t lin)
{
    struct vmm *v = bt->v;
    uint32_t pa;
    if (!vmm_lin_to_gpa(v, lin, &pa))
        return -1;
    int id = tc_lookup(bt, lin, pa, bt_mode_key(v));
    if (id >= 0) {
        bt->n.hits++;
        bt->blocks[id].hits++;
        bt->blocks[id].last_hit = ++bt->clock;
        vmm_emit(v, EV_TC_HIT, PATH_EMULATED, lin, (uint32_t)id, 0, 0);
        return id;
    }
    bt->n.misses++;
    vmm_emit(v, EV_TC_MISS, PATH_EMULATED, lin, 0, 0, 0);
    int fault;
    return bt_translate(bt, lin, &fault);
}

/* Guest state -> TC state at the current guest EIP; false if there is no
   block (its code cannot be fetched: the caller steps it directly). */
static bool bt_enter(struct bt *bt)
{
    struct cpu *c = bt->v->cpu;
    int id = block_for(bt, c->s.seg[S_CS].base + c->s.eip);
    if (id < 0)
        return false;
    sync_vcpu_page(bt);
    bt->gcs = c->s.seg[S_CS];
    bt->ggs = c->s.seg[S_GS];
    c->s.seg[S_CS] = tc_code_seg();
    c->s.seg[S_GS] = vmm_data_seg();
    c->s.eip = tc_body_lin(bt, id);
    hw_if_follows_vif(bt);
    c->gate_lo = BT_GATE_BASE;
    c->gate_hi = BT_GATE_BASE + BT_OFF_TC;
    bt->in_tc = true;
    return true;
}

/* Guest linear address of the instruction starting at TC address `lin`
   (exactly a boundary), or of the one containing it (any). */
static bool tc_guest_insn(const struct bt *bt, uint32_t lin, bool exact, uint32_t *guest,
                          uint8_t *how)
{
    uint32_t off = lin - tc_lin(0);
    int id = tc_block_at(bt, off);
    if (id < 0)
        return false;
    const struct bt_block *b = &bt->blocks[id];
    uint32_t rel = off - b->tc_off;
    int found = -1;
    for (int i = 0; i < b->ninsns && b->map[2 * i + 1] <= rel; i++)
        found = i;
    if (found < 0 || (exact && b->map[2 * found + 1] != rel))
        return false;
    *guest = b->lin + b->map[2 * found];
    if (how)
        *how = b->how[found];
    return true;
}

static bool tc_guest_of(const struct bt *bt, uint32_t lin, bool exact, uint32_t *guest)
{
    return tc_guest_insn(bt, lin, exact, guest, NULL);
}

uint32_t bt_tc_to_guest(const struct bt *bt, uint32_t tc_addr)
{
    uint32_t g = 0;
    return tc_guest_of(bt, tc_addr, false, &g) ? g : 0;
}

/* A TC address, or a gate (BT_GATE_BASE + the TC offset of the exit that
   leaves through it; the indirect-miss stub's gate: the branch's target). */
bool bt_tc_guest(const struct bt *bt, uint32_t tc_addr, uint32_t *guest)
{
    uint32_t site = tc_addr - BT_GATE_BASE;
    if (tc_addr >= BT_GATE_BASE && site < BT_OFF_TC) {
        if (site == BT_MISS_SITE) {
            memcpy(guest, bt->v->cpu->bus.ram + bt->v->region_pa + VP_T, 4);
            return true;
        }
        tc_addr = tc_lin(site);
    }
    return tc_guest_of(bt, tc_addr, false, guest);
}

/* Step translated code to the next guest-instruction boundary with
   external interrupts held; returns STEP when there, else why it stopped. */
/* Translated code ran from i0 guest instructions and x0 extra cycles on:
   report its guest instructions, and account the cycles of the TC's own
   instructions (indirect-branch lookups, in-TC sequences) as overhead: the
   guest would not have executed them on bare hardware. */
static void bt_retired(struct bt *bt, uint64_t i0, uint64_t x0)
{
    struct cpu *c = bt->v->cpu;
    if (cpu_guest_insns(c) > i0)
        vmm_emit(bt->v, EV_INSNS, PATH_TRANSLATED, (uint32_t)(cpu_guest_insns(c) - i0), 0, 0, 0);
    for (uint64_t left = c->tc_extra_cycles - x0, k; left; left -= k) {
        k = left < 0x40000000u ? left : 0x40000000u;
        vmm_account(bt->v, OV_TC_CODE, (uint32_t)k, 0);
    }
}

static enum cpu_stop roll_forward(struct bt *bt, uint32_t *guest)
{
    struct cpu *c = bt->v->cpu;
    bool (*pending)(void *) = c->bus.intr_pending;
    enum cpu_stop why = CPU_STOP_STEP;
    uint64_t i0 = cpu_guest_insns(c), x0 = c->tc_extra_cycles;
    c->bus.intr_pending = NULL;
    c->single_step = true;
    while (!tc_guest_of(bt, c->s.eip, true, guest)) {
        why = cpu_run(c, UINT64_MAX);
        if (why != CPU_STOP_STEP)
            break;
    }
    c->single_step = false;
    c->bus.intr_pending = pending;
    bt_retired(bt, i0, x0);
    return why;
}

/* ---- callouts ---- */

static bool decode_lin(struct vmm *v, uint32_t lin, struct insn *in)
{
    struct cpu *c = v->cpu;
    uint8_t buf[16];
    int n = 0;
    while (n < 15 && cpu_peek(c, lin + (uint32_t)n, buf + n, 1))
        n++;
    return n > 0 && decode(buf, n, (c->s.seg[S_CS].flags & SEGF_DB) != 0, in) > 0;
}

static bool decode_at(struct vmm *v, struct insn *in)
{
    struct cpu *c = v->cpu;
    return decode_lin(v, c->s.seg[S_CS].base + c->s.eip, in);
}

/* One guest instruction by direct execution, in guest state. */
static enum cpu_stop step_direct(struct vmm *v)
{
    struct cpu *c = v->cpu;
    c->single_step = true;
    enum cpu_stop why = cpu_run(c, UINT64_MAX);
    c->single_step = false;
    return why == CPU_STOP_STEP ? CPU_STOP_BUDGET : why;
}

static enum cpu_stop emu_status(struct vmm *v, int rc)
{
    switch (rc) {
    case EMU_HALT: return CPU_STOP_HLT;
    case EMU_STOP: v->cpu->stop_msg = v->stop_msg; return CPU_STOP_UNSUPPORTED;
    case EMU_TRIPLE: v->cpu->stop_msg = v->stop_msg; return CPU_STOP_TRIPLE;
    default: return CPU_STOP_BUDGET;
    }
}

static bool is_soft_int(const struct insn *in)
{
    return insn_soft_vector(in) >= 0;
}

/* Execute the guest instruction at CS:EIP in the VMM (guest state). */
static enum cpu_stop callout(struct vmm *v, enum bt_how how)
{
    struct cpu *c = v->cpu;
    struct insn in;
    struct emu_fault f;
    if (how == HOW_STEP || !decode_at(v, &in))
        return step_direct(v);
    v->bt->n.callouts++;
    shadow_gdt_sync(v);             /* follow untraced guest GDT writes */
    vmm_emit(v, EV_CALLOUT, PATH_EMULATED, (uint32_t)(in.row - op_table), how, 0, 0);
    int rc = how == HOW_EMU ? emu_insn(v, &in, &f)
             : how == HOW_ADAPT ? bt_adapted_store(v, &in, &f) : bt_emu_insn(v, &in, &f);
    const uint32_t *k = v->costs->v;
    if (rc == EMU_FAULT) {
        vmm_charge(v, OV_REFLECT, k[COST_CALLOUT_EMULATE] + k[COST_REFLECT],
                   reflect_native_cost(v, f.vector, RK_EXC));
        return emu_status(v, reflect_fault(v, &f, c->s.eip));
    }
    if (rc == EMU_NEXT || rc == EMU_HALT)
        c->s.eip += in.len;
    if (rc == EMU_NEXT || rc == EMU_HALT || rc == EMU_JUMP) {
        c->insns++;
        vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
        uint32_t native = c->class_cost[in.row->cost];
        uint32_t cost = k[COST_CALLOUT_EMULATE];
        if (is_soft_int(&in) && rc == EMU_JUMP) {
            native += reflect_native_cost(v, 0, RK_SOFT);
            cost += k[COST_REFLECT];
        }
        vmm_charge(v, (in.row->attr & A_IO) ? OV_IO : OV_CALLOUT, cost, native);
    }
    return emu_status(v, rc);
}

/* ---- exits ---- */

static struct bt_exit *exit_at(struct bt *bt, uint32_t site, int *block)
{
    int id = tc_block_at(bt, site);
    if (id < 0)
        return NULL;
    struct bt_block *b = &bt->blocks[id];
    for (int k = 0; k < b->nexits; k++)
        if (b->exits[k].site == site) {
            *block = id;
            return &b->exits[k];
        }
    return NULL;
}

/* A continuation: translate the target now and patch the jump to it. */
static void chain(struct bt *bt, int from, uint32_t from_gen, uint32_t site, uint32_t target)
{
    int to = block_for(bt, target);
    struct bt_block *b = &bt->blocks[from];
    if (to < 0 || !b->live || b->gen != from_gen)
        return;                          /* the source went while translating */
    for (int k = 0; k < b->nexits; k++) {
        struct bt_exit *e = &b->exits[k];
        if (e->site != site || e->kind != EXIT_DIRECT)
            continue;
        tc_patch_exit(bt, e, tc_body_lin(bt, to));
        e->to = to;
        e->to_gen = bt->blocks[to].gen;
        bt->n.chains++;
        vmm_emit(bt->v, EV_TC_CHAIN, PATH_EMULATED, b->lin, target, (uint32_t)from,
                 (uint32_t)to);
    }
}

static enum cpu_stop indirect_miss(struct bt *bt)
{
    struct vmm *v = bt->v;
    uint32_t eip = *vpage(bt, VP_T), target = eip + bt->gcs.base;
    to_guest(bt, target);
    bt->n.ind_misses++;
    vmm_charge(v, OV_INDIRECT, v->costs->v[COST_INDIRECT] + v->costs->v[COST_CALLOUT_EMULATE], 0);
    int id = block_for(bt, target);
    if (id >= 0)
        tc_table_fill(bt, eip, id);
    return CPU_STOP_BUDGET;
}

/* The CPU fetched from a gate: which exit, and what it asks for. */
static enum cpu_stop bt_gate(struct bt *bt)
{
    struct vmm *v = bt->v;
    uint32_t site = v->cpu->stop_addr - BT_GATE_BASE;
    int from;
    if (mon_no_progress(v))
        return CPU_STOP_UNSUPPORTED;
    if (site == BT_MISS_SITE) {                /* the shared indirect-miss stub */
        vmm_world_switch(v, true);
        enum cpu_stop why = indirect_miss(bt);
        vmm_world_switch(v, false);
        return why;
    }
    struct bt_exit *e = exit_at(bt, site, &from);
    if (!e)
        return mon_internal(v, "BT: fetch from a gate that is no exit (internal error)");
    vmm_world_switch(v, true);
    enum cpu_stop why = CPU_STOP_BUDGET;
    uint32_t target = e->target, gen = bt->blocks[from].gen;
    if (e->kind == EXIT_DIRECT) {
        to_guest(bt, target);
        vmm_charge(v, OV_TRANSLATE, v->costs->v[COST_CALLOUT_EMULATE], 0);
        chain(bt, from, gen, site, target);
    } else if (e->kind == EXIT_INDIRECT) {
        why = indirect_miss(bt);
    } else {
        enum bt_how how = (enum bt_how)e->how;
        uint32_t g;
        if (!tc_guest_of(bt, tc_lin(site), true, &g))
            v->cpu->tc_extra_insns++;     /* a callout from inside a sequence (LAR...):
                                             its first insn was counted as the guest's */
        to_guest(bt, target);
        why = callout(v, how);
    }
    vmm_world_switch(v, false);
    return why;
}

/* ---- adaptive BT (bt_internal.h) ---- */

static struct bt_adapt *adapt_slot(struct bt *bt, uint32_t lin)
{
    return &bt->adapt[(lin * 2654435761u) >> 26 & (BT_ADAPT_SLOTS - 1u)];
}

bool bt_is_adapted(const struct bt *bt, uint32_t lin)
{
    const struct bt_adapt *a = adapt_slot((struct bt *)bt, lin);
    return a->adapted && a->lin == lin;
}

/* A write fault in the TC under shadow paging may be a tracing fault:
   remember where, for after_tc_fault. */
static void note_tc_fault(struct bt *bt, uint32_t guest)
{
    struct cpu *c = bt->v->cpu;
    int id = tc_block_at(bt, c->s.eip - tc_lin(0));
    bt->tcf.valid = c->stop_vector == EXC_PF && (c->stop_error & PF_W) && id >= 0 &&
                    spt_active(bt->v);
    if (bt->tcf.valid)
        bt->tcf = (struct bt_tcfault){ true, guest, id, bt->blocks[id].gen };
}

/* The monitor handled that fault. If it executed the store for the guest
   (a tracing fault: the guest is now just past it), count it against the
   instruction; at BT_ADAPT_AFTER drop its block so that it is translated
   again as an adapted store. */
static void after_tc_fault(struct bt *bt, enum cpu_stop why)
{
    struct vmm *v = bt->v;
    struct bt_tcfault t = bt->tcf;
    struct insn in;
    bt->tcf.valid = false;
    if (!t.valid || why != CPU_STOP_BUDGET || v->vc.cpl != 0 || !decode_lin(v, t.lin, &in) ||
        v->cpu->s.seg[S_CS].base + v->cpu->s.eip != t.lin + in.len || !bt_adaptable(&in))
        return;
    struct bt_adapt *a = adapt_slot(bt, t.lin);
    if (a->lin != t.lin)
        *a = (struct bt_adapt){ t.lin, 0, false };
    if (a->adapted || ++a->faults < BT_ADAPT_AFTER)
        return;
    a->adapted = true;
    bt->n.adaptations++;
    if (bt->blocks[t.id].live && bt->blocks[t.id].gen == t.gen) {
        vmm_emit(v, EV_TC_INVALIDATE, PATH_EMULATED, 1, bt->blocks[t.id].pa, 0, 0);
        tc_remove(bt, t.id);
    }
}

/* Leave TC state after cpu_run stopped there; returns the stop to handle
   in guest state (BUDGET: nothing more to do). */
static enum cpu_stop bt_leave(struct bt *bt, enum cpu_stop why)
{
    struct cpu *c = bt->v->cpu;
    uint32_t g;
    if (why == CPU_STOP_GATE)
        return bt_gate(bt);
    if (why == CPU_STOP_INTERCEPT && c->stop_vector >= 0) {
        uint8_t how;
        if (!tc_guest_insn(bt, c->s.eip, false, &g, &how))
            return mon_internal(bt->v, "BT: fault outside any translated block "
                                       "(internal error)");
        if (how & BT_HOW_RESTORE) {               /* the sequence's scratch registers */
            c->s.r[R_EAX] = *vpage(bt, VP_S0);
            c->s.r[R_EBX] = *vpage(bt, VP_S1);
        }
        note_tc_fault(bt, g);
        uint32_t at;
        if (!tc_guest_of(bt, c->s.eip, true, &at))
            c->tc_extra_insns++;     /* the sequence's first insn retired, the guest's did not */
        to_guest(bt, g);
        return why;
    }
    int vec = c->stop_vector;
    bool soft = c->stop_soft;
    enum cpu_stop w = tc_guest_of(bt, c->s.eip, true, &g) ? CPU_STOP_STEP : roll_forward(bt, &g);
    if (w == CPU_STOP_STEP) {
        to_guest(bt, g);
        c->stop_vector = vec;
        c->stop_soft = soft;
        return why;
    }
    return w == CPU_STOP_GATE || w == CPU_STOP_INTERCEPT ? bt_leave(bt, w) : w;
}

/* ---- self-modifying code ---- */

/* A guest store hit a write-protected code page: drop its blocks, make it
   writable, and at virtual CPL 0 execute the store outside the TC (a new
   translation would protect the page again before the store ran). */
static bool bt_smc_fault(struct bt *bt, enum cpu_stop *why)
{
    struct vmm *v = bt->v;
    struct cpu *c = v->cpu;
    uint32_t pa;
    if (spt_active(v))
        return false;       /* guest paging: shadow_pt handles code-page writes */
    if (c->stop_vector != EXC_PF || (c->stop_error & (PF_P | PF_W)) != (PF_P | PF_W) ||
        !vmm_lin_to_gpa(v, c->s.cr2, &pa) || !tc_page_protected(bt, pa))
        return false;
    vmm_world_switch(v, true);
    bt->n.smc_faults++;
    tc_invalidate_range(bt, pa, 1, true);
    vmm_charge(v, OV_TRACE_FAULT, v->costs->v[COST_TRAP_EMULATE], 0);
    *why = CPU_STOP_BUDGET;
    if (v->vc.cpl == 0) {
        struct insn in;
        uint8_t bytes[16] = { 0 };
        bool seq = decode_at(v, &in) && cpu_peek(c, c->s.seg[S_CS].base + c->s.eip, bytes, 1) &&
                   bt_classify(&in, bytes) == HOW_SEQ;
        *why = callout(v, seq ? HOW_BTEMU : HOW_STEP);
    }
    vmm_world_switch(v, false);
    return true;
}

/* ---- the run loop ---- */

static enum cpu_stop run_once(struct vmm *v, uint64_t cycle_limit)
{
    struct bt *bt = v->bt;
    struct cpu *c = v->cpu;
    if (v->vc.cpl == 0 && !bt_enter(bt))
        return step_direct(v);
    c->single_step = v->vc.sti_shadow;
    uint64_t i0 = cpu_guest_insns(c), x0 = c->tc_extra_cycles;
    enum cpu_stop why = cpu_run(c, cycle_limit);
    c->single_step = false;
    v->vc.sti_shadow = false;
    if (!bt->in_tc)
        return why;
    bt_retired(bt, i0, x0);
    return bt_leave(bt, why);
}

enum cpu_stop bt_run(struct vmm *v, uint64_t cycle_limit)
{
    struct cpu *c = v->cpu;
    enum cpu_stop why;
    while (c->cycles < cycle_limit) {
        if (!vmm_prepare(v, &why))
            return why;
        why = run_once(v, cycle_limit);
        if (why == CPU_STOP_STEP)
            continue;
        while (why == CPU_STOP_INTERCEPT) {     /* an SMC store may fault again */
            if (!bt_smc_fault(v->bt, &why)) {
                why = mon_intercept(v);
                after_tc_fault(v->bt, why);
            }
        }
        if (why != CPU_STOP_BUDGET)
            return why;
        if (c->stop_now) {
            c->stop_now = false;
            return CPU_STOP_BUDGET;
        }
    }
    return CPU_STOP_BUDGET;
}
