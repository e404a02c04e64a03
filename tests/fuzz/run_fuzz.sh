#!/bin/sh
# run_fuzz.sh - run one libFuzzer target for a bounded time (meson test,
# suite "fuzz").
#
# Usage: run_fuzz.sh FUZZER SECONDS WORKDIR [libFuzzer flags] [-- SEED...]
#        run_fuzz.sh --skip REASON
#
# The corpus lives in WORKDIR/corpus (seeded from the SEED files or
# directories on the first run, and kept, so later runs go deeper); a
# crashing input is saved in WORKDIR/crashes. Prints one line of figures
# (executions, corpus size, crashes). Exit status: 0 when no input
# crashed, 1 otherwise, 77 for --skip.
set -u
if [ "$1" = "--skip" ]; then
    echo "SKIP: $2"
    exit 77
fi
fuzzer=$1 seconds=$2 work=$3
shift 3
flags=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    flags="$flags $1"
    shift
done
[ $# -gt 0 ] && shift
mkdir -p "$work/corpus" "$work/crashes"
for seed in "$@"; do
    if [ -d "$seed" ]; then
        cp -n "$seed"/* "$work/corpus/" 2>/dev/null
    elif [ -f "$seed" ]; then
        cp -n "$seed" "$work/corpus/seed-$(basename "$seed")" 2>/dev/null
    fi
done
log="$work/last.log"
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/" $flags "$work/corpus" > "$log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
corpus=$(ls "$work/corpus" | wc -l)
crashes=$(ls "$work/crashes" | wc -l)
echo "fuzz $(basename "$fuzzer"): ${runs:-?} executions in $seconds s, corpus $corpus inputs, crashing inputs saved: $crashes, exit $rc"
if [ $rc -ne 0 ]; then
    echo "--- the fuzzer's report ($log):"
    grep -v '^#[0-9]' "$log" | tail -n 60
    exit 1
fi
exit 0
