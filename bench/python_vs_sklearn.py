#!/usr/bin/env python3
"""cinefactor's Python package beside scikit-learn, in one process, on the same scipy matrix, and the binding's
overhead against the CLI for the same work.

For each dataset directory: NMF (k, a fixed number of multiplicative-update iterations, NNDSVDa init, no
early stop) with cinefactor.NMF and sklearn NMF(solver="mu"), and truncated SVD (k, 10 oversamples, 4 power
iterations) with cinefactor.TruncatedSVD and sklearn's randomized_svd; fit seconds (median of --repeat runs)
and the peak resident memory each fit adds (VmHWM reset before each fit through /proc/self/clear_refs). Then
`cinefactor train` for the same NMF and SVD: the CLI's own training seconds ("seconds" of --json, load
excluded) against cinefactor.NMF.fit(MovieLensData) in Python (the dataset's own matrix, no conversion)
and against fit(scipy matrix) (the binding converts it once).

  bench/python_vs_sklearn.py [--cli build/cpu/cinefactor] --data DIR [--data DIR2] [-k 64] [--iterations 20]
                             [--repeat 3] [--skip-sklearn-nmf-over NNZ] [--threads T] [--json OUT]
  bench/python_vs_sklearn.py --overhead-only --cli build/cpu/cinefactor --data DIR --threads 2 [...]
                             the binding against the CLI alone, each Python fit next to its CLI run
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import cinefactor


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def measure(fn, repeat):
    """Median wall seconds over `repeat` runs, and the largest memory one run added at its peak."""
    seconds, added = [], []
    for _ in range(repeat):
        reset_peak()
        before = rss_bytes()
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
        added.append(peak_bytes() - before)
    return statistics.median(seconds), max(added), seconds


def cli_seconds(cli, data_dir, args, repeat, threads=0):
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([cli, "-q", "train", "--data", data_dir, "--device", "cpu", "--threads", str(threads),
                                  "--out", os.path.join(tmp, "model.cfm"), "--json", *args],
                                 capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout)["seconds"])
    return statistics.median(runs), runs


def bench_dataset(data_dir, opts):
    from sklearn.decomposition import NMF as SkNMF
    from sklearn.utils.extmath import randomized_svd

    data = cinefactor.load_movielens(data_dir)
    X = data.ratings  # float32 CSR; scikit-learn keeps float32
    k, iters, repeat = opts.k, opts.iterations, opts.repeat
    row = {"data": data_dir, "users": X.shape[0], "movies": X.shape[1], "nnz": int(X.nnz), "k": k,
           "iterations": iters, "repeat": repeat}
    print(f"{data_dir}: {X.shape[0]} x {X.shape[1]}, {X.nnz} ratings, k = {k}", flush=True)

    def ours_nmf(source):
        return lambda: cinefactor.NMF(n_components=k, max_iter=iters, tol=0.0, random_state=42,
                                      device="cpu", n_threads=opts.threads).fit(source)

    def ours_svd(source):
        return lambda: cinefactor.TruncatedSVD(n_components=k, random_state=42, device="cpu",
                                               n_threads=opts.threads).fit(source)

    if opts.overhead_only:
        return overhead(data_dir, data, X, ours_nmf, ours_svd, row, opts)

    results = {}
    results["cinefactor NMF (MovieLensData)"] = measure(ours_nmf(data), repeat)
    results["cinefactor NMF (scipy CSR)"] = measure(ours_nmf(X), repeat)
    if X.nnz <= opts.skip_sklearn_nmf_over:
        results["sklearn NMF mu"] = measure(
            lambda: SkNMF(n_components=k, solver="mu", init="nndsvda", max_iter=iters, tol=0.0,
                          random_state=42).fit(X), repeat)
    results["cinefactor TruncatedSVD"] = measure(ours_svd(X), repeat)
    results["sklearn randomized_svd"] = measure(
        lambda: randomized_svd(X, k, n_oversamples=10, n_iter=4, random_state=42), repeat)
    for name, (median, added, runs) in results.items():
        print(f"  {name:32s} {median:8.2f} s  ({median / (iters if 'NMF' in name else 1):.3f} s/it)"
              f"  +{added / 2**20:7.0f} MiB  runs {', '.join(f'{r:.2f}' for r in runs)}", flush=True)
    row["python"] = {name: {"seconds": m, "peak_added_bytes": a, "runs": r} for name, (m, a, r) in results.items()}

    if not opts.cli:
        return row
    # The binding against the CLI, the same work: train() seconds in the CLI against Python's wall time.
    cli_nmf, cli_nmf_runs = cli_seconds(opts.cli, data_dir, ["--algo", "nmf", "-k", str(k), "--iterations",
                                                             str(iters), "--tol", "0"], repeat)
    cli_svd, cli_svd_runs = cli_seconds(opts.cli, data_dir, ["--algo", "svd", "-k", str(k)], repeat)
    py_nmf = results["cinefactor NMF (MovieLensData)"][0]
    py_nmf_csr = results["cinefactor NMF (scipy CSR)"][0]
    py_svd = results["cinefactor TruncatedSVD"][0]
    row["cli"] = {"nmf_seconds": cli_nmf, "nmf_runs": cli_nmf_runs, "svd_seconds": cli_svd, "svd_runs": cli_svd_runs}
    print(f"  CLI train nmf {cli_nmf:.2f} s: Python {py_nmf:.2f} s ({100 * (py_nmf / cli_nmf - 1):+.1f}%), "
          f"from scipy CSR {py_nmf_csr:.2f} s ({100 * (py_nmf_csr / cli_nmf - 1):+.1f}%)")
    print(f"  CLI train svd {cli_svd:.2f} s: Python from scipy CSR {py_svd:.2f} s "
          f"({100 * (py_svd / cli_svd - 1):+.1f}%)", flush=True)
    return row


def overhead(data_dir, data, X, ours_nmf, ours_svd, row, opts):
    """The binding against the CLI alone: each repeat runs the Python fit and then `cinefactor train` for the same
    work back to back, so that both see the same machine; the median of the per-repeat ratios."""
    k, iters = opts.k, opts.iterations
    nmf_args = ["--algo", "nmf", "-k", str(k), "--iterations", str(iters), "--tol", "0"]
    svd_args = ["--algo", "svd", "-k", str(k)]
    fits = (("NMF (MovieLensData)", ours_nmf(data), nmf_args), ("NMF (scipy CSR)", ours_nmf(X), nmf_args),
            ("TruncatedSVD (MovieLensData)", ours_svd(data), svd_args),
            ("TruncatedSVD (scipy CSR)", ours_svd(X), svd_args))
    pairs = {name: [] for name, _, _ in fits}
    for rep in range(opts.repeat):
        for name, fit, args in fits:
            python_s = measure(fit, 1)[0]
            cli_s = cli_seconds(opts.cli, data_dir, args, 1, opts.threads)[0]
            pairs[name].append((python_s, cli_s))
            print(f"  [{rep + 1}/{opts.repeat}] {name:26s} Python {python_s:.3f} s, CLI {cli_s:.3f} s "
                  f"({100 * (python_s / cli_s - 1):+.1f}%)", flush=True)
    row["overhead"] = {}
    for name, runs in pairs.items():
        ratio = statistics.median(p / c for p, c in runs)
        row["overhead"][name] = {"median_ratio": ratio, "runs": runs}
        print(f"  {name:26s} Python / CLI, median of {len(runs)}: {ratio:.3f} ({100 * (ratio - 1):+.1f}%)", flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", help="the cinefactor binary (the overhead comparison is left out without it)")
    parser.add_argument("--data", action="append", required=True, help="a MovieLens-layout directory")
    parser.add_argument("-k", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=20, help="NMF iterations (fixed, no early stop)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-sklearn-nmf-over", type=int, default=10**12,
                        help="leave scikit-learn's NMF out above this many ratings")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads of cinefactor's fits, Python and CLI alike (0: automatic, which follows the load)")
    parser.add_argument("--overhead-only", action="store_true",
                        help="only the binding against the CLI (needs --cli), Python and CLI runs interleaved")
    parser.add_argument("--json", help="write the results here")
    opts = parser.parse_args()
    if opts.overhead_only and not opts.cli:
        parser.error("--overhead-only needs --cli")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"load average {' '.join(load)}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    rows = [bench_dataset(d, opts) for d in opts.data]
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"load_average": load, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
