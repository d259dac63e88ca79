#!/usr/bin/env bash
# Runs every libFuzzer binary (fuzz_*) in a build folder for a given time, one after another,
# each with its checked-in seed corpus, and prints executions, coverage and crashes per target.
#
# Usage: tests/fuzz/run_fuzzers.sh <build>/tests/fuzz [seconds per target, default 60] [target...]
# New inputs go to <build>/tests/fuzz/corpus-work/<name>/ (the seeds are never modified); crash
# files go to <build>/tests/fuzz/artifacts/<name>/. Exits 1 when any target crashed.
set -u
dir=${1:?usage: run_fuzzers.sh <build>/tests/fuzz [seconds] [target...]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
seeds=$(cd "$(dirname "$0")" && pwd)/corpus

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in "$dir"/fuzz_*; do
        [ -x "$bin" ] && targets+=("$(basename "$bin")")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz_* binaries in $dir (configure with CXX=clang++ -DTELLER_FUZZ=ON, see README.md)"
    exit 2
fi

status=0
printf '%-24s %8s %12s %10s %8s %7s\n' target seconds executions exec/s cov crashes
for target in "${targets[@]}"; do
    name=${target#fuzz_}
    work="$dir/corpus-work/$name"
    artifacts="$dir/artifacts/$name"
    mkdir -p "$work" "$artifacts"
    log="$dir/artifacts/$name.log"
    corpus_args=("$work")
    [ -d "$seeds/$name" ] && corpus_args+=("$seeds/$name")
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$dir/$target" -max_total_time="$seconds" \
        -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${corpus_args[@]}" > "$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    crashes=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    printf '%-24s %8s %12s %10s %8s %7s\n' "$target" "$seconds" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "$crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        echo "  $target failed (exit $rc); see $log and $artifacts/"
        status=1
    fi
done
exit $status
