/*
 * ide.c - the primary IDE channel, PIO (see ide.h).
 */
#include "hw/ide.h"
#include "hw/hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_ERR  0x01u
#define ST_DRQ  0x08u
#define ST_DSC  0x10u
#define ST_DRDY 0x40u
#define ST_BSY  0x80u
#define ERR_ABRT 0x04u
#define ERR_IDNF 0x10u
#define CTL_NIEN 0x02u
#define CTL_SRST 0x04u
#define DEV_LBA  0x40u

static struct ide_drive *cur(struct ide *d) { return &d->drive[(d->select >> 4) & 1u]; }
static bool any_drive(const struct ide *d) { return d->drive[0].present || d->drive[1].present; }

static void set_intrq(struct ide *d, bool on)
{
    if (on && (d->ctl & CTL_NIEN))
        on = false;
    if (on == d->intrq)
        return;
    d->intrq = on;
    if (on)
        d->irqs++;
    irq_set(d->irq, on ? 1 : 0);
}

/* ---- addressing ---- */

static uint64_t task_lba(const struct ide *d, const struct ide_drive *dr)
{
    if (d->select & DEV_LBA)
        return (uint64_t)(d->select & 0x0Fu) << 24 | (uint32_t)d->hcyl << 16 |
               (uint32_t)d->lcyl << 8 | d->sect;
    uint32_t cyl = (uint32_t)d->hcyl << 8 | d->lcyl, head = d->select & 0x0Fu;
    if (d->sect == 0)
        return UINT64_MAX;
    return ((uint64_t)cyl * dr->heads + head) * dr->spt + d->sect - 1u;
}

/* Write the sector after the last one transferred back into the task file
   (ATA: the registers point at the last sector on completion). */
static void task_set_lba(struct ide *d, const struct ide_drive *dr, uint64_t lba)
{
    if (d->select & DEV_LBA) {
        d->sect = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->select = (uint8_t)((d->select & 0xF0u) | ((lba >> 24) & 0x0Fu));
        return;
    }
    uint32_t cyl = (uint32_t)(lba / ((uint64_t)dr->heads * dr->spt));
    uint32_t rem = (uint32_t)(lba % ((uint64_t)dr->heads * dr->spt));
    d->sect = (uint8_t)(rem % dr->spt + 1);
    d->select = (uint8_t)((d->select & 0xF0u) | (rem / dr->spt));
    d->lcyl = (uint8_t)cyl;
    d->hcyl = (uint8_t)(cyl >> 8);
}

/* ---- completion ---- */

static void cmd_done(struct ide *d)
{
    d->pos = IDE_SECTOR;
    d->status = ST_DRDY | ST_DSC;
    set_intrq(d, true);
}

/* As QEMU's ide_abort_command (samples/ide's golden): DRDY and ERR, DSC
   clear; a transfer out of range is ABRT alone, not IDNF. */
static void cmd_abort(struct ide *d, uint8_t err)
{
    d->pos = IDE_SECTOR;
    d->error = err;
    d->status = ST_DRDY | ST_ERR;
    set_intrq(d, true);
}

/* Data-in: the next sector into buf, DRQ and an interrupt. */
static void load_sector(struct ide *d)
{
    struct ide_drive *dr = cur(d);
    memcpy(d->buf, dr->data + d->lba * IDE_SECTOR, IDE_SECTOR);
    dr->sectors_read++;
    d->pos = 0;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    set_intrq(d, true);
}

static void store_sector(struct ide *d)
{
    struct ide_drive *dr = cur(d);
    memcpy(dr->data + d->lba * IDE_SECTOR, d->buf, IDE_SECTOR);
    dr->sectors_written++;
    if (dr->fd >= 0 && pwrite(dr->fd, d->buf, IDE_SECTOR, (off_t)(d->lba * IDE_SECTOR)) != IDE_SECTOR)
        d->io_errors++;
}

/* ---- IDENTIFY DEVICE (QEMU's ide_identify, hard disk) ---- */

static void put_w(uint8_t *b, int w, uint16_t v)
{
    b[2 * w] = (uint8_t)v;
    b[2 * w + 1] = (uint8_t)(v >> 8);
}

/* ATA strings: two characters a word, the first in the high byte, blank padded. */
static void put_str(uint8_t *b, int w, int words, const char *s)
{
    size_t n = strlen(s);
    for (int i = 0; i < 2 * words; i++)
        b[2 * w + (i ^ 1)] = (uint8_t)((size_t)i < n ? s[i] : ' ');
}

