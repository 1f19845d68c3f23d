/*
 * fwcfg.h - QEMU's firmware configuration device (fw_cfg), the I/O-port
 * interface at 0x510 (selector, a 16-bit write) and 0x511 (data, bytes).
 *
 * Firmware and test kernels ask the machine about itself through it:
 * kvm-unit-tests reads its CPU count (key 0x05) before anything else and,
 * with no device there, read 0xFFFF and waited for 65534 processors.
 * ringside answers the keys QEMU's pc machine has that describe this
 * machine (docs/pc.md): the signature "QEMU" (0x00), the interface ID
 * (0x01: 1, the traditional interface; there is no DMA interface), a zero
 * UUID (0x02), the RAM size (0x03, 64-bit), no-graphic 0 (0x04), the CPU
 * count 1 (0x05) and the maximum 1 (0x0F), machine ID 0 (0x06), no NUMA
 * nodes (0x0D), no boot menu (0x0E) and an empty file directory (0x19,
 * a big-endian count of 0). A selected key's bytes are read in order from
 * the data port; past its end, and for any other key (the kernel-loading
 * keys SeaBIOS uses among them), a read gives 0, as QEMU's does for keys
 * it does not have. A byte write is ignored (no writable keys); as in
 * QEMU's combined port, a byte read of 0x510 reads data too.
 */
#ifndef RS_HW_FWCFG_H
#define RS_HW_FWCFG_H

#include <stdint.h>
#include "hw/bus.h"

#define FWCFG_PORT 0x510

struct fwcfg {
    uint16_t key;              /* the selected key */
    uint32_t offset;           /* next byte of it */
    uint32_t ram_size;         /* what key 0x03 reports */
    uint64_t reads;
};

void fwcfg_init(struct fwcfg *f, struct bus *b, uint32_t ram_size);
void fwcfg_reset(struct fwcfg *f);

#endif
