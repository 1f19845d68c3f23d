/*
 * bench_replay.c - the figures of docs/replay.md, for `make bench`.
 *
 * Timing never goes in a unit test (DESIGN.md), so this small program,
 * built and run by scripts/bench.sh, measures what snapshots and reverse
 * execution cost on this host: the size of an in-memory snapshot of each
 * sample (taken after up to 2 M guest instructions) and the time to take and
 * restore it, the same for an idle 256 MiB guest, and the time of one
 * reverse step at the end of a run of 100 M guest instructions with a
 * checkpoint every K (the default, HIST_DEFAULT_EVERY, unless argv[1]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "history.h"
#include "snapshot.h"
#include "vm.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct vm *make(const char *kernel, const char *cmdline, uint32_t mem, int mode)
{
    char err[200];
    struct vm_config c = { .kernel_path = kernel, .cmdline = cmdline, .mem_mib = mem,
                           .mode = (enum machine_mode)mode };
    struct vm *vm = vm_create(&c, err, sizeof err);
    if (!vm)
        fprintf(stderr, "bench_replay: %s\n", err);
    return vm;
}

/* Take and restore one in-memory snapshot; the median of 5 of each. */
static void snapshot_row(const char *name, struct vm *vm)
{
    double ts[5], tr[5];
    size_t len = 0;
    char err[200];
    for (int i = 0; i < 5; i++) {
        uint8_t *img;
        double t0 = now();
        if (snapshot_save_image(vm, &img, &len, err, sizeof err) != 0) {
            printf("  %-10s snapshot refused: %s\n", name, err);
            return;
        }
        double t1 = now();
        snapshot_restore_image(vm, img, len, err, sizeof err);
        double t2 = now();
        free(img);
        ts[i] = t1 - t0, tr[i] = t2 - t1;
        for (int k = i; k > 0 && ts[k] < ts[k - 1]; k--) { double x = ts[k]; ts[k] = ts[k - 1]; ts[k - 1] = x; }
        for (int k = i; k > 0 && tr[k] < tr[k - 1]; k--) { double x = tr[k]; tr[k] = tr[k - 1]; tr[k - 1] = x; }
    }
    printf("  %-10s %4u MiB RAM %10zu bytes  save %7.2f ms  restore %7.2f ms\n", name,
           vm->m.ram_size >> 20, len, ts[2] * 1e3, tr[2] * 1e3);
}

static void snapshots(void)
{
    static const char *const samples[] = { "hello", "compute", "rings", "sensitive",
                                           "exceptions", "paging", "smc", "demo", "lecture" };
    printf("in-memory snapshots (zero pages skipped, zlib), median of 5:\n");
    for (unsigned i = 0; i < sizeof samples / sizeof *samples; i++) {
        char path[128];
        snprintf(path, sizeof path, "samples/bin/%s.elf", samples[i]);
        struct vm *vm = make(path, NULL, 32, MODE_NATIVE);
        if (!vm)
            continue;
        vm_run(vm, 2000000);
        if (vm->m.end != END_NONE) {      /* ended: snapshot the last instruction boundary */
            vm->m.end = END_NONE;
        }
        snapshot_row(samples[i], vm);
        vm_destroy(vm);
    }
    struct vm *big = make("samples/bin/hello.elf", NULL, 256, MODE_NATIVE);
    if (big) {
        vm_run(big, 20000);
        big->m.end = END_NONE;
        snapshot_row("256 MiB", big);
        vm_destroy(big);
    }
}

static void reverse_step(uint64_t every)
{
    const uint64_t n = 100000000ull;
    for (int mode = 0; mode < 3; mode++) {
        struct vm *plain = make("samples/bin/compute.elf", "scale=1000", 32, mode);
        struct vm *vm = make("samples/bin/compute.elf", "scale=1000", 32, mode);
        if (!plain || !vm)
            return;
        double t0 = now();
        while (vm_guest_insns(plain) < n && plain->m.end == END_NONE)
            vm_run(plain, plain->m.cpu.insns + (n - vm_guest_insns(plain)));
        double t1 = now();
        struct history *h = history_attach(vm, every);
        history_run_to_guest(h, n);
        double t2 = now();
        if (vm_guest_insns(vm) != n) {
            printf("  %s: the run ended before %llu guest instructions\n",
                   machine_mode_name(mode), (unsigned long long)n);
            return;
        }
        uint64_t re0 = h->reexec_insns;
        int rc = history_reverse_step(h);
        double t3 = now();
        printf("  %-6s K=%llu: forward %.2f s (%.2f s without checkpoints), %d checkpoints "
               "%.1f MiB; one reverse step %.3f s (%s, %llu instructions re-executed)\n",
               machine_mode_name(mode), (unsigned long long)every, t2 - t1, t1 - t0, h->nck,
               (double)h->ck_bytes / 1048576.0, t3 - t2, rc == 0 ? "ok" : h->msg,
               (unsigned long long)(h->reexec_insns - re0));
        vm_destroy(plain);
        vm_destroy(vm);
    }
}

int main(int argc, char **argv)
{
    uint64_t every = argc > 1 ? strtoull(argv[1], NULL, 10) : HIST_DEFAULT_EVERY;
    snapshots();
    printf("reverse step at guest instruction 100,000,000 of compute (scale=1000):\n");
    reverse_step(every);
    return 0;
}
