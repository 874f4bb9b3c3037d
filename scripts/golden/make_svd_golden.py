#!/usr/bin/python3
"""Golden singular values of ml-latest-small's rating matrix for cinefactor's randomized SVD test.

Builds the users x movies matrix (dense indices in ascending id order, ratings as values, uncentered)
from ratings.csv and writes its top-50 singular values, computed by scipy.sparse.linalg.svds (ARPACK,
converged to machine precision), to tests/golden/svd_ml_latest_small_k50.json. The MovieLens data is
not copied: only the 50 numbers are stored.

Run: /usr/bin/python3 scripts/golden/make_svd_golden.py /path/to/ml-latest-small/ratings.csv
"""
import json
import pathlib
import sys

import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
from scipy.sparse.linalg import svds

RANK = 50


def main():
    ratings = pd.read_csv(sys.argv[1])
    users, user_index = np.unique(ratings["userId"].to_numpy(), return_inverse=True)
    movies, movie_index = np.unique(ratings["movieId"].to_numpy(), return_inverse=True)
    X = sp.csr_matrix((ratings["rating"].to_numpy(dtype=np.float64), (user_index, movie_index)),
                      shape=(len(users), len(movies)))
    singular = np.sort(svds(X, k=RANK, tol=0, random_state=0, return_singular_vectors=False))[::-1]
    out = {
        "generator": "scripts/golden/make_svd_golden.py",
        "scipy_version": scipy.__version__,
        "users": int(X.shape[0]), "movies": int(X.shape[1]), "nnz": int(X.nnz), "rank": RANK,
        "singular_values": [float(s) for s in singular],
    }
    target = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "svd_ml_latest_small_k50.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}: {X.shape}, nnz={X.nnz}, sigma_1={singular[0]:.6f}, sigma_50={singular[-1]:.6f}")


if __name__ == "__main__":
    main()
