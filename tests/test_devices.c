/*
 * test_devices.c - register-level tests of the platform devices (sim/hw):
 * the port bus, the 8259A pair, the 8254 PIT, the 16550 UART, QEMU's
 * isa-debug-exit and the POST port.
 *
 * Expected values come from the datasheets (Intel 8259A 231468, Intel 8254
 * 231164, NS PC16550D) and, for reset state and unmapped/odd accesses, from
 * probe kernels run under qemu-system-i386 -kernel with SeaBIOS (values
 * quoted in the tests; one whole UART/PIC sequence is replayed byte for
 * byte in test_qemu_replay_uart_pic). Each test builds a fresh machine-like rig: the
 * devices wired on one bus as sim/machine.c wires them.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/debugexit.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/post.h"
#include "hw/uart.h"

struct rig {
    struct bus bus;
    struct pic pic;
    struct pit pit;
    struct uart uart;
    struct debugexit dx;
    struct post post;
    uint8_t tx[64];   /* bytes the UART transmitted */
    int ntx;
    int unmapped_calls;
    uint16_t unmapped_port;
    bool unmapped_write;
};

static void rig_tx(void *ctx, uint8_t byte)
{
    struct rig *r = ctx;
    if (r->ntx < (int)sizeof(r->tx))
        r->tx[r->ntx++] = byte;
}

static void rig_unmapped(void *ctx, uint16_t port, int size, bool write, uint32_t val)
{
    struct rig *r = ctx;
    r->unmapped_calls++;
    r->unmapped_port = port;
    r->unmapped_write = write;
}

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    CU_ASSERT_FATAL(r != NULL);
    bus_init(&r->bus);
    r->bus.on_unmapped = rig_unmapped;
    r->bus.unmapped_ctx = r;
    pic_init(&r->pic, &r->bus);
    pit_init(&r->pit, &r->bus, pic_line(&r->pic, 0));
    uart_init(&r->uart, &r->bus, UART_COM1_BASE, pic_line(&r->pic, UART_COM1_IRQ), rig_tx, r);
    debugexit_init(&r->dx, &r->bus, DEBUGEXIT_BASE, DEBUGEXIT_SIZE);
    post_init(&r->post, &r->bus);
    return r;
}

static uint8_t inb(struct rig *r, uint16_t port) { return (uint8_t)bus_in(&r->bus, port, 1); }
static void outb(struct rig *r, uint16_t port, uint8_t v) { bus_out(&r->bus, port, 1, v); }

/* The init sequence Linux and most teaching kernels use: vectors 0x20 and
 * 0x28, cascade on IR2, 8086 mode (ICW4 0x01, or 0x03 for AEOI). */
static void pic_program(struct rig *r, uint8_t icw4, uint8_t imr_master, uint8_t imr_slave)
{
    outb(r, 0x20, 0x11); outb(r, 0xA0, 0x11);
    outb(r, 0x21, 0x20); outb(r, 0xA1, 0x28);
    outb(r, 0x21, 0x04); outb(r, 0xA1, 0x02);
    outb(r, 0x21, icw4); outb(r, 0xA1, icw4);
    outb(r, 0x21, imr_master); outb(r, 0xA1, imr_slave);
}

static void pulse(struct rig *r, int irq)
{
    pic_set_irq(&r->pic, irq, 1);
    pic_set_irq(&r->pic, irq, 0);
}

static uint8_t pic_reg(struct rig *r, uint16_t cmd_port, uint8_t ocw3)
{
    outb(r, cmd_port, ocw3);
    return inb(r, cmd_port);
}
#define MASTER_IRR(r) pic_reg(r, 0x20, 0x0A)
#define MASTER_ISR(r) pic_reg(r, 0x20, 0x0B)
#define SLAVE_ISR(r)  pic_reg(r, 0xA0, 0x0B)

/* ==== bus =============================================================== */

static void test_bus_unmapped(void)
{
    struct rig *r = rig_new();
    /* QEMU: inb/inw/inl 0x300 = ff / ffff / ffffffff */
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0x300, 1), 0xFFu);
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0x300, 2), 0xFFFFu);
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0x300, 4), 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(r->bus.unmapped_reads, 3);
    CU_ASSERT_EQUAL(r->bus.unmapped_writes, 0);
    bus_out(&r->bus, 0x1234, 2, 0xBEEF);
    CU_ASSERT_EQUAL(r->bus.unmapped_writes, 1);
    CU_ASSERT_EQUAL(r->unmapped_calls, 4);
    CU_ASSERT_EQUAL(r->unmapped_port, 0x1234);
    CU_ASSERT_TRUE(r->unmapped_write);
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0x1234, 1), 0xFFu); /* the write did nothing */
    CU_ASSERT_FALSE(bus_is_mapped(&r->bus, 0x300));
    CU_ASSERT_TRUE(bus_is_mapped(&r->bus, 0x3F8));
    free(r);
}

