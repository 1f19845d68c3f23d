/*
 * snapstate.c - field tables for the CPU, the devices and the statistics.
 *
 * Bounds are the ones the code relies on: a CPL is 0-3, a FIFO index is
 * below the FIFO's size, a PIT mode is 0-5, a PIC init state 0-3.
 */
#include "snapstate.h"

#include "cpu/cpu.h"
#include "hw/debugexit.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/post.h"
#include "hw/uart.h"
#include "hw/lapic.h"
#include "hw/ioapic.h"
#include "hw/ide.h"
#include "hw/vgacrt.h"
#include "hw/cmos.h"
#include "hw/fwcfg.h"
#include "hw/sysctl.h"
#include "hw/kbc.h"
#include "stats.h"

#define N(a) ((int)(sizeof a / sizeof *a))

static const struct snap_field seg_fields[] = {
    SNAPF(struct seg, sel, SF_UINT, 0), SNAPF(struct seg, base, SF_UINT, 0),
    SNAPF(struct seg, limit, SF_UINT, 0), SNAPF(struct seg, flags, SF_UINT, 0xFFFF),
};
static const struct snap_type seg_type = { "segment", seg_fields, N(seg_fields) };

static const struct snap_field dtr_fields[] = {
    SNAPF(struct dtr, base, SF_UINT, 0), SNAPF(struct dtr, limit, SF_UINT, 0),
};
static const struct snap_type dtr_type = { "descriptor table register", dtr_fields, N(dtr_fields) };

static const struct snap_field cpu_fields[] = {
    SNAPF_ARR(struct cpu_state, r, 8, SF_UINT, 0),
    SNAPF(struct cpu_state, eip, SF_UINT, 0),
    SNAPF(struct cpu_state, eflags, SF_UINT, 0),
    SNAPF_SUB(struct cpu_state, seg, S_COUNT, seg_type),
    { offsetof(struct cpu_state, ldtr), 0, SF_SUB, 1, 0, &seg_type, sizeof(struct seg) },
    { offsetof(struct cpu_state, tr), 0, SF_SUB, 1, 0, &seg_type, sizeof(struct seg) },
    { offsetof(struct cpu_state, gdtr), 0, SF_SUB, 1, 0, &dtr_type, sizeof(struct dtr) },
    { offsetof(struct cpu_state, idtr), 0, SF_SUB, 1, 0, &dtr_type, sizeof(struct dtr) },
    SNAPF(struct cpu_state, cr0, SF_UINT, 0), SNAPF(struct cpu_state, cr2, SF_UINT, 0),
    SNAPF(struct cpu_state, cr3, SF_UINT, 0), SNAPF(struct cpu_state, cr4, SF_UINT, 0),
    SNAPF_ARR(struct cpu_state, dr, 8, SF_UINT, 0),
    SNAPF(struct cpu_state, cpl, SF_INT, 3),
    SNAPF(struct cpu_state, halted, SF_BOOL, 0),
    SNAPF(struct cpu_state, tsc_offset, SF_UINT, 0),
    SNAPF(struct cpu_state, sysenter_cs, SF_UINT, 0),
    SNAPF(struct cpu_state, sysenter_esp, SF_UINT, 0),
    SNAPF(struct cpu_state, sysenter_eip, SF_UINT, 0),
    SNAPF(struct cpu_state, inhibit_irq, SF_UINT, 1),
};
const struct snap_type snap_cpu_state_type = { "CPU", cpu_fields, N(cpu_fields) };

static const struct snap_field counter_fields[] = {
    SNAPF(struct snap_cpu_counters, cycles, SF_UINT, 0),
    SNAPF(struct snap_cpu_counters, insns, SF_UINT, 0),
    SNAPF(struct snap_cpu_counters, tc_extra_insns, SF_UINT, 0),
    SNAPF(struct snap_cpu_counters, tc_extra_cycles, SF_UINT, 0),
    SNAPF(struct snap_cpu_counters, lf_none, SF_UINT, 0),
};
const struct snap_type snap_cpu_counters_type = { "CPU counters", counter_fields,
                                                  N(counter_fields) };

