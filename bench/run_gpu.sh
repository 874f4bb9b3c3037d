#!/usr/bin/env bash
# The GPU run, from a bundle made by scripts/gpu-bundle (which packs this file as cinefactor-gpu/run.sh):
# every GPU test and measurement on a machine with an NVIDIA GPU, with nothing to build there.
#   ./run.sh [all|tests|bench|train|profile]...     default all; groups run in the order given
# Groups:
#   tests    every GoogleTest program of the bundle, one process per test suite, JOBS at a time (default
#            every core; OMP_NUM_THREADS=2 each). On a GPU machine a GPU test that skips for want of a
#            device is a failure; elsewhere it is reported "not run: no device" and the exit is 2.
#   bench    synthetic ml-25m (made with every core, kept in $WORK), bench_cuda, bench/peer_torch.py
#            (PyTorch on the same GPU; $PYTHON, default python3), GPU ranking in bench_evaluate
#   train    `cinefactor train --device cuda -k 64` on ml-25m: NMF zero, NMF masked with biases, SVD
#   profile  compute-sanitizer memcheck on a small run of each kernel family (NMF zero, NMF masked, SVD,
#            ranking); Nsight Compute (SpeedOfLight, MemoryWorkloadAnalysis) on the fused masked-NMF kernels
# Time: each step has its own timeout (a hang costs that step only) and no step outlasts BUDGET_S seconds
# from the start (default 345): `all` ends within 6 minutes on an H200.
# Results: in $OUT when set, else ./cinefactor-gpu-results-<time>: summary.txt (date, bundle commit, host,
# nvidia-smi, driver and CUDA versions, one line per step with its status and time), one log per group
# (tests.log, bench.log, train.log, profile.log) and raw.tar.gz (benchmark JSON, Nsight Compute report):
# at most 6 files, none over 15 MiB.
# Exit: 0 every step ran and passed; 1 a step failed, timed out or ran out of time; 2 no failure, but GPU
# parts not run for want of a device. Without a GPU, groups other than tests stop in one line.
# Knobs: BUDGET_S; TESTS_TIMEOUT_S (the tests' share: 55 s, 300 s under 8 cores); JOBS (test processes); WORK
# (default /tmp/cinefactor-gpu-work); GTEST_FILTER (selects the tests of every program); PYTHON;
# GPU_SKIP_PATTERN (the skip reason that marks a GPU test, default "no usable CUDA device").
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=run.sh

groups=()
for arg in "$@"; do
  case "$arg" in
    all) groups+=(tests bench train profile) ;;
    tests|bench|train|profile) groups+=("$arg") ;;
    -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown group '$arg' (all, tests, bench, train, profile; --help)" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(tests bench train profile)
has_group() {
  local g
  for g in "${groups[@]}"; do [ "$g" = "$1" ] && return 0; done
  return 1
}
if [ ! -x "$here/bin/cinefactor" ] || [ ! -d "$here/tests" ]; then
  echo "$prog: $here is not a GPU bundle: make one with scripts/gpu-bundle and run its run.sh (bench/README.md, GPU)" >&2
  exit 2
fi

# The device: nvidia-smi must be there and list a GPU.
gpu_why=""
smi() { timeout 20 nvidia-smi "$@"; }
if ! command -v nvidia-smi >/dev/null 2>&1; then
  gpu_why="nvidia-smi not found"
elif ! smi -L 2>/dev/null | grep -q '^GPU '; then
  gpu_why="nvidia-smi lists no GPU"
fi
if [ -n "$gpu_why" ] && ! has_group tests; then
  line="$prog ${groups[*]}: not run: no device ($gpu_why); these groups need an NVIDIA GPU"
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && echo "$line" >"$OUT/summary.txt"; fi
  echo "$line" >&2
  exit 2
fi

start=$(date +%s)
budget=${BUDGET_S:-345}
deadline=$((start + budget))
reserve=8   # seconds kept at the end for packing the results
jobs=${JOBS:-$(nproc)}
python=${PYTHON:-python3}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=${WORK:-/tmp/cinefactor-gpu-work}
out=${OUT:-$PWD/cinefactor-gpu-results-$stamp}
mkdir -p "$out" "$work/models"
out=$(cd "$out" && pwd)
raw=$work/raw-$stamp-$$
mkdir -p "$raw"
summary=$out/summary.txt
gpu_skip_re=${GPU_SKIP_PATTERN:-no usable CUDA device}
cf=$here/bin/cinefactor
ml25m=$work/synth-ml-25m
small=$work/synth-small
# The tests find the CLI, the source files and the data in the bundle, not where they were built.
export CINEFACTOR_BINARY="$cf" CINEFACTOR_SOURCE_DIR="$here/source" CINEFACTOR_DATASETS="$here/data"
export PYTHONUNBUFFERED=1

