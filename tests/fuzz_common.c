/*
 * fuzz_common.c - shared parts of the differential fuzzers (fuzz_common.h).
 */
#include <capstone/capstone.h>
#include <stdlib.h>
#include "fuzz_common.h"

struct machine *fuzz_machine_new(enum machine_mode mode, uint32_t mem_mib)
{
    char err[128];
    struct machine *m = calloc(1, sizeof *m);
    if (m && machine_init_mode(m, mem_mib, mode, err, sizeof err) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

void fuzz_machine_free(struct machine *m)
{
    if (m) {
        machine_free(m);
        free(m);
    }
}

uint32_t fuzz_guest_eflags(struct machine *m)
{
    uint32_t fl = cpu_get_eflags(&m->cpu);
    if (!m->vmm)
        return fl;
    const struct vcpu *vc = vmm_vcpu(m->vmm);
    return (fl & ~(FL_IF | FL_IOPL)) | (vcpu_if(vc) ? FL_IF : 0) | vc->iopl << 12;
}

void fuzz_disasm(FILE *f, const uint8_t *b, size_t n, uint32_t addr, bool one_line,
                 const char *indent)
{
    csh h;
    cs_insn *ins;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK)
        return;
    size_t k = cs_disasm(h, b, n, addr, 0, &ins);
    size_t done = 0;
    for (size_t i = 0; i < k; i++) {
        if (one_line) {
            fprintf(f, " %s %s;", ins[i].mnemonic, ins[i].op_str);
        } else {
            fprintf(f, "%s%08x: ", indent, (unsigned)ins[i].address);
            for (int j = 0; j < 10; j++)
                fprintf(f, j < ins[i].size ? "%02x" : "  ", ins[i].bytes[j < ins[i].size ? j : 0]);
            fprintf(f, "  %s %s\n", ins[i].mnemonic, ins[i].op_str);
        }
        done += ins[i].size;
    }
    if (done < n) {
        if (one_line)
            fprintf(f, " .byte");
        else
            fprintf(f, "%s%08x: .byte", indent, addr + (uint32_t)done);
        for (size_t i = done; i < n; i++)
            fprintf(f, " %02x", b[i]);
        fprintf(f, one_line ? " (not decoded by Capstone);" : "  (not decoded by Capstone)\n");
    }
    if (k)
        cs_free(ins, k);
    cs_close(&h);
}
