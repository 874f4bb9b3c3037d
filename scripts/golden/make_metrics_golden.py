#!/usr/bin/python3
"""Writes tests/golden/ranking_metrics.json: ranking and rating metrics of random score matrices,
computed independently of the C++ code (numpy), with NDCG cross-checked against scikit-learn.

Conventions (the same as include/cinefactor/metrics.hpp): a held-out rating >= threshold is relevant;
a user's training movies are not ranked; ranking by descending score, ties by ascending movie index;
Precision@k = hits / k; Recall@k = hits / #relevant; NDCG@k with binary gains and the ideal DCG over
min(k, #relevant); AP@k normalized by min(k, #relevant); averages over users with >= 1 relevant movie;
coverage@k = fraction of all movies in at least one evaluated user's top-k.

scikit-learn's ndcg_score averages the gain over tied scores instead of breaking ties by index, so it
is given the rank positions (all distinct) as scores; its ideal DCG is the same (top k of the gains).

Run from the repository root: /usr/bin/python3 scripts/golden/make_metrics_golden.py
"""
import json
import os

import numpy as np
from sklearn.metrics import ndcg_score

RATINGS = np.arange(1, 11) * 0.5  # 0.5 .. 5.0


def make_case(name, rng, n_users, n_movies, train_p, test_p, ks, threshold, score_levels=None):
    if score_levels is None:
        scores = rng.normal(size=(n_users, n_movies)).astype(np.float32)
    else:  # few distinct values: many ties
        scores = rng.integers(0, score_levels, size=(n_users, n_movies)).astype(np.float32)
    train, test = [], []
    for u in range(n_users):
        draw = rng.random(n_movies)
        for j in range(n_movies):
            if draw[j] < train_p:
                train.append((u, j, float(rng.choice(RATINGS))))
            elif draw[j] < train_p + test_p:
                test.append((u, j, float(rng.choice(RATINGS))))
    return {"name": name, "n_users": n_users, "n_movies": n_movies, "ks": ks, "threshold": threshold,
            "scores": [[float(x) for x in row] for row in scores],
            "train": [list(t) for t in train], "test": [list(t) for t in test]}


def expected(case):
    n_users, n_movies, ks, thr = case["n_users"], case["n_movies"], case["ks"], case["threshold"]
    scores = np.array(case["scores"], dtype=np.float32).astype(np.float64)
    train = {u: set() for u in range(n_users)}
    for u, j, _ in case["train"]:
        train[u].add(j)
    relevant = {u: set() for u in range(n_users)}
    for u, j, r in case["test"]:
        if r >= thr:
            relevant[u].add(j)

    errors = np.array([scores[u, j] - r for u, j, r in case["test"]])
    out = {"rmse": float(np.sqrt(np.mean(errors ** 2))), "mae": float(np.mean(np.abs(errors)))}

    users = [u for u in range(n_users) if relevant[u]]
    out["users_evaluated"] = len(users)
    at_k = []
    for k in ks:
        sums = np.zeros(5)
        covered = set()
        for u in users:
            cand = np.array([j for j in range(n_movies) if j not in train[u]])
            order = cand[np.lexsort((cand, -scores[u, cand]))]  # primary: score desc; then index asc
            top = order[:k]
            covered.update(int(j) for j in top)
            rel = np.array([1.0 if j in relevant[u] else 0.0 for j in top])
            n_rel = len(relevant[u])
            hits = rel.sum()
            disc = 1.0 / np.log2(np.arange(len(top)) + 2.0)
            dcg = float((rel * disc).sum())
            ideal = min(k, n_rel)
            idcg = float((1.0 / np.log2(np.arange(ideal) + 2.0)).sum())
            ndcg = dcg / idcg
            precisions = np.cumsum(rel) / (np.arange(len(top)) + 1.0)
            ap = float((precisions * rel).sum()) / ideal
            if len(cand) >= 2:
                y_true = np.array([[1.0 if j in relevant[u] else 0.0 for j in order]])
                y_score = -np.arange(len(order), dtype=np.float64)[None, :]
                ref = ndcg_score(y_true, y_score, k=k)
                assert abs(ref - ndcg) < 1e-12, (case["name"], u, k, ref, ndcg)
            sums += [hits / k, hits / n_rel, ndcg, ap, 1.0 if hits > 0 else 0.0]
        m = sums / len(users)
        at_k.append({"k": k, "precision": m[0], "recall": m[1], "ndcg": m[2], "map": m[3], "hitrate": m[4],
                     "coverage": len(covered) / n_movies})
    out["at_k"] = at_k
    return out


def main():
    rng = np.random.default_rng(20240611)
    cases = [
        make_case("continuous", rng, 25, 40, 0.3, 0.25, [1, 3, 5, 10], 4.0),
        make_case("ties", rng, 20, 30, 0.25, 0.3, [2, 5, 10], 3.5, score_levels=3),
        make_case("few-candidates", rng, 12, 15, 0.6, 0.3, [5, 10, 20], 4.0),
    ]
    for c in cases:
        c["expected"] = expected(c)
    path = os.path.join("tests", "golden", "ranking_metrics.json")
    with open(path, "w") as f:
        json.dump({"generator": "scripts/golden/make_metrics_golden.py", "cases": cases}, f)
        f.write("\n")
    print("wrote", path, [(c["name"], c["expected"]["users_evaluated"]) for c in cases])


if __name__ == "__main__":
    main()