log() { echo "$*" | tee -a "$summary"; }

# ---------------------------------------------------------------------------------------------------
# The header: what ran where.
{
  echo "cinefactor GPU run: ${groups[*]} (budget ${budget} s; results in $out)"
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  sed -n 's/^commit: */bundle:    commit /p; s/^describe: */           /p; s/^built: */built:     /p; s/^compilers: */toolchain: /p; s/^cuda code: */cuda code: /p; s/^needs: */needs:     /p' "$here/BUNDLE.txt"
  echo "host:      $(uname -n), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
  if [ -z "$gpu_why" ]; then
    echo "gpu:       $(smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.memory --format=csv,noheader | head -n 1)"
    echo "driver:    $(smi --query-gpu=driver_version --format=csv,noheader | head -n 1), CUDA $(smi | grep -o 'CUDA Version: *[0-9.]*' | grep -o '[0-9.]*$') (driver)"
    if command -v nvcc >/dev/null 2>&1; then echo "toolkit:   nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\2/p')"; fi
  else
    echo "gpu:       none ($gpu_why)"
  fi
} | tee "$summary"
if [ -z "$gpu_why" ]; then
  smi 2>&1 | tee -a "$summary"
  smi -q >"$raw/nvidia-smi-q.txt" 2>&1
fi
cp "$here/BUNDLE.txt" "$raw/"

# The libraries: the bundle's own come through its run path; cuBLAS, cuSPARSE and cuSOLVER from the
# machine's CUDA toolkit (/usr/local/cuda/lib64 in the run path). Elsewhere: looked for, then named.
if grep -q '^needs:.*x86-64-v3' "$here/BUNDLE.txt" && ! grep -q ' avx2 ' /proc/cpuinfo; then
  log "$prog: FAILED: this CPU has no AVX2, and the bundle was built for x86-64-v3 (CINEFACTOR_X86_64_V3=OFF builds for older CPUs)"
  exit 1