static void test_bus_wide_split(void)
{
    struct rig *r = rig_new();
    /* QEMU: inw 0x3FC = LSR << 8 | MCR = 0x6008 */
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0x3FC, 2), 0x6008u);
    CU_ASSERT_EQUAL(r->bus.unmapped_reads, 0);
    bus_out(&r->bus, 0x3FE, 2, 0xA55A); /* MSR (ignored), SCR <- 0xA5 */
    CU_ASSERT_EQUAL(inb(r, 0x3FF), 0xA5);
    CU_ASSERT_EQUAL(r->ntx, 0);
    free(r);
}

/* ==== PIC =============================================================== */

static void test_pic_firmware_state(void)
{
    struct rig *r = rig_new();
    /* QEMU + SeaBIOS: IMRs 0xB8 / 0x8E, vectors 0x08 / 0x70 */
    CU_ASSERT_EQUAL(inb(r, 0x21), 0xB8);
    CU_ASSERT_EQUAL(inb(r, 0xA1), 0x8E);
    pulse(r, 0);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x08);
    outb(r, 0x20, 0x20);
    pulse(r, 8);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x70);
    pulse(r, 4); /* masked by firmware */
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    free(r);
}

static void test_pic_init_sequence(void)
{
    struct rig *r = rig_new();
    outb(r, 0x20, 0x11);
    CU_ASSERT_EQUAL(inb(r, 0x21), 0x00); /* ICW1 clears the IMR */
    outb(r, 0x21, 0x20); outb(r, 0x21, 0x04); outb(r, 0x21, 0x01);
    outb(r, 0x21, 0xFE); /* now OCW1 */
    CU_ASSERT_EQUAL(inb(r, 0x21), 0xFE);
    pulse(r, 1);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    pulse(r, 0);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x20);
    /* ICW2's low three bits are ignored in 8086 mode */
    pic_program(r, 0x01, 0x00, 0x00);
    outb(r, 0x20, 0x11); outb(r, 0x21, 0x47); outb(r, 0x21, 0x04); outb(r, 0x21, 0x01);
    pulse(r, 3);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x43);
    free(r);
}

static void test_pic_priority_and_eoi_wait(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    pulse(r, 3);
    pulse(r, 1);
    CU_ASSERT_EQUAL(MASTER_IRR(r), 0x0A);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x21); /* IR1 outranks IR3 */
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x02);
    CU_ASSERT_EQUAL(MASTER_IRR(r), 0x08);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic)); /* IR3 waits for the EOI */
    outb(r, 0x20, 0x20);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x00);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x23);
    free(r);
}

static void test_pic_imr_masking(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x02, 0x00);
    pulse(r, 1);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(MASTER_IRR(r), 0x02); /* latched while masked */
    outb(r, 0x21, 0x00);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x21);
    free(r);
}

static void test_pic_nesting_and_specific_eoi(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    pulse(r, 3);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x23);
    pulse(r, 5);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic)); /* lower than IR3 */
    pulse(r, 1);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));  /* higher: nests */
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x21);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x0A);
    outb(r, 0x20, 0x63); /* specific EOI for IR3 */
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x02);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic)); /* IR1 still blocks IR5 */
    outb(r, 0x20, 0x20); /* non-specific: highest in service, IR1 */
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x00);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x25);
    free(r);
}

static void test_pic_nonspecific_eoi_highest(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    pulse(r, 6);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x26);
    pulse(r, 4); /* higher than IR6: nests */
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x24);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x50);
    outb(r, 0x20, 0x20);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x40); /* IR4 cleared, not IR6 */
    free(r);
}

static void test_pic_cascade(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    pulse(r, 10);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x2A);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x04);
    CU_ASSERT_EQUAL(SLAVE_ISR(r), 0x04);
    pulse(r, 12);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    outb(r, 0xA0, 0x20); /* EOI to the slave only */
    CU_ASSERT_EQUAL(SLAVE_ISR(r), 0x00);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic)); /* master IR2 still in service */
    outb(r, 0x20, 0x20);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x2C);
    /* slave requests outrank master IR3-7, not IR0-1 */
    outb(r, 0xA0, 0x20); outb(r, 0x20, 0x20);
    pulse(r, 5); pulse(r, 15); pulse(r, 1);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x21);
    outb(r, 0x20, 0x20);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x2F);
    outb(r, 0xA0, 0x20); outb(r, 0x20, 0x20);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x25);
    free(r);
}

