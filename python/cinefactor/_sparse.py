"""Sparse inputs to the engine's (indptr, indices, data, shape) form, copying only what must change."""

import numpy as np
import scipy.sparse as sp


def to_host(X):
    """A CuPy sparse matrix (or array) comes to the host once; anything else is returned as is."""
    if type(X).__module__.split(".")[0] == "cupyx" or type(X).__module__.split(".")[0] == "cupy":
        return X.get()
    return X


def csr_parts(X):
    """The CSR arrays of ``X`` in canonical form (sorted indices, no duplicates).

    A CSR matrix in canonical form passes through untouched; CSC and COO are converted (one copy), and a
    CSR matrix with duplicates or unsorted indices is fixed on a copy, never in the caller's matrix.
    Returns ``(indptr, indices, data, (rows, cols))``; the engine converts the dtypes as it copies.
    """
    X = to_host(X)
    if not sp.issparse(X):
        X = sp.csr_matrix(np.asarray(X))
    if X.format != "csr":
        X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    data = X.data
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    return X.indptr, X.indices, data, X.shape
