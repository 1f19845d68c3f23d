/*
 * test_pc.c - register-level tests of the PC devices real kernels need
 * (sim/hw: ide.c, ioapic.c, lapic.c, cmos.c, vgacrt.c, sysctl.c, kbc.c)
 * and of bad disk images on the command line.
 *
 * Expected values come from the ATA/ATAPI-6 standard and QEMU's IDE
 * (identify words, the status of an absent drive), the 82093AA I/O APIC
 * datasheet, the SDM's local APIC chapter and the MC146818 register map.
 * Each test builds a whole machine (sim/machine.c) so the devices are wired
 * as a guest sees them: ISA lines to both the 8259A and the I/O APIC, the
 * I/O APIC into the local APIC, the local APIC into the CPU's line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <CUnit/CUnit.h>
#include "machine.h"
#include "proc.h"
#include "hw/clock.h"
#include "hw/kbd_keys.h"

#define IMG "/tmp/ringside-pc-disk.img"

static struct machine *new_machine(void)
{
    static struct machine m;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(machine_init(&m, 32, err, sizeof err), 0);
    return &m;
}

/* An image of `sectors` sectors: byte i of sector s is (s * 7 + i) & 0xFF. */
static void write_image(const char *path, unsigned sectors)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (unsigned s = 0; s < sectors; s++)
        for (unsigned i = 0; i < 512; i++)
            fputc((int)((s * 7 + i) & 0xFF), f);
    fclose(f);
}

static uint8_t in8(struct machine *m, uint16_t port) { return (uint8_t)bus_in(&m->bus, port, 1); }
static void out8(struct machine *m, uint16_t port, uint8_t v) { bus_out(&m->bus, port, 1, v); }

static void ide_task(struct machine *m, uint8_t count, uint32_t lba, uint8_t cmd)
{
    out8(m, 0x1F2, count);
    out8(m, 0x1F3, (uint8_t)lba);
    out8(m, 0x1F4, (uint8_t)(lba >> 8));
    out8(m, 0x1F5, (uint8_t)(lba >> 16));
    out8(m, 0x1F6, (uint8_t)(0xE0 | ((lba >> 24) & 0x0F)));
    out8(m, 0x1F7, cmd);
}

static void test_ide_absent(void)
{
    struct machine *m = new_machine();
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x00);           /* QEMU: no disk on the channel */
    CU_ASSERT_EQUAL(in8(m, 0x3F6), 0x00);
    machine_free(m);
}

static void test_ide_identify(void)
{
    struct machine *m = new_machine();
    char err[256];
    write_image(IMG, 4);
    CU_ASSERT_EQUAL_FATAL(machine_attach_disk(m, 0, IMG, false, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x50);           /* DRDY | DSC */
    out8(m, 0x1F6, 0xB0);                           /* slave: absent */
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x00);
    out8(m, 0x1F6, 0xA0);
    out8(m, 0x1F7, 0xEC);
    CU_ASSERT_TRUE(m->ide.intrq);
    CU_ASSERT_EQUAL(in8(m, 0x3F6), 0x58);           /* alternate status: DRQ, no ack */
    CU_ASSERT_TRUE(m->ide.intrq);
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x58);
    CU_ASSERT_FALSE(m->ide.intrq);                  /* reading status acknowledges */
    uint16_t w[256];
    for (int i = 0; i < 256; i++)
        w[i] = (uint16_t)bus_in(&m->bus, 0x1F0, 2);
    CU_ASSERT_EQUAL(w[0], 0x0040);
    CU_ASSERT_EQUAL(w[1], 2);                       /* QEMU's guess: >= 2 cylinders */
    CU_ASSERT_EQUAL(w[3], 16);
    CU_ASSERT_EQUAL(w[6], 63);
    CU_ASSERT_EQUAL(w[27], ('Q' << 8) | 'E');       /* "QEMU HARDDISK", swapped pairs */
    CU_ASSERT_EQUAL(w[28], ('M' << 8) | 'U');
    CU_ASSERT_EQUAL(w[10], ('Q' << 8) | 'M');       /* serial QM00001 */
    CU_ASSERT_EQUAL(w[49], 0x0B00);                 /* DMA, LBA, IORDY */
    CU_ASSERT_EQUAL(w[60] | (uint32_t)w[61] << 16, 4);
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x50);           /* all read: DRQ gone */
    machine_free(m);
}

