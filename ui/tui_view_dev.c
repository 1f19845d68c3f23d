/*
 * tui_view_dev.c - the Devices pane: the PC's devices as the guest left them.
 *
 * A kernel on the fuller PC (xv6) talks to a dozen devices, and a student
 * following its boot wants to see what it set up: which interrupt lines
 * the 8259s mask and have pending, the PIT's mode and count, the COM1 FIFO,
 * the local APIC timer, the I/O APIC's deliveries, the disk's commands,
 * the clock's date and the keys waiting in the 8042. `d` puts this pane in
 * place of "Paths". Everything shown is read without side effects (the
 * PIT's count and the RTC's time as a read would return them, no latch).
 */
#include "tui_view.h"
#include "tui_session.h"

#include <inttypes.h>

static void pic_lines(const struct machine *m, struct tui_text *out)
{
    for (int i = 0; i < 2; i++) {
        const struct pic_chip *c = &m->pic.chip[i];
        tui_text_line(out, TS_NORMAL, "8259 %s base %02x IRR %02x ISR %02x IMR %02x",
                      i ? "S" : "M", c->vector_base, c->irr, c->isr, c->imr);
    }
}

static void clock_lines(const struct machine *m, struct tui_text *out)
{
    const struct pit_channel *c0 = &m->pit.ch[0];
    tui_text_line(out, TS_NORMAL, "8254  ch0 mode %u reload %" PRIu32 " count %u", c0->mode,
                  c0->reload, pit_read_count(&m->pit, 0));
    char when[40];
    cmos_time_text(&m->cmos, when, sizeof when);
    tui_text_line(out, TS_NORMAL, "RTC   %s%s", when, m->cmos.ram[0x0B] & 0x80 ? " SET" : "");
    const struct lapic *a = &m->lapic;
    tui_text_line(out, TS_NORMAL, "LAPIC timer %" PRIu64 " fired, %" PRIu64 " EOIs",
                  a->timer_fires, a->eois);
    tui_text_line(out, TS_NORMAL, "IOAPIC %" PRIu64 " delivered", m->ioapic.delivered);
}

static void io_lines(const struct tui_session *s, struct tui_text *out)
{
    const struct machine *m = s->m;
    tui_text_line(out, TS_NORMAL, "COM1  %u in FIFO, %" PRIu64 " sent", m->uart.rx_count,
                  m->uart.tx_bytes);
    tui_text_line(out, TS_NORMAL, "8042  %u queued, %" PRIu64 " read", m->kbc.count,
                  m->kbc.bytes_out);
    tui_text_line(out, TS_NORMAL, "typing goes to %s", s->opt.keyboard ? "the keyboard" : "COM1");
    const struct ide *d = &m->ide;
    tui_text_line(out, TS_NORMAL, "IDE   %" PRIu64 " cmds, sectors %" PRIu64 " r %" PRIu64 " w", d->commands,
                  d->drive[0].sectors_read + d->drive[1].sectors_read,
                  d->drive[0].sectors_written + d->drive[1].sectors_written);
    uint16_t cur = vgacrt_cursor(&m->crt);
    tui_text_line(out, TS_NORMAL, "VGA   cursor row %u col %u", cur / 80u, cur % 80u);
}

void tui_view_devices(const struct tui_session *s, struct tui_text *out)
{
    tui_text_line(out, TS_HEAD, "devices");
    pic_lines(s->m, out);
    clock_lines(s->m, out);
    io_lines(s, out);
}
