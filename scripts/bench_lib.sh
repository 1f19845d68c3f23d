# bench_lib.sh - timing that can be trusted on a shared machine (sourced by
# scripts/bench.sh and by any other bench section).
#
# One run of a command says little on a machine other jobs share: a
# neighbour's burst lands on one side of a comparison. So every figure here
# comes from RUNS repetitions, the commands of one comparison alternated
# (A B C A B C ...) so that a slow spell hits all of them alike, and the
# median reported, with CPU time (user + system, which other jobs disturb
# far less than wall time) beside wall time. Ratios are taken between
# medians of the same alternated series.
#
#   bench_series NAME1 'CMD1' NAME2 'CMD2' ...   run each RUNS times, alternated
#   bench_wall NAME / bench_cpu NAME            the medians, in seconds
#   bench_line NAME                             "wall W s (min..max), cpu C s"
#
# Commands run through `eval` with stdout and stderr discarded; a command's
# exit status is ignored (guests exit with QEMU's debug-exit codes).

RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d)}

bench_time_one() {   # NAME CMD: append "wall cpu" to the series file
    local TIMEFORMAT='%R %U %S'
    { time eval "$2" > /dev/null 2>&1; } 2> "$BENCH_DIR/$1.one" || true
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$BENCH_DIR/$1.one" >> "$BENCH_DIR/$1.times"
}

bench_series() {
    local i n
    for ((n = 1; n <= $#; n += 2)); do
        : > "$BENCH_DIR/${!n}.times"
    done
    for ((i = 0; i < RUNS; i++)); do
        for ((n = 1; n <= $#; n += 2)); do
            local c=$((n + 1))
            bench_time_one "${!n}" "${!c}"
        done
    done
}

bench_median_col() {   # NAME COLUMN
    sort -g -k"$2","$2" "$BENCH_DIR/$1.times" |
        awk -v c="$2" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_wall() { bench_median_col "$1" 1; }
bench_cpu() { bench_median_col "$1" 2; }

bench_line() {
    local lo hi
    lo=$(sort -g -k1,1 "$BENCH_DIR/$1.times" | head -1 | cut -d' ' -f1)
    hi=$(sort -g -k1,1 "$BENCH_DIR/$1.times" | tail -1 | cut -d' ' -f1)
    printf "wall %.3f s (%s..%s over %d runs), cpu %.3f s" \
        "$(bench_wall "$1")" "$lo" "$hi" "$RUNS" "$(bench_cpu "$1")"
}

bench_ratio() {   # A B: median CPU time of A / median CPU time of B
    awk -v a="$(bench_cpu "$1")" -v b="$(bench_cpu "$2")" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'
}
