/*
 * test_vmm.c - unit tests of the trap-and-emulate VMM (sim/vmm).
 *
 * Two kinds of checks:
 *   - the shadow GDT: descriptors compressed (DPL 0 -> 1) and truncated
 *     below the VMM region, system descriptors absent, the VMM's own slots;
 *     expected encodings worked out from Intel SDM vol. 3, 3.4.5;
 *   - differential runs: the same tiny guest (hand-assembled with GNU as,
 *     source beside the bytes) runs natively and under --mode trap, and the
 *     exception frame it ends with must be identical word for word: the
 *     native CPU is the reference for every gate type and privilege
 *     combination, and for virtual interrupt delivery (pending while IF=0,
 *     the STI shadow, waking from HLT). The one documented exception is INT
 *     n at virtual CPL 0, whose frame carries the real CS (RPL 1).
 *
 * Guest layout (4 MiB): GDT 0x1000 (null, ring-0 code 0x08 / data 0x10,
 * ring-3 code 0x1b / data 0x23, TSS 0x28), IDT 0x2000 with every gate going
 * to a one-byte HLT at 0x20000 + 16 * vector, TSS 0x3000 (ESP0 0x80000, SS0
 * 0x10), the prologue at 0x10000 (LGDT, LIDT, reload segments, LTR), the
 * scenario at 0x11000. Every run ends when a handler halts.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vmm/vmm_internal.h"
#include "vmm/bt/bt_internal.h"

#define RAM_MIB 4u
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS 0x3000u
#define STUBS 0x20000u
#define SCENARIO 0x11000u
#define USER_INSN 0x11040u
#define KSTACK 0x90000u
#define ESP0 0x80000u

/* pro.S: lgdt 0x4000; lidt 0x4008; ljmp $8,$1f; 1: mov $0x10,%ax; mov %ax,
   %ds/%es/%fs/%gs/%ss; mov $0x90000,%esp; mov $0x28,%ax; ltr %ax; jmp 0x11000 */
static const uint8_t c_prologue[] = {
    0x0f, 0x01, 0x15, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x01, 0x1d, 0x08, 0x40, 0x00, 0x00,
    0xea, 0x15, 0x00, 0x01, 0x00, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e,
    0xc0, 0x8e, 0xe0, 0x8e, 0xe8, 0x8e, 0xd0, 0xbc, 0x00, 0x00, 0x09, 0x00, 0x66, 0xb8,
    0x28, 0x00, 0x0f, 0x00, 0xd8, 0xe9, 0xcc, 0x0f, 0x00, 0x00 };
/* xor %ecx,%ecx; mov $1,%eax; xor %edx,%edx; div %ecx   (#DE at +9) */
static const uint8_t c_de[] = { 0x31, 0xc9, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xd2,
                                0xf7, 0xf1 };
/* mov $0x30,%eax; mov %ax,%fs   (#GP(0x30) at +5: past the GDT limit) */
static const uint8_t c_gp[] = { 0xb8, 0x30, 0x00, 0x00, 0x00, 0x8e, 0xe0 };
/* int $0x30 */
static const uint8_t c_int30[] = { 0xcd, 0x30 };
/* push $0x23; push $0x70000; push $0x202; push $0x1b; push $0x11040; iret */
static const uint8_t c_to_user[] = { 0x6a, 0x23, 0x68, 0x00, 0x00, 0x07, 0x00, 0x68, 0x02,
                                     0x02, 0x00, 0x00, 0x6a, 0x1b, 0x68, 0x40, 0x10, 0x01,
                                     0x00, 0xcf };
/* PIC: ICW1-4 (base 0x20), mask all but IRQ 0; PIT ch. 0 mode 2, divisor 10
   (OUT low one tick in ten: the edge-triggered request stays up);
   jmp 0x11100 */
static const uint8_t c_pic[] = {
    0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01,
    0xe6, 0x21, 0xb0, 0xfe, 0xe6, 0x21, 0xb0, 0x34, 0xe6, 0x43, 0xb0, 0x0a, 0xe6, 0x40,
    0x30, 0xc0, 0xe6, 0x40, 0xe9, 0xdb, 0x00, 0x00, 0x00 };
/* at 0x11100: mov $200000,%ecx; 1: loop 1b; sti; nop; hlt   (IRQ pending while IF=0) */
static const uint8_t c_pending[] = { 0xb9, 0x40, 0x0d, 0x03, 0x00, 0xe2, 0xfe, 0xfb, 0x90,
                                     0xf4 };
/* at 0x11100: sti; hlt; hlt   (woken from HLT) */
static const uint8_t c_wake[] = { 0xfb, 0xf4, 0xf4 };
/* mov 0xffc00000,%eax; hlt   (reads the VMM region) */
static const uint8_t c_vmm_read[] = { 0xa1, 0x00, 0x00, 0xc0, 0xff, 0xf4 };

