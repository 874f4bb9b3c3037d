# Sourced by bench/run_cpu.sh: the results folder's machine header
# and the runner that keeps every program's output beside it.

# bench_header OUT_DIR: date, commit, CPU, memory and load average into OUT_DIR/machine.txt (and stdout).
bench_header() {
  {
    echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc) cores"
    echo "memory:  $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at the start)"
  } | tee "$1/machine.txt"
}

# bench_run OUT_DIR NAME COMMAND...: runs the command, its output to the terminal and OUT_DIR/NAME.txt.
bench_run() {
  local out=$1 name=$2
  shift 2
  echo "== $name"
  "$@" 2>&1 | tee "$out/$name.txt"
}

# bench_synth BUILD_DIR DATA_DIR: the synthetic ml-25m preset in DATA_DIR, generated once.
bench_synth() {
  if [ ! -f "$2/ratings.csv" ]; then
    "$1/cinefactor" data synth --preset ml-25m --seed 42 --out "$2"
  fi
}
