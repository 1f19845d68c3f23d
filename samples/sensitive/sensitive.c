/*
 * sensitive.c - the x86 instructions that break classic virtualization.
 *
 * Popek and Goldberg (1974) showed that a machine can be virtualized by
 * trap-and-emulate if every *sensitive* instruction (one that reads or
 * changes privileged state) is also *privileged* (traps outside ring 0).
 * Robin and Irvine (USENIX Security 2000) listed the x86 instructions that
 * are sensitive but do NOT trap: SGDT, SIDT, SLDT, SMSW, PUSHF, POPF, LAR,
 * LSL, VERR, VERW, PUSH/POP/MOV of segment registers, far CALL/JMP/RET,
 * INT n and STR.
 *
 * This kernel runs at ring 0 and executes each one, printing what it sees.
 * On real hardware (or QEMU, or ringside --mode native) every line shows
 * the kernel's own tables and ring 0. Run it under a naive trap-and-emulate
 * monitor (ringside --mode trap) and lines change: selectors show RPL 1,
 * descriptors DPL 1, the table bases are the monitor's, POPF silently drops
 * the IF change. No trap happens, so the monitor never gets a chance to
 * lie: that is the x86 virtualization problem. Binary translation fixes it.
 */
#include "kernel.h"

struct dtr_value {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static volatile uint32_t int30_cs;  /* CS saved in the frame of int $0x30 */

static void show_sgdt_sidt(void)
{
    struct dtr_value g, i;
    __asm__ volatile("sgdt %0" : "=m"(g));
    __asm__ volatile("sidt %0" : "=m"(i));
    kprintf(" 1 sgdt: GDTR base=0x%08x limit=0x%04x (%u descriptors: the kernel's own GDT)\n",
            g.base, g.limit, (g.limit + 1u) / 8);
    kprintf(" 2 sidt: IDTR base=0x%08x limit=0x%04x (%u gates: the kernel's own IDT)\n",
            i.base, i.limit, (i.limit + 1u) / 8);
}

static void show_sldt_smsw(void)
{
    uint16_t ldt, msw;
    __asm__ volatile("sldt %0" : "=r"(ldt));
    __asm__ volatile("smsw %0" : "=r"(msw));
    kprintf(" 3 sldt: LDTR=0x%04x (no LDT loaded)\n", ldt);
    kprintf(" 4 smsw: 0x%04x (low half of CR0: PE=%u MP=%u EM=%u TS=%u ET=%u)\n",
            msw, msw & 1, (msw >> 1) & 1, (msw >> 2) & 1, (msw >> 3) & 1, (msw >> 4) & 1);
}

static void write_eflags(uint32_t f)
{
    __asm__ volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
}

/* IRQs stay masked at the PIC, so IF=1 here lets nothing in. */
static void show_pushf_popf(void)
{
    uint32_t f = read_eflags();
    kprintf(" 5 pushf: IF=%u IOPL=%u (interrupts off, as the kernel left them)\n",
            (f >> 9) & 1, (f >> 12) & 3);
    write_eflags(f | EFLAGS_IF | 0x3000u);
    uint32_t g = read_eflags();
    write_eflags(f);
    kprintf(" 6 popf: set IF=1 IOPL=3 -> now IF=%u IOPL=%u (ring 0 may change both)\n",
            (g >> 9) & 1, (g >> 12) & 3);
}

static uint32_t lar(uint32_t sel, int *ok)
{
    uint32_t v = 0;
    uint8_t z;
    __asm__ volatile("lar %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
    *ok = z;
    return v;
}

static uint32_t lsl(uint32_t sel, int *ok)
{
    uint32_t v = 0;
    uint8_t z;
    __asm__ volatile("lsl %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
    *ok = z;
    return v;
}

static void show_lar_lsl(void)
{
    int ok1, ok2, ok3, ok4;
    uint32_t cs = lar(SEL_KCODE, &ok1), ts = lar(SEL_TSS, &ok2);
    kprintf(" 7 lar 0x%04x: ZF=%u rights=0x%08x (code, DPL %u, present);"
            " lar 0x%04x: rights=0x%08x (busy TSS)\n",
            SEL_KCODE, ok1, cs, (cs >> 13) & 3, SEL_TSS, ts);
    uint32_t dl = lsl(SEL_KDATA, &ok3), tl = lsl(SEL_TSS, &ok4);
    kprintf(" 8 lsl 0x%04x: ZF=%u limit=0x%08x (flat 4 GiB); lsl 0x%04x: limit=0x%04x\n",
            SEL_KDATA, ok3, dl, SEL_TSS, tl);
    (void)ok2;
    (void)ok4;
}

static int verr(uint32_t sel)
{
    uint8_t z;
    __asm__ volatile("verr %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
    return z;
}

static int verw(uint32_t sel)
{
    uint8_t z;
    __asm__ volatile("verw %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
    return z;
}

static void show_verr_verw(void)
{
    kprintf(" 9 verr: 0x%04x readable=%u, 0x%04x readable=%u\n",
            SEL_KCODE, verr(SEL_KCODE), SEL_UDATA, verr(SEL_UDATA));
    kprintf("10 verw: 0x%04x writable=%u (code), 0x%04x writable=%u (data)\n",
            SEL_KCODE, verw(SEL_KCODE), SEL_KDATA, verw(SEL_KDATA));
}

static void show_segment_moves(void)
{
    uint32_t pushed, es_after;
    uint16_t cs, ss;
    __asm__ volatile("pushl %%cs; popl %0" : "=r"(pushed));
    __asm__ volatile("pushl %%ds; popl %%es; mov %%es, %0" : "=r"(es_after) : : "memory");
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    kprintf("11 push %%cs: pushed 0x%04x (RPL %u = the CPL)\n", pushed & 0xFFFF, pushed & 3);
    kprintf("12 push %%ds; pop %%es: es=0x%04x (RPL %u)\n", es_after & 0xFFFF, es_after & 3);
    kprintf("13 mov %%cs: 0x%04x (RPL %u), mov %%ss: 0x%04x (RPL %u)\n",
            cs, cs & 3, ss, ss & 3);
}

/* Far transfers in plain assembly, so the selectors are visible. */
uint32_t sens_far_call(void);
uint32_t sens_far_jmp(void);
uint32_t sens_far_ret(void);
__asm__(".text\n"
        "sens_far_call:\n"
        "    lcall $0x08, $sens_far_callee\n"
        "    ret\n"
        "sens_far_callee:\n"
        "    movzwl 4(%esp), %eax\n"      /* the CS the far call pushed */
        "    lret\n"
        "sens_far_jmp:\n"
        "    ljmp $0x08, $1f\n"
        "1:  mov %cs, %eax\n"
        "    movzwl %ax, %eax\n"
        "    ret\n"
        "sens_far_ret:\n"
        "    pushl $0x08\n"                /* the kernel 'knows' its selector */
        "    pushl $2f\n"
        "    lret\n"
        "2:  mov %cs, %eax\n"
        "    movzwl %ax, %eax\n"
        "    ret\n");

static void show_far_transfers(void)
{
    uint32_t c = sens_far_call();
    kprintf("14 far call 0x0008:callee: pushed cs=0x%04x (RPL %u)\n", c, c & 3);
    uint32_t j = sens_far_jmp();
    kprintf("15 far jmp 0x0008:label: now cs=0x%04x\n", j);
    uint32_t r = sens_far_ret();
    kprintf("16 far ret to 0x0008:label: now cs=0x%04x\n", r);
}

static void on_int30(struct trap_frame *tf)
{
    int30_cs = tf->cs & 0xFFFF;
}

static void show_int_str(void)
{
    uint16_t tr;
    __asm__ volatile("int $0x30" : : : "memory");
    kprintf("17 int $0x30: frame cs=0x%04x (the interrupted code ran at CPL %u)\n",
            int30_cs, int30_cs & 3);
    __asm__ volatile("str %0" : "=r"(tr));
    kprintf("18 str: TR=0x%04x (the kernel's TSS selector)\n", tr);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    pic_remap();                    /* all IRQs masked: POPF may set IF safely */
    trap_set_handler(0x30, on_int30);
    kprintf("sensitive: Robin & Irvine's sensitive, unprivileged instructions at ring 0\n");
    kprintf("(none of these trap; under a naive trap-and-emulate monitor these values change)\n");
    show_sgdt_sidt();
    show_sldt_smsw();
    show_pushf_popf();
    show_lar_lsl();
    show_verr_verw();
    show_segment_moves();
    show_far_transfers();
    show_int_str();
    kprintf("done\n");
    return EXIT_OK;
}