fi
versions=$(ldd "$cf" "$here"/bin/* "$here"/tests/* 2>&1 | grep -m3 'version `' || true)
if [ -n "$versions" ]; then
  log "$prog: FAILED: this system's C/C++ libraries are older than the bundle needs ($(sed -n 's/^needs: *//p' "$here/BUNDLE.txt")): $versions"
  exit 1
fi
missing=$(ldd "$cf" "$here"/bin/* "$here"/tests/* 2>/dev/null | awk '/=> not found/ {print $1}' | sort -u)
if [ -n "$missing" ]; then
  for name in $missing; do
    found=""
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 \
             /usr/local/cuda-*/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/local/lib; do
      if [ -e "$d/$name" ]; then found=$d; break; fi
    done
    [ -n "$found" ] || found=$(find /usr /opt -name "$name" -print -quit 2>/dev/null | xargs -r dirname)
    if [ -n "$found" ]; then export LD_LIBRARY_PATH="$found${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  done
  log "libraries: looked for $(echo $missing); LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  still=$(ldd "$cf" "$here"/bin/* "$here"/tests/* 2>/dev/null | awk '/=> not found/ {print $1}' | sort -u)
  if [ -n "$still" ]; then
    log "$prog: FAILED: libraries not found on this machine: $(echo $still) (the bundle expects CUDA 13's cuBLAS, cuSPARSE and cuSOLVER)"
    exit 1
  fi
fi
log "cinefactor device: $(timeout 30 "$cf" device 2>&1 | tr '\n' ' ')"
log ""

# ---------------------------------------------------------------------------------------------------
# Steps: each runs under its own timeout, cut to what is left of BUDGET_S; one line each in the summary.
overall=0   # 0 ok, 2 something not run for want of a device, 1 a failure
table=()
record() {  # NAME STATUS SECONDS TIMEOUT [DETAIL]
  local line
  line=$(printf '%-22s %-30s %4s s (of %3s s)  %s' "$1" "$2" "$3" "$4" "${5:-}")
  table+=("$line")
  echo "$line"
}
fail() { overall=1; }
not_run() { [ $overall -eq 1 ] || overall=2; }
time_left() { echo $((deadline - reserve - $(date +%s))); }
# step GROUP NAME TIMEOUT COMMAND...: the command's output goes to GROUP.log; returns its status.
step() {
  local group=$1 name=$2 want=$3
  shift 3
  local glog=$out/$group.log left t rc t0 dt
  left=$(time_left)
  if [ "$left" -lt 5 ]; then
    record "$name" "not run: out of time" 0 "$want" "BUDGET_S=$budget reached"
    fail
    return 125
  fi
  t=$((want < left ? want : left))
  printf '\n===== %s (timeout %s s): %s\n' "$name" "$t" "$*" >>"$glog"
  local from
  from=$(($(stat -c %s "$glog") + 1))
  t0=$(date +%s)
  timeout -k 10 "$t" "$@" >>"$glog" 2>&1
  rc=$?
  dt=$(($(date +%s) - t0))
  echo "===== $name: exit $rc after $dt s" >>"$glog"
  local no_device
  no_device=$(tail -c +"$from" "$glog" | grep -m1 -e "$gpu_skip_re" || true)
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    record "$name" "TIMEOUT" "$dt" "$t" "killed; see $group.log"
    fail
  elif [ $rc -eq 0 ] && [ -n "$no_device" ]; then
    # bench_cuda and bench_evaluate say why and exit 0 without a device: on a GPU machine that is a failure
    record "$name" "FAILED: ran without the GPU" "$dt" "$t" "$no_device"
    fail
  elif [ $rc -ne 0 ]; then
    record "$name" "FAILED (exit $rc)" "$dt" "$t" "see $group.log"
    fail
  else
    record "$name" "ok" "$dt" "$t"
  fi
  return $rc
}
find_tool() {  # NAME: on the PATH, or where the CUDA toolkit and Nsight usually put it
  local p
  p=$(command -v "$1" 2>/dev/null) && { echo "$p"; return 0; }
  for p in /usr/local/cuda/bin/"$1" /usr/local/cuda/compute-sanitizer/"$1" /opt/nvidia/nsight-compute/*/"$1" \
           /usr/local/cuda/nsight-compute*/"$1"; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}

# The synthetic ml-25m preset (162,541 users x 59,047 movies, 25,000,095 ratings) and its binary cache,
# made once per machine in $WORK (tried once per run).
ml25m_failed=0
ensure_ml25m() {  # GROUP
  [ -f "$ml25m/.complete" ] && return 0
  if [ $ml25m_failed -eq 1 ]; then
    record "$1" "not run: no ml-25m data" 0 0 "synth-ml-25m failed above"
    fail
    return 1
  fi
  ml25m_failed=1
  step "$1" synth-ml-25m 25 "$cf" data synth --preset ml-25m --seed 42 --threads "$(nproc)" --force --out "$ml25m" || return 1
  step "$1" cache-ml-25m 12 "$cf" data info --data "$ml25m" --top 3 || return 1
  touch "$ml25m/.complete"
  ml25m_failed=0
}
ensure_small() {  # GROUP
  [ -f "$small/.complete" ] && return 0
  step "$1" synth-small 6 sh -c "'$cf' data synth --preset small --seed 42 --force --out '$small' && '$cf' -q data info --data '$small' >/dev/null" || return 1
  touch "$small/.complete"
}

# ---------------------------------------------------------------------------------------------------
# tests: every test program, its tests split into shards (GTEST_TOTAL_SHARDS), JOBS shards at a time.
run_tests() {
  # 55 s on a GPU machine (16 cores: the suite takes about 20 s); 300 s on a small CPU machine (2 cores: 70 s)
  local want=${TESTS_TIMEOUT_S:-$([ "$(nproc)" -ge 8 ] && echo 55 || echo 300)} left t t0 tdir=$raw/tests
  mkdir -p "$tdir"
  left=$(time_left)
  if [ "$left" -lt 5 ]; then record tests "not run: out of time" 0 "$want"; fail; return; fi
  t=$((want < left ? want : left))
  t0=$(date +%s)
  # One task per test suite (its SetUpTestSuite runs once), the biggest suites first; GTEST_FILTER, when
  # set, selects the tests (the listing honours it) and each task names its tests exactly.
  local group_end=$((t0 + t)) exe n suite filter rest base k=0
  for exe in "$here"/tests/*; do
    timeout 20 "$exe" --gtest_list_tests >"$tdir/list.$(basename "$exe")" 2>/dev/null &
  done
  wait
  while IFS=$'\t' read -r n exe suite filter; do
    [ -n "${filter:-}" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || true; done
    k=$((k + 1))
    base=$tdir/$(printf '%03d' "$k").$(basename "$exe").$(echo "$suite" | tr -c 'A-Za-z0-9_\n' '_')
    rest=$((group_end - $(date +%s)))
    if [ "$rest" -lt 2 ]; then
      echo "not started: the tests' $t s were up" >"$base.txt"
      echo 125 >"$base.rc"
      continue
    fi
    (
      env -u GTEST_FILTER OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" \
        timeout -k 5 "$rest" "$exe" --gtest_color=no --gtest_filter="$filter" >"$base.txt" 2>&1
      echo $? >"$base.rc"
    ) 2>/dev/null &
  done < <(for exe in "$here"/tests/*; do
             awk -v exe="$exe" '
               /^[^ ]/ { suite = $1; next }
               /^  [^ ]/ { names[suite] = names[suite] (suite in count ? ":" : "") suite $1; count[suite]++ }
               END { for (s in count) printf "%06d\t%s\t%s\t%s\n", count[s], exe, substr(s, 1, length(s) - 1), names[s] }' \
               "$tdir/list.$(basename "$exe")"
           done | sort -r)
  wait
  local dt=$(($(date +%s) - t0))

  # Every task's output into tests.log, then one verdict for the CPU tests and one for the GPU tests.
  local f b
  for f in "$tdir"/*.txt; do
    [ -e "$f" ] || continue
    b=$(basename "$f" .txt)
    printf '\n===== %s: exit %s\n' "${b#*.}" "$(cat "${f%.txt}.rc" 2>/dev/null)" >>"$out/tests.log"
    cat "$f" >>"$out/tests.log"
  done
  local verdict
  verdict=$(for f in "$tdir"/*.txt; do [ -e "$f" ] && printf '%s\t%s\n' "$f" "$(cat "${f%.txt}.rc" 2>/dev/null || echo 255)"; done |
    awk -F'\t' -v gpu_re="$gpu_skip_re" -v gpu_name='[Cc]uda|CUDA|[Gg]pu|GPU' '
      function finish_file() {
        if (file == "") return
        if (rc == 125) { crashed++; crash_list = crash_list "\n    " prog ": " suite ": not started, the time was up" }
        else if (cur != "") { crashed++; if (cur ~ gpu_name) gpu_failed++; crash_list = crash_list "\n    " prog ": " cur ": did not finish (exit " rc (rc == 124 ? ", timed out" : "") ")"; cur = "" }
        else if (rc != 0 && !file_failed) { crashed++; crash_list = crash_list "\n    " prog ": " suite ": exit " rc }
      }
      { # one shard: its file and exit status
        finish_file()
        file = $1; rc = $2 + 0; n = split(file, parts, "/"); prog = parts[n]; sub(/^[0-9]+\./, "", prog); suite = prog; sub(/\..*$/, "", prog); sub(/^[^.]*\./, "", suite); sub(/\.txt$/, "", suite); cur = ""; msg = ""; file_failed = 0
        while ((getline line < file) > 0) {
          tag = substr(line, 1, 13); name = substr(line, 14)
          if (tag == "[ RUN      ] ") { cur = name; msg = ""; continue }
          if (cur == "") continue
          if (tag == "[       OK ] ") { passed++; if (cur ~ gpu_name) gpu_named++; cur = ""; continue }
          if (tag == "[  FAILED  ] ") { failed++; file_failed = 1; if (cur ~ gpu_name) gpu_failed++; fail_list = fail_list "\n    " prog ": " cur; cur = ""; continue }
          if (tag == "[  SKIPPED ] ") {
            why = msg; sub(/^[ \n]*/, "", why); sub(/\n.*/, "", why)
            if (msg ~ gpu_re) { gpu_skipped++; gpu_list = gpu_list "\n    " prog ": " cur; gpu_why = why }
            else { skipped++; skip_list = skip_list "\n    " prog ": " cur ": " why }
            cur = ""; continue
          }
          if (line !~ /: Skipped$/) msg = msg "\n" line
        }
        close(file)
      }
      END {
        finish_file()
        printf "passed=%d failed=%d crashed=%d skipped=%d gpu_skipped=%d gpu_named=%d gpu_failed=%d\n", passed, failed, crashed, skipped, gpu_skipped, gpu_named, gpu_failed
        printf "gpu_why=%s\n", gpu_why
        if (failed) printf "failed tests:%s\n", fail_list
        if (crashed) printf "programs that did not finish:%s\n", crash_list
        if (skipped) printf "skipped (other reasons):%s\n", skip_list
        if (gpu_skipped) printf "GPU tests skipped (%s):%s\n", gpu_re, gpu_list
      }')
  local counts passed=0 failed=0 crashed=0 skipped=0 gpu_skipped=0 gpu_named=0 gpu_failed=0 gpu_reason label="tests"
  [ -z "$gpu_why" ] || label="CPU tests"   # without a device, every test that runs is a CPU test
  counts=$(echo "$verdict" | head -n 1)
  eval "$(echo "$counts" | tr ' ' '\n' | grep -E '^[a-z_]+=[0-9]+$' | sed 's/^/local /')"
  gpu_reason=$(echo "$verdict" | sed -n 's/^gpu_why=//p')
  { echo; echo "===== verdict"; echo "$verdict" | sed '2d'; } >>"$out/tests.log"
  echo "$verdict" | sed '1,2d' | sed 's/^/  /' >"$raw/tests-details.txt"

  if [ "$failed" -gt 0 ] || [ "$crashed" -gt 0 ]; then
    record "$label" "FAILED" "$dt" "$t" "$passed passed, $failed failed, $crashed did not finish, $skipped skipped"
    fail
  elif [ "$passed" -eq 0 ] && [ "$gpu_skipped" -eq 0 ]; then
    record "$label" "FAILED: no test ran" "$dt" "$t" "no test program in $here/tests, or GTEST_FILTER selects none"
    fail
  else
    record "$label" "ok" "$dt" "$t" "$passed passed, $skipped skipped"
  fi
  # The GPU tests: the ones that skip with the device probe's reason (GPU_SKIP_PATTERN) where there is no
  # device; on a GPU machine such a skip is a failure, and so is a run where no test naming CUDA or GPU passed.
  if [ -n "$gpu_why" ]; then
    if [ "$gpu_skipped" -gt 0 ]; then
      record "GPU tests" "not run: no device" "$dt" "$t" "$gpu_skipped tests: $gpu_reason"
      not_run
    else
      record "GPU tests" "none selected" "$dt" "$t"
    fi
  elif [ "$gpu_skipped" -gt 0 ]; then
    record "GPU tests" "FAILED: skipped on a GPU" "$dt" "$t" "$gpu_skipped tests skipped although nvidia-smi sees a GPU: $gpu_reason"
    fail
  elif [ "$gpu_failed" -gt 0 ]; then
    record "GPU tests" "FAILED" "$dt" "$t" "$gpu_failed tests naming CUDA or GPU failed or did not finish"
    fail
  elif [ "$gpu_named" -eq 0 ]; then
    record "GPU tests" "FAILED: none ran" "$dt" "$t" "no passed test names CUDA or GPU"
    fail
  else
    record "GPU tests" "ok" "$dt" "$t" "$gpu_named passed tests name CUDA or GPU; none skipped for want of a device"
  fi
  if [ -s "$raw/tests-details.txt" ]; then cat "$raw/tests-details.txt" | tee -a "$summary" | head -n 40; fi
}