static uint64_t mkdesc(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
    uint64_t d = limit & 0xFFFFu;
    d |= (uint64_t)(base & 0xFFFFFFu) << 16;
    d |= (uint64_t)access << 40;
    d |= (uint64_t)((limit >> 16) & 0xFu) << 48;
    d |= (uint64_t)flags << 52;
    d |= (uint64_t)(base >> 24) << 56;
    return d;
}

static void put32(struct machine *m, uint32_t pa, uint32_t v) { memcpy(m->ram + pa, &v, 4); }
static uint32_t get32(struct machine *m, uint32_t pa) { uint32_t v; memcpy(&v, m->ram + pa, 4); return v; }
static void put64(struct machine *m, uint32_t pa, uint64_t v) { memcpy(m->ram + pa, &v, 8); }

static void set_gate(struct machine *m, int vec, uint32_t access)
{
    uint32_t off = STUBS + 16u * (uint32_t)vec;
    uint64_t g = (off & 0xFFFFu) | (uint64_t)0x08 << 16 | (uint64_t)access << 40 |
                 (uint64_t)(off >> 16) << 48;
    put64(m, IDT + 8u * (uint32_t)vec, g);
}

static void guest_tables(struct machine *m)
{
    put64(m, GDT + 0x08, mkdesc(0, 0xFFFFF, 0x9B, 0xC));
    put64(m, GDT + 0x10, mkdesc(0, 0xFFFFF, 0x93, 0xC));
    put64(m, GDT + 0x18, mkdesc(0, 0xFFFFF, 0xFB, 0xC));
    put64(m, GDT + 0x20, mkdesc(0, 0xFFFFF, 0xF3, 0xC));
    put64(m, GDT + 0x28, mkdesc(TSS, 0x67, 0x89, 0));
    for (int v = 0; v < 256; v++) {
        set_gate(m, v, 0x8E);                  /* interrupt gate, DPL 0 */
        m->ram[STUBS + 16u * (uint32_t)v] = 0xF4;
    }
    set_gate(m, 0x30, 0x8F);                   /* trap gate, DPL 0 */
    set_gate(m, 0x80, 0xEE);                   /* interrupt gate, DPL 3 */
    set_gate(m, 0x81, 0xEF);                   /* trap gate, DPL 3 */
    m->ram[STUBS + 16u * 0x81u] = 0xFA;        /* its handler: cli; hlt (IF was 1) */
    m->ram[STUBS + 16u * 0x81u + 1u] = 0xF4;
    put32(m, TSS + 4, ESP0);
    put32(m, TSS + 8, 0x10);
    put32(m, TSS + 0x64, 0x68u << 16);
    put32(m, 0x4000, 0x2Fu | GDT << 16);       /* GDTR: limit 0x2f, base 0x1000 */
    put32(m, 0x4004, 0);
    put32(m, 0x4008, 0x7FFu | IDT << 16);      /* IDTR: limit 0x7ff, base 0x2000 */
    put32(m, 0x400c, 0);
}

/* One piece of code to place in the guest. */
struct piece { uint32_t at; const uint8_t *code; size_t len; };

static struct machine *guest_new(enum machine_mode mode, const struct piece *p, int n)
{
    struct machine *m = malloc(sizeof *m);
    char err[128];
    CU_ASSERT_FATAL(m && machine_init_mode(m, RAM_MIB, mode, err, sizeof err) == 0);
    guest_tables(m);
    memcpy(m->ram + 0x10000, c_prologue, sizeof c_prologue);
    for (int i = 0; i < n; i++)
        memcpy(m->ram + p[i].at, p[i].code, p[i].len);
    cpu_notify_phys_write(&m->cpu, 0, RAM_MIB << 20);
    machine_enter(m, 0x10000, 0x2BADB002, 0);
    return m;
}

static void guest_free(struct machine *m)
{
    machine_free(m);
    free(m);
}

/* What the guest can observe at the end: the handler it halted in, its
   stack, and the virtual CPL / IF / CS. */
struct outcome {
    enum machine_end end;
    uint32_t eip, esp, frame[6];
    int cpl;
    bool vif;
    uint16_t cs, ss;
    int held;           /* IRQ 1 held 50 insns after it was raised: in the PIC's IRR, not acknowledged */
    int queued;         /* trap: vectors acknowledged and queued in the vcpu */
};

/* Run to the end; with irq1_at, raise IRQ 1 (level) once irq1_at guest
   instructions have retired. */
