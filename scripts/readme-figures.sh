#!/bin/sh
# readme-figures.sh - the README's example output, made by running ringside.
#
# The README opens with two example runs (rings.elf under native, the x86
# problem under trap). Their figures used to be pasted by hand and went
# stale whenever a cost or an engine changed. This script runs the same
# commands and prints the block the README quotes (with the same "..."
# elisions), so the figures are always ringside's own:
#
#   scripts/readme-figures.sh            print the block
#   scripts/readme-figures.sh --check    exit 1 (and show a diff) if README.md differs
#   scripts/readme-figures.sh --update   rewrite the block in README.md
#
# The block sits between two HTML comments in README.md (invisible on the
# rendered page). `make test` runs --check (tests/test_readme.c), so a change
# that moves a figure fails the tests until --update is run and committed.
# Run from the source tree's root; RINGSIDE picks the binary (default ./ringside),
# the commands shown are always ./ringside.
set -eu
R=${RINGSIDE:-./ringside}
README=${README:-README.md}
BEGIN='<!-- readme-figures: begin (scripts/readme-figures.sh --update writes this block) -->'
END='<!-- readme-figures: end -->'
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

block() {
    echo '```'
    echo '$ ./ringside run -v samples/bin/rings.elf'
    "$R" run -v samples/bin/rings.elf > "$T/o1" 2> "$T/e1" || true
    head -n 3 "$T/o1"
    echo '...'
    grep -m1 '^kernel: vector 13' "$T/o1"
    echo '...'
    tail -n 2 "$T/o1" | head -n 1
    cat "$T/e1"
    echo
    echo '$ ./ringside run --mode trap -v samples/bin/sensitive.elf    # the x86 problem, live'
    "$R" run --mode trap -v samples/bin/sensitive.elf > /dev/null 2> "$T/e2" || true
    echo '...'
    # from the traps line to the third silent sensitive instruction
    awk '/^  traps:/ { on = 1 } on { print } /^  silent sensitive/ { n = 1; next }
         n { if (++n > 3) exit }' "$T/e2"
    echo '    ...'
    echo '```'
}

current() {
    awk -v b="$BEGIN" -v e="$END" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$README"
}

block > "$T/new"
case "${1:-}" in
--check)
    current > "$T/old"
    if ! grep -qxF "$BEGIN" "$README"; then
        echo "readme-figures: $README has no '$BEGIN' line" >&2
        exit 1
    fi
    if ! diff -u "$T/old" "$T/new" >&2; then
        echo "readme-figures: $README quotes figures ringside no longer prints;" \
             "run scripts/readme-figures.sh --update" >&2
        exit 1
    fi ;;
--update)
    awk -v b="$BEGIN" -v e="$END" -v f="$T/new" '
        $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 } !skip { print }' "$README" > "$T/readme"
    cp "$T/readme" "$README" ;;
"") cat "$T/new" ;;
*)  echo "usage: scripts/readme-figures.sh [--check|--update]" >&2; exit 2 ;;
esac
