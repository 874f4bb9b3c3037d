"""MovieLens data as a SciPy sparse matrix plus its ids and movies table."""

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from cinefactor import _core

_MOVIE_COLUMNS = ("movie_id", "title", "year", "genres", "imdb_id", "tmdb_id", "n_ratings")


@dataclass(frozen=True)
class MovieLensData:
    """A MovieLens dataset in memory.

    Attributes
    ----------
    ratings : scipy.sparse.csr_matrix of shape (n_users, n_movies)
        The ratings; ``data`` (float32) views the engine's memory, read-only.
    user_ids : ndarray of int64
        The MovieLens user id of each row (ascending; a read-only view).
    movie_ids : ndarray of int64
        The MovieLens movie id of each column (ascending; a read-only view).
    movies : pandas.DataFrame or list of dict
        One row per column of ``ratings``: movie_id, title (without the year), year (0 when unknown),
        genres (list), imdb_id, tmdb_id (None when unknown), n_ratings. A DataFrame when pandas is
        installed, a list of dicts otherwise.
    path : str
        The dataset's directory.
    layout : str
        ``"csv"``, ``"dat"`` or ``"u_data"``.

    Notes
    -----
    Passing the whole object to ``NMF.fit`` / ``TruncatedSVD.fit`` trains on the engine's matrix without a
    conversion, with the real ids, and the fitted ``model_`` carries the movie catalog (titles, years,
    genres), as a model of ``cinefactor train`` does.
    """

    ratings: sp.csr_matrix
    user_ids: np.ndarray
    movie_ids: np.ndarray
    movies: Any
    path: str
    layout: str
    _dataset: Any = field(repr=False, compare=False, default=None)


def _movies_table(rows):
    records = [dict(zip(_MOVIE_COLUMNS, (mid, title, year, list(genres), imdb, tmdb, count)))
               for mid, title, year, genres, imdb, tmdb, count in rows]
    try:
        import pandas as pd
    except ImportError:
        return records
    return pd.DataFrame.from_records(records, columns=list(_MOVIE_COLUMNS))


def load_movielens(path, *, skip_bad_lines=False, use_cache=True, n_threads=0):
    """Load a MovieLens dataset directory (every published layout, detected from the files).

    Parameters
    ----------
    path : str or os.PathLike
        Directory with ``ratings.csv`` + ``movies.csv`` (+ ``links.csv``), ``ratings.dat`` +
        ``movies.dat``, or ``u.data`` + ``u.item``.
    skip_bad_lines : bool, default=False
        Skip malformed lines instead of stopping at the first.
    use_cache : bool, default=True
        Read and write the binary cache beside the data (as the CLI does).
    n_threads : int, default=0
        Loader threads (0: all cores).

    Returns
    -------
    MovieLensData

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a directory.
    OSError
        When no known layout is found there (the message names the files looked for).
    ValueError
        For a malformed line: ``file:line: what was expected``.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(2, "no such dataset directory", path)
    dataset = _core.load_dataset(path, skip_bad_lines, use_cache, n_threads)
    n_users, n_movies = dataset.shape
    ratings = sp.csr_matrix((dataset.values, dataset.indices, dataset.indptr), shape=(n_users, n_movies),
                            copy=False)
    return MovieLensData(ratings=ratings, user_ids=dataset.user_ids, movie_ids=dataset.movie_ids,
                         movies=_movies_table(dataset.columns()), path=path, layout=dataset.layout,
                         _dataset=dataset)