static struct outcome guest_run_irq(enum machine_mode mode, const struct piece *p, int n,
                                    uint64_t irq1_at)
{
    struct machine *m = guest_new(mode, p, n);
    struct outcome o;
    memset(&o, 0, sizeof o);
    if (irq1_at) {
        machine_run(m, irq1_at);
        pic_set_irq(&m->pic, 1, 1);
        machine_run(m, irq1_at + 50);
        o.held = pic_intr_pending(&m->pic);
        o.queued = m->vmm ? vmm_vcpu(m->vmm)->npending : 0;
    }
    o.end = machine_run(m, 1000000);
    o.eip = m->cpu.s.eip;
    o.esp = m->cpu.s.r[R_ESP];
    for (int i = 0; i < 6 && o.esp + 4u * (uint32_t)i + 4u <= (RAM_MIB << 20); i++)
        o.frame[i] = get32(m, o.esp + 4u * (uint32_t)i);
    o.vif = machine_guest_if(m);
    o.cpl = m->vmm ? vmm_vcpu(m->vmm)->cpl : m->cpu.s.cpl;
    o.cs = m->vmm ? vmm_guest_sel(m->vmm, S_CS) : m->cpu.s.seg[S_CS].sel;
    o.ss = m->vmm ? vmm_guest_sel(m->vmm, S_SS) : m->cpu.s.seg[S_SS].sel;
    guest_free(m);
    return o;
}

static struct outcome guest_run(enum machine_mode mode, const struct piece *p, int n)
{
    return guest_run_irq(mode, p, n, 0);
}

static uint32_t handler_eip(int vec)
{
    return STUBS + 16u * (uint32_t)vec + (vec == 0x81 ? 2u : 1u);  /* after its HLT */
}

/* Native vs trap: same handler, same stack, same frame words (n of them). */
static void expect_same(const struct outcome *nat, const struct outcome *trap, int nwords)
{
    CU_ASSERT_EQUAL(trap->end, nat->end);
    CU_ASSERT_EQUAL(trap->eip, nat->eip);
    CU_ASSERT_EQUAL(trap->esp, nat->esp);
    for (int i = 0; i < nwords; i++)
        CU_ASSERT_EQUAL(trap->frame[i], nat->frame[i]);
    CU_ASSERT_EQUAL(trap->cpl, nat->cpl);
    CU_ASSERT_EQUAL(trap->vif, nat->vif);
    CU_ASSERT_EQUAL(trap->cs, nat->cs);
    CU_ASSERT_EQUAL(trap->ss, nat->ss);
}

/* ---- task switches (emulate_task.c) vs the native CPU (task.c) ---- */

/* ljmp $0x30,$0 to a TSS at 0x3100 whose DS (0x78) is past the GDT limit:
   the switch commits, then #TS(0x78) is raised in the new task (SDM 7.3),
   its frame on the new task's stack holding the new task's EIP. Under trap
   and bt the same frame, with the hardware TR still the VMM's. */
static const uint8_t c_ljmp_tss[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00 };

static struct machine *task_guest(enum machine_mode mode)
{
    struct piece p[] = { { SCENARIO, c_ljmp_tss, sizeof c_ljmp_tss } };
    struct machine *m = guest_new(mode, p, 1);
    put64(m, GDT + 0x30, mkdesc(0x3100, 0x67, 0x89, 0));
    put32(m, 0x4000, 0x37u | GDT << 16);       /* GDTR limit 0x37 */
    memset(m->ram + 0x3100, 0, 0x68);
    put32(m, 0x3100 + 0x20, 0x11200);          /* EIP */
    put32(m, 0x3100 + 0x24, 0x2);              /* EFLAGS */
    put32(m, 0x3100 + 0x38, 0x60000);          /* ESP */
    put32(m, 0x3100 + 0x48, 0x10);             /* ES */
    put32(m, 0x3100 + 0x4c, 0x08);             /* CS */
    put32(m, 0x3100 + 0x50, 0x10);             /* SS */
    put32(m, 0x3100 + 0x54, 0x78);             /* DS: bad */
    m->ram[0x11200] = 0xF4;
    cpu_notify_phys_write(&m->cpu, 0, RAM_MIB << 20);
    return m;
}