static const struct snap_field pic_chip_fields[] = {
    SNAPF(struct pic_chip, irr, SF_UINT, 0), SNAPF(struct pic_chip, isr, SF_UINT, 0),
    SNAPF(struct pic_chip, imr, SF_UINT, 0), SNAPF(struct pic_chip, line, SF_UINT, 0),
    SNAPF(struct pic_chip, vector_base, SF_UINT, 0),
    SNAPF(struct pic_chip, priority_add, SF_UINT, 8),
    SNAPF(struct pic_chip, init_state, SF_UINT, 3),
    SNAPF(struct pic_chip, need_icw4, SF_BOOL, 0), SNAPF(struct pic_chip, single, SF_BOOL, 0),
    SNAPF(struct pic_chip, level_mode, SF_BOOL, 0), SNAPF(struct pic_chip, auto_eoi, SF_BOOL, 0),
    SNAPF(struct pic_chip, rotate_aeoi, SF_BOOL, 0), SNAPF(struct pic_chip, sfnm, SF_BOOL, 0),
    SNAPF(struct pic_chip, special_mask, SF_BOOL, 0), SNAPF(struct pic_chip, read_isr, SF_BOOL, 0),
    SNAPF(struct pic_chip, poll, SF_BOOL, 0),
};
static const struct snap_type pic_chip_type = { "PIC chip", pic_chip_fields, N(pic_chip_fields) };

static const struct snap_field pic_fields[] = {
    SNAPF_SUB(struct pic, chip, 2, pic_chip_type),
    SNAPF(struct pic, spurious, SF_UINT, 0),
};
const struct snap_type snap_pic_type = { "PIC", pic_fields, N(pic_fields) };

static const struct snap_field pit_chan_fields[] = {
    SNAPF(struct pit_channel, load_tick, SF_UINT, 0),
    SNAPF(struct pit_channel, next_edge, SF_UINT, 0),
    SNAPF(struct pit_channel, reload, SF_UINT, 65536),
    SNAPF(struct pit_channel, mode, SF_UINT, 5), SNAPF(struct pit_channel, rw, SF_UINT, 3),
    SNAPF(struct pit_channel, bcd, SF_BOOL, 0), SNAPF(struct pit_channel, counting, SF_BOOL, 0),
    SNAPF(struct pit_channel, gate, SF_BOOL, 0), SNAPF(struct pit_channel, read_msb, SF_BOOL, 0),
    SNAPF(struct pit_channel, write_msb, SF_BOOL, 0),
    SNAPF(struct pit_channel, write_lsb, SF_UINT, 0),
    SNAPF(struct pit_channel, latch_left, SF_UINT, 2),
    SNAPF(struct pit_channel, latch, SF_UINT, 0),
    SNAPF(struct pit_channel, status_latched, SF_BOOL, 0),
    SNAPF(struct pit_channel, status, SF_UINT, 0),
};
static const struct snap_type pit_chan_type = { "PIT channel", pit_chan_fields,
                                                N(pit_chan_fields) };

static const struct snap_field pit_fields[] = {
    SNAPF_SUB(struct pit, ch, 3, pit_chan_type),
    SNAPF(struct pit, now, SF_UINT, 0),
    SNAPF(struct pit, irq0_edges, SF_UINT, 0),
};
const struct snap_type snap_pit_type = { "PIT", pit_fields, N(pit_fields) };

