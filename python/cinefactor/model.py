"""A trained model: the ``.cfm`` files of the CLI, recommendations for a new visitor, similar movies."""

import json
import os
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from cinefactor import _core


@dataclass(frozen=True)
class Because:
    """One rated movie's part in a recommendation ("because you liked").

    Attributes
    ----------
    movie_id : int
        MovieLens id of the rated movie.
    title : str or None
        Its title (None when the model has no catalog).
    rating : float
        The visitor's rating of it.
    contribution : float
        SVD: the exact additive term of the score; NMF: an attribution weight.
    share : float
        ``contribution`` over the sum of absolute contributions of every rated movie.
    """

    movie_id: int
    title: Optional[str]
    rating: float
    contribution: float
    share: float


@dataclass(frozen=True)
class Recommendation:
    """One recommended movie.

    Attributes
    ----------
    movie_id : int
        MovieLens id.
    title : str or None
        Clean title without the year (None when the model has no catalog).
    year : int or None
        Release year (None when unknown or without a catalog).
    genres : list of str
        Genres (empty without a catalog).
    score : float
        Predicted rating when the model predicts ratings, otherwise the model's raw score.
    rating_count : int
        Ratings of the movie in the training data.
    because : list of Because
        The rated movies that contributed most, largest first.
    """

    movie_id: int
    title: Optional[str]
    year: Optional[int]
    genres: List[str]
    score: float
    rating_count: int
    because: List[Because] = field(default_factory=list)


@dataclass(frozen=True)
class SimilarMovie:
    """A movie similar to another one (cosine of their factor vectors).

    Attributes
    ----------
    movie_id : int
        MovieLens id.
    title : str or None
        Title (None without a catalog).
    year : int or None
        Release year (None when unknown or without a catalog).
    similarity : float
        Cosine in factor space, in [-1, 1].
    rating_count : int
        Ratings of the movie in the training data.
    """

    movie_id: int
    title: Optional[str]
    year: Optional[int]
    similarity: float
    rating_count: int


def _title_year_genres(entry):
    if entry is None:
        return None, None, []
    title, year, genres, _count, _mean = entry
    return title, (year or None), list(genres)


YearsArg = Union[str, Tuple[Optional[int], Optional[int]], None]