static void test_task_switch_fault_in_new_task(void)
{
    uint32_t frame[3][4];
    for (int i = 0; i < 3; i++) {
        enum machine_mode mode = i == 0 ? MODE_NATIVE : i == 1 ? MODE_TRAP : MODE_BT;
        struct machine *m = task_guest(mode);
        machine_run(m, 1000000);
        CU_ASSERT_EQUAL(m->cpu.s.eip, handler_eip(EXC_TS));
        CU_ASSERT_EQUAL(m->cpu.s.r[R_ESP], 0x60000 - 16);
        for (int w = 0; w < 4; w++)
            frame[i][w] = get32(m, 0x60000 - 16 + 4u * (uint32_t)w);
        CU_ASSERT_EQUAL(m->ram[GDT + 0x28 + 5], 0x89);     /* JMP: old task available */
        CU_ASSERT_EQUAL(m->ram[GDT + 0x30 + 5], 0x8B);     /* new task busy */
        CU_ASSERT_EQUAL(get32(m, TSS + 0x20), SCENARIO + sizeof c_ljmp_tss);
        if (m->vmm) {
            CU_ASSERT_EQUAL(vmm_vcpu(m->vmm)->tr, 0x30);
            CU_ASSERT_EQUAL(m->cpu.s.tr.sel, VMM_SEL_TSS);  /* hardware TR: the VMM's */
            CU_ASSERT_EQUAL(m->cpu.s.gdtr.base, VMM_REGION_BASE + VMM_OFF_GDT);
        } else {
            CU_ASSERT_EQUAL(m->cpu.s.tr.sel, 0x30);
        }
        guest_free(m);
    }
    CU_ASSERT_EQUAL(frame[0][0], 0x78);                    /* #TS(0x78) */
    CU_ASSERT_EQUAL(frame[0][1], 0x11200);                 /* the new task's EIP */
    CU_ASSERT_EQUAL(frame[0][2], 0x08);
    for (int i = 1; i < 3; i++)
        CU_ASSERT_EQUAL(memcmp(frame[i], frame[0], sizeof frame[0]), 0);
}

/* ---- shadow GDT ---- */

static void test_shadow_compress(void)
{
    uint64_t flat0 = mkdesc(0, 0xFFFFF, 0x9B, 0xC);
    uint64_t s = shadow_desc_from_guest(flat0);
    CU_ASSERT_EQUAL(desc_dpl(s), 1);                    /* ring compression */
    CU_ASSERT_EQUAL(s, mkdesc(0, 0xFFBFF, 0xBB, 0xC));  /* limit 0xffbfffff, G=1 */
    uint64_t user = mkdesc(0, 0xFFFFF, 0xF3, 0xC);
    CU_ASSERT_EQUAL(shadow_desc_from_guest(user), mkdesc(0, 0xFFBFF, 0xF3, 0xC));
    uint64_t hi = mkdesc(0x10000000, 0xFFFFF, 0x93, 0xC);
    CU_ASSERT_EQUAL(shadow_desc_from_guest(hi), mkdesc(0x10000000, 0xEFBFF, 0xB3, 0xC));
    uint64_t small = mkdesc(0x1000, 0xFFFF, 0x93, 0x4);  /* byte granular, fits */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(small), mkdesc(0x1000, 0xFFFF, 0xB3, 0x4));
    /* a byte-granular limit reaching into the region is cut byte-exactly */
    uint64_t near = mkdesc(0xFFBF0000, 0xFFFFF, 0x93, 0x4);
    CU_ASSERT_EQUAL(shadow_desc_from_guest(near), mkdesc(0xFFBF0000, 0xFFFF, 0xB3, 0x4));
}

static void test_shadow_system_and_inside(void)
{
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0x3000, 0x67, 0x89, 0)), 0);  /* TSS */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(0), 0);
    /* entirely in the VMM region: a data segment keeps no offset at all
       (expand-down, limit = upper bound), a code segment is not present */
    uint64_t inside = shadow_desc_from_guest(mkdesc(0xFFC01000, 0xFFF, 0x93, 0x4));
    CU_ASSERT_EQUAL(inside, mkdesc(0xFFC01000, 0xFFFFF, 0xB7, 0xC));
    uint64_t code = shadow_desc_from_guest(mkdesc(0xFFC01000, 0xFFF, 0x9B, 0x4));
    CU_ASSERT_FALSE(desc_present(code));
    CU_ASSERT_FALSE(shadow_code_ok(mkdesc(0xFFC01000, 0xFFF, 0x9B, 0x4)));  /* never CS */
    CU_ASSERT_TRUE(shadow_code_ok(mkdesc(0, 0xFFFFF, 0x9B, 0xC)));
    CU_ASSERT_TRUE(shadow_code_ok(mkdesc(0xFFC01000, 0xFFF, 0x93, 0x4)));   /* data: empty */
}

