#!/bin/bash
# make bench: how fast ringside runs, against QEMU in the same run. All
# timing lives here, never in unit tests (DESIGN.md: deterministic tests).
# Every figure is a median of RUNS alternated repetitions with CPU time
# beside wall time (scripts/bench_lib.sh says why); ratios are between
# medians of the same series. Knobs: SCALE (compute's "scale=N", default
# 200), RUNS (default 5), TSCALE (scale of the --trace-insns run, default 5:
# an instruction trace of scale 200 is ~7 GB).
set -e
SCALE=${SCALE:-200}
TSCALE=${TSCALE:-5}
K=samples/bin/compute.elf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
BENCH_DIR=$T
. scripts/bench_lib.sh

now() { date +%s.%N; }
jnum() { sed -n "s/.*\"$1\": \(-\{0,1\}[0-9.]*\).*/\1/p" "$2" | head -1; }
QEMU="timeout 600 qemu-system-i386 -m 32 -kernel $K -append scale=$SCALE -serial stdio \
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04"

# The engines and QEMU on compute, alternated.
for m in native trap bt hw; do
    ./ringside run --mode $m --append "scale=$SCALE" --stats-json "$T/$m.json" "$K" > "$T/$m.out" || true
done
eval "$QEMU" > "$T/qemu.out" 2> /dev/null || true
bench_series native "./ringside run --append scale=$SCALE $K" \
             trap "./ringside run --mode trap --append scale=$SCALE $K" \
             bt "./ringside run --mode bt --append scale=$SCALE $K" \
             hw "./ringside run --mode hw --append scale=$SCALE $K" \
             qemu "$QEMU"
insns=$(jnum guest_insns "$T/native.json")
printf "compute scale=%d: %d guest instructions, RUNS=%d alternated, medians\n" "$SCALE" "$insns" "$RUNS"
for m in native trap bt hw qemu; do
    same=yes
    cmp -s "$T/$m.out" "$T/qemu.out" || same="NO (differs from QEMU!)"
    [ $m = qemu ] && label="qemu-system-i386 (TCG)" || label="ringside $m"
    awk -v l="$label" -v i="$insns" -v c="$(bench_cpu $m)" -v line="$(bench_line $m)" -v same="$same" \
        'BEGIN { printf "  %-24s %s  %6.1f MIPS  same output as QEMU: %s\n", l, line, i / c / 1e6, same }'
done
printf "  speed ratios (median CPU time): ringside native takes %s x QEMU's time; trap runs at %s x, bt at %s x, hw at %s x native speed\n" \
    "$(bench_ratio native qemu)" "$(bench_ratio native trap)" "$(bench_ratio native bt)" \
    "$(bench_ratio native hw)"
command -v bochs > /dev/null || echo "  bochs: not installed (Debian package bochs) -- no Bochs column"

# Trace recording overhead (docs/traces.md): events only at SCALE, every
# instruction (--trace-insns) at TSCALE, each against a plain run beside it.
bench_series plain "./ringside run --append scale=$SCALE $K" \
             traced "./ringside run --append scale=$SCALE --trace $T/c.rtrace $K" \
             plain_small "./ringside run --append scale=$TSCALE $K" \
             insns_small "./ringside run --append scale=$TSCALE --trace $T/i.rtrace --trace-insns $K"
printf "  with --trace: %s x a plain run (%d bytes of trace)\n" "$(bench_ratio traced plain)" "$(wc -c < "$T/c.rtrace")"
printf "  with --trace --trace-insns (scale=%d): %s x a plain run, %s x in wall time (%d bytes of trace)\n" \
    "$TSCALE" "$(bench_ratio insns_small plain_small)" \
    "$(awk -v a="$(bench_wall insns_small)" -v b="$(bench_wall plain_small)" 'BEGIN { printf "%.2f", a / b }')" \
    "$(wc -c < "$T/i.rtrace")"
rm -f "$T/c.rtrace" "$T/i.rtrace"

