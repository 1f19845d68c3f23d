/*
 * ops.h - the handlers of the integer core, one per instruction family,
 * named by the opcode table (optable.c). The system-instruction handlers
 * live in ops_system.h. Every handler has the signature of op_fn: it runs
 * with cpu->s.eip already at the next instruction, does its memory accesses
 * before its register writes, and raises guest faults with cpu_raise().
 */
#ifndef RS_OPS_H
#define RS_OPS_H

#include "exec_internal.h"

#define OP(name) void name(struct cpu *cpu, const struct insn *in)

/* ops_alu.c: arithmetic, logic, shifts, multiply/divide, bits, BCD */
OP(op_add); OP(op_or); OP(op_adc); OP(op_sbb); OP(op_and); OP(op_sub);
OP(op_xor); OP(op_cmp); OP(op_test);
OP(op_inc); OP(op_dec); OP(op_neg); OP(op_not);
OP(op_rol); OP(op_ror); OP(op_rcl); OP(op_rcr); OP(op_shl); OP(op_shr);
OP(op_sar); OP(op_shld); OP(op_shrd);
OP(op_mul); OP(op_imul1); OP(op_imul2); OP(op_imul3); OP(op_div); OP(op_idiv);
OP(op_bt); OP(op_bts); OP(op_btr); OP(op_btc); OP(op_bsf); OP(op_bsr);
OP(op_daa); OP(op_das); OP(op_aaa); OP(op_aas); OP(op_aam); OP(op_aad);

/* ops_data.c: moves, exchanges, stack, conversions */
OP(op_mov); OP(op_movzx); OP(op_movsx); OP(op_lea); OP(op_xchg); OP(op_xadd);
OP(op_cmpxchg); OP(op_cmpxchg8b); OP(op_bswap);
OP(op_push); OP(op_pop); OP(op_pusha); OP(op_popa); OP(op_enter); OP(op_leave);
OP(op_cbw); OP(op_cwd); OP(op_lahf); OP(op_sahf); OP(op_setcc); OP(op_cmovcc);
OP(op_xlat);

/* ops_ctrl.c: near control transfers */
OP(op_jmp); OP(op_jcc); OP(op_call); OP(op_ret); OP(op_loop); OP(op_loope);
OP(op_loopne); OP(op_jecxz); OP(op_bound);

/* ops_string.c: string instructions with REP prefixes */
OP(op_movs); OP(op_stos); OP(op_lods); OP(op_scas); OP(op_cmps); OP(op_ins);
OP(op_outs);

/* ops_misc.c: flags, CPUID, RDTSC, NOPs, invalid and FPU forms */
OP(op_nop); OP(op_cpuid); OP(op_rdtsc); OP(op_ud); OP(op_vmcall); OP(op_fpu); OP(op_wait);
OP(op_clc); OP(op_stc); OP(op_cmc); OP(op_cld); OP(op_std);

#undef OP
#endif
