/*
 * alu_ref.h - the host CPU as the reference for ringside's integer core.
 *
 * alu_ref_run() executes real instruction bytes on the host processor
 * (x86-64, where the 8/16/32-bit register forms and string instructions
 * behave as in 32-bit mode) with given registers, EFLAGS and a 256-byte
 * memory window at the fixed address REF_MEM_BASE, and returns the state
 * afterwards. test_alu.c runs the same bytes on the simulated CPU and
 * compares. The BCD instructions do not exist in 64-bit mode; their golden
 * values come from QEMU (see alu_ref_bcd_golden and the generator kernel
 * at the end of alu_ref.c).
 */
#ifndef RS_ALU_REF_H
#define RS_ALU_REF_H

#include <stdint.h>

#define REF_MEM_BASE 0x00100000u
#define REF_MEM_SIZE 256u

struct ref_state {
    uint32_t r[8];              /* EAX..EDI (ESP is not loaded on the host) */
    uint32_t flags;             /* EFLAGS in and out (arithmetic + DF) */
    uint8_t mem[REF_MEM_SIZE];  /* contents at REF_MEM_BASE */
};

/* Run `len` bytes of one instruction; returns -1, or the exception vector
   the host raised (0 #DE, 6 #UD, 13 #GP). -2 if the host cannot run code
   (no executable memory or the fixed window is unavailable). */
int alu_ref_run(const uint8_t *code, int len, struct ref_state *st);

/* QEMU's BCD results: FNV-1a hashes of 256-input groups (see alu_ref.c). */
struct bcd_golden {
    uint8_t op;        /* 0x27 DAA, 0x2F DAS, 0x37 AAA, 0x3F AAS, 0xD4 AAM, 0xD5 AAD */
    uint8_t ah;        /* AH input */
    uint8_t flags;     /* CF (bit 0) / AF (bit 4) input */
    uint8_t imm;       /* AAM/AAD base */
};
extern const struct bcd_golden alu_ref_bcd_golden[];
/* QEMU's FNV-1a hash per group over (AX | defined flags << 16), AL = 0..255 */
extern const uint32_t alu_ref_bcd_hash[];
extern const unsigned alu_ref_bcd_golden_len;
/* The same hash step, for the test to hash the simulator's results. */
uint32_t alu_ref_fnv1a(uint32_t h, uint32_t v);
/* Flags the SDM defines for each BCD opcode (the rest are masked). */
uint32_t alu_ref_bcd_mask(uint8_t op);

#endif
