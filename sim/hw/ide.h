/*
 * ide.h - the primary IDE/ATA channel: ports 0x1F0-0x1F7 and 0x3F6, IRQ 14,
 * a master and a slave disk, PIO only.
 *
 * The register interface and the protocols of the ATA/ATAPI-6 standard
 * (T13/1410D): the command block (data, error/features, sector count, LBA
 * low/mid/high, device, status/command), the control block (alternate
 * status / device control with nIEN and SRST), and the PIO data-in
 * (READ SECTORS 0x20/0x21, IDENTIFY DEVICE 0xEC: an interrupt per DRQ
 * block) and data-out (WRITE SECTORS 0x30/0x31: DRQ at once, an interrupt
 * after each sector is written) protocols, with LBA28 and CHS addressing.
 * FLUSH CACHE, SET FEATURES, INITIALIZE DEVICE PARAMETERS, RECALIBRATE and
 * SET MULTIPLE MODE complete without data; any other command is aborted
 * (ERR, error ABRT). The identify data follows QEMU's ide_identify() (model
 * "QEMU HARDDISK", serial "QM0000N", firmware "2.5+", geometry 16 heads, 63
 * sectors), so a kernel prints the same under both.
 *
 * Commands complete at once: the drive has no seek or transfer time, which
 * keeps runs deterministic (the data arrives before the guest could notice).
 * INTRQ is a level held until the status register is read or a new command
 * is written; it reaches the 8259A (an edge there) and the I/O APIC pin 14.
 *
 * Images: a disk is a host file of whole 512-byte sectors read into memory
 * when the machine is built. Writes change that copy only, unless the disk
 * was attached writable (--disk-write): then each written sector is also
 * written to the file. As QEMU, the status of an absent slave reads 0, and
 * with no disk at all the whole channel reads 0.
 */
#ifndef RS_HW_IDE_H
#define RS_HW_IDE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "hw/bus.h"
#include "hw/irq.h"

#define IDE_BASE      0x1F0
#define IDE_CTL_PORT  0x3F6
#define IDE_IRQ       14
#define IDE_SECTOR    512u
#define IDE_MAX_IMAGE (1ull << 31)   /* 2 GiB: LBA28 reaches 128 GiB, memory does not */

struct ide_drive {
    bool present;
    uint8_t *data;                   /* the image, sectors * 512 bytes (owned) */
    uint64_t sectors;
    int fd;                          /* write-through file, -1: changes kept in memory */
    uint16_t cyls, heads, spt;
    uint64_t sectors_read, sectors_written;
};

struct ide {
    struct ide_drive drive[2];       /* master, slave */
    uint8_t error, feature, nsect, sect, lcyl, hcyl, select, status, ctl, cmd;
    uint8_t buf[IDE_SECTOR];         /* the sector being transferred */
    uint32_t pos;                    /* next byte of buf; IDE_SECTOR: no transfer */
    uint32_t left;                   /* sectors still to transfer after buf */
    uint64_t lba;                    /* sector of buf */
    bool writing;                    /* data-out (WRITE SECTORS) */
    bool intrq;                      /* INTRQ asserted */
    uint64_t commands, irqs, io_errors;
    struct irq_line irq;             /* re-wired by the owner after a restore */
};

void ide_init(struct ide *d, struct bus *b, struct irq_line irq);
void ide_reset(struct ide *d);
/* Attach image `path` as drive `index` (0 master, 1 slave). write_through:
   sector writes reach the file. 0, or -1 with one line "PATH: reason"
   (missing, not a regular file, empty, not whole sectors, too large). */
int ide_attach(struct ide *d, int index, const char *path, bool write_through,
               char *err, size_t errlen);
/* Free the images (and close write-through files). */
void ide_free(struct ide *d);

#endif