static void test_ide_read_write(bool through)
{
    struct machine *m = new_machine();
    char err[256];
    write_image(IMG, 8);
    CU_ASSERT_EQUAL_FATAL(machine_attach_disk(m, 0, IMG, through, err, sizeof err), 0);
    ide_task(m, 2, 3, 0x20);                        /* READ SECTORS 3-4 */
    for (unsigned s = 3; s <= 4; s++) {
        CU_ASSERT_TRUE(m->ide.intrq);               /* one interrupt per sector */
        CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x58);
        bool same = true;
        for (unsigned i = 0; i < 512; i += 4) {
            uint32_t v = bus_in(&m->bus, 0x1F0, 4);  /* insl, as xv6 reads */
            for (unsigned k = 0; k < 4; k++)
                same &= ((v >> (8 * k)) & 0xFF) == ((s * 7 + i + k) & 0xFF);
        }
        CU_ASSERT_TRUE(same);
    }
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x50);
    CU_ASSERT_EQUAL(in8(m, 0x1F3), 4);              /* LBA of the last sector */
    ide_task(m, 1, 1, 0x30);                        /* WRITE SECTORS 1 */
    CU_ASSERT_FALSE(m->ide.intrq);                  /* DRQ first, no interrupt */
    CU_ASSERT_EQUAL(in8(m, 0x3F6), 0x58);
    for (unsigned i = 0; i < 512; i += 2)
        bus_out(&m->bus, 0x1F0, 2, 0xA55A);
    CU_ASSERT_TRUE(m->ide.intrq);                   /* written: interrupt */
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x50);
    CU_ASSERT_EQUAL(m->ide.drive[0].data[512], 0x5A);
    CU_ASSERT_EQUAL(m->ide.drive[0].data[513], 0xA5);
    FILE *f = fopen(IMG, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 512, SEEK_SET);
    int c = fgetc(f);
    fclose(f);
    CU_ASSERT_EQUAL(c, through ? 0x5A : 7);         /* the file only with --disk-write */
    ide_task(m, 2, 7, 0x20);                        /* sectors 7-8 of 8: past the end */
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x41);           /* DRDY | ERR (QEMU: samples/ide) */
    CU_ASSERT_EQUAL(in8(m, 0x1F1), 0x04);           /* ABRT */
    out8(m, 0x1F7, 0x99);                           /* no such command */
    CU_ASSERT_EQUAL(in8(m, 0x1F7), 0x41);
    CU_ASSERT_EQUAL(in8(m, 0x1F1), 0x04);
    out8(m, 0x3F6, 0x02);                           /* nIEN: no interrupt */
    ide_task(m, 1, 0, 0x20);
    CU_ASSERT_FALSE(m->ide.intrq);
    machine_free(m);
}

static void test_ide_kept_in_memory(void) { test_ide_read_write(false); }
static void test_ide_write_through(void) { test_ide_read_write(true); }

/* IRQ 14 through the I/O APIC into the local APIC and the CPU's line. */
static void test_ioapic_routing(void)
{
    struct machine *m = new_machine();
    struct ioapic *io = &m->ioapic;
    ioapic_write(io, 0x00, 4, 0x00);
    CU_ASSERT_EQUAL(ioapic_read(io, 0x10, 4), 0x00000000);   /* ID */
    ioapic_write(io, 0x00, 4, 0x01);
    CU_ASSERT_EQUAL(ioapic_read(io, 0x10, 4), 0x00170020);   /* version 0x20 (QEMU), 24 entries */
    ioapic_write(io, 0x00, 4, 0x10 + 2 * 14);
    CU_ASSERT_EQUAL(ioapic_read(io, 0x10, 4), 0x00010000);   /* masked at reset */
    ioapic_set_isa_irq(io, 14, 1);
    ioapic_set_isa_irq(io, 14, 0);
    CU_ASSERT_FALSE(lapic_pending(&m->lapic));              /* masked edge: lost */
    ioapic_write(io, 0x10, 4, 0x2E);                         /* vector 0x2E, edge, unmasked */
    ioapic_write(io, 0x00, 4, 0x11 + 2 * 14);
    ioapic_write(io, 0x10, 4, 0x00000000);                   /* destination APIC 0 */
    ioapic_set_isa_irq(io, 14, 1);
    CU_ASSERT_TRUE(lapic_pending(&m->lapic));
    CU_ASSERT_EQUAL(lapic_ack(&m->lapic), 0x2E);
    CU_ASSERT_EQUAL(lapic_read(&m->lapic, 0x100 + 0x10, 4), 1u << (0x2E - 32));   /* ISR */
    lapic_write(&m->lapic, 0xB0, 4, 0);
    CU_ASSERT_EQUAL(lapic_read(&m->lapic, 0x100 + 0x10, 4), 0);
    ioapic_set_isa_irq(io, 14, 0);
    /* level-triggered pin 9: remote IRR holds a second delivery until EOI */
    ioapic_write(io, 0x00, 4, 0x10 + 2 * 9);
    ioapic_write(io, 0x10, 4, 0x8031);                       /* level, vector 0x31 */
    ioapic_set_irq(io, 9, 1);
    CU_ASSERT_EQUAL(ioapic_read(io, 0x10, 4) & 0x4000, 0x4000);   /* remote IRR */
    CU_ASSERT_EQUAL(lapic_ack(&m->lapic), 0x31);
    CU_ASSERT_FALSE(lapic_pending(&m->lapic));
    lapic_write(&m->lapic, 0xB0, 4, 0);                       /* EOI, line still high */
    CU_ASSERT_TRUE(lapic_pending(&m->lapic));                /* delivered again */
    CU_ASSERT_EQUAL(io->delivered, 3);
    machine_free(m);
}

