"""Bad input raises a Python exception with the engine's message; nothing crashes the interpreter."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import cinefactor
from cinefactor import _core


def small():
    return sp.csr_matrix(np.array([[1.0, 0.0, 2.0, 0.5], [0.0, 3.0, 0.0, 4.0], [5.0, 0.0, 1.5, 0.0]]))


def test_nmf_rejects_negative_values():
    X = small()
    X.data[0] = -1.0
    with pytest.raises(ValueError, match=r"Negative values in data passed to NMF \(input X\)"):
        cinefactor.NMF(n_components=2).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("estimator", [cinefactor.NMF(n_components=2), cinefactor.TruncatedSVD(n_components=2)])
def test_nan_and_infinity_are_rejected(estimator, bad):
    X = small()
    X.data[1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        estimator.fit(X)


def test_the_engine_itself_rejects_nan_when_called_directly():
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        _core.ratings_from_csr(np.array([0, 1]), np.array([0]), np.array([np.nan]), 1, 1)


def test_wrong_shapes_are_value_errors():
    est = cinefactor.NMF(n_components=2, random_state=0).fit(small())
    with pytest.raises(ValueError, match="X has 3 features, but NMF is expecting 4 features"):
        est.transform(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="n_components <= min"):
        cinefactor.NMF(n_components=5).fit(small())
    with pytest.raises(ValueError, match="n_components must be an integer >= 1"):
        cinefactor.TruncatedSVD(n_components=0).fit(small())
    with pytest.raises(ValueError, match=r"init='custom': W must be \(3, 2\)"):
        cinefactor.NMF(n_components=2, init="custom").fit(small(), W=np.ones((2, 2)), H=np.ones((2, 4)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        cinefactor.NMF(n_components=2).fit(np.ones(4))


def test_inconsistent_csr_arrays_are_value_errors_not_crashes():
    data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="indptr must have rows \\+ 1 = 3 entries"):
        _core.ratings_from_csr(np.array([0, 2]), np.array([0, 1]), data, 2, 2)
    with pytest.raises(ValueError, match="not a valid CSR matrix"):
        _core.ratings_from_csr(np.array([0, 1, 2]), np.array([0, 7]), data, 2, 2)  # column out of range
    with pytest.raises(ValueError, match="not a valid CSR matrix"):
        _core.ratings_from_csr(np.array([0, 2, 1]), np.array([0, 1]), data, 2, 2)  # indptr decreasing
    with pytest.raises(ValueError, match="indices holds a value out of range"):
        _core.ratings_from_csr(np.array([0, 1, 2]), np.array([0, 2**40]), data, 2, 2)
    with pytest.raises(ValueError, match="indices and data must have the same length"):
        _core.ratings_from_csr(np.array([0, 1, 2]), np.array([0, 1, 1]), data, 2, 2)
    with pytest.raises(ValueError, match="expected float32, float64, int32 or int64"):
        _core.ratings_from_csr(np.array([0, 1, 2]), np.array([0, 1]), data.astype(np.float16), 2, 2)
    est = cinefactor.NMF(n_components=2, random_state=0).fit(small())
    with pytest.raises(ValueError, match="column index out of range"):
        est.model_._core.fold_in_rows(np.array([0, 1]), np.array([9]), np.array([1.0]), 4)


@pytest.fixture(scope="module")
def svd_model(ml_small):
    return cinefactor.TruncatedSVD(n_components=8, random_state=0, device="cpu").fit(ml_small).model_


def test_unknown_movie_ids(svd_model):
    with pytest.raises(ValueError, match=r"unknown movie id.*999999999"):
        svd_model.recommend({1: 4.0, 999999999: 3.0})
    with pytest.raises(ValueError, match="999999999"):
        svd_model.similar(999999999)


@pytest.mark.parametrize("rating", [7.0, 0.0, float("nan")])
def test_a_rating_off_the_scale(svd_model, rating):
    with pytest.raises(ValueError, match="movie 1: expected a rating from 0.5 to 5"):
        svd_model.recommend({1: rating})


def test_bad_filters(svd_model):
    with pytest.raises(ValueError, match="expected old, new, any or a range FROM-TO"):
        svd_model.recommend({1: 4.0}, years="recent")
    with pytest.raises(ValueError, match=r"the range 2000-1990 is empty \(from > to\)"):
        svd_model.recommend({1: 4.0}, years=(2000, 1990))
    with pytest.raises(ValueError, match="n must be >= 1"):
        svd_model.recommend({1: 4.0}, n=0)
    with pytest.raises(TypeError, match="mapping"):
        svd_model.recommend([(1, 4.0)])


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        cinefactor.Model.load(tmp_path / "missing.cfm")
    with pytest.raises(FileNotFoundError, match="no such dataset directory"):
        cinefactor.load_movielens(tmp_path / "nowhere")
    with pytest.raises(OSError, match="ratings.csv"):
        cinefactor.load_movielens(tmp_path)  # a directory without any MovieLens layout


def test_a_malformed_ratings_file_names_the_line(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,100\n1,x,3.0,100\n")
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Comedy\n")
    (tmp_path / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n")
    with pytest.raises(ValueError, match=r"ratings.csv:3: "):
        cinefactor.load_movielens(tmp_path, use_cache=False)


@pytest.fixture
def model_file(tmp_path):
    est = cinefactor.TruncatedSVD(n_components=2, random_state=0).fit(small())
    path = tmp_path / "m.cfm"
    est.model_.save(path)
    return path


def test_corrupt_model_files_raise_model_format_error(model_file, tmp_path):
    data = model_file.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "flipped": data[:100] + bytes([data[100] ^ 0xFF]) + data[101:],
        "foreign": b"PK\x03\x04" + data[4:],
        "empty": b"",
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.cfm"
        path.write_bytes(content)
        with pytest.raises(cinefactor.ModelFormatError, match=str(path)):
            cinefactor.Model.load(path)
    assert issubclass(cinefactor.ModelFormatError, ValueError)
    with pytest.raises(cinefactor.ModelFormatError, match="checksum|corrupt"):
        cinefactor.Model.load(tmp_path / "flipped.cfm")


def test_corrupt_inputs_in_a_fresh_interpreter_do_not_crash_it(model_file, tmp_path):
    """The corrupt-file and bad-matrix cases again, in a child interpreter that must exit normally."""
    (tmp_path / "bad.cfm").write_bytes(model_file.read_bytes()[:-3])
    script = textwrap.dedent(f"""
        import numpy as np, cinefactor
        from cinefactor import _core
        caught = 0
        try:
            cinefactor.Model.load({str(tmp_path / "bad.cfm")!r})
        except cinefactor.ModelFormatError:
            caught += 1
        for indptr, indices in (([0, 5], [0]), ([0, 1], [-1]), ([3, 1], [0])):
            try:
                _core.ratings_from_csr(np.array(indptr), np.array(indices), np.ones(len(indices)), 1, 1)
            except ValueError:
                caught += 1
        print(caught)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4"
