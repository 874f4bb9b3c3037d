#!/usr/bin/python3
"""scikit-learn peers of bench/bench_factorize.cpp at k = 64, on the same ratings.

  NMF(solver='mu', beta_loss='frobenius', init='random', max_iter=10, tol=0)  (the `zero` objective)
  sklearn.utils.extmath.randomized_svd(n_oversamples=10, n_iter=4)

Each algorithm runs in its own process, so each peak resident memory (getrusage ru_maxrss) is its own
(matrix included). The matrix is float32 CSR, users x movies, as cinefactor holds it.

  /usr/bin/python3 bench/peer_sklearn.py /path/to/ratings.csv
  /usr/bin/python3 bench/peer_sklearn.py --synthetic 162541,59047,25000095
The synthetic matrix follows the bench's recipe (exponential counts per user, movie popularity with
density ~ 1/sqrt(rank), half-star values) with numpy's generator: same shape and statistics, not the
same entries.
"""
import argparse
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

RANK = 64
NMF_ITERATIONS = 10
OVERSAMPLES = 10
POWER_ITERATIONS = 4


def load(args):
    if args.synthetic:
        users, movies, ratings = (int(x) for x in args.synthetic.split(","))
        rng = np.random.default_rng(42)
        counts = np.minimum(movies, 1 + np.floor(rng.exponential(max(1.0, ratings / users - 1), users))).astype(np.int64)
        rows, cols = [], []
        for u, c in enumerate(counts):
            picked = np.unique(np.minimum(movies - 1, (movies * rng.random(c) ** 2).astype(np.int64)))
            while len(picked) < c:
                more = np.minimum(movies - 1, (movies * rng.random(c - len(picked)) ** 2).astype(np.int64))
                picked = np.unique(np.concatenate([picked, more]))
            rows.append(np.full(len(picked), u))
            cols.append(picked)
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        values = (0.5 * rng.integers(1, 11, len(rows))).astype(np.float32)
        return sp.csr_matrix((values, (rows, cols)), shape=(users, movies), dtype=np.float32)
    import pandas as pd
    r = pd.read_csv(args.ratings, usecols=["userId", "movieId", "rating"])
    _, users = np.unique(r["userId"].to_numpy(), return_inverse=True)
    _, movies = np.unique(r["movieId"].to_numpy(), return_inverse=True)
    return sp.csr_matrix((r["rating"].to_numpy(np.float32), (users, movies)), dtype=np.float32)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(args):
    X = load(args)
    print(f"matrix: {X.shape[0]} x {X.shape[1]}, {X.nnz} ratings, peak after load {peak_mib():.1f} MiB", flush=True)
    if args.algorithm == "nmf":
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NMF(n_components=RANK, solver="mu", beta_loss="frobenius", init="random",
                    max_iter=NMF_ITERATIONS, tol=0, random_state=0)
        start = time.perf_counter()
        model.fit_transform(X)
        seconds = time.perf_counter() - start
        print(f"sklearn NMF mu k={RANK} {NMF_ITERATIONS} iterations: {seconds:.3f} s "
              f"({seconds / NMF_ITERATIONS:.3f} s/iteration, init included), peak {peak_mib():.1f} MiB")
    else:
        from sklearn.utils.extmath import randomized_svd
        start = time.perf_counter()
        randomized_svd(X, RANK, n_oversamples=OVERSAMPLES, n_iter=POWER_ITERATIONS, random_state=0)
        seconds = time.perf_counter() - start
        print(f"sklearn randomized_svd k={RANK} p={OVERSAMPLES} q={POWER_ITERATIONS}: {seconds:.3f} s, "
              f"peak {peak_mib():.1f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ratings", nargs="?", help="MovieLens ratings.csv")
    parser.add_argument("--synthetic", help="users,movies,ratings of a random matrix instead")
    parser.add_argument("--algorithm", choices=["nmf", "svd"], help="run one (default: each in its own process)")
    args = parser.parse_args()
    if not args.ratings and not args.synthetic:
        parser.error("give ratings.csv or --synthetic users,movies,ratings")
    if args.algorithm:
        run(args)
        return
    for algorithm in ("nmf", "svd"):
        subprocess.run([sys.executable, *sys.argv, "--algorithm", algorithm], check=True)


if __name__ == "__main__":
    main()
