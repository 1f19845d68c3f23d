/*
 * cmd_tcdump.c - `ringside tc-dump [run options] KERNEL`: the translation
 * cache after a run under --mode bt, each block's guest code beside the
 * x86 code the translator made of it, both disassembled with Capstone.
 *
 * The kernel runs to its end first (its COM1 output is discarded), then
 * every live block is printed: guest address, size, hits, chain links,
 * the guest instructions, and the TC instructions (IDENT copies, in-TC
 * sequences, exits to gates). This is the page a teacher puts beside
 * Adams & Agesen's figure of a translated block.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "run_vm.h"
#include "machine.h"
#include "vmm/bt/bt.h"

static void discard(void *ctx, uint8_t byte)
{
}

static void disasm(csh h, const char *side, const uint8_t *b, uint32_t n, uint32_t addr)
{
    cs_insn *ins;
    size_t k = cs_disasm(h, b, n, addr, 0, &ins);
    for (size_t i = 0; i < k; i++)
        printf("    %s %08" PRIx64 ":  %-8s %s\n", side, ins[i].address, ins[i].mnemonic,
               ins[i].op_str);
    if (k)
        cs_free(ins, k);
}

static void dump_block(csh h, struct bt *bt, int i)
{
    struct bt_block_info bi;
    static uint8_t g[4096], t[4096];
    if (!bt_block_get(bt, i, &bi))
        return;
    printf("block %d: guest %08x (%u bytes, %d insns) -> TC %08x (%u bytes), %" PRIu64
           " hits, chained to", bi.id, bi.guest_lin, bi.guest_len, bi.ninsns, bi.tc_lin,
           bi.tc_len, bi.hits);
    int chained = 0;
    for (int k = 0; k < bi.nexits && k < BT_INFO_EXITS; k++)
        if (bi.chained_to[k] >= 0)
            printf(" %d", bi.chained_to[k]), chained++;
    printf("%s\n  guest:\n", chained ? "" : " -");
    disasm(h, "g", g, bt_block_guest_bytes(bt, i, g, sizeof g), bi.guest_lin);
    printf("  translation:\n");
    disasm(h, "t", t, bt_block_tc_bytes(bt, i, t, sizeof t), bi.tc_lin);
}

static int dump(struct machine *m)
{
    struct bt *bt = vmm_bt(m->vmm);
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK) {
        fprintf(stderr, "ringside: tc-dump: cannot open Capstone\n");
        return EXIT_INTERNAL;
    }
    const struct bt_counters *n = bt_counters(bt);
    printf("translation cache: %d blocks live; %" PRIu64 " translations, %" PRIu64
           " guest bytes -> %" PRIu64 " TC bytes\n\n", bt_block_count(bt), n->translations,
           n->guest_bytes, n->tc_bytes);
    for (int i = 0; i < bt_block_count(bt); i++)
        dump_block(h, bt, i);
    cs_close(&h);
    return EXIT_OK;
}

int cmd_tcdump(int argc, char **argv)
{
    struct run_options o;
    int rc = options_parse_run(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    struct vm *vm = run_vm_create(&o, MODE_BT);
    if (!vm)
        return EXIT_BAD_INPUT;
    vm->m.out = discard;
    vm_run(vm, o.max_insns ? o.max_insns : 2000000000ull);
    int status = dump(&vm->m);
    vm_destroy(vm);
    return status;
}