gpu_group() {  # GROUP: 0 when the GPU groups can run, else one line
  if [ -n "$gpu_why" ]; then
    record "$1" "not run: no device" 0 0 "$gpu_why"
    not_run
    return 1
  fi
}

run_bench() {
  gpu_group bench || return
  ensure_ml25m bench || return
  step bench bench-cuda 45 env CINEFACTOR_BENCH_DATA="$ml25m" "$here/bin/bench_cuda" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$raw/bench_cuda.json" --benchmark_out_format=json
  step bench peer-torch 40 "$python" "$here/bench/peer_torch.py" "$ml25m/ratings.csv"
  step bench bench-evaluate 25 "$here/bin/bench_evaluate" --benchmark_filter=Ml25m \
    --benchmark_out="$raw/bench_evaluate.json" --benchmark_out_format=json
}

run_train() {
  gpu_group train || return
  ensure_ml25m train || return
  step train train-nmf-zero 15 "$cf" train --data "$ml25m" -k 64 --device cuda --algo nmf --objective zero \
    --iterations 200 --out "$work/models/nmf-zero.cfm"
  step train train-nmf-masked 20 "$cf" train --data "$ml25m" -k 64 --device cuda --algo nmf --objective masked \
    --biases --iterations 200 --out "$work/models/nmf-masked.cfm"
  step train train-svd 12 "$cf" train --data "$ml25m" -k 64 --device cuda --algo svd --out "$work/models/svd.cfm"
}