static void test_pic_spurious(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x27); /* IR7 vector, no ISR bit */
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x00);
    CU_ASSERT_EQUAL(r->pic.spurious, 1);
    /* level-triggered master (ICW1 LTIM): request withdrawn before INTA */
    outb(r, 0x20, 0x19); outb(r, 0x21, 0x20); outb(r, 0x21, 0x04); outb(r, 0x21, 0x01);
    pic_set_irq(&r->pic, 5, 1);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    pic_set_irq(&r->pic, 5, 0);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x27);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x00);
    free(r);
}

static void test_pic_spurious_slave(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    /* level-triggered slave; its request goes away, but the master has
     * latched the edge on IR2: the slave answers IR7, the master's IR2
     * is in service and needs its EOI (the IRQ 15 rule). */
    outb(r, 0xA0, 0x19); outb(r, 0xA1, 0x28); outb(r, 0xA1, 0x02); outb(r, 0xA1, 0x01);
    pic_set_irq(&r->pic, 11, 1);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    pic_set_irq(&r->pic, 11, 0);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x2F);
    CU_ASSERT_EQUAL(SLAVE_ISR(r), 0x00);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x04);
    free(r);
}

static void test_pic_ocw3_reads(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0xFF, 0xFF);
    pulse(r, 6); pulse(r, 0);
    CU_ASSERT_EQUAL(inb(r, 0x20), 0x41); /* ICW1 selected IRR */
    outb(r, 0x21, 0x00);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x20);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x01);
    CU_ASSERT_EQUAL(inb(r, 0x20), 0x01); /* selection sticks */
    CU_ASSERT_EQUAL(MASTER_IRR(r), 0x40);
    CU_ASSERT_EQUAL(inb(r, 0x21), 0x00); /* data port: IMR */
    /* poll command: the read acknowledges IR6 */
    outb(r, 0x20, 0x20);
    outb(r, 0x20, 0x0C);
    CU_ASSERT_EQUAL(inb(r, 0x20), 0x86);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x40);
    outb(r, 0x20, 0x0C);
    CU_ASSERT_EQUAL(inb(r, 0x20), 0x00);
    free(r);
}

static void test_pic_aeoi(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x03, 0x00, 0x00);
    pulse(r, 1); pulse(r, 4);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x21);
    CU_ASSERT_EQUAL(MASTER_ISR(r), 0x00);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic)); /* no EOI needed */
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x24);
    free(r);
}

static void test_pic_edge_and_rotation(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0x00, 0x00);
    pic_set_irq(&r->pic, 3, 1);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x23);
    outb(r, 0x20, 0x20);
    pic_set_irq(&r->pic, 3, 1); /* still high: no new edge */
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    pic_set_irq(&r->pic, 3, 0);
    pic_set_irq(&r->pic, 3, 1);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    pic_ack(&r->pic);
    outb(r, 0x20, 0x20);
    /* ICW1 resets the edge sense: a line held high through initialization
     * must go low and high again (8259A datasheet, ICW1) */
    pic_program(r, 0x01, 0x00, 0x00);
    pic_set_irq(&r->pic, 3, 1);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    pic_set_irq(&r->pic, 3, 0);
    /* rotate on non-specific EOI: the serviced IR becomes the lowest */
    pulse(r, 0);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x20);
    outb(r, 0x20, 0xA0);
    pulse(r, 0); pulse(r, 5);
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x25);
    free(r);
}

/* ==== PIT =============================================================== */

static void test_clock_conversions(void)
{
    CU_ASSERT_EQUAL(clock_pit_to_cycles(CLOCK_PIT_HZ), CLOCK_CPU_HZ);
    CU_ASSERT_EQUAL(clock_cycles_to_pit(CLOCK_CPU_HZ), CLOCK_PIT_HZ);
    CU_ASSERT_EQUAL(clock_pit_to_cycles(1), 3185); /* ceil(3.8e9 / 1193182) */
    CU_ASSERT_EQUAL(clock_cycles_to_pit(3184), 0);
    CU_ASSERT_EQUAL(clock_cycles_to_pit(3185), 1);
    static const uint64_t ticks[] = { 1, 2, 3, 65536, 1193181, 123456789, 1ull << 40 };
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
        uint64_t c = clock_pit_to_cycles(ticks[i]);
        CU_ASSERT_EQUAL(clock_cycles_to_pit(c), ticks[i]);
        CU_ASSERT_EQUAL(clock_cycles_to_pit(c - 1), ticks[i] - 1);
    }
}

