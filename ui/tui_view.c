/*
 * tui_view.c - the code and register panes of the TUI, as styled text.
 *
 * Guest code is disassembled with Capstone (Intel syntax, 32-bit) from the
 * start of the symbol that holds EIP, so the lines above EIP are real
 * instruction boundaries and not a guess at decoding backwards. Each line
 * carries the path the instruction last ran on as a glyph and a colour.
 * Translated code is read from the TC in the VMM region and lined up with
 * the guest block it came from: an instruction copied byte for byte is IDENT
 * (Adams & Agesen 2006, §3.1), a call into the callout gates is a callout,
 * anything else is a rewritten sequence. The Registers pane puts the guest's
 * view (the vcpu) beside the hardware's real state, which is the lesson of
 * deprivileging: the two differ in CPL, IF, CR0, CR3 and the selectors.
 */
#include "tui_view.h"

#include <capstone/capstone.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building text ------------------------------------------------------ */

void tui_text_init(struct tui_text *t, int width)
{
    t->n = 0;
    t->width = width < 1 ? 1 : width > TUI_LINE_MAX ? TUI_LINE_MAX : width;
}

static void line_vput(struct tui_line *l, enum tui_style style, const char *fmt, va_list ap)
{
    char buf[TUI_LINE_MAX + 1];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        return;
    for (int i = 0; buf[i] && l->len < TUI_LINE_MAX; i++) {
        l->text[l->len] = buf[i];
        l->style[l->len++] = (uint8_t)style;
    }
    l->text[l->len] = 0;
}

static struct tui_line *text_new_line(struct tui_text *t)
{
    if (t->n == TUI_TEXT_MAX) {   /* full: the last line is reused */
        t->line[t->n - 1].len = 0;
        t->line[t->n - 1].text[0] = 0;
        return &t->line[t->n - 1];
    }
    struct tui_line *l = &t->line[t->n++];
    l->len = 0;
    l->text[0] = 0;
    return l;
}

struct tui_line *tui_text_line(struct tui_text *t, enum tui_style style, const char *fmt, ...)
{
    struct tui_line *l = text_new_line(t);
    va_list ap;
    va_start(ap, fmt);
    line_vput(l, style, fmt, ap);
    va_end(ap);
    return l;
}

void tui_text_put(struct tui_text *t, enum tui_style style, const char *fmt, ...)
{
    struct tui_line *l = t->n ? &t->line[t->n - 1] : text_new_line(t);
    va_list ap;
    va_start(ap, fmt);
    line_vput(l, style, fmt, ap);
    va_end(ap);
}

void tui_line_style(struct tui_line *l, enum tui_style style)
{
    memset(l->style, style, (size_t)l->len);
}

/*
 * Word wrap: lines break at spaces, never inside a word (a word longer than
 * the width is the only thing cut); '\n' forces a break, so a caption can
 * hold a table whose rows stay rows. Leading spaces of a forced line are
 * kept (table columns), those at a soft break are dropped.
 */
int tui_text_wrap(struct tui_text *t, enum tui_style style, const char *text)
{
    int w = t->width, lines = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t para = end ? (size_t)(end - p) : strlen(p);
        do {
            size_t n = para;
            if ((int)n > w) {             /* break at the last space that fits */
                n = (size_t)w;
                while (n > 0 && p[n] != ' ')
                    n--;
                if (n == 0)
                    n = (size_t)w;        /* one word wider than the pane */
            }
            tui_text_line(t, style, "%.*s", (int)n, p);
            lines++;
            p += n, para -= n;
            while (para && *p == ' ')     /* soft break: drop the spaces */
                p++, para--;
        } while (para);
        if (end)
            p = end + 1;
        if (end && !*p)
            break;
    }
    return lines;
}

int tui_text_find(const struct tui_text *t, const char *needle)
{
    for (int i = 0; i < t->n; i++)
        if (strstr(t->line[i].text, needle))
            return i;
    return -1;
}

