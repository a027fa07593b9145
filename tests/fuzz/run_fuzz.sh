#!/usr/bin/env bash
# Short libFuzzer run for CI: run_fuzz.sh SECONDS FUZZER [SEED_GENERATOR]
# New inputs go to a temporary corpus that is removed afterwards; the source tree is never written.
# SEED_GENERATOR, if given, is run as `SEED_GENERATOR DIR` to write the seed inputs from the
# same case tables the unit tests use.
set -eu
secs=$1 fuzzer=$2 gen=${3:-}
work=$(mktemp -d /tmp/sluice-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
[ -n "$gen" ] && "$gen" "$work/seeds"
cd "$work"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    "$work/corpus" "$work/seeds"
