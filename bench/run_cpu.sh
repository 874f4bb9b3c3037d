#!/usr/bin/env bash
# Side-by-side CPU benchmarks on the synthetic ml-25m preset (162,541 users x 59,047 movies,
# 25,000,095 ratings), each next to its peer in the same run, on the same machine:
#   loading      bench_load (CSV, cache)           vs pandas.read_csv        (bench/peer_pandas_load.py)
#   factorizing  bench_factorize (k = 64)          vs scikit-learn 1.2       (bench/peer_sklearn.py)
#   recommending bench_recommend (fold-in + top-5 for one visitor)
#   evaluating   bench_evaluate (users ranked per second)
#   contention   bench/contention.sh (a masked-NMF fit idle and beside a background busy loop)
# Everything goes to $OUT_DIR (default bench/results/cpu-<date>), with a header naming the machine and commit.
#   scripts/install-deps --peers && cmake --preset release && cmake --build --preset release
#   bench/run_cpu.sh [BUILD_DIR]          (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
work=${WORK:-/tmp/cinefactor-bench}
out=${OUT_DIR:-bench/results/cpu-$(date -u +%Y-%m-%d)}
mkdir -p "$work" "$out"
data="$work/synth-ml-25m"

. bench/lib.sh
bench_header "$out"
bench_synth "$build" "$data"
export CINEFACTOR_BENCH_DATA="$data"
run() { bench_run "$out" "$@"; }
run load "$build/bench/bench_load" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
run load-pandas /usr/bin/python3 bench/peer_pandas_load.py "$data" --runs 3
run factorize "$build/bench/bench_factorize" --benchmark_filter=data
run factorize-sklearn /usr/bin/python3 bench/peer_sklearn.py "$data/ratings.csv"
run recommend "$build/bench/bench_recommend" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
run evaluate "$build/bench/bench_evaluate"
run contention env OUT_DIR="$out/contention" bench/contention.sh "$build"
echo "results in $out"
