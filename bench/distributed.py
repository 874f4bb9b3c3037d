#!/usr/bin/env python3
"""Distributed training beside one process, on one machine: `cinefactor train` (NMF `zero`, random init, k,
a fixed number of iterations, --no-user-factors) as one process with --threads T, and under `mpirun -np P`
with one thread per rank, for each P; --repeat runs of each, interleaved. Per run: seconds per iteration
(median of the iterations after the first, from --json's iteration_seconds), and rank 0's communication
during training (--json's communication.train: MPI calls, payload bytes, seconds inside MPI) per iteration,
beside the formula of src/dist/factorization.hpp:
  payload per rank and iteration = 4 n k (reduce-scatter of X^T W) + 4 n k / P (its block of the all-gather
  of H) + 2 * 8 k^2 (the two Gram matrices) + 8 (the loss), plus the k^2-sized and n-sized extras
  counted once per fit, and the wire volume a ring algorithm moves for the two large collectives,
  2 (P - 1) / P * 4 n k bytes per rank.
Medians, every run listed, the load average before each run.

  bench/distributed.py --cli build/release/cinefactor --data DIR [--ranks 1 2] [--threads 2] [-k 64]
                       [--iterations 6] [--repeat 3] [--json OUT]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return json.loads(done.stdout)


def per_iteration(summary):
    t = summary["iteration_seconds"]
    return statistics.median(b - a for a, b in zip(t, t[1:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, default=2, help="threads of the one-process run")
    ap.add_argument("-k", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    mpirun = shutil.which("mpirun") or sys.exit("mpirun not found (scripts/install-deps installs Open MPI)")
    tmp = tempfile.mkdtemp()
    train = [args.cli, "-q", "train", "--data", args.data, "--algo", "nmf", "--init", "random", "--rank",
             str(args.k), "--iterations", str(args.iterations), "--tol", "0", "--no-user-factors", "--json",
             "--out", os.path.join(tmp, "m.cfm")]
    configs = [("one process", [*train, "--threads", str(args.threads)], None)]
    configs += [(f"mpirun -np {p}", [mpirun, "-np", str(p), *train, "--threads", "1"], p) for p in args.ranks]
    runs = {name: [] for name, _, _ in configs}
    for rep in range(args.repeat):
        for name, cmd, ranks in configs:
            load = os.getloadavg()[0]
            s = run(cmd)
            runs[name].append({"load": load, "iteration_s": per_iteration(s), "summary": s})
            print(f"[{rep + 1}/{args.repeat}] {name}: {runs[name][-1]['iteration_s']:.3f} s/iteration (load {load:.2f})",
                  file=sys.stderr)
    shutil.rmtree(tmp)
    first = runs["one process"][0]["summary"]
    n, k, it = first["movies"], args.k, args.iterations
    baseline = statistics.median(r["iteration_s"] for r in runs["one process"])
    table = []
    for name, _, ranks in configs:
        rs = runs[name]
        row = {"config": name, "iteration_s_median": statistics.median(r["iteration_s"] for r in rs),
               "iteration_s_runs": [r["iteration_s"] for r in rs], "loads": [r["load"] for r in rs]}
        row["vs_one_process"] = row["iteration_s_median"] / baseline
        if ranks:
            comm = [r["summary"]["communication"]["train"] for r in rs]
            row["comm_s_per_iteration_median"] = statistics.median(c["seconds"] / it for c in comm)
            row["payload_bytes_per_iteration"] = comm[0]["bytes"] / it
            row["payload_formula_bytes"] = 4 * n * k + 4 * n * k / ranks + 16 * k * k + 8
            row["ring_wire_bytes_per_iteration"] = 2 * (ranks - 1) / ranks * 4 * n * k
        table.append(row)
    result = {"data": args.data, "users": first["users"], "movies": n, "ratings": first["ratings"], "k": k,
              "iterations": it, "threads_one_process": args.threads, "rows": table}
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