static void identify(struct ide *d, int index)
{
    const struct ide_drive *dr = &d->drive[index];
    uint8_t *b = d->buf;
    char serial[21];
    uint32_t old = (uint32_t)dr->cyls * dr->heads * dr->spt;
    uint32_t lba28 = dr->sectors > 0x0FFFFFFFu ? 0x0FFFFFFFu : (uint32_t)dr->sectors;
    memset(b, 0, IDE_SECTOR);
    snprintf(serial, sizeof serial, "QM%05d", index + 1);
    put_w(b, 0, 0x0040);
    put_w(b, 1, dr->cyls);
    put_w(b, 3, dr->heads);
    put_w(b, 4, (uint16_t)(512u * dr->spt));
    put_w(b, 5, 512);
    put_w(b, 6, dr->spt);
    put_str(b, 10, 10, serial);
    put_w(b, 20, 3);
    put_w(b, 21, 512);
    put_w(b, 22, 4);
    put_str(b, 23, 4, "2.5+");
    put_str(b, 27, 20, "QEMU HARDDISK");
    put_w(b, 47, 0x8000 | 16);
    put_w(b, 48, 1);
    put_w(b, 49, 1u << 11 | 1u << 9 | 1u << 8);
    put_w(b, 51, 0x200);
    put_w(b, 52, 0x200);
    put_w(b, 53, 1 | 1u << 1 | 1u << 2);
    put_w(b, 54, dr->cyls);
    put_w(b, 55, dr->heads);
    put_w(b, 56, dr->spt);
    put_w(b, 57, (uint16_t)old);
    put_w(b, 58, (uint16_t)(old >> 16));
    put_w(b, 60, (uint16_t)lba28);
    put_w(b, 61, (uint16_t)(lba28 >> 16));
}

/* ---- commands ---- */

static void start_transfer(struct ide *d, bool write)
{
    struct ide_drive *dr = cur(d);
    uint32_t count = d->nsect ? d->nsect : 256u;
    uint64_t lba = task_lba(d, dr);
    if (lba == UINT64_MAX || lba + count > dr->sectors) {
        cmd_abort(d, ERR_ABRT);
        return;
    }
    d->lba = lba;
    d->left = count - 1;
    d->writing = write;
    if (write) {
        d->pos = 0;
        d->status = ST_DRDY | ST_DSC | ST_DRQ;   /* no interrupt before the first block */
    } else {
        load_sector(d);
    }
}

static void command(struct ide *d, uint8_t cmd)
{
    struct ide_drive *dr = cur(d);
    d->cmd = cmd;
    d->commands++;
    set_intrq(d, false);
    if (!dr->present)
        return;                                  /* an absent drive ignores it */
    d->error = 0;
    switch (cmd) {
    case 0x20: case 0x21: start_transfer(d, false); break;
    case 0x30: case 0x31: start_transfer(d, true); break;
    case 0xEC:
        identify(d, (d->select >> 4) & 1);
        d->left = 0;
        d->writing = false;
        d->pos = 0;
        d->status = ST_DRDY | ST_DSC | ST_DRQ;
        set_intrq(d, true);
        break;
    case 0xE7: case 0xEA: case 0xEF: case 0x91: case 0xC6: case 0x10:
        cmd_done(d);
        break;
    default:
        cmd_abort(d, ERR_ABRT);
        break;
    }
}

/* One byte of the data register moved; finishes the sector when full. */
static void data_sector_end(struct ide *d)
{
    if (d->writing)
        store_sector(d);
    if (d->left == 0) {
        if (d->cmd != 0xEC)
            task_set_lba(d, cur(d), d->lba);
        d->nsect = 0;
        if (d->writing)
            cmd_done(d);
        else {
            d->pos = IDE_SECTOR;
            d->status = ST_DRDY | ST_DSC;
        }
        return;
    }
    d->left--;
    d->lba++;
    if (d->writing) {
        d->pos = 0;
        set_intrq(d, true);                      /* sector written, next DRQ block */
    } else {
        load_sector(d);
    }
}

static uint32_t data_read(struct ide *d, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        if (d->pos >= IDE_SECTOR || d->writing)
            return v;                            /* no DRQ: QEMU returns what it has */
        v |= (uint32_t)d->buf[d->pos++] << (8 * i);
        if (d->pos == IDE_SECTOR)
            data_sector_end(d);
    }
    return v;
}

static void data_write(struct ide *d, int size, uint32_t v)
{
    for (int i = 0; i < size; i++) {
        if (d->pos >= IDE_SECTOR || !d->writing)
            return;
        d->buf[d->pos++] = (uint8_t)(v >> (8 * i));
        if (d->pos == IDE_SECTOR)
            data_sector_end(d);
    }
}

/* ---- ports ---- */

/* QEMU's rule (hw/ide/core.c): 0 with no disk on the channel or with an
   absent slave selected; an absent master answers with the channel's
   status, so a kernel that waits for DRDY before selecting its slave (xv6)
   goes on. */
