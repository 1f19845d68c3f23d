#!/bin/sh
# Installs the Debian packages ringside needs to build, run and test.
# Why a script: a fresh Debian machine (or CI) must get from a clean clone to
# `make test` with no manual steps. It installs only what is missing, as root
# or through sudo, and is safe to run again.
#   sh scripts/deps.sh        what make, make test and make run need
#   sh scripts/deps.sh fuzz   that plus clang and its libFuzzer/sanitizer
#                             runtime, for `make fuzz-lib` (docs/fuzzing.md);
#                             nothing else needs clang
set -e
PKGS="build-essential pkg-config libncurses-dev libcapstone-dev libcunit1-dev \
libgraphviz-dev graphviz gcc-multilib qemu-system-x86 tmux zlib1g-dev libjansson-dev gdb"
[ "$1" = fuzz ] && PKGS="$PKGS clang libclang-rt-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
