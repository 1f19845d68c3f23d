/*
 * ide.c - a disk on the primary IDE channel, programmed as a driver would.
 *
 * The PC's first hard disk answers at ports 0x1F0-0x1F7 (the ATA command
 * block) and 0x3F6 (device control), and raises IRQ 14 (ATA/ATAPI-6,
 * "PIO data-in / data-out" protocols). This kernel runs the ring of
 * commands an operating system's driver uses (xv6's ide.c, for one), on a
 * blank 64 KiB image given as the master disk:
 *
 *  1. IDENTIFY DEVICE: model, serial number, firmware, the capacity in
 *     sectors (LBA28) and the geometry the device reports;
 *  2. WRITE SECTORS of a pattern to sectors 1-4 in one command, polled
 *     (interrupts off with nIEN), then READ SECTORS of them back: the bytes
 *     and a checksum;
 *  3. the same READ with interrupts on: the drive raises IRQ 14 per sector
 *     through the slave 8259, and the status read acknowledges it;
 *  4. reading past the end of the disk: the error bit and the error
 *     register (QEMU answers "aborted command");
 *  5. a CHS read of sector 2 (cylinder 0, head 0, sector 3);
 *  6. software reset (SRST) and the signature it leaves in the registers.
 *
 * The image's writes stay in memory (ringside without --disk-write, QEMU
 * with snapshot=on), so every run starts from the same blank disk.
 */
#include "kernel.h"

#define ATA_DATA    0x1F0
#define ATA_ERROR   0x1F1
#define ATA_COUNT   0x1F2
#define ATA_LBA0    0x1F3
#define ATA_LBA1    0x1F4
#define ATA_LBA2    0x1F5
#define ATA_DRIVE   0x1F6
#define ATA_CMD     0x1F7     /* reads as STATUS */
#define ATA_CTRL    0x3F6     /* reads as ALTERNATE STATUS */

#define ST_BSY 0x80
#define ST_DRDY 0x40
#define ST_DRQ 0x08
#define ST_ERR 0x01

#define CTRL_NIEN 0x02
#define CTRL_SRST 0x04

static volatile unsigned irqs;

/* Status once BSY is clear (bounded: a missing drive must not hang us). */
static uint8_t ata_wait(void)
{
    uint8_t st = 0;
    for (int i = 0; i < 100000; i++) {
        st = inb(ATA_CMD);
        if (!(st & ST_BSY))
            break;
    }
    return st;
}

static void ata_lba(uint32_t lba, uint8_t count)
{
    outb(ATA_DRIVE, (uint8_t)(0xE0 | ((lba >> 24) & 0x0F)));   /* master, LBA */
    outb(ATA_COUNT, count);
    outb(ATA_LBA0, (uint8_t)lba);
    outb(ATA_LBA1, (uint8_t)(lba >> 8));
    outb(ATA_LBA2, (uint8_t)(lba >> 16));
}

static void read_words(uint16_t *buf, int n)
{
    for (int i = 0; i < n; i++)
        buf[i] = inw(ATA_DATA);
}

