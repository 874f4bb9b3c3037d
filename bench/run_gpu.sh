#!/usr/bin/env bash
# The GPU measurements in one run, on the synthetic ml-25m preset (162,541 users x 59,047 movies,
# 25,000,095 ratings, k = 64), each next to its peer on the same GPU in the same run:
#   tests         the whole test suite, the CUDA-vs-CPU typed tests included (ctest)
#   factorizing   bench_cuda (NMF zero / masked per iteration, randomized SVD with its accuracy, each fused
#                 kernel's GB/s against the device's peak)    vs bench/peer_torch.py (torch.sparse,
#                 sampled_addmm, svd_lowrank)
#   evaluating    bench_evaluate: ranking users on the CPU and on the GPU
#   end to end    `cinefactor train --device cuda` from the binary cache: nmf zero, nmf masked, svd
#   profiling     Nsight Compute on the fused kernels of two masked iterations, when ncu is on the PATH
# Everything goes to $OUT_DIR (default bench/results/gpu-<date>), with the device, driver, CUDA version,
# CPU and commit in machine.txt.
#   cmake --preset release -DCINEFACTOR_CUDA=ON && cmake --build --preset release
#   bench/run_gpu.sh [BUILD_DIR]          (default build/release; PYTHON=python with PyTorch, default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
work=${WORK:-/tmp/cinefactor-bench}
out=${OUT_DIR:-bench/results/gpu-$(date -u +%Y-%m-%d)}
python=${PYTHON:-python3}
if ! command -v nvidia-smi >/dev/null; then
  echo "run_gpu: nvidia-smi not found: this script measures an NVIDIA GPU" >&2
  exit 1
fi
mkdir -p "$work" "$out"
data="$work/synth-ml-25m"

. bench/lib.sh
bench_header "$out"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory --format=csv
  nvcc --version 2>/dev/null | tail -n 2 || true
  "$build/cinefactor" device
} | tee -a "$out/machine.txt"
bench_synth "$build" "$data"
"$build/cinefactor" data info --data "$data" >/dev/null  # writes the binary cache the runs below read
export CINEFACTOR_BENCH_DATA="$data"
run() { bench_run "$out" "$@"; }

run tests ctest --test-dir "$build" -j "$(nproc)" --output-on-failure
run factorize-cuda "$build/bench/bench_cuda" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
run factorize-torch "$python" bench/peer_torch.py "$data/ratings.csv"
run evaluate "$build/bench/bench_evaluate" --benchmark_filter='Ml25m'
train() {  # name, train flags...
  local name=$1
  shift
  run "train-$name" "$build/cinefactor" train --data "$data" -k 64 --device cuda --out "$work/$name.cfm" "$@"
}
train nmf-zero --algo nmf --objective zero --iterations 200
train nmf-masked --algo nmf --objective masked --biases --iterations 200
train svd --algo svd
if command -v ncu >/dev/null; then
  run ncu ncu --kernel-name regex:'nmf_masked|nmf_zero|top_k' --launch-count 8 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis \
    "$build/cinefactor" -q train --data "$data" -k 64 --device cuda --algo nmf --objective masked --biases \
    --init random --iterations 2 --tol 0 --out "$work/ncu.cfm"
fi
echo "results in $out"