static const struct snap_field uart_fields[] = {
    SNAPF(struct uart, base, SF_UINT, 0),
    SNAPF_ARR(struct uart, rx, UART_FIFO_SIZE, SF_UINT, 0),
    SNAPF(struct uart, rx_head, SF_UINT, UART_FIFO_SIZE - 1),
    SNAPF(struct uart, rx_count, SF_UINT, UART_FIFO_SIZE),
    SNAPF(struct uart, ier, SF_UINT, 0), SNAPF(struct uart, fcr, SF_UINT, 0),
    SNAPF(struct uart, lcr, SF_UINT, 0), SNAPF(struct uart, mcr, SF_UINT, 0),
    SNAPF(struct uart, lsr_err, SF_UINT, 0), SNAPF(struct uart, msr_delta, SF_UINT, 0),
    SNAPF(struct uart, scr, SF_UINT, 0), SNAPF(struct uart, divisor, SF_UINT, 0),
    SNAPF(struct uart, thr_ipending, SF_BOOL, 0),
    SNAPF(struct uart, tx_bytes, SF_UINT, 0), SNAPF(struct uart, rx_overruns, SF_UINT, 0),
};
const struct snap_type snap_uart_type = { "UART", uart_fields, N(uart_fields) };

static const struct snap_field dbg_fields[] = {
    SNAPF(struct debugexit, base, SF_UINT, 0), SNAPF(struct debugexit, size, SF_UINT, 0),
    SNAPF(struct debugexit, exited, SF_BOOL, 0), SNAPF(struct debugexit, value, SF_UINT, 0),
    SNAPF(struct debugexit, code, SF_UINT, 0),
};
const struct snap_type snap_debugexit_type = { "debug-exit", dbg_fields, N(dbg_fields) };

static const struct snap_field post_fields[] = {
    SNAPF(struct post, last, SF_UINT, 0), SNAPF(struct post, writes, SF_UINT, 0),
};
const struct snap_type snap_post_type = { "POST port", post_fields, N(post_fields) };

/* ---- the PC's further devices; indices bounded where the code indexes ---- */

static const struct snap_field lapic_fields[] = {
    SNAPF(struct lapic, id, SF_UINT, 0), SNAPF(struct lapic, tpr, SF_UINT, 0),
    SNAPF(struct lapic, ldr, SF_UINT, 0), SNAPF(struct lapic, dfr, SF_UINT, 0),
    SNAPF(struct lapic, svr, SF_UINT, 0), SNAPF(struct lapic, esr, SF_UINT, 0),
    SNAPF(struct lapic, icr_lo, SF_UINT, 0), SNAPF(struct lapic, icr_hi, SF_UINT, 0),
    SNAPF_ARR(struct lapic, lvt, LAPIC_NLVT, SF_UINT, 0),
    SNAPF(struct lapic, tdcr, SF_UINT, 0), SNAPF(struct lapic, ticr, SF_UINT, 0),
    SNAPF_ARR(struct lapic, irr, 8, SF_UINT, 0), SNAPF_ARR(struct lapic, isr, 8, SF_UINT, 0),
    SNAPF_ARR(struct lapic, tmr, 8, SF_UINT, 0),
    SNAPF(struct lapic, timer_start, SF_UINT, 0), SNAPF(struct lapic, next_fire, SF_UINT, 0),
    SNAPF(struct lapic, now, SF_UINT, 0), SNAPF(struct lapic, timer_fires, SF_UINT, 0),
    SNAPF(struct lapic, ipis_self, SF_UINT, 0), SNAPF(struct lapic, ipis_absent, SF_UINT, 0),
    SNAPF(struct lapic, eois, SF_UINT, 0), SNAPF(struct lapic, accepted, SF_UINT, 0),
};
const struct snap_type snap_lapic_type = { "local APIC", lapic_fields, N(lapic_fields) };

static const struct snap_field ioapic_fields[] = {
    SNAPF(struct ioapic, sel, SF_UINT, 0xFF), SNAPF(struct ioapic, id, SF_UINT, 0),
    SNAPF_ARR(struct ioapic, redir, IOAPIC_PINS, SF_UINT, 0),
    SNAPF(struct ioapic, level, SF_UINT, 0xFFFFFF),
    SNAPF(struct ioapic, delivered, SF_UINT, 0), SNAPF(struct ioapic, lost, SF_UINT, 0),
};
const struct snap_type snap_ioapic_type = { "I/O APIC", ioapic_fields, N(ioapic_fields) };

