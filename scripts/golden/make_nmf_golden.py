#!/usr/bin/python3
"""Golden values for cinefactor's `zero` NMF objective, from scikit-learn's multiplicative-update solver.

Writes tests/golden/nmf_zero_50it.json: a small random sparse non-negative matrix (half-star values),
a random initial W0/H0, and what scikit-learn's NMF(solver='mu', beta_loss='frobenius') reaches from
them after 50 iterations with tol=0 (W, H and the halved squared Frobenius loss), plus
scikit-learn's `random` initialization of the same matrix and its `nndsvda` initialization of a
narrower matrix (NARROW_ROWS x NARROW_COLS) on which scikit-learn's randomized_svd is exact
(rank + its 10 oversamples >= the smaller side), so the init is deterministic and comparable.

Run with the system interpreter that has scikit-learn: /usr/bin/python3 scripts/golden/make_nmf_golden.py
"""
import json
import pathlib

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import _nmf

ROWS, COLS, DENSITY, RANK, ITERATIONS, SEED = 60, 40, 0.15, 5, 50, 2024
NARROW_ROWS, NARROW_COLS, NARROW_DENSITY, NARROW_RANK = 40, 12, 0.4, 3


def random_ratings(rng, rows, cols, density):
    mask = rng.random((rows, cols)) < density
    values = 0.5 * rng.integers(1, 11, size=(rows, cols))
    X = sp.csr_matrix(np.where(mask, values, 0.0))
    X.eliminate_zeros()
    assert (X.getnnz(axis=0) > 0).all() and (X.getnnz(axis=1) > 0).all()
    return X


def entries(X):
    coo = X.tocoo()
    return [[int(r), int(c), float(v)] for r, c, v in zip(coo.row, coo.col, coo.data)]


def main():
    rng = np.random.default_rng(SEED)
    X = random_ratings(rng, ROWS, COLS, DENSITY)
    N = random_ratings(rng, NARROW_ROWS, NARROW_COLS, NARROW_DENSITY)

    scale = np.sqrt(X.mean() / RANK)
    W0 = np.abs(scale * rng.standard_normal((ROWS, RANK)))
    H0 = np.abs(scale * rng.standard_normal((RANK, COLS)))

    W, H, n_iter = _nmf._fit_multiplicative_update(
        X, W0.copy(), H0.copy(), beta_loss="frobenius", max_iter=ITERATIONS, tol=0.0)
    assert n_iter == ITERATIONS
    loss = float(_nmf._beta_divergence(X, W, H, 2, square_root=False))
    loss0 = float(_nmf._beta_divergence(X, W0, H0, 2, square_root=False))

    Wn, Hn = _nmf._initialize_nmf(N, NARROW_RANK, init="nndsvda", random_state=0)
    Wr, Hr = _nmf._initialize_nmf(X, RANK, init="random", random_state=0)

    out = {
        "generator": "scripts/golden/make_nmf_golden.py",
        "sklearn_version": sklearn.__version__,
        "rows": ROWS, "cols": COLS, "rank": RANK, "iterations": ITERATIONS,
        "entries": entries(X),
        "W0": W0.tolist(), "H0": H0.tolist(),
        "initial_loss": loss0,
        "W": W.tolist(), "H": H.tolist(), "loss": loss,
        "nndsvda": {"rows": NARROW_ROWS, "cols": NARROW_COLS, "rank": NARROW_RANK, "entries": entries(N),
                    "matrix_mean": float(N.mean()), "W": Wn.tolist(), "H": Hn.tolist()},
        "random_W": Wr.tolist(), "random_H": Hr.tolist(), "matrix_mean": float(X.mean()),
    }
    target = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "nmf_zero_50it.json"
    target.write_text(json.dumps(out, indent=None) + "\n")
    print(f"wrote {target}: nnz={X.nnz}, loss {loss0:.6f} -> {loss:.6f}")


if __name__ == "__main__":
    main()
