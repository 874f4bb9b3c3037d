"""Offline evaluation with the CLI's protocols and metrics (``cinefactor evaluate``)."""

import json

from cinefactor import _core
from cinefactor._sparse import csr_parts
from cinefactor.datasets import MovieLensData
from cinefactor.estimators import NMF, TruncatedSVD

_BASELINES = ("mean", "bias", "popularity")


def _options_for(algorithm, n_threads, device):
    if isinstance(algorithm, (NMF, TruncatedSVD)):
        if getattr(algorithm, "init", None) == "custom":
            raise ValueError("evaluate: init='custom' cannot be evaluated (the folds differ in shape)")
        return algorithm._options()
    if algorithm not in _BASELINES:
        raise ValueError(f"evaluate: algorithm must be an NMF or TruncatedSVD instance or one of "
                         f"{', '.join(_BASELINES)}, got {algorithm!r}")
    o = _core.TrainOptions()
    o.set("algorithm", algorithm)
    o.set("device", device)
    o.threads = int(n_threads)
    return o


def evaluate(data, algorithm, *, protocol="holdout", split="random", test_fraction=0.2, folds=5, split_seed=42,
             at=(10,), relevance=4.0, min_ratings=0, n_threads=0, device="auto"):
    """Train and measure an algorithm offline, exactly as ``cinefactor evaluate --json`` does.

    Parameters
    ----------
    data : MovieLensData or scipy.sparse matrix
        The ratings (a matrix gets ids 0..n-1).
    algorithm : NMF, TruncatedSVD or {"mean", "bias", "popularity"}
        An estimator (its parameters are the training options) or a baseline's name.
    protocol : {"holdout", "kfold"}, default="holdout"
        One train/test split, or k folds by rating.
    split : {"random", "per-user", "temporal", "temporal-global"}, default="random"
        The holdout split (temporal ones need timestamps: MovieLensData only).
    test_fraction : float, default=0.2
        Holdout: the fraction of ratings held out.
    folds : int, default=5
        kfold: the number of folds.
    split_seed : int, default=42
        Seed of the split or fold assignment.
    at : sequence of int, default=(10,)
        Cut-offs k of the ranking metrics.
    relevance : float, default=4.0
        Held-out ratings at or above this are relevant.
    min_ratings : int, default=0
        Rank only movies with at least this many training ratings.
    n_threads : int, default=0
        For the baselines' ranking (an estimator's own ``n_threads`` applies otherwise).
    device : {"auto", "cpu", "cuda"}, default="auto"
        For the baselines' ranking (an estimator's own ``device`` applies otherwise).

    Returns
    -------
    dict
        The CLI's JSON object: ``metrics`` and ``metrics_std`` (e.g. ``"ndcg@10"``, ``"rmse"``),
        ``fit_seconds``, ``peak_memory_bytes``, ``fold_results``, ``model``, ``options``, ...
    """
    options = _options_for(algorithm, n_threads, device)
    if isinstance(data, MovieLensData):
        ratings = _core.dataset_ratings(data._dataset)
    else:
        indptr, indices, values, (rows, cols) = csr_parts(data)
        ratings = _core.ratings_from_csr(indptr, indices, values, rows, cols)
    result = _core.evaluate(ratings, options, protocol, split, float(test_fraction), int(split_seed), int(folds),
                            [int(k) for k in at], float(relevance), int(min_ratings))
    return json.loads(result)