/* Program channel 0 at cycle `now`: mode, LSB-then-MSB, count. */
static void pit_program(struct rig *r, uint64_t now, int mode, uint16_t count)
{
    pit_advance(&r->pit, now);
    outb(r, 0x43, (uint8_t)(0x30 | mode << 1));
    outb(r, 0x40, (uint8_t)count);
    outb(r, 0x40, (uint8_t)(count >> 8));
}

/* Edges at load + k*N ticks: none a cycle early, one exactly on time. */
static void check_periodic(int mode, uint16_t count, uint64_t start)
{
    struct rig *r = rig_new();
    uint64_t n = count ? count : 65536, load = clock_cycles_to_pit(start);
    pit_program(r, start, mode, count);
    uint64_t edges = r->pit.irq0_edges;
    for (uint64_t k = 1; k <= 3; k++) {
        uint64_t due = clock_pit_to_cycles(load + k * n);
        CU_ASSERT_EQUAL(pit_next_event(&r->pit, r->pit.now), due);
        pit_advance(&r->pit, due - 1);
        CU_ASSERT_EQUAL(r->pit.irq0_edges, edges + k - 1);
        pit_advance(&r->pit, due);
        CU_ASSERT_EQUAL(r->pit.irq0_edges, edges + k);
    }
    /* 10.5 periods later: one edge, and the phase is kept */
    pit_advance(&r->pit, clock_pit_to_cycles(load + 13 * n + n / 2));
    CU_ASSERT_EQUAL(r->pit.irq0_edges, edges + 4);
    CU_ASSERT_EQUAL(pit_next_event(&r->pit, r->pit.now), clock_pit_to_cycles(load + 14 * n));
    free(r);
}

static void test_pit_mode2_periods(void)
{
    static const uint16_t counts[] = { 2, 100, 1193, 11932, 0 };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        check_periodic(2, counts[i], 0);
        check_periodic(2, counts[i], 1000003); /* mid-tick start */
    }
}

static void test_pit_mode3_periods(void)
{
    static const uint16_t counts[] = { 4, 101, 1193, 0 };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        check_periodic(3, counts[i], 777777);
}

static void test_pit_counts(void)
{
    struct rig *r = rig_new();
    uint64_t t0 = clock_pit_to_cycles(500);
    pit_program(r, t0, 2, 1000);
    pit_advance(&r->pit, clock_pit_to_cycles(500 + 250));
    CU_ASSERT_EQUAL(pit_read_count(&r->pit, 0), 750);
    pit_advance(&r->pit, clock_pit_to_cycles(500 + 1000 + 1));
    CU_ASSERT_EQUAL(pit_read_count(&r->pit, 0), 999); /* reloaded */
    pit_program(r, clock_pit_to_cycles(3000), 3, 1000);
    pit_advance(&r->pit, clock_pit_to_cycles(3000 + 100));
    CU_ASSERT_EQUAL(pit_read_count(&r->pit, 0), 800); /* mode 3 counts by two */
    pit_advance(&r->pit, clock_pit_to_cycles(3000 + 600));
    CU_ASSERT_EQUAL(pit_read_count(&r->pit, 0), 800); /* second half-period */
    free(r);
}

static void test_pit_latch(void)
{
    struct rig *r = rig_new();
    pit_program(r, 0, 2, 0x1234);
    pit_advance(&r->pit, clock_pit_to_cycles(0x34));
    outb(r, 0x43, 0x00); /* latch counter 0: 0x1200 */
    pit_advance(&r->pit, clock_pit_to_cycles(0x100));
    outb(r, 0x43, 0x00); /* ignored: the first latch is unread */
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x00);
    pit_advance(&r->pit, clock_pit_to_cycles(0x200));
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x12);
    /* the counter kept counting: live 0x1234 - 0x200 = 0x1034 */
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x34);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x10);
    free(r);
}

static void test_pit_access_modes(void)
{
    struct rig *r = rig_new();
    outb(r, 0x43, 0x14); /* counter 0, LSB only, mode 2 */
    outb(r, 0x40, 0x80);
    CU_ASSERT_EQUAL(r->pit.ch[0].reload, 0x80);
    pit_advance(&r->pit, clock_pit_to_cycles(0x10));
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x70);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x70); /* LSB again, no flip-flop */
    outb(r, 0x43, 0x24); /* MSB only */
    outb(r, 0x40, 0x12);
    CU_ASSERT_EQUAL(r->pit.ch[0].reload, 0x1200);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x12);
    outb(r, 0x43, 0x34); /* LSB then MSB */
    outb(r, 0x40, 0x78);
    CU_ASSERT_FALSE(r->pit.ch[0].counting); /* half-written count */
    outb(r, 0x40, 0x56);
    CU_ASSERT_EQUAL(r->pit.ch[0].reload, 0x5678);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x78);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x56);
    free(r);
}

