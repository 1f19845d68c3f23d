#!/bin/sh
# scripts/run-tests.sh - `make test`: every CUnit suite as its own process,
# RT_JOBS at a time (default 2, the cores CI has), the slowest first so the
# two queues end together. Each suite's output goes to build/test-logs/NAME.log;
# a line per suite says how it went, a failing suite's log is printed, and the
# status is 1 if any suite failed. The suites are independent: each uses its
# own temporary names and ports. `run_tests SUITE` runs one by hand.
set -u
BIN=${1:?usage: run-tests.sh RUN_TESTS_BINARY}
JOBS=${RT_JOBS:-2}
LOGS=build/test-logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.status
# the slow ones first (wall time, slowest first), then the rest in table order
SLOW="tui snapshot compare lesson migrate samples bt kernel_fuzz traces host gdb replay"
all=$("$BIN" --list) || exit 2
order=$( (for s in $SLOW; do echo "$all" | grep -qx "$s" && echo "$s"; done
          echo "$all" | grep -vxF "$(echo $SLOW | tr ' ' '\n')") )
start=$(date +%s)
echo "$order" | xargs -P "$JOBS" -I{} sh -c '
    t0=$(date +%s)
    "$0" {} > "$1/{}.log" 2>&1
    st=$?
    echo "$st $(( $(date +%s) - t0 ))" > "$1/{}.status"
    if [ "$st" = 0 ]; then r=ok; else r=FAILED; fi
    printf "  %-14s %-6s %4ss\n" {} "$r" "$(( $(date +%s) - t0 ))"
' "$BIN" "$LOGS"
failed=0
for s in $order; do
    st=$(cut -d" " -f1 "$LOGS/$s.status" 2>/dev/null || echo 99)
    if [ "$st" != 0 ]; then
        failed=1
        echo "==== $s failed (status $st): $LOGS/$s.log"
        grep -B2 -A12 -E "had failures|Assertion|ERROR: AddressSanitizer|runtime error" "$LOGS/$s.log" | head -80
    fi
done
total=$(cat "$LOGS"/*.log | grep -E "^ +asserts" | awk '{r+=$3; p+=$4; f+=$5} END {print r" asserts run, "p" passed, "f" failed"}')
echo "make test: $(echo "$order" | wc -l) suites in $(( $(date +%s) - start )) s, $total"
exit $failed