/* Expand-down segments (issue 11: they used to be copied untruncated). */
static void test_shadow_expand_down(void)
{
    /* B=1, valid offsets (0xffbfffff, 4G): exactly the region -> empty */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0, 0xFFBFF, 0x97, 0xC)),
                    mkdesc(0, 0xFFFFF, 0xB7, 0xC));
    /* B=0, base 0xffc00000, offsets (0, 0xffff] -> empty 16-bit */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0xFFC00000, 0, 0x97, 0x0)),
                    mkdesc(0xFFC00000, 0xFFFF, 0xB7, 0x0));
    /* B=1, base 0x10000000, limit 0: what wraps to 0..0x0fffffff stays */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0x10000000, 0, 0x97, 0x4)),
                    mkdesc(0x10000000, 0xEFFFF, 0xB7, 0xC));
    /* B=0, well below the region: untouched (DPL compressed) */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0x100000, 0xFFF, 0x97, 0x0)),
                    mkdesc(0x100000, 0xFFF, 0xB7, 0x0));
    /* B=0, base 0xffff8000, offsets (0xfff, 0xffff]: the part that wraps
       (offsets >= 0x8000 -> linear 0..0x7fff) stays, byte granular */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0xFFFF8000, 0xFFF, 0x97, 0x0)),
                    mkdesc(0xFFFF8000, 0x7FFF, 0xB7, 0x0));
    /* expand-up wrapping past 4G through the region: cut below it */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0x10000000, 0xFFFFF, 0x9B, 0xC)),
                    mkdesc(0x10000000, 0xEFBFF, 0xBB, 0xC));
    /* conforming code reaching the region: cut, conforming kept */
    CU_ASSERT_EQUAL(shadow_desc_from_guest(mkdesc(0, 0xFFFFF, 0x9F, 0xC)),
                    mkdesc(0, 0xFFBFF, 0xBF, 0xC));
}

/* After the guest's LGDT (trapped) the shadow in the VMM frames holds its
   descriptors compressed, its TSS absent, and the VMM's own slots. */
static void test_shadow_rebuilt_on_lgdt(void)
{
    struct piece p[] = { { SCENARIO, c_int30, sizeof c_int30 } };
    struct machine *m = guest_new(MODE_TRAP, p, 1);
    machine_run(m, 200000);
    uint32_t g = (RAM_MIB << 20) + VMM_OFF_GDT;
    uint64_t d1, d2, d5, dt;
    memcpy(&d1, m->ram + g + 8, 8);
    memcpy(&d2, m->ram + g + 0x10, 8);
    memcpy(&d5, m->ram + g + 0x28, 8);
    memcpy(&dt, m->ram + g + VMM_SEL_TSS, 8);
    CU_ASSERT_EQUAL(d1, mkdesc(0, 0xFFBFF, 0xBB, 0xC));
    CU_ASSERT_EQUAL(d2 & ~(1ull << 47), mkdesc(0, 0xFFBFF, 0xB3, 0xC) & ~(1ull << 47));
    CU_ASSERT_FALSE(desc_present(d2));                   /* data: loads trap */
    CU_ASSERT_EQUAL(d5, 0);
    CU_ASSERT_EQUAL(dt, 0);                  /* no VMM descriptor in the guest's slots */
    CU_ASSERT_EQUAL(SEGF_TYPE(m->cpu.s.tr.flags), 0xB);  /* the VMM's TSS: only in TR */
    CU_ASSERT_EQUAL(m->cpu.s.gdtr.base, VMM_REGION_BASE);
    CU_ASSERT_EQUAL(m->cpu.s.tr.sel, VMM_SEL_TSS);
    CU_ASSERT_EQUAL(vmm_vcpu(m->vmm)->gdtr.base, GDT);  /* what the guest loaded */
    CU_ASSERT_EQUAL(vmm_vcpu(m->vmm)->tr, 0x28);
    guest_free(m);
}

/* Truncation is what protects the region from the ring-1 guest kernel: the
   flat segment is cut below it, the cut access is re-executed with the
   guest's own segment and the region unmapped (shadow_trunc_fault), so the
   guest reads open bus there as natively, never the shadow GDT. */
static void test_vmm_region_protected(void)
{
    struct piece p[] = { { SCENARIO, c_vmm_read, sizeof c_vmm_read } };
    for (int i = 0; i < 3; i++) {
        enum machine_mode mode = i == 0 ? MODE_NATIVE : i == 1 ? MODE_TRAP : MODE_BT;
        struct machine *m = guest_new(mode, p, 1);
        m->cpu.s.r[R_EAX] = 0;
        machine_run(m, 1000000);
        CU_ASSERT_EQUAL(m->cpu.s.r[R_EAX], 0);      /* unassigned memory reads 0 (QEMU) */
        CU_ASSERT_EQUAL(m->cpu.s.eip, SCENARIO + sizeof c_vmm_read);  /* after the HLT */
        guest_free(m);
    }
}

/* ---- reflection frames vs the native CPU ---- */

static void test_frame_fault_same_level(void)
{
    struct piece p[] = { { SCENARIO, c_de, sizeof c_de } };
    struct outcome n = guest_run(MODE_NATIVE, p, 1), t = guest_run(MODE_TRAP, p, 1);
    CU_ASSERT_EQUAL(n.eip, handler_eip(EXC_DE));
    CU_ASSERT_EQUAL(n.frame[0], SCENARIO + 9);           /* #DE is a fault */
    expect_same(&n, &t, 3);
}