static uint8_t status_of(struct ide *d)
{
    if (!any_drive(d) || ((d->select & 0x10u) && !d->drive[1].present))
        return 0;
    return d->status;
}

static uint32_t ide_io_read(void *dev, uint16_t port, int size)
{
    struct ide *d = dev;
    if (port == IDE_BASE)
        return data_read(d, size);
    if (port == IDE_CTL_PORT)
        return status_of(d);
    if (!any_drive(d))
        return 0;
    switch (port - IDE_BASE) {
    case 1: return d->error;
    case 2: return d->nsect;
    case 3: return d->sect;
    case 4: return d->lcyl;
    case 5: return d->hcyl;
    case 6: return d->select;
    default:
        set_intrq(d, false);                     /* reading status acknowledges */
        return status_of(d);
    }
}

static void soft_reset(struct ide *d)
{
    d->status = ST_DRDY | ST_DSC;
    d->error = 1;                                /* diagnostic: no error */
    d->nsect = d->sect = 1;
    d->lcyl = d->hcyl = 0;
    d->select = 0xA0;
    d->pos = IDE_SECTOR;
    set_intrq(d, false);
}

static void ide_io_write(void *dev, uint16_t port, int size, uint32_t v)
{
    struct ide *d = dev;
    uint8_t b = (uint8_t)v;
    if (port == IDE_BASE) {
        data_write(d, size, v);
        return;
    }
    if (port == IDE_CTL_PORT) {
        if ((b & CTL_SRST) && !(d->ctl & CTL_SRST))
            soft_reset(d);
        d->ctl = b;
        if (b & CTL_NIEN)
            set_intrq(d, false);
        return;
    }
    switch (port - IDE_BASE) {
    case 1: d->feature = b; break;
    case 2: d->nsect = b; break;
    case 3: d->sect = b; break;
    case 4: d->lcyl = b; break;
    case 5: d->hcyl = b; break;
    case 6: d->select = (uint8_t)(b | 0xA0u); break;
    default: command(d, b); break;
    }
}

/* ---- images ---- */

static void guess_geometry(struct ide_drive *dr)
{
    uint64_t c = dr->sectors / (16 * 63);
    dr->cyls = (uint16_t)(c > 16383 ? 16383 : c < 2 ? 2 : c);
    dr->heads = 16;
    dr->spt = 63;
}

int ide_attach(struct ide *d, int index, const char *path, bool write_through,
               char *err, size_t errlen)
{
    struct ide_drive *dr = &d->drive[index];
    uint8_t *data;
    size_t len;
    if (hostfile_read(path, IDE_MAX_IMAGE, &data, &len, err, errlen) != 0)
        return -1;
    if (len == 0 || len % IDE_SECTOR) {
        free(data);
        snprintf(err, errlen, "%s: not a disk image (%zu bytes: not a whole number of "
                 "512-byte sectors)", path, len);
        return -1;
    }
    int fd = -1;
    if (write_through && (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: cannot open for --disk-write: %s", path, strerror(errno));
        free(data);
        return -1;
    }
    free(dr->data);
    if (dr->fd >= 0)
        close(dr->fd);
    *dr = (struct ide_drive){ .present = true, .data = data, .sectors = len / IDE_SECTOR,
                              .fd = fd };
    guess_geometry(dr);
    return 0;
}

void ide_free(struct ide *d)
{
    for (int i = 0; i < 2; i++) {
        free(d->drive[i].data);
        if (d->drive[i].fd >= 0)
            close(d->drive[i].fd);
        d->drive[i] = (struct ide_drive){ .fd = -1 };
    }
}

void ide_reset(struct ide *d)
{
    d->error = d->feature = d->cmd = d->ctl = 0;
    d->nsect = d->sect = 1;
    d->lcyl = d->hcyl = 0;
    d->select = 0xA0;
    d->status = ST_DRDY | ST_DSC;
    d->pos = IDE_SECTOR;
    d->left = 0;
    d->writing = false;
    d->intrq = false;
    d->commands = d->irqs = d->io_errors = 0;
}

void ide_init(struct ide *d, struct bus *b, struct irq_line irq)
{
    memset(d, 0, sizeof *d);
    d->drive[0].fd = d->drive[1].fd = -1;
    d->irq = irq;
    ide_reset(d);
    bus_map_io_sized(b, IDE_BASE, 1, d, ide_io_read, ide_io_write, 4);
    bus_map_io(b, IDE_BASE + 1, 7, d, ide_io_read, ide_io_write);
    bus_map_io(b, IDE_CTL_PORT, 1, d, ide_io_read, ide_io_write);
}
