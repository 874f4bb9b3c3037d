#!/usr/bin/python3
"""Writes tests/golden/nmf_transform.json: scikit-learn NMF.transform (solver "mu", Frobenius loss)
of a few visitors' sparse rating rows against fixed, hand-set components. The C++ zero-NMF fold-in
must reproduce these factor vectors (tests/test_recommender.cpp).

Run with the system Python that has scikit-learn: /usr/bin/python3 scripts/golden/make_nmf_transform_golden.py
Deterministic (fixed seeds); components are float32 values so the C++ model holds them exactly.
"""
import json
import pathlib
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

N_MOVIES = 40
RANK = 5
CASES = [(200, 1e-4), (50, 0.0), (1000, 1e-6)]  # (max_iter, tol)


def main():
    rng = np.random.default_rng(20240611)
    components = rng.gamma(shape=1.5, scale=0.6, size=(RANK, N_MOVIES)).astype(np.float32)
    components[rng.random(components.shape) < 0.15] = 0.0  # some exact zeros, as NMF produces
    components = components.astype(np.float64)

    visitors = []
    for n_rated in (1, 3, 8, 15):
        movies = np.sort(rng.choice(N_MOVIES, size=n_rated, replace=False))
        ratings = rng.integers(1, 11, size=n_rated) * 0.5
        visitors.append((movies, ratings))

    cases = []
    for max_iter, tol in CASES:
        model = NMF(n_components=RANK, solver="mu", beta_loss="frobenius", init="random", max_iter=max_iter,
                    tol=tol, random_state=0)
        # fit() only establishes the fitted state; the components are then replaced by ours.
        model.fit(rng.random((6, N_MOVIES)))
        model.components_ = components.copy()
        out = []
        for movies, ratings in visitors:
            row = sp.csr_matrix((ratings, (np.zeros(len(movies), dtype=int), movies)), shape=(1, N_MOVIES))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                w = model.transform(row)[0]  # one visitor at a time: transform's start depends on mean(X)
            out.append({"movies": movies.tolist(), "ratings": ratings.tolist(), "w": w.tolist()})
        cases.append({"max_iter": max_iter, "tol": tol, "visitors": out})

    golden = {
        "generator": "scripts/golden/make_nmf_transform_golden.py",
        "sklearn_version": sklearn.__version__,
        "n_movies": N_MOVIES,
        "rank": RANK,
        "components": components.tolist(),  # rank x n_movies (scikit-learn's orientation)
        "cases": cases,
    }
    path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "nmf_transform.json"
    path.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