static void test_frame_error_code_same_level(void)
{
    struct piece p[] = { { SCENARIO, c_gp, sizeof c_gp } };
    struct outcome n = guest_run(MODE_NATIVE, p, 1), t = guest_run(MODE_TRAP, p, 1);
    CU_ASSERT_EQUAL(n.eip, handler_eip(EXC_GP));
    CU_ASSERT_EQUAL(n.frame[0], 0x30);                   /* selector error code */
    expect_same(&n, &t, 4);
}

/* INT n at virtual CPL 0: the one frame word that differs is the leak. */
static void test_frame_int_kernel_leaks_rpl1(void)
{
    struct piece p[] = { { SCENARIO, c_int30, sizeof c_int30 } };
    struct outcome n = guest_run(MODE_NATIVE, p, 1), t = guest_run(MODE_TRAP, p, 1);
    CU_ASSERT_EQUAL(n.eip, handler_eip(0x30));
    CU_ASSERT_EQUAL(n.frame[0], SCENARIO + 2);           /* INT n: next instruction */
    CU_ASSERT_EQUAL(n.frame[1], 0x08);
    CU_ASSERT_EQUAL(t.frame[1], 0x09);                   /* real CS, RPL 1 */
    CU_ASSERT_EQUAL(t.frame[0], n.frame[0]);
    CU_ASSERT_EQUAL(t.frame[2], n.frame[2]);
    CU_ASSERT_EQUAL(t.esp, n.esp);
    CU_ASSERT_EQUAL(t.vif, n.vif);
}

static struct outcome user_case(enum machine_mode mode, uint8_t b0, uint8_t b1, size_t len)
{
    uint8_t insn[2] = { b0, b1 };
    struct piece p[] = { { SCENARIO, c_to_user, sizeof c_to_user }, { USER_INSN, insn, len } };
    return guest_run(mode, p, 2);
}

static void check_user(uint8_t b0, uint8_t b1, size_t len, int vec, int nwords)
{
    struct outcome n = user_case(MODE_NATIVE, b0, b1, len), t = user_case(MODE_TRAP, b0, b1, len);
    CU_ASSERT_EQUAL(n.eip, handler_eip(vec));
    CU_ASSERT_EQUAL(n.esp, ESP0 - 4u * (uint32_t)nwords);   /* stack from the TSS */
    expect_same(&n, &t, nwords);
}

static void test_frame_int_user_interrupt_gate(void)
{
    check_user(0xCD, 0x80, 2, 0x80, 5);                  /* EIP CS EFLAGS ESP SS */
}

static void test_frame_int_user_trap_gate(void)
{
    check_user(0xCD, 0x81, 2, 0x81, 5);                  /* IF stays 1 */
}

static void test_frame_int_user_dpl_violation(void)
{
    check_user(0xCD, 0x40, 2, EXC_GP, 6);                /* #GP(0x40 * 8 + 2) */
    struct outcome n = user_case(MODE_NATIVE, 0xCD, 0x40, 2);
    CU_ASSERT_EQUAL(n.frame[0], 0x40u * 8u + 2u);
}

static void test_frame_fault_user(void)
{
    check_user(0xFA, 0, 1, EXC_GP, 6);                   /* cli at CPL 3: #GP(0) */
}

/* ---- virtual interrupts ---- */

/* IRQ 1 arrives while IF = 0 (raised by the test once the guest spins in
   its loop): held at the PIC, unacknowledged, by both (the VMM holds the
   hardware IF at 0 so that the 8259A coalesces edges as it does natively)
   and delivered after STI and the one instruction of its shadow (SDM
   vol. 2, STI). */
static void test_irq_pending_until_sti(void)
{
    uint8_t pic[sizeof c_pic];
    memcpy(pic, c_pic, sizeof pic);
    pic[17] = 0xFD;                                      /* unmask IRQ 1 only */
    struct piece p[] = { { SCENARIO, pic, sizeof pic }, { 0x11100, c_pending, sizeof c_pending } };
    struct outcome n = guest_run_irq(MODE_NATIVE, p, 2, 100);
    struct outcome t = guest_run_irq(MODE_TRAP, p, 2, 100);
    CU_ASSERT_EQUAL(n.eip, handler_eip(0x21));
    CU_ASSERT_EQUAL(n.held, 1);                          /* requested at the PIC */
    CU_ASSERT_EQUAL(t.held, 1);                          /* still in the IRR: not acknowledged */
    CU_ASSERT_EQUAL(t.queued, 0);
    CU_ASSERT_EQUAL(n.frame[0], 0x11100u + 9u);          /* after sti; nop */
    CU_ASSERT(n.frame[2] & FL_IF);
    CU_ASSERT_FALSE(n.vif);                              /* interrupt gate */
    expect_same(&n, &t, 3);
}