static void test_pit_mode0_and_status(void)
{
    struct rig *r = rig_new();
    outb(r, 0x43, 0xE2); /* read-back status of counter 0 after reset */
    CU_ASSERT_EQUAL(inb(r, 0x40) & 0x7F, 0x34); /* QEMU: 0x34 (mode 2, LSB/MSB) */
    outb(r, 0x43, 0xE8);
    CU_ASSERT_EQUAL(inb(r, 0x42), 0x86);        /* QEMU: 0x86 */
    outb(r, 0x43, 0x30); /* mode 0: OUT low, null count until loaded */
    outb(r, 0x43, 0xE2);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x70);
    outb(r, 0x40, 100); outb(r, 0x40, 0);
    uint64_t edges = r->pit.irq0_edges;
    CU_ASSERT_EQUAL(pit_next_event(&r->pit, 0), clock_pit_to_cycles(100));
    pit_advance(&r->pit, clock_pit_to_cycles(99));
    outb(r, 0x43, 0xE2);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0x30); /* OUT still low */
    pit_advance(&r->pit, clock_pit_to_cycles(100));
    CU_ASSERT_EQUAL(r->pit.irq0_edges, edges + 1);
    outb(r, 0x43, 0xE2);
    CU_ASSERT_EQUAL(inb(r, 0x40), 0xB0); /* OUT high at terminal count */
    CU_ASSERT_EQUAL(pit_next_event(&r->pit, r->pit.now), UINT64_MAX);
    pit_advance(&r->pit, clock_pit_to_cycles(1000));
    CU_ASSERT_EQUAL(r->pit.irq0_edges, edges + 1); /* one-shot */
    CU_ASSERT_EQUAL(pit_read_count(&r->pit, 0), (uint16_t)(100 - 1000)); /* wraps */
    free(r);
}

static void test_pit_irq0_reaches_pic(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0xFE, 0xFF);
    pit_program(r, 0, 2, 11932);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    pit_advance(&r->pit, clock_pit_to_cycles(11932));
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x20);
    outb(r, 0x20, 0x20);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    pit_advance(&r->pit, clock_pit_to_cycles(2 * 11932));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x20); /* second tick: a fresh edge */
    free(r);
}

/* ==== UART ============================================================== */

static void test_uart_reset_state(void)
{
    struct rig *r = rig_new();
    /* QEMU -kernel: IER 00 IIR 01 LCR 00 MCR 08 LSR 60 MSR b0 SCR 00 DLL 0c DLM 00 */
    static const uint8_t want[8] = { 0, 0x00, 0x01, 0x00, 0x08, 0x60, 0xB0, 0x00 };
    for (int i = 1; i < 8; i++)
        CU_ASSERT_EQUAL(inb(r, (uint16_t)(0x3F8 + i)), want[i]);
    outb(r, 0x3FB, 0x80);
    CU_ASSERT_EQUAL(inb(r, 0x3F8), 0x0C);
    CU_ASSERT_EQUAL(inb(r, 0x3F9), 0x00);
    free(r);
}

static void test_uart_transmit_and_dlab(void)
{
    struct rig *r = rig_new();
    outb(r, 0x3F8, 'h'); outb(r, 0x3F8, 0xE9);
    CU_ASSERT_EQUAL(r->ntx, 2);
    CU_ASSERT_EQUAL(r->tx[0], 'h');
    CU_ASSERT_EQUAL(r->tx[1], 0xE9); /* whole byte even with LCR word length 5 */
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x60);
    outb(r, 0x3FB, 0x83); /* DLAB, 8N1 */
    outb(r, 0x3F8, 0x01); outb(r, 0x3F9, 0x00);
    CU_ASSERT_EQUAL(r->ntx, 2); /* divisor write, not a transmit */
    CU_ASSERT_EQUAL(inb(r, 0x3F8), 0x01);
    CU_ASSERT_EQUAL(r->uart.divisor, 1);
    outb(r, 0x3F9, 0x02);
    outb(r, 0x3FB, 0x03);
    CU_ASSERT_EQUAL(inb(r, 0x3F9), 0x00); /* IER untouched by the DLM write */
    CU_ASSERT_EQUAL(inb(r, 0x3FB), 0x03);
    outb(r, 0x3F8, 'x');
    CU_ASSERT_EQUAL(r->ntx, 3);
    CU_ASSERT_EQUAL(r->uart.divisor, 0x0201);
    free(r);
}