/* ---- paths and symbols -------------------------------------------------- */

char tui_path_glyph(int path)
{
    static const char glyphs[PATH_COUNT] = { 'N', 'D', 'T', 'E' };
    return path >= 0 && path < PATH_COUNT ? glyphs[path] : ' ';
}

enum tui_style tui_path_style(int path)
{
    return path >= 0 && path < PATH_COUNT ? (enum tui_style)(TS_NATIVE + path) : TS_NORMAL;
}

const char *tui_symbolize(const struct tui_session *s, uint32_t addr, char *buf, size_t len)
{
    uint32_t off;
    const struct elf_sym *sym = elf_sym_at(&s->syms, addr, &off);
    if (!sym || off > 0x10000)
        snprintf(buf, len, "%s", "");
    else if (off)
        snprintf(buf, len, "<%s+0x%x>", sym->name, off);
    else
        snprintf(buf, len, "<%s>", sym->name);
    return buf;
}

/* ---- disassembly -------------------------------------------------------- */

#define DIS_MAX 160        /* instructions decoded for one pane */
#define DIS_BYTES 4096     /* bytes read for them */

struct dis_insn {
    uint32_t addr;
    uint8_t size;
    uint8_t bytes[16];
    char text[192];        /* "mov eax, dword ptr [ebx]" */
};

/* Read up to `len` bytes of linear memory, stopping at the first fault. */
static uint32_t peek_upto(const struct tui_session *s, uint32_t lin, uint8_t *buf, uint32_t len)
{
    uint32_t got = 0;
    while (got < len) {
        uint32_t chunk = 0x1000 - ((lin + got) & 0xfff);
        if (chunk > len - got)
            chunk = len - got;
        if (!tui_peek(s, lin + got, buf + got, chunk))
            break;
        got += chunk;
    }
    return got;
}

/* Disassemble from `start`; returns how many instructions were decoded. */
static int dis_range(const struct tui_session *s, uint32_t start, uint32_t len, struct dis_insn *out, int max)
{
    static uint8_t buf[DIS_BYTES];   /* UI view state only, never in sim/ */
    if (len > DIS_BYTES)
        len = DIS_BYTES;
    static csh h;                    /* opened once: cs_open builds tables */
    static cs_insn *ci;
    uint32_t got = peek_upto(s, start, buf, len);
    if (!ci) {
        if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK)
            return 0;
        ci = cs_malloc(h);
    }
    const uint8_t *code = buf;
    size_t size = got;
    uint64_t addr = start;
    int n = 0;
    while (n < max && cs_disasm_iter(h, &code, &size, &addr, ci)) {
        struct dis_insn *d = &out[n++];
        d->addr = (uint32_t)ci->address;
        d->size = (uint8_t)ci->size;
        memcpy(d->bytes, ci->bytes, ci->size < 16 ? ci->size : 16);
        snprintf(d->text, sizeof d->text, "%s%s%s", ci->mnemonic, ci->op_str[0] ? " " : "",
                 ci->op_str);
    }
    return n;
}

static int dis_find(const struct dis_insn *d, int n, uint32_t addr)
{
    for (int i = 0; i < n; i++)
        if (d[i].addr == addr)
            return i;
    return -1;
}

/* Instructions around `eip`, from the start of its symbol when it is near. */
static int dis_around(const struct tui_session *s, uint32_t eip, struct dis_insn *d, int *at)
{
    uint32_t off = 0, start = eip;
    const struct elf_sym *sym = elf_sym_at(&s->syms, eip, &off);
    if (sym && off <= 1024)
        start = sym->addr;
    int n = dis_range(s, start, eip - start + 1024, d, DIS_MAX);
    *at = dis_find(d, n, eip);
    if (*at < 0 && start != eip) {       /* EIP not on a boundary: decode from it */
        n = dis_range(s, eip, 1024, d, DIS_MAX);
        *at = n ? 0 : -1;
    }
    return n;
}

/* ---- Guest code --------------------------------------------------------- */