/* The task file and the transfer in progress; the images are chunks of their
   own (DSK0, DSK1) and snapshot.c checks the transfer against them. */
static const struct snap_field ide_fields[] = {
    SNAPF(struct ide, error, SF_UINT, 0), SNAPF(struct ide, feature, SF_UINT, 0),
    SNAPF(struct ide, nsect, SF_UINT, 0), SNAPF(struct ide, sect, SF_UINT, 0),
    SNAPF(struct ide, lcyl, SF_UINT, 0), SNAPF(struct ide, hcyl, SF_UINT, 0),
    SNAPF(struct ide, select, SF_UINT, 0), SNAPF(struct ide, status, SF_UINT, 0),
    SNAPF(struct ide, ctl, SF_UINT, 0), SNAPF(struct ide, cmd, SF_UINT, 0),
    SNAPF_ARR(struct ide, buf, IDE_SECTOR, SF_UINT, 0),
    SNAPF(struct ide, pos, SF_UINT, IDE_SECTOR), SNAPF(struct ide, left, SF_UINT, 256),
    SNAPF(struct ide, lba, SF_UINT, 0), SNAPF(struct ide, writing, SF_BOOL, 0),
    SNAPF(struct ide, intrq, SF_BOOL, 0), SNAPF(struct ide, commands, SF_UINT, 0),
    SNAPF(struct ide, irqs, SF_UINT, 0), SNAPF(struct ide, io_errors, SF_UINT, 0),
};
const struct snap_type snap_ide_type = { "IDE", ide_fields, N(ide_fields) };

static const struct snap_field vgacrt_fields[] = {
    SNAPF(struct vgacrt, index, SF_UINT, 0), SNAPF_ARR(struct vgacrt, reg, VGACRT_NREGS, SF_UINT, 0),
    SNAPF(struct vgacrt, writes, SF_UINT, 0),
};
const struct snap_type snap_vgacrt_type = { "CRT controller", vgacrt_fields, N(vgacrt_fields) };

static const struct snap_field cmos_fields[] = {
    SNAPF(struct cmos, index, SF_UINT, 0), SNAPF_ARR(struct cmos, ram, 128, SF_UINT, 0),
    SNAPF(struct cmos, reads, SF_UINT, 0), SNAPF(struct cmos, writes, SF_UINT, 0),
};
const struct snap_type snap_cmos_type = { "CMOS", cmos_fields, N(cmos_fields) };

static const struct snap_field rtc_fields[] = {
    SNAPF(struct cmos, epoch, SF_INT, CMOS_LAST_EPOCH), SNAPF(struct cmos, epoch_cycle, SF_UINT, 0),
};
const struct snap_type snap_rtc_type = { "RTC", rtc_fields, N(rtc_fields) };

static const struct snap_field fwcfg_fields[] = {
    SNAPF(struct fwcfg, key, SF_UINT, 0), SNAPF(struct fwcfg, offset, SF_UINT, 0),
    SNAPF(struct fwcfg, reads, SF_UINT, 0),
};
const struct snap_type snap_fwcfg_type = { "fw_cfg", fwcfg_fields, N(fwcfg_fields) };

static const struct snap_field sysctl_fields[] = {
    SNAPF(struct sysctl, value, SF_UINT, 0), SNAPF(struct sysctl, reset_requested, SF_BOOL, 0),
};
const struct snap_type snap_sysctl_type = { "port 0x92", sysctl_fields, N(sysctl_fields) };