static void test_uart_thre_interrupt(void)
{
    struct rig *r = rig_new();
    pic_program(r, 0x01, 0xEF, 0xFF); /* only IRQ 4 */
    outb(r, 0x3F9, 0x02);             /* ETBEI with THR empty: at once */
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x24);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x02);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x01); /* reading IIR cleared it */
    outb(r, 0x20, 0x20);
    CU_ASSERT_FALSE(pic_intr_pending(&r->pic));
    outb(r, 0x3F8, 'a');                   /* re-armed by the transmit */
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x02);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    /* a handler that only writes THR still gets a fresh edge per byte:
     * the write drops THRE (and INTR) before the byte leaves */
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x24);
    outb(r, 0x20, 0x20);
    outb(r, 0x3F8, 'c');                   /* THRE pending, INTR high */
    CU_ASSERT_EQUAL(pic_ack(&r->pic), 0x24);
    outb(r, 0x3F8, 'b');
    outb(r, 0x20, 0x20);
    CU_ASSERT_EQUAL(MASTER_IRR(r), 0x10);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    free(r);
}

static void test_uart_receive_priority(void)
{
    struct rig *r = rig_new();
    outb(r, 0x3F9, 0x03); /* ERBFI | ETBEI */
    CU_ASSERT_TRUE(uart_rx_space(&r->uart));
    uart_receive(&r->uart, 'k');
    CU_ASSERT_FALSE(uart_rx_space(&r->uart)); /* no FIFO: one byte */
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x61);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x04); /* RX data outranks THRE */
    CU_ASSERT_EQUAL(inb(r, 0x3F8), 'k');
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x60);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x02);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x01);
    free(r);
}

static void test_uart_overrun_and_rls(void)
{
    struct rig *r = rig_new();
    outb(r, 0x3F9, 0x05); /* ERBFI | ELSI */
    uart_receive(&r->uart, 'a');
    uart_receive(&r->uart, 'b'); /* overwrites the holding register */
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x06); /* line status first */
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x63);
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x61); /* OE cleared by the read */
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0x04);
    CU_ASSERT_EQUAL(inb(r, 0x3F8), 'b');
    free(r);
}

static void test_uart_fifo(void)
{
    struct rig *r = rig_new();
    outb(r, 0x3FA, 0xC7); /* enable, clear both, trigger 14 */
    outb(r, 0x3F9, 0x01);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0xC1);
    uart_receive(&r->uart, 0);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0xCC); /* below trigger: timeout id */
    for (int i = 1; i < 14; i++)
        uart_receive(&r->uart, (uint8_t)i);
    CU_ASSERT_EQUAL(inb(r, 0x3FA), 0xC4);
    uart_receive(&r->uart, 14); uart_receive(&r->uart, 15);
    CU_ASSERT_FALSE(uart_rx_space(&r->uart));
    uart_receive(&r->uart, 99); /* 17th byte: lost */
    CU_ASSERT_EQUAL(inb(r, 0x3FD) & 0x03, 0x03);
    for (int i = 0; i < 16; i++)
        CU_ASSERT_EQUAL(inb(r, 0x3F8), i);
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x60);
    outb(r, 0x3FA, 0x00);
    CU_ASSERT_EQUAL(inb(r, 0x3FA) & 0xC0, 0x00);
    free(r);
}

static void test_uart_scratch_loopback_out2(void)
{
    struct rig *r = rig_new();
    outb(r, 0x3FF, 0x5A);
    CU_ASSERT_EQUAL(inb(r, 0x3FF), 0x5A);
    outb(r, 0x3FC, 0x1F); /* loopback, all outputs on */
    CU_ASSERT_EQUAL(inb(r, 0x3FE) & 0xF0, 0xF0);
    outb(r, 0x3FC, 0x11); /* loopback, DTR only */
    /* DSR; deltas DCTS, TERI, DDCD: the PC16550D says the modem-status
     * logic stays operational in loopback, fed by MCR (QEMU reads 0x20) */
    CU_ASSERT_EQUAL(inb(r, 0x3FE), 0x2D);
    CU_ASSERT_EQUAL(inb(r, 0x3FE), 0x20); /* deltas clear on read */
    outb(r, 0x3F8, 'L');
    CU_ASSERT_EQUAL(r->ntx, 0); /* not on the wire */
    CU_ASSERT_EQUAL(inb(r, 0x3FD), 0x61);
    CU_ASSERT_EQUAL(inb(r, 0x3F8), 'L');
    CU_ASSERT_FALSE(uart_rx_space(&r->uart));
    /* OUT2 gates the IRQ on a PC board; QEMU does not gate, nor does
       ringside (xv6 writes MCR = 0 and relies on its console IRQ) */
    pic_program(r, 0x01, 0xEF, 0xFF);
    outb(r, 0x3FC, 0x00);
    outb(r, 0x3F9, 0x02);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    outb(r, 0x3FC, 0x08);
    CU_ASSERT_TRUE(pic_intr_pending(&r->pic));
    free(r);
}