# The TUI against headless (docs/tui.md): the same compute run in the TUI at
# full speed, in a private tmux server at 160x48, redrawing ~30 times a second.
# `--exit-at-end` makes the TUI quit when the guest ends and print its frame
# rate; it is compared with the median headless wall time above.
if command -v tmux > /dev/null; then
    TS=ringside-bench-$$
    t8=$(now)
    tmux -L "$TS" new-session -d -x 160 -y 48 \
        "./ringside tui --run --exit-at-end --append scale=$SCALE $K 2> $T/tui.err; echo done > $T/tui.done"
    w=0
    while [ ! -f "$T/tui.done" ] && [ $w -lt 6000 ]; do sleep 0.1; w=$((w + 1)); done
    t9=$(now)
    sp=$(tmux -L "$TS" display -p '#{socket_path}' 2> /dev/null || true)
    tmux -L "$TS" kill-server 2> /dev/null || true
    [ -z "$sp" ] || rm -f "$sp"
    awk -v h="$(bench_wall native)" -v b="$t8" -v c="$t9" -v line="$(cat "$T/tui.err")" 'BEGIN {
        printf "  TUI (tmux 160x48) vs headless: %.3f s vs %.3f s (%+.1f%%)\n", c - b, h,
               100 * ((c - b) / h - 1);
        printf "  %s\n", line;
    }'
fi

# Binary translation (docs/bt.md): translations per second of host time, TC
# bytes per guest byte, and the modeled overhead of every sample under bt.
awk -v c="$(bench_cpu bt)" -v tr="$(jnum translations "$T/bt.json")" \
    -v gb="$(jnum guest_bytes "$T/bt.json")" -v tb="$(jnum tc_bytes "$T/bt.json")" 'BEGIN {
    printf "  bt: %d translations, %.0f translations/s of host time, %.2f TC bytes per guest byte\n",
           tr, tr / c, tb / (gb ? gb : 1);
}'
printf "  %-12s %12s\n" sample "overhead_%"
for s in hello compute rings sensitive exceptions smc demo; do
    ./ringside run --mode bt --append= --stats-json "$T/$s.json" "samples/bin/$s.elf" > /dev/null 2>&1 || true
    printf "  %-12s %12s\n" "$s" "$(jnum overhead_pct "$T/$s.json")"
done

# Live migration (docs/migration.md): `ringside migrate`, two hosts in one
# process over the modeled link (1 Gbit/s, 100 us). Rounds, bytes and
# modeled times are deterministic (one run each); host ms is this machine's.
printf "  %-22s %6s %12s %10s %10s %10s %9s %9s\n" "migration (bt)" rounds downtime_ms total_ms \
    bytes wws_pages stop_pgs host_ms
mig() {
    local name=$1
    shift
    ./ringside migrate --json "$@" > /dev/null 2> "$T/mig.json" || true
    printf "  %-22s %6s %12.3f %10.3f %10s %10s %9s %9.0f\n" "$name" \
        "$(grep -o '"round": ' "$T/mig.json" | wc -l)" "$(jnum downtime_modeled_ms "$T/mig.json")" \
        "$(jnum total_modeled_ms "$T/mig.json")" "$(jnum total_bytes "$T/mig.json")" \
        "$(jnum wws_pages "$T/mig.json")" "$(jnum final_pages "$T/mig.json")" \
        "$(jnum total_host_ms "$T/mig.json")"
}
mig idle --at 100 tests/bin/dirty_idle.elf
mig compute --at 1000000 samples/bin/compute.elf
mig "writer (1/2 link)" --at 10000000 --stop-pages 2 tests/bin/dirty_migrate.elf
mig "write-heavy (256 pg)" --at 10000000 tests/bin/dirty_heavy.elf
. scripts/bench_host.sh
# Snapshots and reverse execution (docs/replay.md): in-memory snapshot size,
# save and restore time per sample and for a 256 MiB guest; one reverse step
# at guest instruction 100 M with the default checkpoint interval.
build/bench_replay
