# scripts/bench_host.sh - sourced by bench.sh: the host of many VMs
# (docs/host.md, issue 14's scale figures), each against the single-VM run
# of the same kernel in the same series.
#   - aggregate guest MIPS of 32 compute VMs (scale=8 each) against one
#     such VM alone: what scheduling 32 VMs on one CPU costs;
#   - machine memory per idle VM (frames the pool hands out: guest pages
#     touched plus the VMM's region and 1:1 map) and the ringside process's
#     own memory (max RSS) per VM, 32 idle VMs against one;
#   - a VM switch in host time: two compute VMs at a 1,000-cycle slice
#     against the default slice, the extra CPU time over the extra switches.
host32_spec() {   # N KERNEL ARGS: N --vm options
    local n=$1 k=$2 a=$3 s=""
    for ((i = 0; i < n; i++)); do s="$s --vm \"$k --append '$a' --name v$i\""; done
    echo "$s"
}
CK=samples/bin/compute.elf
IK=tests/bin/dirty_idle.elf
eval "./ringside host $(host32_spec 1 $CK scale=8) --stats-json $T/h1.json" > /dev/null
eval "./ringside host $(host32_spec 32 $CK scale=8) --stats-json $T/h32.json" > /dev/null
bench_series host1 "./ringside host $(host32_spec 1 $CK scale=8)" \
             host32 "./ringside host $(host32_spec 32 $CK scale=8)"
sum_insns() { grep -o '"guest_insns": [0-9]*' "$1" | awk '{ s += $2 } END { print s }'; }
i1=$(sum_insns "$T/h1.json")
i32=$(sum_insns "$T/h32.json")
awk -v i1="$i1" -v i32="$i32" -v c1="$(bench_cpu host1)" -v c32="$(bench_cpu host32)" 'BEGIN {
    m1 = i1 / c1 / 1e6; m32 = i32 / c32 / 1e6;
    printf "  host, 32 compute VMs (bt): %.1f aggregate guest MIPS vs %.1f for one VM alone: %.3f x (%d vs %d guest insns)\n",
           m32, m1, m32 / m1, i32, i1;
}'
rss() { /usr/bin/time -f %M sh -c "$1" 2>&1 > /dev/null | tail -1; }
eval "./ringside host $(host32_spec 1 $IK '') --stats-json $T/i1.json" > /dev/null
eval "./ringside host $(host32_spec 32 $IK '') --stats-json $T/i32.json" > /dev/null
r1=$(rss "./ringside host $(host32_spec 1 $IK '')")
r32=$(rss "./ringside host $(host32_spec 32 $IK '')")
awk -v u1="$(jnum used "$T/i1.json")" -v u32="$(jnum used "$T/i32.json")" \
    -v s32="$(jnum saved_frames "$T/i32.json")" -v r1="$r1" -v r32="$r32" 'BEGIN {
    printf "  host, idle VMs: %.2f MiB of machine memory per VM with 32 (%.2f MiB for one alone: %.3f x; sharing saved %d frames)\n",
           u32 / 32 / 256, u1 / 256, (u32 / 32) / u1, s32;
    printf "  host, idle VMs: ringside process max RSS %.1f MiB for 32, %.1f MiB for one: %.2f MiB per extra VM\n",
           r32 / 1024, r1 / 1024, (r32 - r1) / 31 / 1024;
}'
eval "./ringside host --slice 1000 $(host32_spec 2 $CK scale=8) --stats-json $T/sw.json" > /dev/null
eval "./ringside host $(host32_spec 2 $CK scale=8) --stats-json $T/sw0.json" > /dev/null
bench_series slice_default "./ringside host $(host32_spec 2 $CK scale=8)" \
             slice_1k "./ringside host --slice 1000 $(host32_spec 2 $CK scale=8)"
awk -v n="$(jnum switches "$T/sw.json")" -v n0="$(jnum switches "$T/sw0.json")" \
    -v c="$(bench_cpu slice_1k)" -v c0="$(bench_cpu slice_default)" 'BEGIN {
    printf "  host, VM switch: %.2f us of host CPU time each (%d switches at a 1000-cycle slice, %d at the default; %.3f x the CPU time)\n",
           (c - c0) / (n - n0) * 1e6, n, n0, c / c0;
}'