/* The model/serial/firmware strings: byte-swapped words, trailing blanks. */
static void id_string(const uint16_t *id, int first, int words, char *out)
{
    int n = 0;
    for (int i = 0; i < words; i++) {
        out[n++] = (char)(id[first + i] >> 8);
        out[n++] = (char)(id[first + i] & 0xFF);
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
}

static void identify(void)
{
    static uint16_t id[256];
    char model[41], serial[21], fw[9];
    outb(ATA_DRIVE, 0xA0);
    outb(ATA_CMD, 0xEC);
    uint8_t st = ata_wait();
    read_words(id, 256);
    id_string(id, 27, 20, model);
    id_string(id, 10, 10, serial);
    id_string(id, 23, 4, fw);
    kprintf("1. IDENTIFY: status 0x%02x, model '%s', serial '%s', firmware '%s'\n", st, model,
            serial, fw);
    kprintf("   LBA28 sectors %u, geometry %u cylinders x %u heads x %u sectors, "
            "capabilities 0x%04x\n", (unsigned)id[60] | (unsigned)id[61] << 16, id[1], id[3],
            id[6], id[49]);
}

static uint8_t pattern(unsigned sector, unsigned i)
{
    return (uint8_t)(sector * 37u + i * 7u + (i >> 8));
}

static uint32_t checksum(const uint8_t *p, unsigned n)
{
    uint32_t s = 0;
    for (unsigned i = 0; i < n; i++)
        s = s * 31u + p[i];
    return s;
}

static void write_and_read(void)
{
    static uint8_t buf[4 * 512];
    ata_lba(1, 4);
    outb(ATA_CMD, 0x30);                        /* WRITE SECTORS */
    for (unsigned s = 0; s < 4; s++) {
        uint8_t st = ata_wait();
        if (!(st & ST_DRQ)) {
            kprintf("2. WRITE: no DRQ for sector %u (status 0x%02x)\n", s + 1, st);
            return;
        }
        for (unsigned i = 0; i < 512; i += 2)
            outw(ATA_DATA, (uint16_t)(pattern(s + 1, i) | pattern(s + 1, i + 1) << 8));
    }
    uint8_t wst = ata_wait();
    ata_lba(1, 4);
    outb(ATA_CMD, 0x20);                        /* READ SECTORS */
    for (unsigned s = 0; s < 4; s++) {
        ata_wait();
        read_words((uint16_t *)(buf + s * 512), 256);
    }
    unsigned bad = 0;
    for (unsigned s = 0; s < 4; s++)
        for (unsigned i = 0; i < 512; i++)
            bad += buf[s * 512 + i] != pattern(s + 1, i);
    kprintf("2. WRITE SECTORS 1-4, status after 0x%02x; READ back: %u bytes differ, "
            "checksum 0x%08x, sector 3 starts %02x %02x %02x %02x\n", wst, bad,
            checksum(buf, sizeof buf), buf[1024], buf[1025], buf[1026], buf[1027]);
}

static void on_ide(struct trap_frame *tf)
{
    (void)tf;
    irqs++;
    pic_eoi(14);
}

static void read_with_irqs(void)
{
    static uint8_t buf[2 * 512];
    trap_set_handler(IRQ_BASE + 14, on_ide);
    pic_unmask(2);
    pic_unmask(14);
    outb(ATA_CTRL, 0);                          /* nIEN off: interrupts on */
    __asm__ volatile("sti");
    ata_lba(3, 2);
    outb(ATA_CMD, 0x20);
    for (unsigned s = 0; s < 2; s++) {
        while (irqs <= s)
            __asm__ volatile("hlt");
        uint8_t st = inb(ATA_CMD);              /* acknowledges the interrupt */
        if (!(st & ST_DRQ))
            kprintf("3. no DRQ after IRQ %u (status 0x%02x)\n", s, st);
        read_words((uint16_t *)(buf + s * 512), 256);
    }
    __asm__ volatile("cli");
    outb(ATA_CTRL, CTRL_NIEN);
    kprintf("3. READ SECTORS 3-4 by interrupt: %u IRQ 14s, checksum 0x%08x\n", irqs,
            checksum(buf, sizeof buf));
}

static void read_past_end(uint32_t sectors)
{
    ata_lba(sectors, 1);
    outb(ATA_CMD, 0x20);
    uint8_t st = ata_wait();
    kprintf("4. READ sector %u (past the end): status 0x%02x (ERR %s), error 0x%02x\n", sectors,
            st, st & ST_ERR ? "set" : "clear", inb(ATA_ERROR));
}

static void read_chs(void)
{
    static uint8_t buf[512];
    outb(ATA_DRIVE, 0xA0);                      /* master, CHS, head 0 */
    outb(ATA_COUNT, 1);
    outb(ATA_LBA0, 3);                          /* sector number (1-based) */
    outb(ATA_LBA1, 0);                          /* cylinder low */
    outb(ATA_LBA2, 0);                          /* cylinder high */
    outb(ATA_CMD, 0x20);
    uint8_t st = ata_wait();
    read_words((uint16_t *)buf, 256);
    unsigned bad = 0;
    for (unsigned i = 0; i < 512; i++)
        bad += buf[i] != pattern(2, i);
    kprintf("5. CHS read of C/H/S 0/0/3: status 0x%02x, %u bytes differ from LBA sector 2\n",
            st, bad);
}

static void soft_reset(void)
{
    outb(ATA_CTRL, CTRL_SRST | CTRL_NIEN);
    outb(ATA_CTRL, CTRL_NIEN);
    uint8_t st = ata_wait();
    kprintf("6. SRST: status 0x%02x, count %u, sector %u, cylinder 0x%02x%02x, "
            "drive 0x%02x\n", st, inb(ATA_COUNT), inb(ATA_LBA0), inb(ATA_LBA2), inb(ATA_LBA1),
            inb(ATA_DRIVE));
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    (void)magic, (void)mbi;
    con_init();
    desc_init();
    pic_remap();
    kprintf("ide: the primary channel's master disk (a blank 64 KiB image)\n");
    outb(ATA_CTRL, CTRL_NIEN);
    outb(ATA_DRIVE, 0xB0);                      /* the slave: no drive there */
    uint8_t slave = inb(ATA_CMD);
    outb(ATA_DRIVE, 0xA0);                      /* the master */
    uint8_t st = ata_wait();
    kprintf("0. status with the absent slave selected 0x%02x; the master 0x%02x (DRDY %s)\n",
            slave, st, st & ST_DRDY ? "set" : "clear");
    identify();
    write_and_read();
    read_with_irqs();
    read_past_end(128);
    read_chs();
    soft_reset();
    kprintf("done\n");
    return EXIT_OK;
}
