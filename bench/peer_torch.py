#!/usr/bin/python3
"""PyTorch peers of bench/bench_cuda.cpp at k = 64 on one GPU, on the same ratings.csv.

  zero objective    scikit-learn's multiplicative updates (W *= X H^T / (W H H^T), then H), with
                    torch.sparse CSR x dense products for X H^T and X^T W
  masked objective  the update of cinefactor's masked NMF without biases (num = sum_e r_e h_e,
                    den = sum_e <w, h_e> h_e + l2 n_u w + eps), with torch.sparse.sampled_addmm computing
                    <w_u, h_j> at the observed entries only and CSR products for the sums
  randomized SVD    torch.svd_lowrank(q = k + 10, niter = 4) on the sparse matrix, and its accuracy: the
                    largest relative error of the k singular values against niter = 10 (bench_cuda
                    reports the same figure for cinefactor)

Prints the seconds per NMF iteration (after warm-up iterations, synchronized) and the SVD's total time.
Run on a GPU machine where PyTorch is installed (not a dependency of cinefactor):

  python3 bench/peer_torch.py /path/to/ratings.csv
"""
import argparse
import sys
import time

RANK = 64
OVERSAMPLES = 10
POWER_ITERATIONS = 4
WARMUP_ITERATIONS = 2
TIMED_ITERATIONS = 20
L2 = 0.15
EPSILON = 1.1920929e-07  # np.finfo(np.float32).eps, scikit-learn's EPSILON
SVD_RUNS = 3
REFERENCE_POWER_ITERATIONS = 10


def load(path, torch, device):
    import numpy as np
    import pandas as pd

    r = pd.read_csv(path, usecols=["userId", "movieId", "rating"])
    _, users = np.unique(r["userId"].to_numpy(), return_inverse=True)
    _, movies = np.unique(r["movieId"].to_numpy(), return_inverse=True)
    shape = (int(users.max()) + 1, int(movies.max()) + 1)
    indices = torch.tensor(np.stack([users, movies]), dtype=torch.int64)
    values = torch.tensor(r["rating"].to_numpy(), dtype=torch.float32)
    coo = torch.sparse_coo_tensor(indices, values, shape).coalesce()
    x = coo.to_sparse_csr().to(device)
    xt = coo.t().coalesce().to_sparse_csr().to(device)
    return x, xt


def timed(torch, step, label):
    for _ in range(WARMUP_ITERATIONS):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(TIMED_ITERATIONS):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / TIMED_ITERATIONS
    print(f"{label}: {seconds * 1e3:.3f} ms per iteration")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ratings", help="a MovieLens ratings.csv")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("peer_torch: no CUDA device visible to PyTorch", file=sys.stderr)
        return 1
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    x, xt = load(args.ratings, torch, device)
    m, n = x.shape
    print(f"{args.ratings}: {m} users x {n} movies, {x.values().numel()} ratings, "
          f"k = {RANK}, {torch.cuda.get_device_name(device)}")
    gen = torch.Generator(device=device).manual_seed(42)
    mean = float(x.values().sum()) / (m * n)
    scale = (mean / RANK) ** 0.5
    w = (scale * torch.randn(m, RANK, device=device, generator=gen)).abs()
    h = (scale * torch.randn(n, RANK, device=device, generator=gen)).abs()  # H^T, movies x k

    def zero_step():
        nonlocal w, h
        num = x @ h
        den = w @ (h.t() @ h)
        den[den == 0] = EPSILON
        w = w * (num / den)
        num = xt @ w
        den = h @ (w.t() @ w)
        den[den == 0] = EPSILON
        h = h * (num / den)

    timed(torch, zero_step, "nmf zero (torch.sparse CSR)")

    n_user = (x.crow_indices()[1:] - x.crow_indices()[:-1]).to(torch.float32).unsqueeze(1)
    n_movie = (xt.crow_indices()[1:] - xt.crow_indices()[:-1]).to(torch.float32).unsqueeze(1)
    mean_observed = float(x.values().mean())
    scale = (mean_observed / RANK) ** 0.5
    w = (scale * torch.randn(m, RANK, device=device, generator=gen)).abs()
    h = (scale * torch.randn(n, RANK, device=device, generator=gen)).abs()

    def masked_step():
        nonlocal w, h
        # <w_u, h_j> at the observed entries: sampled_addmm(beta = 0) keeps x's sparsity pattern.
        pred = torch.sparse.sampled_addmm(x, w, h.t(), beta=0.0, alpha=1.0)
        w = w * ((x @ h) / (pred @ h + L2 * n_user * w + EPSILON))
        pred_t = torch.sparse.sampled_addmm(xt, h, w.t(), beta=0.0, alpha=1.0)
        h = h * ((xt @ w) / (pred_t @ w + L2 * n_movie * h + EPSILON))

    timed(torch, masked_step, "nmf masked (sampled_addmm + CSR)")

    coo = x.to_sparse_coo()
    times = []
    for _ in range(SVD_RUNS):
        torch.cuda.synchronize()
        start = time.perf_counter()
        u, s, v = torch.svd_lowrank(coo, q=RANK + OVERSAMPLES, niter=POWER_ITERATIONS)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    _, s_ref, _ = torch.svd_lowrank(coo, q=RANK + OVERSAMPLES, niter=REFERENCE_POWER_ITERATIONS)
    s = s[:RANK].double()
    s_ref = s_ref[:RANK].double()
    error = float(((s - s_ref).abs() / s_ref).max())
    times.sort()
    print(f"randomized svd (torch.svd_lowrank, q = {RANK + OVERSAMPLES}, niter = {POWER_ITERATIONS}): "
          f"{times[len(times) // 2] * 1e3:.1f} ms total (median of {SVD_RUNS}), sigma_1 = {float(s[0]):.4f}, "
          f"sigma_k = {float(s[-1]):.4f}, max relative sigma error vs niter = {REFERENCE_POWER_ITERATIONS}: "
          f"{error:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
