#!/bin/sh
# make bench: how fast ringside runs a compute-bound guest, against QEMU in the
# same run. Runs samples/bin/compute.elf with a large scale (the SCALE knob is
# the kernel command line "scale=N") under `ringside run --mode native` and
# under qemu-system-i386 (TCG), checks both print the same thing, and prints
# guest instructions, ringside's MIPS and the wall-time ratio to QEMU.
# Timing lives here, never in unit tests (DESIGN.md: deterministic tests).
set -e
SCALE=${SCALE:-200}
K=samples/bin/compute.elf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

now() { date +%s.%N; }

t0=$(now)
./ringside run --append "scale=$SCALE" --stats-json "$T/stats.json" "$K" > "$T/rs.out" || true
t1=$(now)
timeout 600 qemu-system-i386 -m 32 -kernel "$K" -append "scale=$SCALE" -serial stdio \
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 > "$T/q.out" || true
t2=$(now)

insns=$(sed -n 's/.*"guest_insns": \([0-9]*\).*/\1/p' "$T/stats.json")
same=yes
cmp -s "$T/rs.out" "$T/q.out" || same="NO (outputs differ!)"
awk -v i="$insns" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$SCALE" -v same="$same" 'BEGIN {
    rs = b - a; q = c - b;
    printf "compute scale=%d: %d guest instructions\n", s, i;
    printf "  ringside native: %.3f s  %.1f MIPS\n", rs, i / rs / 1e6;
    printf "  qemu-system-i386 (TCG): %.3f s  (ringside/QEMU time ratio %.2f)\n", q, rs / q;
    printf "  same output as QEMU: %s\n", same;
}'