static const struct snap_field kbc_fields[] = {
    SNAPF_ARR(struct kbc, queue, KBC_QUEUE, SF_UINT, 0),
    SNAPF(struct kbc, head, SF_UINT, KBC_QUEUE - 1), SNAPF(struct kbc, count, SF_UINT, KBC_QUEUE),
    SNAPF(struct kbc, cmd_byte, SF_UINT, 0), SNAPF(struct kbc, pending, SF_UINT, 0),
    SNAPF(struct kbc, reset_requested, SF_BOOL, 0), SNAPF(struct kbc, bytes_out, SF_UINT, 0),
};
const struct snap_type snap_kbc_type = { "8042", kbc_fields, N(kbc_fields) };

static const struct snap_field msr_fields[] = {
    SNAPF(struct snap_pc_msrs, apic_base, SF_UINT, 0),
    SNAPF(struct snap_pc_msrs, misc_enable, SF_UINT, 0),
};
const struct snap_type snap_pc_msrs_type = { "IA32_APIC_BASE and IA32_MISC_ENABLE", msr_fields,
                                             N(msr_fields) };

static const struct snap_field stats_fields[] = {
    SNAPF_ARR(struct stats, by_kind, EV_KIND_COUNT, SF_UINT, 0),
    SNAPF_ARR(struct stats, exceptions, 32, SF_UINT, 0),
    SNAPF_ARR(struct stats, interrupts, 256, SF_UINT, 0),
    SNAPF_ARR(struct stats, soft_ints, 256, SF_UINT, 0),
    { offsetof(struct stats, ring_edges), 8, SF_UINT, 16, 0, NULL, 0 },   /* [4][4] */
    SNAPF(struct stats, io_reads, SF_UINT, 0), SNAPF(struct stats, io_writes, SF_UINT, 0),
    SNAPF(struct stats, io_unmapped, SF_UINT, 0),
    SNAPF_ARR(struct stats, path_insns, PATH_COUNT, SF_UINT, 0),
    SNAPF_ARR(struct stats, traps_by_row, STATS_ROWS, SF_UINT, 0),
    SNAPF_ARR(struct stats, sensitive_by_row, STATS_ROWS, SF_UINT, 0),
    SNAPF_ARR(struct stats, callouts_by_row, STATS_ROWS, SF_UINT, 0),
    SNAPF_ARR(struct stats, reflected, 256, SF_UINT, 0),
    SNAPF(struct stats, world_switches, SF_UINT, 0),
    SNAPF(struct stats, overhead_cycles, SF_UINT, 0),
    SNAPF_ARR(struct stats, overhead_by_cause, OV_COUNT, SF_UINT, 0),
    SNAPF_ARR(struct stats, charges_by_cause, OV_COUNT, SF_UINT, 0),
    SNAPF(struct stats, tc_emulated, SF_UINT, 0),
    SNAPF(struct stats, pf_hidden, SF_UINT, 0), SNAPF(struct stats, pf_true, SF_UINT, 0),
    SNAPF(struct stats, trace_faults, SF_UINT, 0), SNAPF(struct stats, trace_unchanged, SF_UINT, 0),
    SNAPF(struct stats, shadow_invalidated, SF_UINT, 0),
    SNAPF(struct stats, guest_accessed_set, SF_UINT, 0),
    SNAPF(struct stats, guest_dirty_set, SF_UINT, 0),
    SNAPF(struct stats, root_switches, SF_UINT, 0), SNAPF(struct stats, root_builds, SF_UINT, 0),
    SNAPF(struct stats, root_evictions, SF_UINT, 0),
    SNAPF_ARR(struct stats, vmexits, 64, SF_UINT, 0),
    SNAPF(struct stats, vmexits_total, SF_UINT, 0),
    SNAPF(struct stats, injections, SF_UINT, 0), SNAPF(struct stats, reinjections, SF_UINT, 0),
    SNAPF_ARR(struct stats, injected, 256, SF_UINT, 0),
};
const struct snap_type snap_stats_type = { "statistics", stats_fields, N(stats_fields) };
