#!/usr/bin/env bash
# Fuzz-target runner for meson tests.
#   run_fuzz.sh SECONDS FUZZER [SEED_GENERATOR]   short libFuzzer run (fuzz builds, clang)
#   run_fuzz.sh --replay TARGET SEED_GENERATOR    replay the generated seeds through a target
#                                                 built without libFuzzer (gcc, sanitizers)
# New inputs go to a temporary corpus that is removed afterwards; the source tree is never
# written. SEED_GENERATOR is run as `SEED_GENERATOR DIR` and writes the seed inputs from the same
# case tables the unit tests use.
set -eu
work=$(mktemp -d /tmp/sluice-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
if [ "$1" = --replay ]; then
    target=$2 gen=$3
    "$gen" "$work/seeds"
    "$target" "$work/seeds"
    exit
fi
secs=$1 fuzzer=$(realpath "$2") gen=${3:+$(realpath "$3")}
[ -n "$gen" ] && "$gen" "$work/seeds"
cd "$work"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 \
    "$work/corpus" "$work/seeds"