/* ==== debug exit, POST ================================================== */

static void test_debugexit(void)
{
    struct rig *r = rig_new();
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0xF4, 1), 0u); /* QEMU: reads 0 */
    CU_ASSERT_EQUAL(bus_in(&r->bus, 0xF4, 4), 0u);
    CU_ASSERT_FALSE(r->dx.exited);
    outb(r, 0xF4, 0x21);
    CU_ASSERT_TRUE(r->dx.exited);
    CU_ASSERT_EQUAL(r->dx.code, 67); /* QEMU exited with status 67 */
    outb(r, 0xF5, 0x05);             /* later writes: the first one counts */
    CU_ASSERT_EQUAL(r->dx.code, 67);
    debugexit_reset(&r->dx);
    bus_out(&r->bus, 0xF4, 4, 0x00012345); /* whole, not split */
    CU_ASSERT_EQUAL(r->dx.value, 0x00012345u);
    CU_ASSERT_EQUAL(r->dx.code, 0x0002468Bu);
    free(r);
}

static void test_post(void)
{
    struct rig *r = rig_new();
    outb(r, 0x80, 0x55);
    outb(r, 0x80, 0xAA);
    CU_ASSERT_EQUAL(r->post.last, 0xAA);
    CU_ASSERT_EQUAL(r->post.writes, 2);
    CU_ASSERT_EQUAL(inb(r, 0x80), 0xFF); /* QEMU: 0xff after writing 0x55 */
    CU_ASSERT_EQUAL(r->bus.unmapped_reads, 0);
    free(r);
}

/* ==== replay of a QEMU probe ============================================ */

/*
 * The port sequence below ran in a multiboot probe kernel under
 * qemu-system-i386 -kernel (SeaBIOS); `want` holds the values QEMU returned,
 * in order. It covers UART loopback, overrun and line status, RX/THRE
 * priority, the FIFO, and IRQ 4 through a reprogrammed master PIC read with
 * IRR/ISR/poll. Left out, because ringside follows the hardware there
 * instead: MSR delta bits in loopback (PC16550D sets them, QEMU does not).
 */
static void test_qemu_replay_uart_pic(void)
{
    static const uint8_t want[] = {
        0xf0, 0x61, 0x4c, 0x60, 0x06, 0x63, 0x61, 0x04, 0x62, 0x02, 0x04, 0x6b,
        0x02, 0x01, 0xc1, 0xc4, 0x63, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x60, 0x01, 0xef,
        0x00, 0x10, 0x84, 0x10, 0x00, 0x00, 0x02, 0x10, 0x10, 0x84,
    };
    uint8_t got[sizeof(want)];
    int n = 0;
    struct rig *r = rig_new();
    outb(r, 0x3FC, 0x1F); got[n++] = inb(r, 0x3FE);
    outb(r, 0x3F8, 'L'); got[n++] = inb(r, 0x3FD); got[n++] = inb(r, 0x3F8); got[n++] = inb(r, 0x3FD);
    outb(r, 0x3F9, 0x05); outb(r, 0x3F8, 'a'); outb(r, 0x3F8, 'b');
    got[n++] = inb(r, 0x3FA); got[n++] = inb(r, 0x3FD); got[n++] = inb(r, 0x3FD);
    got[n++] = inb(r, 0x3FA); got[n++] = inb(r, 0x3F8);
    outb(r, 0x3F9, 0x03); got[n++] = inb(r, 0x3FA);
    outb(r, 0x3F8, 'k'); got[n++] = inb(r, 0x3FA); got[n++] = inb(r, 0x3F8);
    got[n++] = inb(r, 0x3FA); got[n++] = inb(r, 0x3FA);
    outb(r, 0x3F9, 0x00); outb(r, 0x3FA, 0xC7); outb(r, 0x3F9, 0x01); got[n++] = inb(r, 0x3FA);
    for (int i = 0; i < 14; i++)
        outb(r, 0x3F8, (uint8_t)i);
    got[n++] = inb(r, 0x3FA);
    outb(r, 0x3F8, 14); outb(r, 0x3F8, 15); outb(r, 0x3F8, 99); got[n++] = inb(r, 0x3FD);
    for (int i = 0; i < 16; i++)
        got[n++] = inb(r, 0x3F8);
    got[n++] = inb(r, 0x3FD);
    outb(r, 0x3FA, 0x00); got[n++] = inb(r, 0x3FA);
    outb(r, 0x3FC, 0x18); outb(r, 0x3F9, 0x00);
    outb(r, 0x20, 0x11); outb(r, 0x21, 0x20); outb(r, 0x21, 0x04); outb(r, 0x21, 0x01);
    outb(r, 0x21, 0xEF); got[n++] = inb(r, 0x21);
    outb(r, 0x20, 0x0A); got[n++] = inb(r, 0x20);
    outb(r, 0x3F9, 0x02); got[n++] = inb(r, 0x20);
    outb(r, 0x20, 0x0C); got[n++] = inb(r, 0x20);
    outb(r, 0x20, 0x0B); got[n++] = inb(r, 0x20);
    outb(r, 0x20, 0x20); got[n++] = inb(r, 0x20);
    outb(r, 0x20, 0x0C); got[n++] = inb(r, 0x20);
    got[n++] = inb(r, 0x3FA);
    outb(r, 0x3F8, 'x'); outb(r, 0x20, 0x0A); got[n++] = inb(r, 0x20);
    outb(r, 0x3F9, 0x00); outb(r, 0x20, 0x0A); got[n++] = inb(r, 0x20);
    outb(r, 0x20, 0x0C); got[n++] = inb(r, 0x20);
    CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want));
    for (int i = 0; i < n; i++)
        if (got[i] != want[i])
            CU_FAIL("differs from QEMU");
    CU_ASSERT_EQUAL(memcmp(got, want, sizeof(want)), 0);
    free(r);
}

