"""cinefactor: the C++ matrix-factorization engine in scikit-learn's idiom.

``NMF`` and ``TruncatedSVD`` fit ``scipy.sparse`` matrices (or a ``MovieLensData``) and keep a trained
``Model``; a ``Model`` loads and saves the ``.cfm`` files of the ``cinefactor`` CLI, recommends for a new
visitor and finds similar movies; ``load_movielens`` reads any MovieLens layout; ``evaluate`` runs the
CLI's offline protocols. Factors come back as read-only NumPy arrays that view the model's memory.
"""

from cinefactor._core import ModelFormatError
from cinefactor.datasets import MovieLensData, load_movielens
from cinefactor.estimators import NMF, TruncatedSVD
from cinefactor.evaluation import evaluate
from cinefactor.model import Because, Model, Recommendation, SimilarMovie

__version__ = "0.1.0"

__all__ = [
    "Because",
    "MovieLensData",
    "Model",
    "ModelFormatError",
    "NMF",
    "Recommendation",
    "SimilarMovie",
    "TruncatedSVD",
    "evaluate",
    "load_movielens",
]

ModelFormatError.__module__ = "cinefactor"
ModelFormatError.__doc__ = "A model file that cannot be trusted: truncated, corrupted, foreign or too new."