static void test_lapic_timer_cycles(void)
{
    struct machine *m = new_machine();
    struct lapic *a = &m->lapic;
    lapic_write(a, 0x3E0, 4, 0xB);                 /* divide by 1 */
    lapic_write(a, 0x320, 4, 0x20040);             /* periodic, vector 0x40 */
    lapic_write(a, 0x380, 4, 1000);                /* 1000 ns at 1 GHz */
    CU_ASSERT_EQUAL(lapic_next_event(a), 3800);    /* 3.8 GHz modeled clock */
    lapic_advance(a, 1900);
    CU_ASSERT_EQUAL(lapic_timer_count(a), 500);
    lapic_advance(a, 3800);
    CU_ASSERT_TRUE(lapic_pending(a));
    CU_ASSERT_EQUAL(lapic_next_event(a), 7600);
    lapic_write(a, 0x3E0, 4, 0x3);                 /* divide by 16 */
    CU_ASSERT_EQUAL(lapic_read(a, 0x3E0, 4), 0x3);
    lapic_write(a, 0x80, 4, 0x40);                 /* TPR class 4 holds vector 0x40 */
    CU_ASSERT_FALSE(lapic_pending(a));
    CU_ASSERT_EQUAL(lapic_read(a, 0xA0, 4), 0x40); /* PPR */
    machine_free(m);
}

static void test_small_devices(void)
{
    struct machine *m = new_machine();
    out8(m, 0x70, 0x09);
    CU_ASSERT_EQUAL(in8(m, 0x71), 0x26);            /* year 26, BCD */
    out8(m, 0x70, 0x32);
    CU_ASSERT_EQUAL(in8(m, 0x71), 0x20);            /* century */
    out8(m, 0x70, 0x0B);
    CU_ASSERT_EQUAL(in8(m, 0x71), 0x02);            /* 24 h, BCD */
    out8(m, 0x70, 0x15);
    CU_ASSERT_EQUAL(in8(m, 0x71), 0x80);            /* 640 KiB base memory, low byte */
    out8(m, 0x3D4, 0x0E);
    out8(m, 0x3D5, 0x01);
    out8(m, 0x3D4, 0x0F);
    out8(m, 0x3D5, 0x40);
    CU_ASSERT_EQUAL(vgacrt_cursor(&m->crt), 0x140);
    out8(m, 0x3D4, 0x0E);
    CU_ASSERT_EQUAL(in8(m, 0x3D5), 0x01);
    CU_ASSERT_EQUAL(in8(m, 0x92), 0x02);            /* A20 on */
    CU_ASSERT_EQUAL(in8(m, 0x64), 0x14);            /* empty, system flag, unlocked */
    out8(m, 0x64, 0xAA);
    CU_ASSERT_EQUAL(in8(m, 0x64) & 1, 1);
    CU_ASSERT_EQUAL(in8(m, 0x60), 0x55);            /* self test passed */
    CU_ASSERT_FALSE(m->sysctl.reset_requested);
    out8(m, 0x92, 0x03);
    CU_ASSERT_TRUE(m->sysctl.reset_requested);
    machine_free(m);
}