static void guest_line(const struct tui_session *s, const struct dis_insn *d, bool cur,
                       struct tui_text *out)
{
    char sym[96];
    uint32_t off;
    const struct elf_sym *es = elf_sym_at(&s->syms, d->addr, &off);
    if (es && off == 0)
        tui_text_line(out, TS_HEAD, "%s", tui_symbolize(s, d->addr, sym, sizeof sym));
    int path = tui_mark_get(s, d->addr);
    bool bp = tui_bp_has(s, d->addr);
    tui_text_line(out, cur ? TS_CURRENT : TS_NORMAL, "%s", cur ? "=>" : "  ");
    tui_text_put(out, bp ? TS_BREAK : TS_NORMAL, "%c", bp ? '*' : ' ');
    tui_text_put(out, tui_path_style(path), "%c", tui_path_glyph(path));
    tui_text_put(out, cur ? TS_CURRENT : tui_path_style(path), " %08x  %s", d->addr, d->text);
    const char *op = strchr(d->text, ' ');
    if (op && !strncmp(op, " 0x", 3) && (d->text[0] == 'c' || d->text[0] == 'j'))
        tui_text_put(out, TS_DIM, " %s",            /* call/jump target by name */
                     tui_symbolize(s, (uint32_t)strtoul(op + 1, NULL, 16), sym, sizeof sym));
}

void tui_view_guest_code(const struct tui_session *s, int rows, struct tui_text *out)
{
    static struct dis_insn d[DIS_MAX];
    int at;
    uint32_t eip = tui_guest_eip(s);
    int n = dis_around(s, eip, d, &at);
    if (n == 0) {
        tui_text_line(out, TS_DIM, "(no code readable at 0x%08x)", eip);
        return;
    }
    int first = at > rows / 3 ? at - rows / 3 : 0;
    for (int i = first; i < n && out->n < rows; i++)
        guest_line(s, &d[i], i == at, out);
}

/* ---- Translated code ---------------------------------------------------- */

static bool dis_same_bytes(const struct dis_insn *a, const struct dis_insn *b)
{
    return a->size == b->size && memcmp(a->bytes, b->bytes, a->size) == 0;
}

/* The target of a direct call or jmp rel32, or 0. */
static uint32_t call_target(const struct dis_insn *d)
{
    if (d->size == 5 && (d->bytes[0] == 0xE8 || d->bytes[0] == 0xE9)) {
        int32_t rel;
        memcpy(&rel, d->bytes + 1, 4);
        return d->addr + 5 + (uint32_t)rel;
    }
    return 0;
}

static void tc_line(const struct tui_session *s, const struct dis_insn *tc, bool cur,
                    const struct dis_insn *g, int ng, struct tui_text *out, int col)
{
    const struct cpu *c = &s->m->cpu;
    uint32_t target = call_target(tc);
    bool ident = false;
    for (int i = 0; i < ng && !ident; i++)
        ident = dis_same_bytes(tc, &g[i]);
    tui_text_put(out, cur ? TS_CURRENT : TS_NORMAL, "%-*s%s %08x ", col, "", cur ? "=>" : "  ",
                 tc->addr);
    if (target && target - c->gate_lo < c->gate_hi - c->gate_lo)
        tui_text_put(out, TS_CALLOUT, "to VMM (callout/exit) gate +0x%x", target - c->gate_lo);
    else if (ident)
        tui_text_put(out, TS_TRANSLATED, "IDENT  %s", tc->text);
    else
        tui_text_put(out, TS_EMULATED, "xlat   %s", tc->text);
}

/* The block holding the guest EIP, from the translator (bt.h). */
static bool tc_current_block(const struct tui_session *s, struct bt_block_info *bi)
{
    struct bt *bt = tui_bt(s);
    int i = bt ? bt_block_find(bt, tui_guest_eip(s)) : -1;
    return i >= 0 && bt_block_get(bt, i, bi);
}