static void test_irq_wakes_hlt(void)
{
    struct piece p[] = { { SCENARIO, c_pic, sizeof c_pic }, { 0x11100, c_wake, sizeof c_wake } };
    struct outcome n = guest_run(MODE_NATIVE, p, 2), t = guest_run(MODE_TRAP, p, 2);
    CU_ASSERT_EQUAL(n.eip, handler_eip(0x20));
    CU_ASSERT_EQUAL(n.frame[0], 0x11100u + 2u);          /* after the HLT */
    expect_same(&n, &t, 3);
}

/* IRQ 1 held (queued) while the guest kernel spins with IF=0, then an IRET
   to ring 3 with IF=1 - under trap a hardware IRET from real CPL 1 that the
   monitor does not see - to `user` (1 or 2 bytes at USER_INSN). Bare
   hardware takes the interrupt before the first user instruction. */
static void check_held_to_user(const uint8_t *user, size_t len)
{
    uint8_t pic[sizeof c_pic];
    memcpy(pic, c_pic, sizeof pic);
    pic[17] = 0xFD;                                      /* unmask IRQ 1 only */
    struct piece p[] = { { SCENARIO, pic, sizeof pic }, { 0x11100, c_pending, 7 },
                         { 0x11107, c_to_user, sizeof c_to_user }, { USER_INSN, user, len } };
    struct outcome n = guest_run_irq(MODE_NATIVE, p, 4, 100);
    struct outcome t = guest_run_irq(MODE_TRAP, p, 4, 100);
    CU_ASSERT_EQUAL(t.held, 1);
    CU_ASSERT_EQUAL(n.eip, handler_eip(0x21));
    CU_ASSERT_EQUAL(n.frame[0], USER_INSN);              /* before the user instruction */
    CU_ASSERT_EQUAL(n.frame[1], 0x1b);
    expect_same(&n, &t, 5);                              /* EIP CS EFLAGS ESP SS */
}

/* ... also when the user instruction faults (cli at CPL 3: #GP): the queued
   IRQ is older than the fault (the monitor used to reflect the #GP first). */
static void test_irq_held_then_user_fault(void)
{
    static const uint8_t cli[] = { 0xFA };
    check_held_to_user(cli, sizeof cli);
}

/* ... and when ring 3 never enters the monitor (jmp .): delivered at the
   next slice boundary (hook_ring saw the IRET to ring 3: IF is 1). */
static void test_irq_held_then_user_spin(void)
{
    static const uint8_t spin[] = { 0xEB, 0xFE };
    check_held_to_user(spin, sizeof spin);
}

/* The queue itself: FIFO, bounded. */
static void test_pending_queue(void)
{
    struct vcpu vc;
    memset(&vc, 0, sizeof vc);
    CU_ASSERT_EQUAL(vcpu_queue_pop(&vc), -1);
    for (int i = 0; i < VCPU_PENDING_MAX; i++)
        CU_ASSERT_TRUE(vcpu_queue_push(&vc, 0x20 + i));
    CU_ASSERT_FALSE(vcpu_queue_push(&vc, 0x99));
    CU_ASSERT_EQUAL(vcpu_queue_pop(&vc), 0x20);
    CU_ASSERT_EQUAL(vcpu_queue_pop(&vc), 0x21);
    CU_ASSERT_EQUAL(vc.npending, VCPU_PENDING_MAX - 2);
    vc.cpl = 3;
    vc.vif = true;                                       /* user mode: 1 on arrival */
    CU_ASSERT_TRUE(vcpu_if(&vc));
    vc.vif = false;                                      /* CLI at CPL 3, IOPL 3 */
    CU_ASSERT_FALSE(vcpu_if(&vc));
    vc.cpl = 0;
    CU_ASSERT_FALSE(vcpu_if(&vc));
}

/* ---- the operation column: every row a VMM must act on is handled ---- */

/* Bytes of one encoding of row r (a memory operand [eax] where one is
   allowed, the register form where only that is); decoded into *in. */
static bool row_encoding(const struct op_row *r, uint8_t *b, struct insn *in)
{
    int n = 0;
    memset(b, 0, 16);
    if (r->attr & A_PFX_F3)
        b[n++] = 0xF3;
    if (r->map == MAP_0F)
        b[n++] = 0x0F;
    b[n++] = r->opcode;
    if (r->attr & A_MODRM_EQ)
        b[n++] = r->modrm;
    else if (r->attr & A_MODRM)
        b[n++] = (uint8_t)(((r->attr & A_MEMONLY) ? 0x00 : 0xC0) | ((r->ext < 0 ? 0 : r->ext) << 3));
    return decode(b, 16, true, in) > 0 && in->row == r;
}