run_profile() {
  gpu_group profile || return
  local sanitizer ncu
  if ! sanitizer=$(find_tool compute-sanitizer); then
    record memcheck "FAILED" 0 0 "compute-sanitizer not found"
    fail
  elif ensure_small profile; then
    local mc=("$sanitizer" --tool memcheck --error-exitcode 97 --print-limit 20)
    local t=(-q train --data "$small" -k 16 --device cuda --tol 0 --out "$work/models/memcheck.cfm")
    step profile memcheck-nmf-zero 11 "${mc[@]}" "$cf" "${t[@]}" --algo nmf --objective zero --iterations 3
    step profile memcheck-nmf-masked 11 "${mc[@]}" "$cf" "${t[@]}" --algo nmf --objective masked --biases --iterations 3
    step profile memcheck-svd 11 "${mc[@]}" "$cf" "${t[@]}" --algo svd
    step profile memcheck-ranking 11 "${mc[@]}" "$cf" -q evaluate --data "$small" --algo svd -k 16 --device cuda
  fi
  if ! ncu=$(find_tool ncu); then
    record ncu-fused "FAILED" 0 0 "ncu not found"
    fail
  elif ensure_ml25m profile; then
    step profile ncu-fused 33 "$ncu" --clock-control none --kernel-name regex:nmf_masked --launch-count 8 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --export "$raw/ncu-fused" --force-overwrite \
      "$cf" -q train --data "$ml25m" -k 64 --device cuda --algo nmf --objective masked --biases --init random \
      --iterations 2 --tol 0 --out "$work/models/ncu.cfm" &&
      step profile ncu-report 5 "$ncu" --import "$raw/ncu-fused.ncu-rep" --page details
  fi
}