void tui_view_tc_code(const struct tui_session *s, int rows, struct tui_text *out)
{
    static struct dis_insn g[64], tc[96];
    struct cpu *c = (struct cpu *)&s->m->cpu;
    struct bt_block_info bi;
    if (!tui_bt(s)) {
        tui_text_line(out, TS_DIM, "(no binary translation in mode %s: guest code runs %s)",
                      s->mode, s->m->vmm ? "directly, deprivileged" : "natively");
        return;
    }
    if (!tc_current_block(s, &bi)) {
        tui_text_line(out, TS_DIM, "(EIP %08x is not in a translated block: %s)",
                      tui_guest_eip(s), vmm_vcpu(s->m->vmm)->cpl == 3
                          ? "guest user code runs directly" : "it is translated on entry");
        return;
    }
    int ng = dis_range(s, bi.guest_lin, bi.guest_len, g, 64);
    int nt = dis_range(s, bi.tc_lin, bi.tc_len, tc, 96);
    uint32_t hw = c->s.seg[S_CS].base + c->s.eip, geip = tui_guest_eip(s);
    int col = out->width / 2 > 44 ? 44 : out->width / 2;
    tui_text_line(out, TS_HEAD, "%-*s%s", col, "guest block", "TC code");
    tui_text_put(out, TS_DIM, " (block #%d, %u -> %u bytes, %llu hits)", bi.id, bi.guest_len,
                 bi.tc_len, (unsigned long long)bi.hits);
    for (int i = 0; (i < ng || i < nt) && out->n < rows; i++) {
        char left[96] = "";
        if (i < ng)
            snprintf(left, sizeof left, "%s%08x  %.80s", g[i].addr == geip ? "=>" : "  ",
                     g[i].addr, g[i].text);
        tui_text_line(out, i < ng && g[i].addr == geip ? TS_CURRENT : TS_NORMAL, "%-*.*s",
                      col, col - 1, left);
        if (i < nt)
            tc_line(s, &tc[i], tc[i].addr == hw, g, ng, out, 0);
    }
}

/* ---- Registers ---------------------------------------------------------- */

/* One "name guest hardware" row; values that differ are TS_DIFF, values the
   last step changed are reverse video. */
static void reg_row(struct tui_text *out, const char *name, int digits, uint32_t guest,
                    uint32_t hw, bool g_changed, bool h_changed)
{
    bool diff = guest != hw;
    tui_text_line(out, TS_NORMAL, "%-6s ", name);
    tui_text_put(out, g_changed ? TS_CHANGED : diff ? TS_DIFF : TS_NORMAL, "%0*x", digits, guest);
    tui_text_put(out, TS_NORMAL, "%*s", 11 - digits, "");
    tui_text_put(out, h_changed ? TS_CHANGED : diff ? TS_DIFF : TS_NORMAL, "%0*x", digits, hw);
    if (diff)
        tui_text_put(out, TS_DIFF, "  !=");
}

struct reg_views {
    int vcpl, pcpl;
    bool vif, pvif;
    uint32_t viopl, vcr0, pvcr0, vcr3, pvcr3;
};

static void reg_views(struct tui_session *s, struct reg_views *r, uint32_t fl)
{
    const struct cpu_state *hw = &s->m->cpu.s;
    if (s->m->vmm) {
        const struct vcpu *vc = vmm_vcpu(s->m->vmm);
        *r = (struct reg_views){ vc->cpl, s->prev_vcpl, vcpu_if(vc), s->prev_vif, vc->iopl,
                                 vc->cr0, s->prev_vcr0, vc->cr3, s->prev_vcr3 };
        return;
    }
    *r = (struct reg_views){ hw->cpl, s->prev.cpl, (fl & FL_IF) != 0,
                             (s->prev.eflags & FL_IF) != 0, (fl & FL_IOPL) >> 12,
                             hw->cr0, s->prev.cr0, hw->cr3, s->prev.cr3 };
}

