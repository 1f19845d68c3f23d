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

# Trace recording overhead (docs/traces.md): the same runs with --trace.
t3=$(now)
./ringside run --append "scale=$SCALE" --trace "$T/c.rtrace" "$K" > /dev/null || true
t4=$(now)
./ringside run --mode trap samples/bin/rings.elf > /dev/null || true
t5=$(now)
./ringside run --mode trap --trace "$T/r.rtrace" samples/bin/rings.elf > /dev/null || true
t6=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t3" -v d="$t4" -v e="$t5" -v f="$t6" \
    -v cs="$(wc -c < "$T/c.rtrace")" -v rs="$(wc -c < "$T/r.rtrace")" 'BEGIN {
    printf "  with --trace: compute %.3f s (%+.1f%%, %d bytes of trace)\n", d - c,
           100 * ((d - c) / (b - a) - 1), cs;
    printf "  rings --mode trap: %.3f s, with --trace %.3f s (%+.1f%%, %d bytes of trace)\n",
           e - d, f - e, 100 * ((f - e) / (e - d) - 1), rs;
}'

# The TUI against headless (docs/tui.md): the same compute run in the TUI at
# full speed, in a private tmux server at 160x48, redrawing ~30 times a second.
# `--exit-at-end` makes the TUI quit when the guest ends and print its frame
# rate; the headless time is measured again right beside it.
if command -v tmux > /dev/null; then
    TS=ringside-bench-$$
    t7=$(now)
    ./ringside run --append "scale=$SCALE" "$K" > /dev/null || true
    t8=$(now)
    tmux -L "$TS" new-session -d -x 160 -y 48 \
        "./ringside tui --run --exit-at-end --append scale=$SCALE $K 2> $T/tui.err; echo done > $T/tui.done"
    w=0
    while [ ! -f "$T/tui.done" ] && [ $w -lt 6000 ]; do sleep 0.1; w=$((w + 1)); done
    t9=$(now)
    sp=$(tmux -L "$TS" display -p '#{socket_path}' 2> /dev/null || true)
    tmux -L "$TS" kill-server 2> /dev/null || true
    [ -z "$sp" ] || rm -f "$sp"
    awk -v a="$t7" -v b="$t8" -v c="$t9" -v line="$(cat "$T/tui.err")" 'BEGIN {
        printf "  TUI (tmux 160x48) vs headless: %.3f s vs %.3f s (%+.1f%%)\n", c - b, b - a,
               100 * ((c - b) / (b - a) - 1);
        printf "  %s\n", line;
    }'
fi

# Binary translation (docs/bt.md): compute under --mode bt against native in
# the same run (target: bt >= 0.85 x native speed), translations per second
# of host time, TC bytes per guest byte, and the modeled overhead of every
# sample under bt (paging needs guest paging under bt: skipped).
jnum() { sed -n "s/.*\"$1\": \(-\{0,1\}[0-9.]*\).*/\1/p" "$2" | head -1; }
t10=$(now)
./ringside run --append "scale=$SCALE" "$K" > /dev/null || true
t11=$(now)
./ringside run --mode bt --append "scale=$SCALE" --stats-json "$T/bt.json" "$K" > "$T/bt.out" || true
t12=$(now)
cmp -s "$T/bt.out" "$T/rs.out" && btsame=yes || btsame="NO (outputs differ!)"
awk -v a="$t10" -v b="$t11" -v c="$t12" -v tr="$(jnum translations "$T/bt.json")" \
    -v gb="$(jnum guest_bytes "$T/bt.json")" -v tb="$(jnum tc_bytes "$T/bt.json")" \
    -v same="$btsame" 'BEGIN {
    printf "  bt vs native (compute): %.3f s vs %.3f s = %.2f x native speed; same output: %s\n",
           c - b, b - a, (b - a) / (c - b), same;
    printf "  bt: %d translations, %.0f translations/s of host time, %.2f TC bytes per guest byte\n",
           tr, tr / (c - b), tb / (gb ? gb : 1);
}'
printf "  %-12s %10s %10s %12s\n" sample native_s bt_s "overhead_%"
for s in hello compute rings sensitive exceptions smc demo; do
    a=$(now); ./ringside run --append= "samples/bin/$s.elf" > /dev/null 2>&1 || true
    b=$(now); ./ringside run --mode bt --append= --stats-json "$T/$s.json" "samples/bin/$s.elf" > /dev/null 2>&1 || true
    c=$(now)
    awk -v s="$s" -v a="$a" -v b="$b" -v c="$c" -v o="$(jnum overhead_pct "$T/$s.json")" \
        'BEGIN { printf "  %-12s %10.3f %10.3f %12.1f\n", s, b - a, c - b, o }'
done