/* What the VMM engines must do with a row: trap-and-emulate needs an
   emulation routine (by the row's operation) for everything that traps at
   guest ring 0 - privileged, IOPL-sensitive and segment-loading rows, but
   SYSENTER/SYSEXIT, which the monitor switches itself (mon_sysenter) - and
   the translator must not copy any row that is sensitive, privileged or
   IOPL-sensitive as it is (HOW_IDENT), but for PUSH and MOV from ES, DS
   and FS, whose hardware selectors in the TC are the guest's; whatever it calls out through the
   emulation library must have a routine there. Every such row names its
   operation. */
static void test_every_sensitive_row_has_a_handler(void)
{
    const uint32_t vmm_rows = A_PRIV | A_IOPL | A_SENSITIVE | A_SEGLOAD | A_FAR | A_IO;
    int checked = 0;
    for (unsigned i = 0; i < op_table_len; i++) {
        const struct op_row *r = &op_table[i];
        if (!(r->attr & vmm_rows))
            continue;
        uint8_t b[16];
        struct insn in;
        CU_ASSERT_TRUE_FATAL(row_encoding(r, b, &in));
        bool named = r->op != OP_NONE && strcmp(op_id_name((enum op_id)r->op), "?");
        bool traps = r->attr & (A_PRIV | A_IOPL | A_SEGLOAD);
        bool monitor = r->op == OP_SYSENTER || r->op == OP_SYSEXIT;
        bool trap_ok = !traps || monitor || emu_has_routine((enum op_id)r->op);
        enum bt_how how = bt_classify(&in, b) & BT_HOW_MASK;
        int sreg = r->op == OP_PUSH_SREG ? r->sreg : in.reg;
        bool guest_sel = (r->op == OP_PUSH_SREG || r->op == OP_MOV_FROM_SREG) &&
                         (sreg == S_ES || sreg == S_DS || sreg == S_FS);
        bool bt_ok = (!(r->attr & (A_PRIV | A_IOPL | A_SENSITIVE)) || how != HOW_IDENT ||
                      guest_sel) &&
                     (how != HOW_EMU || emu_has_routine((enum op_id)r->op));
        if (!named || !trap_ok || !bt_ok)
            fprintf(stderr, "\n  row %u %s (%02x %02x /%d): op %s, trap %s, bt how %d\n", i,
                    r->mnem, r->map, r->opcode, r->ext, op_id_name((enum op_id)r->op),
                    trap_ok ? "ok" : "no routine", (int)how);
        CU_ASSERT_TRUE(named && trap_ok && bt_ok);
        checked++;
    }
    CU_ASSERT(checked >= 69);                   /* the mask matched the rows (69 today) */
}

void suite_vmm_register(void)
{
    CU_pSuite s = CU_add_suite("vmm (trap-and-emulate monitor)", NULL, NULL);
    CU_add_test(s, "shadow GDT: DPL compression and truncation", test_shadow_compress);
    CU_add_test(s, "shadow GDT: system descriptors, region", test_shadow_system_and_inside);
    CU_add_test(s, "shadow GDT: expand-down, 16-bit, wrapping", test_shadow_expand_down);
    CU_add_test(s, "shadow GDT rebuilt on trapped LGDT", test_shadow_rebuilt_on_lgdt);
    CU_add_test(s, "VMM region protected by truncation", test_vmm_region_protected);
    CU_add_test(s, "frame: fault, same level", test_frame_fault_same_level);
    CU_add_test(s, "frame: error code, same level", test_frame_error_code_same_level);
    CU_add_test(s, "frame: INT n at CPL 0 leaks RPL 1", test_frame_int_kernel_leaks_rpl1);
    CU_add_test(s, "frame: INT n from CPL 3, interrupt gate", test_frame_int_user_interrupt_gate);
    CU_add_test(s, "frame: INT n from CPL 3, trap gate", test_frame_int_user_trap_gate);
    CU_add_test(s, "frame: INT n from CPL 3, gate DPL 0", test_frame_int_user_dpl_violation);
    CU_add_test(s, "frame: fault from CPL 3", test_frame_fault_user);
    CU_add_test(s, "IRQ held while IF=0, delivered after STI shadow", test_irq_pending_until_sti);
    CU_add_test(s, "IRQ wakes HLT", test_irq_wakes_hlt);
    CU_add_test(s, "IRQ held, IRET to ring 3, user fault: IRQ first", test_irq_held_then_user_fault);
    CU_add_test(s, "IRQ held, IRET to ring 3, user spins: delivered", test_irq_held_then_user_spin);
    CU_add_test(s, "pending queue", test_pending_queue);
    CU_add_test(s, "opcode table: every row a VMM acts on has its handler (op column)",
                test_every_sensitive_row_has_a_handler);
    CU_add_test(s, "task switch: #TS in the new task, native = trap = bt, hardware TR kept",
                test_task_switch_fault_in_new_task);
}
