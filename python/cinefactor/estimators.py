"""scikit-learn-style estimators over the C++ engine: ``NMF`` and ``TruncatedSVD``."""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_non_negative

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # scikit-learn 1.2 (Debian 12) to 1.5
    def _validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)

from cinefactor import _core
from cinefactor._sparse import csr_parts, to_host
from cinefactor.datasets import MovieLensData
from cinefactor.model import Model

_ACCEPT_SPARSE = ("csr", "csc", "coo")


def _seed(random_state):
    """An int random_state is the engine's seed as is (so 42 here is ``--seed 42`` in the CLI)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _EngineEstimator(TransformerMixin, BaseEstimator):
    """What both estimators share: input checks, training through the engine, pickling, fold-in."""

    _algorithm = None

    def _check_X(self, X, reset):
        X = to_host(X)
        X = _validate_data(self, X, accept_sparse=_ACCEPT_SPARSE, dtype=(np.float64, np.float32), reset=reset)
        if self._requires_non_negative():
            check_non_negative(X, f"{type(self).__name__} (input X)")
        return X

    def _requires_non_negative(self):
        return False

    # The engine computes in float32: transform returns float32 whatever the input.
    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float32], "requires_positive_X": self._requires_non_negative()}

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = self._requires_non_negative()
        return tags

    def _ratings(self, X):
        """The engine's rating matrix for ``X`` (a dataset's own, or a converted copy of a matrix)."""
        if isinstance(X, MovieLensData):
            self._check_X(X.ratings, reset=True)
            return _core.dataset_ratings(X._dataset)
        X = self._check_X(X, reset=True)
        indptr, indices, data, (rows, cols) = csr_parts(X)
        return _core.ratings_from_csr(indptr, indices, data, rows, cols)

    def _check_rank(self, n_samples, n_features, needs_svd):
        k = self.n_components
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_components must be an integer >= 1, got {k!r}")
        if needs_svd and k > min(n_samples, n_features):
            raise ValueError(
                f"{self._svd_use} needs n_components <= min(n_samples, n_features); got n_components = {k}, "
                f"n_samples = {n_samples}, n_features = {n_features}")

    def _train(self, ratings, options):
        core, info = _core.train(ratings, options)
        self._set_model(Model(core))
        self.n_iter_ = int(info["iterations"])
        self.loss_curve_ = np.asarray(info["loss_history"], dtype=np.float64)
        self.device_ = info["device"]
        self.fit_seconds_ = float(info["seconds"])

    def _set_model(self, model):
        self.model_ = model
        self.components_ = model.movie_factors.T
        self.n_components_ = model.rank

    def fit(self, X, y=None, **params):
        """Fit the model to ``X``.

        Parameters
        ----------
        X : {scipy.sparse matrix, ndarray} of shape (n_samples, n_features) or MovieLensData
            Users x movies. CSR passes to the engine without a conversion copy in Python; CSC and COO are
            converted to CSR once; CuPy sparse matrices are brought to the host.
        y : Ignored
            Not used, present for API consistency.
        **params : dict
            ``NMF`` only: ``W`` and ``H`` for ``init="custom"``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self.fit_transform(X, y, **params)
        return self

    def transform(self, X):
        """Fold each row of ``X`` into the trained model, as the server does for a visitor.

        Parameters
        ----------
        X : {scipy.sparse matrix, ndarray} of shape (n_samples, n_features)
            Rows to fold in; columns are the training columns.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The rows' factors (NMF: W with H fixed; SVD: X V).
        """
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        indptr, indices, data, (_rows, cols) = csr_parts(X)
        return self.model_._core.fold_in_rows(indptr, indices, data, cols)

    def __getstate__(self):
        state = dict(super().__getstate__())
        if "model_" in state:
            state["model_"] = self.model_.to_bytes()
            state.pop("components_", None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_sklearn_version", None)
        model = state.get("model_")
        self.__dict__.update(state)
        if isinstance(model, bytes):
            self._set_model(Model.from_bytes(model, "<pickle>"))


class NMF(_EngineEstimator):
    """Non-negative matrix factorization by multiplicative updates, on the C++ engine.

    ``X ~ W H`` with ``W`` (n_samples x k) and ``H`` (k x n_features) non-negative. The ``zero`` objective
    is scikit-learn's ``NMF(solver="mu", beta_loss="frobenius")`` on the zero-filled matrix (unrated = 0,
    for top-N ranking); ``masked`` counts only the stored entries, with L2 weights per rating and optional
    biases (rating prediction).

    Parameters
    ----------
    n_components : int, default=20
        Number of components k.
    objective : {"zero", "masked"}, default="zero"
        What the factorization minimizes (see above).
    init : {"nndsvda", "random", "custom"}, default="nndsvda"
        Starting factors: scikit-learn's NNDSVDa or random init, or ``W`` and ``H`` given to ``fit``.
    max_iter : int, default=200
        Maximum number of iterations.
    tol : float, default=1e-5
        Stop when the relative loss change falls below it (0: never).
    l2_user : float, default=0.15
        ``masked``: L2 weight on the user factors, per rating.
    l2_movie : float, default=0.15
        ``masked``: L2 weight on the movie factors, per rating.
    biases : bool, default=False
        ``masked``: learn user and movie biases too.
    l2_bias : float, default=5.0
        ``masked`` with biases: L2 weight on each bias.
    random_state : int, RandomState instance or None, default=None
        Seed of the random init and of the randomized SVD inside NNDSVDa. An int is the CLI's ``--seed``.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to train: ``auto`` uses a CUDA device when the build has the backend, a device is present
        and the job fits in its memory, otherwise the CPU.
    n_threads : int, default=0
        CPU threads (0: all cores).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        H, a read-only view of ``model_.movie_factors`` (transposed).
    n_components_ : int
        Number of components.
    n_iter_ : int
        Iterations run.
    loss_curve_ : ndarray of shape (n_iter_,)
        The loss after each iteration (``zero``: 0.5 ||X - WH||^2; ``masked``: see the docs).
    reconstruction_err_ : float
        ``zero``: the Frobenius norm ||X - WH|| at the end (as scikit-learn); ``masked``: the square root
        of twice the final loss.
    n_features_in_ : int
        Number of features seen during fit.
    model_ : Model
        The trained model (save it, recommend with it).
    device_ : str
        Where it was trained ("cpu" or "cuda:N (name)").

    Examples
    --------
    >>> import scipy.sparse as sp, cinefactor
    >>> X = sp.random(100, 40, density=0.1, format="csr", random_state=0)
    >>> nmf = cinefactor.NMF(n_components=5, random_state=0).fit(X)
    >>> nmf.components_.shape
    (5, 40)
    """

    _svd_use = "init='nndsvda'"

    def __init__(self, n_components=20, *, objective="zero", init="nndsvda", max_iter=200, tol=1e-5,
                 l2_user=0.15, l2_movie=0.15, biases=False, l2_bias=5.0, random_state=None, device="auto",
                 n_threads=0):
        self.n_components = n_components
        self.objective = objective
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.l2_user = l2_user
        self.l2_movie = l2_movie
        self.biases = biases
        self.l2_bias = l2_bias
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads

    def _requires_non_negative(self):
        return True

    def _options(self):
        o = _core.TrainOptions()
        o.set("algorithm", "nmf")
        o.set("objective", str(self.objective))
        if self.init != "custom":
            o.set("init", str(self.init))
        o.set("device", str(self.device))
        o.rank = int(self.n_components)
        o.max_iterations = int(self.max_iter)
        o.tolerance = float(self.tol)
        o.seed = _seed(self.random_state)
        o.threads = int(self.n_threads)
        o.l2_user = float(self.l2_user)
        o.l2_movie = float(self.l2_movie)
        o.biases = bool(self.biases)
        o.l2_bias = float(self.l2_bias)
        return o

    def fit_transform(self, X, y=None, W=None, H=None):
        """Fit the model to ``X`` and return W.

        Parameters
        ----------
        X : {scipy.sparse matrix, ndarray} of shape (n_samples, n_features) or MovieLensData
            Non-negative users x movies.
        y : Ignored
            Not used, present for API consistency.
        W : array-like of shape (n_samples, n_components), optional
            ``init="custom"``: the initial W.
        H : array-like of shape (n_components, n_features), optional
            ``init="custom"``: the initial H.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            A read-only view of ``model_.user_factors``.
        """
        options = self._options()
        ratings = self._ratings(X)
        n_samples, n_features = ratings.shape
        custom = self.init == "custom"
        self._check_rank(n_samples, n_features, needs_svd=(self.init == "nndsvda"))
        if custom:
            if W is None or H is None:
                raise ValueError("init='custom' needs both W and H")
            W = np.ascontiguousarray(W, dtype=np.float32)
            H = np.asarray(H, dtype=np.float32)
            if W.shape != (n_samples, self.n_components) or H.shape != (self.n_components, n_features):
                raise ValueError(f"init='custom': W must be {(n_samples, self.n_components)} and H "
                                 f"{(self.n_components, n_features)}, got {W.shape} and {H.shape}")
            options.set_initial_factors(W, np.ascontiguousarray(H.T))
        elif W is not None or H is not None:
            raise ValueError("W and H are used only with init='custom'")
        self._train(ratings, options)
        final = self.loss_curve_[-1] if len(self.loss_curve_) else 0.0
        self.reconstruction_err_ = math.sqrt(max(2.0 * final, 0.0))
        return self.model_.user_factors


class TruncatedSVD(_EngineEstimator):
    """Randomized truncated SVD (Halko, Martinsson, Tropp) on the C++ engine.

    ``X ~ U diag(s) V^T``; ``fit_transform`` returns ``U diag(s)`` and ``transform`` projects rows onto
    ``V``, as scikit-learn's ``TruncatedSVD``. With ``center=True`` the global mean of the stored entries
    is subtracted from them (implicitly, the matrix stays sparse).

    Parameters
    ----------
    n_components : int, default=20
        Number of singular triplets k.
    n_oversamples : int, default=10
        Extra random directions of the range finder.
    n_iter : int, default=4
        Power iterations.
    center : bool, default=False
        Subtract the mean of the stored entries from them first.
    random_state : int, RandomState instance or None, default=None
        Seed of the random test matrix. An int is the CLI's ``--seed``.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to compute (see ``NMF``).
    n_threads : int, default=0
        CPU threads (0: all cores).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        V transposed, a read-only view of ``model_.movie_factors``.
    singular_values_ : ndarray of shape (n_components,)
        Descending; a read-only view of the model's memory.
    n_components_ : int
        Number of components.
    n_iter_ : int
        0 (closed form; ``n_iter`` power iterations always run).
    n_features_in_ : int
        Number of features seen during fit.
    model_ : Model
        The trained model.
    device_ : str
        Where it was computed.

    Examples
    --------
    >>> import scipy.sparse as sp, cinefactor
    >>> X = sp.random(100, 40, density=0.1, format="csr", random_state=0)
    >>> cinefactor.TruncatedSVD(n_components=5, random_state=0).fit(X).singular_values_.shape
    (5,)
    """

    _svd_use = "TruncatedSVD"

    def __init__(self, n_components=20, *, n_oversamples=10, n_iter=4, center=False, random_state=None,
                 device="auto", n_threads=0):
        self.n_components = n_components
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.center = center
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads

    def _options(self):
        o = _core.TrainOptions()
        o.set("algorithm", "svd")
        o.set("device", str(self.device))
        o.rank = int(self.n_components)
        o.oversamples = int(self.n_oversamples)
        o.power_iterations = int(self.n_iter)
        o.center = bool(self.center)
        o.seed = _seed(self.random_state)
        o.threads = int(self.n_threads)
        return o

    def _set_model(self, model):
        super()._set_model(model)
        self.singular_values_ = model.singular_values

    def fit_transform(self, X, y=None):
        """Fit the model to ``X`` and return ``U diag(s)``.

        Parameters
        ----------
        X : {scipy.sparse matrix, ndarray} of shape (n_samples, n_features) or MovieLensData
            Users x movies.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            A read-only view of ``model_.user_factors``.
        """
        options = self._options()
        ratings = self._ratings(X)
        self._check_rank(*ratings.shape, needs_svd=True)
        self._train(ratings, options)
        return self.model_.user_factors