for g in "${groups[@]}"; do
  case "$g" in
    tests) run_tests ;;
    bench) run_bench ;;
    train) run_train ;;
    profile) run_profile ;;
  esac
done

# ---------------------------------------------------------------------------------------------------
# The summary, the raw files packed, and every file under 15 MiB (results travel back as at most 8 files).
{
  echo
  echo "steps ($(($(date +%s) - start)) s in all, budget $budget s):"
  printf '  %s\n' "${table[@]}"
  case $overall in
    0) echo "result: ok" ;;
    1) echo "result: FAILED (see the steps above and their group logs)" ;;
    2) echo "result: no failure, but GPU parts not run: no device ($gpu_why)" ;;
  esac
} | tee -a "$summary"
rm -rf "$raw/tests"
tar -C "$raw" -czf "$out/raw.tar.gz" . 2>/dev/null
limit=$((15 * 1048576))
if [ "$(stat -c %s "$out/raw.tar.gz")" -gt $limit ]; then
  rm -f "$raw"/*.ncu-rep
  tar -C "$raw" -czf "$out/raw.tar.gz" .
  echo "raw.tar.gz: the Nsight Compute report left out (over 15 MiB); its text is in profile.log" | tee -a "$summary"
fi
for f in "$out"/*.log; do
  [ -e "$f" ] || continue
  if [ "$(stat -c %s "$f")" -gt $limit ]; then
    { head -c 2097152 "$f"; printf '\n\n[... %s cut to its first 2 and last 12 MiB ...]\n\n' "$(basename "$f")"; tail -c 12582912 "$f"; } >"$f.cut"
    mv "$f.cut" "$f"
  fi
done
rm -rf "$raw"
echo "results: $out ($(ls "$out" | tr '\n' ' '))"
exit $overall