/* The clock runs on modeled cycles: the second turns at exactly
   CLOCK_CPU_HZ cycles (sim/hw/clock.h), a date from --rtc-now's epoch, the
   year 2106 beyond 32 bits, and a time written under SET restarts there. */
static uint8_t rtc(struct machine *m, uint8_t r, uint64_t cycle)
{
    cmos_advance(&m->cmos, cycle);
    out8(m, 0x70, r);
    return in8(m, 0x71);
}

static void test_rtc_time(void)
{
    struct machine *m = new_machine();
    CU_ASSERT_EQUAL(rtc(m, 0x00, CLOCK_CPU_HZ - 1), 0x00);
    CU_ASSERT_EQUAL(rtc(m, 0x00, CLOCK_CPU_HZ), 0x01);
    CU_ASSERT_EQUAL(rtc(m, 0x02, 61 * CLOCK_CPU_HZ), 0x01);      /* 00:01:01 */
    CU_ASSERT_EQUAL(rtc(m, 0x00, 61 * CLOCK_CPU_HZ), 0x01);
    cmos_reset(&m->cmos, m->ram_size, 4294967296ll);             /* 2106-02-07 06:28:16 */
    CU_ASSERT_EQUAL(rtc(m, 0x32, 0), 0x21);
    CU_ASSERT_EQUAL(rtc(m, 0x09, 0), 0x06);
    CU_ASSERT_EQUAL(rtc(m, 0x08, 0), 0x02);
    CU_ASSERT_EQUAL(rtc(m, 0x07, 0), 0x07);
    CU_ASSERT_EQUAL(rtc(m, 0x04, 0), 0x06);
    CU_ASSERT_EQUAL(rtc(m, 0x06, 0), 0x01);                      /* a Sunday */
    out8(m, 0x70, 0x0B), out8(m, 0x71, 0x82);                    /* SET */
    out8(m, 0x70, 0x04), out8(m, 0x71, 0x07);
    CU_ASSERT_EQUAL(rtc(m, 0x04, 10 * CLOCK_CPU_HZ), 0x07);      /* held */
    CU_ASSERT_EQUAL(rtc(m, 0x00, 10 * CLOCK_CPU_HZ), 0x16);
    out8(m, 0x70, 0x0B), out8(m, 0x71, 0x02);                    /* runs from 07:28:16 */
    CU_ASSERT_EQUAL(cmos_time(&m->cmos), 4294967296ll + 3600);
    CU_ASSERT_EQUAL(rtc(m, 0x00, 12 * CLOCK_CPU_HZ - 1), 0x17);
    CU_ASSERT_EQUAL(rtc(m, 0x00, 12 * CLOCK_CPU_HZ), 0x18);
    out8(m, 0x70, 0x0B), out8(m, 0x71, 0x82);                    /* SET: year 1969 */
    out8(m, 0x70, 0x32), out8(m, 0x71, 0x19);
    out8(m, 0x70, 0x09), out8(m, 0x71, 0x69);
    out8(m, 0x70, 0x0B), out8(m, 0x71, 0x02);
    CU_ASSERT_EQUAL(cmos_time(&m->cmos), 0);                     /* held at 1970 */
    machine_free(m);
}

/* Typed characters become set-1 scancodes as the IBM PC/AT keyboard
   reference gives them (make, break = make | 0x80, Shift 0x2A/0xAA, Ctrl
   0x1D/0x9D), and the 8042 raises IRQ 1 anew for each byte read. */
