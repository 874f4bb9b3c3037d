"""The Python package gives the C++ engine's answers: scikit-learn's golden NMF, scipy's singular values,
the CLI's models and recommendations."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg

import cinefactor
from conftest import golden


def relative_difference(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_nmf_zero_matches_scikit_learn_golden_from_the_same_initial_factors():
    g = golden("nmf_zero_50it.json")
    entries = np.array(g["entries"])
    X = sp.csr_matrix((entries[:, 2], (entries[:, 0].astype(int), entries[:, 1].astype(int))),
                      shape=(g["rows"], g["cols"]))
    nmf = cinefactor.NMF(n_components=g["rank"], init="custom", max_iter=g["iterations"], tol=0.0, device="cpu")
    W = nmf.fit_transform(X, W=np.array(g["W0"]), H=np.array(g["H0"]))
    H = nmf.components_
    assert nmf.n_iter_ == 50
    # float32 here against float64 in scikit-learn over 50 updates (the C++ test's tolerance).
    assert relative_difference(W, np.array(g["W"])) < 1e-4
    assert relative_difference(H, np.array(g["H"])) < 1e-4
    assert relative_difference(W @ H, np.array(g["W"]) @ np.array(g["H"])) < 1e-4
    assert nmf.loss_curve_[-1] == pytest.approx(g["loss"], rel=1e-4)
    assert nmf.reconstruction_err_ == pytest.approx(np.linalg.norm(X.toarray() - W @ H), rel=1e-4)
    assert "init" not in nmf.model_.hyperparameters


@pytest.mark.parametrize("estimator", [
    cinefactor.NMF(n_components=6, max_iter=30, random_state=1, device="cpu"),
    cinefactor.NMF(n_components=6, objective="masked", max_iter=30, random_state=1, device="cpu"),
    cinefactor.TruncatedSVD(n_components=6, random_state=1, device="cpu"),
])
def test_transform_folds_rows_in_as_the_server_does_for_a_visitor(ml_small, estimator):
    # Rows of half-star ratings, so the visitor path (which checks the rating scale) takes them too.
    X = ml_small.ratings
    estimator.fit(X)
    rows = X[:25]
    folded = estimator.transform(rows)
    assert folded.shape == (25, 6)
    for r in range(25):
        row = rows.getrow(r)
        # The matrix's ids are 0..n-1 (it was fitted as a plain matrix).
        visitor = {int(j): float(v) for j, v in zip(row.indices, row.data)}
        factors, _bias = estimator.model_.fold_in(visitor)
        np.testing.assert_array_equal(folded[r], np.array(factors, dtype=np.float32))
    if isinstance(estimator, cinefactor.TruncatedSVD):
        # Uncentered SVD: transform is the projection X V, as scikit-learn's TruncatedSVD.transform.
        np.testing.assert_allclose(folded, rows @ estimator.components_.T, rtol=1e-4, atol=1e-4)


def test_svd_singular_values_match_scipy_svds(ml_small):
    X = ml_small.ratings
    k = 50
    reference = np.sort(scipy.sparse.linalg.svds(X.astype(np.float64), k=k, random_state=0)[1])[::-1]
    svd = cinefactor.TruncatedSVD(n_components=k, random_state=42, device="cpu").fit(X)
    relative = np.abs(svd.singular_values_ - reference) / reference
    # The C++ suite's bounds (tests/test_svd_movielens.cpp, which explains them: the spectrum is flat past the
    # first values): with the defaults (10 oversamples, 4 power iterations) the leading 20 within 1e-3.
    assert np.all(relative[:20] < 1e-3), relative
    assert relative.max() < 5e-2
    more = cinefactor.TruncatedSVD(n_components=k, n_iter=10, random_state=42, device="cpu").fit(X)
    relative_more = np.abs(more.singular_values_ - reference) / reference
    assert np.all(relative_more[:36] < 1e-3), relative_more
    golden_values = np.array(golden("svd_ml_latest_small_k50.json")["singular_values"])
    assert np.allclose(reference, golden_values, rtol=1e-6)


def cli_train(cli, data_dir, out, *args):
    return json.loads(cli("train", "--data", data_dir, "--device", "cpu", "--out", out, "--json", *args))


@pytest.mark.parametrize("cli_args, estimator", [
    (["--algo", "nmf", "-k", "12", "--iterations", "40", "--seed", "7"],
     cinefactor.NMF(n_components=12, max_iter=40, random_state=7, device="cpu")),
    (["--algo", "nmf", "--objective", "masked", "--biases", "-k", "8", "--iterations", "30", "--init", "random"],
     cinefactor.NMF(n_components=8, objective="masked", biases=True, max_iter=30, init="random",
                    random_state=42, device="cpu")),
    (["--algo", "svd", "-k", "16", "--center"],
     cinefactor.TruncatedSVD(n_components=16, center=True, random_state=42, device="cpu")),
])
def test_a_python_model_equals_the_clis(cli, ml_small, ml_small_dir, tmp_path, cli_args, estimator):
    out = tmp_path / "cli.cfm"
    report = cli_train(cli, ml_small_dir, out, *cli_args)
    from_cli = cinefactor.Model.load(out)

    # Trained on the dataset itself: the same file, byte for byte (factors, ids, catalog, fingerprint).
    estimator.fit(ml_small)
    assert estimator.model_.to_bytes() == out.read_bytes()
    assert estimator.n_iter_ == report["iterations"]

    # Trained on the scipy matrix (converted by the binding): the same factors.
    from_matrix = type(estimator)(**estimator.get_params()).fit(ml_small.ratings)
    np.testing.assert_array_equal(from_matrix.components_, from_cli.movie_factors.T)
    np.testing.assert_array_equal(from_matrix.model_.user_factors, from_cli.user_factors)


@pytest.mark.parametrize("algo", ["svd", "nmf"])
def test_recommendations_equal_the_clis(cli, ml_small_dir, tmp_path, algo):
    model_path = tmp_path / f"{algo}.cfm"
    cli("train", "--data", ml_small_dir, "--algo", algo, "-k", "10", "--iterations", "30", "--device", "cpu",
        "--out", model_path)
    rates = {1: 5.0, 2571: 4.5, 1721: 1.0, 318: 4.0}
    args = ["recommend", "--model", model_path, "-n", "8", "--years", "1990-1999", "--json"]
    for movie, stars in rates.items():
        args += ["--rate", f"{movie}={stars}"]
    expected = json.loads(cli(*args))["recommendations"]
    got = cinefactor.Model.load(model_path).recommend(rates, n=8, years=(1990, 1999))
    assert [r.movie_id for r in got] == [r["movie_id"] for r in expected]
    assert [r.title for r in got] == [r["title"] for r in expected]
    assert [r.year for r in got] == [r["year"] for r in expected]
    np.testing.assert_allclose([r.score for r in got], [r["score"] for r in expected], rtol=1e-6)
    assert [[b.movie_id for b in r.because] for r in got] == [[b["movie_id"] for b in r["because"]]
                                                              for r in expected]
    assert all(1990 <= r.year <= 1999 for r in got)


def test_a_python_model_serves_in_the_cli(cli, ml_small, tmp_path):
    path = tmp_path / "python.cfm"
    cinefactor.TruncatedSVD(n_components=10, random_state=3, device="cpu").fit(ml_small).model_.save(path)
    out = json.loads(cli("recommend", "--model", path, "--rate", "1=5", "--rate", "2571=4", "-n", "3", "--json"))
    assert out["algorithm"] == "svd"
    expected = cinefactor.Model.load(path).recommend({1: 5, 2571: 4}, n=3)
    assert [r["movie_id"] for r in out["recommendations"]] == [r.movie_id for r in expected]
