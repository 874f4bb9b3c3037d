"""Zero-copy results, the process's peak memory during a fit, and the GIL released while training."""

import gc
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

import cinefactor


def random_ratings(users, movies, density, seed):
    rng = np.random.default_rng(seed)
    X = sp.random(users, movies, density=density, format="csr", random_state=rng, dtype=np.float64)
    X.data = np.ceil(X.data * 10) / 2  # half stars 0.5 .. 5
    return X


@pytest.mark.parametrize("estimator", [cinefactor.NMF(n_components=4, max_iter=5, random_state=0),
                                       cinefactor.TruncatedSVD(n_components=4, random_state=0)])
def test_factors_view_the_models_memory(estimator):
    X = random_ratings(60, 30, 0.3, 1)
    W = estimator.fit_transform(X)
    model = estimator.model_
    assert np.shares_memory(W, model.user_factors)
    assert np.shares_memory(estimator.components_, model.movie_factors)
    assert estimator.components_.base is not None and not estimator.components_.flags.owndata
    assert not W.flags.writeable and not estimator.components_.flags.writeable
    assert W.dtype == np.float32 and W.flags.c_contiguous
    if isinstance(estimator, cinefactor.TruncatedSVD):
        assert np.shares_memory(estimator.singular_values_, model.singular_values)
    # The arrays keep the model alive after everything else is gone.
    expected = W.copy()
    del estimator, model
    gc.collect()
    np.testing.assert_array_equal(W, expected)


def test_movielens_arrays_view_the_datasets_memory(ml_small):
    again = ml_small.ratings.data
    assert not again.flags.owndata and not again.flags.writeable
    assert again.dtype == np.float32
    assert not ml_small.movie_ids.flags.owndata
    assert ml_small.ratings.shape == (610, 9724) and ml_small.ratings.nnz == 100836


PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np, scipy.sparse as sp
    import cinefactor

    def rss():  # current resident set size, bytes
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    def reset_peak():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    def peak():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

    rng = np.random.default_rng(0)
    users, movies, nnz = 100_000, 20_000, 4_000_000
    X = sp.csr_matrix((rng.integers(1, 11, nnz).astype(np.float64) / 2,
                       (rng.integers(0, users, nnz), rng.integers(0, movies, nnz))), shape=(users, movies))
    X.sum_duplicates()
    input_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    import ctypes
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # the COO temporaries' freed heap must not hide the fit's growth
    reset_peak()
    before = rss()
    est = cinefactor.NMF(n_components=8, max_iter=2, init="random", random_state=0, device="cpu").fit(X)
    print(before, peak(), input_bytes, X.nnz)
""")


def test_a_fit_does_not_double_the_process_peak_memory():
    """4 million ratings (float64 data, int32 indices: 46 MiB) in a process of about 140 MiB. The engine makes
    its own float32 CSR of the input and the transpose (16 bytes a rating) and, while transposing, 12 bytes
    a rating of scratch; the factors are small. So the fit adds under 32 bytes a rating at its peak and the
    peak stays below twice the resident size before the fit; one more copy of the input anywhere in the
    binding (8 to 12 bytes a rating) crosses the first line."""
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    before, peak, input_bytes, nnz = map(int, out.stdout.split())
    added = peak - before
    print(f"rss before {before / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, "
          f"input {input_bytes / 2**20:.0f} MiB, added {added / 2**20:.0f} MiB for {nnz} ratings")
    assert added < 32 * nnz, f"{added / nnz:.1f} bytes a rating"
    assert peak < 2 * before


def test_the_gil_is_released_during_fit():
    X = random_ratings(4000, 2000, 0.05, 2)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    est = cinefactor.NMF(n_components=16, max_iter=60, tol=0.0, random_state=0, device="cpu")
    counter = threading.Thread(target=count)
    counter.start()
    start = time.perf_counter()
    est.fit(X)
    end = time.perf_counter()
    done.set()
    counter.join()
    during = [t for t in ticks if start < t < end]
    assert end - start > 0.2, "the fit must be long enough to tell"
    # With the GIL held for the whole fit the counter could not run at all until it returned.
    assert len(during) >= 20, f"{len(during)} ticks during a {end - start:.2f} s fit"