static void regs_privileged(struct tui_session *s, uint32_t fl, struct tui_text *out)
{
    const struct cpu_state *hw = &s->m->cpu.s, *pv = &s->prev;
    bool p = s->have_prev;
    struct reg_views r;
    reg_views(s, &r, fl);
    tui_text_line(out, TS_HEAD, "       %-11s%s", "guest", s->m->vmm ? "hardware" : "hardware (native: the same)");
    reg_row(out, "CPL", 1, (uint32_t)r.vcpl, (uint32_t)hw->cpl, p && r.vcpl != r.pcpl,
            p && hw->cpl != pv->cpl);
    reg_row(out, "IF", 1, r.vif, (fl & FL_IF) != 0, p && r.vif != r.pvif,
            p && ((fl ^ pv->eflags) & FL_IF));
    reg_row(out, "IOPL", 1, r.viopl, (fl & FL_IOPL) >> 12, false,
            p && ((fl ^ pv->eflags) & FL_IOPL));
    reg_row(out, "CR0", 8, r.vcr0, hw->cr0, p && r.vcr0 != r.pvcr0, p && hw->cr0 != pv->cr0);
    reg_row(out, "CR3", 8, r.vcr3, hw->cr3, p && r.vcr3 != r.pvcr3, p && hw->cr3 != pv->cr3);
    static const char *const sn[S_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    for (int i = 0; i < S_COUNT; i++) {
        uint16_t g = s->m->vmm ? vmm_guest_sel(s->m->vmm, i) : hw->seg[i].sel;
        bool ch = p && hw->seg[i].sel != pv->seg[i].sel;
        reg_row(out, sn[i], 4, g, hw->seg[i].sel, ch, ch);
    }
    uint32_t gdt = s->m->vmm ? vmm_vcpu(s->m->vmm)->gdtr.base : hw->gdtr.base;
    reg_row(out, "GDTR", 8, gdt, hw->gdtr.base, false, p && hw->gdtr.base != pv->gdtr.base);
}

static void regs_general(struct tui_session *s, uint32_t fl, struct tui_text *out)
{
    static const char *const rn[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
    const struct cpu_state *hw = &s->m->cpu.s;
    bool p = s->have_prev;
    for (int i = 0; i < 8; i++) {
        bool ch = p && hw->r[i] != s->prev.r[i];
        if (i % 2 == 0)
            tui_text_line(out, TS_NORMAL, "%s ", rn[i]);
        else
            tui_text_put(out, TS_NORMAL, "   %s ", rn[i]);
        tui_text_put(out, ch ? TS_CHANGED : TS_NORMAL, "%08x", hw->r[i]);
    }
    tui_text_line(out, TS_NORMAL, "EIP ");
    tui_text_put(out, p && hw->eip != s->prev.eip ? TS_CHANGED : TS_NORMAL, "%08x", hw->eip);
    tui_text_put(out, TS_NORMAL, "   EFL ");
    tui_text_put(out, p && fl != s->prev.eflags ? TS_CHANGED : TS_NORMAL, "%08x", fl);
    static const struct { uint32_t bit; char c; } fb[] = {
        { FL_OF, 'O' }, { FL_DF, 'D' }, { FL_IF, 'I' }, { FL_SF, 'S' }, { FL_ZF, 'Z' },
        { FL_AF, 'A' }, { FL_PF, 'P' }, { FL_CF, 'C' } };
    tui_text_line(out, TS_DIM, "flags ");
    for (unsigned i = 0; i < sizeof fb / sizeof *fb; i++)
        tui_text_put(out, TS_NORMAL, "%c", fl & fb[i].bit ? fb[i].c : '-');
    if (tui_in_vmm_region(s))
        tui_text_put(out, TS_TRANSLATED, "  (EIP in the TC)");
}

void tui_view_registers(struct tui_session *s, struct tui_text *out)
{
    uint32_t fl = cpu_get_eflags(&s->m->cpu);
    regs_privileged(s, fl, out);
    regs_general(s, fl, out);
}