static void test_kbd_scancodes(void)
{
    static const struct { uint8_t ch; int n; uint8_t sc[4]; } keys[] = {
        { 'a', 2, { 0x1E, 0x9E } },            { 'A', 4, { 0x2A, 0x1E, 0x9E, 0xAA } },
        { '1', 2, { 0x02, 0x82 } },            { '!', 4, { 0x2A, 0x02, 0x82, 0xAA } },
        { '\n', 2, { 0x1C, 0x9C } },           { '\r', 2, { 0x1C, 0x9C } },
        { 0x7F, 2, { 0x0E, 0x8E } },           { '\t', 2, { 0x0F, 0x8F } },
        { 0x1B, 2, { 0x01, 0x81 } },           { ' ', 2, { 0x39, 0xB9 } },
        { 0x03, 4, { 0x1D, 0x2E, 0xAE, 0x9D } }, { '/', 2, { 0x35, 0xB5 } },
        { '~', 4, { 0x2A, 0x29, 0xA9, 0xAA } }, { '|', 4, { 0x2A, 0x2B, 0xAB, 0xAA } },
        { '"', 4, { 0x2A, 0x28, 0xA8, 0xAA } }, { 'z', 2, { 0x2C, 0xAC } },
        { 0x80, 0, { 0 } },                    { 0x00, 0, { 0 } },
    };
    for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++) {
        uint8_t sc[KBD_KEY_MAX] = { 0 };
        int n = kbd_key_scancodes(keys[i].ch, sc);
        CU_ASSERT_EQUAL(n, keys[i].n);
        CU_ASSERT(n != keys[i].n || !memcmp(sc, keys[i].sc, (size_t)n));
    }
    for (int c = 0x20; c < 0x7F; c++) {
        uint8_t sc[KBD_KEY_MAX];
        CU_ASSERT(kbd_key_scancodes((uint8_t)c, sc) > 0);      /* every printable has a key */
    }
    struct machine *m = new_machine();
    out8(m, 0x21, 0xFF);
    CU_ASSERT_TRUE(machine_key_input(m, 'Q'));
    CU_ASSERT_TRUE(machine_key_input(m, 'w'));
    CU_ASSERT_EQUAL(kbc_room(&m->kbc), KBC_QUEUE - 6);
    CU_ASSERT_EQUAL(in8(m, 0x64) & 1, 1);
    CU_ASSERT_EQUAL(in8(m, 0x60), 0x2A);
    CU_ASSERT_EQUAL(in8(m, 0x60), 0x10);
    for (int i = 0; i < 4; i++)
        (void)in8(m, 0x60);
    CU_ASSERT_EQUAL(in8(m, 0x64) & 1, 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_TRUE(machine_key_input(m, 'X'));
    CU_ASSERT_FALSE(machine_key_input(m, 'X'));                /* no room for a whole key */
    machine_free(m);
}

/* Bad images: one line naming the file, exit status 2. */
static void expect_bad_disk(const char *path, const char *text)
{
    char arg[300];
    snprintf(arg, sizeof arg, "%s", path);
    char *argv[] = { (char *)proc_ringside(), "run", "--disk", arg, "samples/bin/hello.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, text));
    const char *nl = strchr(r.err, '\n');
    CU_ASSERT(nl && nl[1] == 0);                    /* exactly one line */
    if (r.status != 2 || !strstr(r.err, text))
        fprintf(stderr, "\n  --disk %s: status %d, stderr %s\n", path, r.status, r.err);
    proc_result_free(&r);
}

static void test_bad_disk_images(void)
{
    expect_bad_disk("/nonexistent/disk.img", "/nonexistent/disk.img");
    expect_bad_disk("/tmp", "directory");
    FILE *f = fopen(IMG, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not sectors", f);
    fclose(f);
    expect_bad_disk(IMG, "not a whole number of 512-byte sectors");
    f = fopen(IMG, "wb");
    fclose(f);
    expect_bad_disk(IMG, "0 bytes");
    write_image(IMG, 1);
    expect_bad_disk(IMG ",index=2", "index must be 0 or 1");
    unlink(IMG);
}

void suite_pc_register(void)
{
    CU_pSuite s = CU_add_suite("pc (IDE, I/O APIC, LAPIC, CMOS, CRT, 0x92, 8042)", NULL, NULL);
    CU_add_test(s, "IDE with no disk reads 0", test_ide_absent);
    CU_add_test(s, "IDE IDENTIFY as QEMU", test_ide_identify);
    CU_add_test(s, "IDE read/write, changes kept in memory", test_ide_kept_in_memory);
    CU_add_test(s, "IDE write through (--disk-write)", test_ide_write_through);
    CU_add_test(s, "I/O APIC: masking, edge, level and EOI", test_ioapic_routing);
    CU_add_test(s, "LAPIC timer in modeled cycles, TPR", test_lapic_timer_cycles);
    CU_add_test(s, "CMOS, CRT cursor, port 0x92, 8042", test_small_devices);
    CU_add_test(s, "bad disk images: status 2, one line", test_bad_disk_images);
    CU_add_test(s, "8042: characters as set-1 scancodes, room for whole keys", test_kbd_scancodes);
    CU_add_test(s, "RTC: seconds on modeled cycles, dates past 2038, SET, 1970 floor",
                test_rtc_time);
}