void suite_devices_register(void)
{
    CU_pSuite s = CU_add_suite("devices", NULL, NULL);
    CU_add_test(s, "bus: unmapped ports", test_bus_unmapped);
    CU_add_test(s, "bus: wide access split", test_bus_wide_split);
    CU_add_test(s, "pic: firmware state", test_pic_firmware_state);
    CU_add_test(s, "pic: init sequence", test_pic_init_sequence);
    CU_add_test(s, "pic: priority, wait for EOI", test_pic_priority_and_eoi_wait);
    CU_add_test(s, "pic: IMR masking", test_pic_imr_masking);
    CU_add_test(s, "pic: nesting, specific EOI", test_pic_nesting_and_specific_eoi);
    CU_add_test(s, "pic: non-specific EOI", test_pic_nonspecific_eoi_highest);
    CU_add_test(s, "pic: cascade", test_pic_cascade);
    CU_add_test(s, "pic: spurious IRQ7", test_pic_spurious);
    CU_add_test(s, "pic: spurious IRQ15", test_pic_spurious_slave);
    CU_add_test(s, "pic: OCW3 reads, poll", test_pic_ocw3_reads);
    CU_add_test(s, "pic: AEOI", test_pic_aeoi);
    CU_add_test(s, "pic: edges, rotation", test_pic_edge_and_rotation);
    CU_add_test(s, "clock: conversions", test_clock_conversions);
    CU_add_test(s, "pit: mode 2 periods", test_pit_mode2_periods);
    CU_add_test(s, "pit: mode 3 periods", test_pit_mode3_periods);
    CU_add_test(s, "pit: counts", test_pit_counts);
    CU_add_test(s, "pit: counter latch", test_pit_latch);
    CU_add_test(s, "pit: access modes", test_pit_access_modes);
    CU_add_test(s, "pit: mode 0, read-back", test_pit_mode0_and_status);
    CU_add_test(s, "pit: IRQ0 reaches the PIC", test_pit_irq0_reaches_pic);
    CU_add_test(s, "uart: reset state", test_uart_reset_state);
    CU_add_test(s, "uart: transmit, DLAB", test_uart_transmit_and_dlab);
    CU_add_test(s, "uart: THRE interrupt", test_uart_thre_interrupt);
    CU_add_test(s, "uart: RX priority", test_uart_receive_priority);
    CU_add_test(s, "uart: overrun, line status", test_uart_overrun_and_rls);
    CU_add_test(s, "uart: FIFO", test_uart_fifo);
    CU_add_test(s, "uart: scratch, loopback, no OUT2 gate (QEMU)", test_uart_scratch_loopback_out2);
    CU_add_test(s, "debug-exit", test_debugexit);
    CU_add_test(s, "post", test_post);
    CU_add_test(s, "QEMU replay: UART and PIC", test_qemu_replay_uart_pic);
}
