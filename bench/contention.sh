#!/usr/bin/env bash
# Training on a busy machine: one masked-NMF fit (ml-latest-small, k = 20, 200 iterations, the CLI's
# `train`), idle and beside BUSY background busy loops (started and stopped here), for each way the
# OpenMP team can wait, REPS times interleaved; medians, min-max and the load average beside them.
#   auto         --threads 0: the library's automatic count (src/core/parallel.hpp), the default
#   team-spin    --threads NCORES: a fixed team of every core, libgomp's default wait (spin, then sleep)
#   team-passive the same with OMP_WAIT_POLICY=passive (libgomp reads it before main(): environment only)
#   one-thread   --threads 1
# The ratio column is each busy median over the idle median of team-spin, the fastest configuration of an
# idle machine (and what auto picks there).
#
#   bench/contention.sh [BUILD_DIR]        (default build/release)
# Knobs: DATA (default ../shared/datasets/ml-latest-small, else the synthetic `small` preset generated in
# $WORK), REPS (5), BUSY (1), OUT_DIR (results, default bench/results/contention-<date>), EXCLUSIVE=1: run
# in a new session whose autogroup gets nice -20 (root), so that on a VM shared with other people's jobs the
# fit and the busy loops see about the machine an idle one would give them (the others' tasks still count
# as runnable for auto, so its idle figure there is pessimistic).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
reps=${REPS:-5}
busy=${BUSY:-1}
work=${WORK:-/tmp/cinefactor-bench}
out=${OUT_DIR:-bench/results/contention-$(date -u +%Y-%m-%d)}
mkdir -p "$work" "$out"
cli=$(realpath "$build/cinefactor")

if [ "${EXCLUSIVE:-0}" = 1 ] && [ -z "${CONTENTION_ISOLATED:-}" ]; then
  # A new session is a new autogroup; its nice weighs it against the other sessions' groups.
  exec setsid env CONTENTION_ISOLATED=1 bash -c 'echo -20 > /proc/self/autogroup && exec "$0" "$@"' "$0" "$@"
fi

data=${DATA:-../shared/datasets/ml-latest-small}
if [ ! -f "$data/ratings.csv" ]; then
  data="$work/synth-small"
  [ -f "$data/ratings.csv" ] || "$cli" -q data synth --preset small --seed 42 --out "$data"
fi
cores=$(nproc)

# fit VARIANT: prints the fit's seconds (train --json "seconds": loading and saving excluded).
fit() {
  local threads env=()
  case $1 in
    auto) threads=0 ;;
    team-spin) threads=$cores ;;
    team-passive)
      threads=$cores
      env=(OMP_WAIT_POLICY=passive)
      ;;
    one-thread) threads=1 ;;
  esac
  env "${env[@]}" "$cli" -q train --data "$data" --algo nmf --objective masked -k 20 --threads "$threads" \
    --json --out "$work/contention.cfm" 2>>"$out/stderr.txt" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])'
}

busy_pids=()
start_busy() {
  for ((i = 0; i < busy; ++i)); do
    bash -c 'while :; do :; done' &
    busy_pids+=($!)
  done
  sleep 0.3  # running before the fit starts
}
stop_busy() {
  for pid in "${busy_pids[@]}"; do kill "$pid"; done
  wait "${busy_pids[@]}" 2>/dev/null || true
  busy_pids=()
}
trap 'for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null; done' EXIT

variants=(auto team-spin team-passive one-thread)
{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $cores cores"
  echo "data:    $data; reps $reps; busy loops $busy; exclusive ${EXCLUSIVE:-0}"
  echo "load:    $(cut -d' ' -f1-4 /proc/loadavg) (1/5/15 min, runnable/total; at the start)"
} | tee "$out/machine.txt"
raw="$out/contention.tsv"
printf 'rep\tvariant\tcondition\tseconds\tload1\n' > "$raw"
for ((r = 1; r <= reps; ++r)); do
  for v in "${variants[@]}"; do
    printf '%s\t%s\tidle\t%s\t%s\n' "$r" "$v" "$(fit "$v")" "$(cut -d' ' -f1 /proc/loadavg)" >> "$raw"
    start_busy
    printf '%s\t%s\tbusy\t%s\t%s\n' "$r" "$v" "$(fit "$v")" "$(cut -d' ' -f1 /proc/loadavg)" >> "$raw"
    stop_busy
  done
done
echo "load:    $(cut -d' ' -f1-4 /proc/loadavg) (at the end)" | tee -a "$out/machine.txt"
/usr/bin/python3 - "$raw" "$busy" <<'EOF' | tee "$out/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def times(v, c):
    return [float(r["seconds"]) for r in rows if r["variant"] == v and r["condition"] == c]
def loads(v, c):
    return [float(r["load1"]) for r in rows if r["variant"] == v and r["condition"] == c]
reference = statistics.median(times("team-spin", "idle"))
print(f"| variant | idle: median (min-max) | {sys.argv[2]} busy loop(s): median (min-max) | busy / idle team-spin | load (1 min) |")
print("|---|---|---|---|---|")
for v in ["auto", "team-spin", "team-passive", "one-thread"]:
    i, b = times(v, "idle"), times(v, "busy")
    fmt = lambda t: f"{statistics.median(t):.3f} s ({min(t):.3f}-{max(t):.3f})"
    lo = loads(v, "idle") + loads(v, "busy")
    print(f"| {v} | {fmt(i)} | {fmt(b)} | {statistics.median(b) / reference:.2f}x | {min(lo):.1f}-{max(lo):.1f} |")
EOF
echo "results in $out"