class Model:
    """A trained cinefactor model (NMF, SVD or a baseline), as the CLI and the web server use it.

    Factor matrices and id arrays are read-only NumPy arrays that view the model's own memory; each keeps
    the model alive.

    Parameters
    ----------
    core : cinefactor._core.Model
        The engine's model (use :meth:`load`, or the ``model_`` of a fitted estimator).
    """

    def __init__(self, core):
        self._core = core

    # -- files ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path):
        """Read a ``.cfm`` model file (written by ``cinefactor train`` or :meth:`save`).

        Parameters
        ----------
        path : str or os.PathLike
            The model file.

        Returns
        -------
        Model

        Raises
        ------
        FileNotFoundError
            When the file does not exist.
        cinefactor.ModelFormatError
            When the file is truncated, corrupted, foreign or from a newer format version.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(2, "no such model file", path)
        return cls(_core.Model.load(path))

    def save(self, path):
        """Write the model atomically to ``path`` (a ``.cfm`` file ``cinefactor serve`` can serve).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; its directory must exist.
        """
        directory = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.path.isdir(directory):
            raise FileNotFoundError(2, "no such directory", directory)
        self._core.save(os.fspath(path))

    def to_bytes(self):
        """The bytes :meth:`save` writes."""
        return self._core.to_bytes()

    @classmethod
    def from_bytes(cls, data, source="<bytes>"):
        """A model from the bytes of a model file; ``source`` names it in error messages."""
        return cls(_core.Model.from_bytes(bytes(data), source))

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(), "<pickle>"))

    # -- contents ------------------------------------------------------------------------------
    @property
    def algorithm(self):
        """str: ``"nmf"``, ``"svd"``, ``"bias"``, ``"popularity"`` or ``"mean"``."""
        return self._core.algorithm

    @property
    def objective(self):
        """str: the NMF objective (``"zero"`` or ``"masked"``); meaningful for NMF only."""
        return self._core.objective

    @property
    def rank(self):
        """int: number of factors k."""
        return self._core.rank

    @property
    def hyperparameters(self):
        """dict: what the model was trained with (the model file's ``hyperparameters`` object)."""
        return json.loads(self._core.hyperparameters_json)

    @property
    def user_factors(self):
        """ndarray of shape (n_users, k): NMF's W, SVD's U times Sigma (read-only view)."""
        return self._core.user_factors

    @property
    def movie_factors(self):
        """ndarray of shape (n_movies, k): NMF's H transposed, SVD's V (read-only view)."""
        return self._core.movie_factors

    @property
    def singular_values(self):
        """ndarray of shape (k,): SVD's singular values, descending (empty for other models)."""
        return self._core.singular_values

    @property
    def user_bias(self):
        """ndarray: per-user biases (empty when the model has none)."""
        return self._core.user_bias

    @property
    def movie_bias(self):
        """ndarray: per-movie biases (empty when the model has none)."""
        return self._core.movie_bias

    @property
    def global_offset(self):
        """float: the constant added to every prediction."""
        return self._core.global_offset

    @property
    def user_ids(self):
        """ndarray of int64: the original user id of each row of ``user_factors``."""
        return self._core.user_ids

    @property
    def movie_ids(self):
        """ndarray of int64: the original movie id of each row of ``movie_factors``."""
        return self._core.movie_ids

    @property
    def has_catalog(self):
        """bool: whether the model carries titles, years and genres."""
        return self._core.has_catalog

    @property
    def data_fingerprint(self):
        """int: 64-bit fingerprint of the training ratings."""
        return self._core.data_fingerprint

    def __repr__(self):
        return (f"<cinefactor.Model {self.algorithm} k={self.rank} users={len(self.user_ids)} "
                f"movies={len(self.movie_ids)}{' with catalog' if self.has_catalog else ''}>")

    # -- a visitor -----------------------------------------------------------------------------
    @staticmethod
    def _split_ratings(ratings):
        if not isinstance(ratings, Mapping):
            raise TypeError("ratings must be a mapping {movie_id: rating}")
        ids = [int(k) for k in ratings.keys()]
        values = [float(v) for v in ratings.values()]
        return ids, values

    def fold_in(self, ratings):
        """A new visitor's factor vector, exactly as the server computes it (no retraining).

        Parameters
        ----------
        ratings : mapping of int to float
            ``{movie_id: rating}`` on the rating scale (0.5 to 5).

        Returns
        -------
        factors : list of float
            k values.
        bias : float
            The visitor's user bias (0 for models without user biases).
        """
        return self._core.fold_in(*self._split_ratings(ratings))

    def recommend(self, ratings, n=5, years="any", genres=None, exclude_genres=None, min_ratings=20,
                  explain=3, boundary_year=2000):
        """Recommendations for a visitor the model has never seen.

        The ratings are folded into the model (non-negative least squares for NMF, scikit-learn's
        ``transform`` for the ``zero`` objective, projection for SVD), every movie is scored, filtered
        and the best ``n`` come back with the rated movies that explain them.

        Parameters
        ----------
        ratings : mapping of int to float
            ``{movie_id: rating}``, ratings from 0.5 to 5.
        n : int, default=5
            Number of recommendations.
        years : {"any", "new", "old"}, str "FROM-TO" or tuple (from, to), default="any"
            Release years: ``"new"`` is ``boundary_year`` and later, ``"old"`` before it; a range is
            inclusive and either end may be None (open).
        genres : list of str, optional
            Keep movies with at least one of these genres.
        exclude_genres : list of str, optional
            Drop movies with any of these genres.
        min_ratings : int, default=20
            Movies with fewer training ratings are not recommended.
        explain : int, default=3
            "Because you liked" entries per recommendation (0: none).
        boundary_year : int, default=2000
            The boundary of ``"new"`` and ``"old"``.

        Returns
        -------
        list of Recommendation
            Best first.

        Raises
        ------
        ValueError
            Unknown movie ids, repeated ids, a rating that is NaN or off the scale, bad filters.
        """
        ids, values = self._split_ratings(ratings)
        years_name, year_from, year_to = None, None, None
        if isinstance(years, tuple):
            if len(years) != 2:
                raise ValueError("years: expected a tuple (from, to)")
            year_from, year_to = years
            if year_from is None and year_to is None:
                years_name = "any"
        elif years is not None:
            years_name = str(years)
        records = self._core.recommend(ids, values, years_name, year_from, year_to, boundary_year,
                                       list(genres or []), list(exclude_genres or []), min_ratings, n, explain)
        out = []
        for movie_id, entry, score, count, because in records:
            title, year, movie_genres = _title_year_genres(entry)
            reasons = [Because(b_id, _title_year_genres(b_entry)[0], rating, contribution, share)
                       for b_id, b_entry, rating, contribution, share in because]
            out.append(Recommendation(movie_id, title, year, movie_genres, score, count, reasons))
        return out

    def similar(self, movie_id, n=10, min_ratings=0):
        """Movies most similar to ``movie_id`` (cosine in factor space; SVD weighs by the singular values).

        Parameters
        ----------
        movie_id : int
            MovieLens id of the movie.
        n : int, default=10
            Number of movies.
        min_ratings : int, default=0
            Leave out movies with fewer training ratings.

        Returns
        -------
        list of SimilarMovie
            Most similar first; the movie itself is excluded.
        """
        out = []
        for other, entry, similarity, count in self._core.similar(int(movie_id), n, min_ratings):
            title, year, _genres = _title_year_genres(entry)
            out.append(SimilarMovie(other, title, year, similarity, count))
        return out
