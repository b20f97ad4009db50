"""Behavioural clustering of customers: a scikit-learn-style estimator.

``CustomerClusters`` scales a feature table (from :func:`~crmlib.segments.customer_features`) with
a signed log on heavy-tailed columns and a robust scaler, fits KMeans or a Gaussian mixture for
each k in a range, keeps the k with the best silhouette (KMeans) or the lowest BIC (mixture), and
describes every cluster by the features that set it apart.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import RobustScaler, StandardScaler

from .._validation import check_fitted, check_interval, check_one_of, check_type, examples
from ..errors import DataContractError, EmptyDataError, ParameterError
from ._common import signed_log1p

__all__ = ["CLUSTER_METHODS", "SCALINGS", "CustomerClusters"]

#: Clustering algorithms: 'kmeans' picks k by silhouette, 'gmm' by BIC.
CLUSTER_METHODS: tuple[str, ...] = ("kmeans", "gmm")
#: Scalings: 'log-robust' (signed log1p on right-skewed columns (skew > 1) outside [0, 1], then
#: RobustScaler),
#: 'robust', 'standard'.
SCALINGS: tuple[str, ...] = ("log-robust", "robust", "standard")


class CustomerClusters:
    """Cluster customers on behavioural features and profile the clusters.

    Parameters
    ----------
    method : {'kmeans', 'gmm'}, default='kmeans'
        KMeans with k chosen by the highest silhouette, or a Gaussian mixture with k chosen by the
        lowest BIC. Both criteria are computed for every k either way (``scores_``).
    k_range : tuple of 2 int or sequence of int, default=(2, 8)
        Candidate numbers of clusters: ``(low, high)`` inclusive, or an explicit list.
    n_clusters : int, optional
        Fix k instead of choosing it (``k_range`` is then ignored).
    scaling : {'log-robust', 'robust', 'standard'}, default='log-robust'
        How features are scaled before clustering: 'log-robust' puts right-skewed columns
        (skewness > 1, values outside [0, 1]: counts, money) on a signed log scale, then scales every
        column by its median and interquartile range; 'robust' skips the log; 'standard' uses
        mean and standard deviation.
    columns : list of str, optional
        Feature columns to use; default: every numeric column of ``X``.
    covariance_type : {'full', 'diag', 'tied', 'spherical'}, default='full'
        Covariance of the Gaussian mixture.
    n_init : int, default=10
        Restarts of KMeans and of the mixture.
    silhouette_sample : int, default=3000
        Silhouettes on more rows than this are estimated on a random sample of this size.
    random_state : int, default=0
        Seed for the restarts, the silhouette sample and nothing else.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray of str
        Feature columns used.
    log_columns_ : list of str
        Columns put on the signed log scale.
    scaler_ : sklearn scaler
        Fitted scaler.
    scores_ : pandas.DataFrame
        One row per candidate k: ``k``, ``silhouette`` (KMeans), ``inertia``, ``bic`` (mixture),
        ``silhouette_gmm``.
    n_clusters_ : int
        Chosen k.
    model_ : KMeans or GaussianMixture
        The model refit with the chosen k.
    labels_ : numpy.ndarray of int
        Cluster of each training row, 0 .. k-1, numbered by size (0 = largest).
    relabel_ : numpy.ndarray of int
        The cluster label of each component of ``model_`` (``labels_ = relabel_[model_.predict(Z)]``),
        so the model can be applied elsewhere (e.g. on Spark) with the same labels.
    profiles_ : pandas.DataFrame
        Index ``cluster``: ``size``, ``share``, then the mean of every feature (original units).
    profile_z_ : pandas.DataFrame
        Index ``cluster``: mean of each scaled feature minus the overall mean, divided by its
        overall standard deviation (what the heatmap shows).
    cluster_names_ : pandas.Series of str
        Index ``cluster``: the three features that most set the cluster apart, e.g.
        'high monetary, high frequency, low recency_days'.
    projection_ : sklearn.decomposition.PCA
        2-D projection of the scaled features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"frequency": np.r_[rng.poisson(2, 50), rng.poisson(20, 50)],
    ...                   "monetary": np.r_[rng.gamma(2, 20, 50), rng.gamma(2, 400, 50)]})
    >>> model = CustomerClusters(k_range=(2, 4)).fit(X)
    >>> model.n_clusters_
    2
    """

    def __init__(self, *, method="kmeans", k_range=(2, 8), n_clusters=None, scaling="log-robust",
                 columns=None, covariance_type="full", n_init=10, silhouette_sample=3000,
                 random_state=0):
        self.method = method
        self.k_range = k_range
        self.n_clusters = n_clusters
        self.scaling = scaling
        self.columns = columns
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.random_state = random_state

    _param_names = ("method", "k_range", "n_clusters", "scaling", "columns", "covariance_type",
                    "n_init", "silhouette_sample", "random_state")

    def get_params(self, deep=True):
        """Constructor parameters (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params):
        """Set constructor parameters (scikit-learn convention)."""
        for key, value in params.items():
            check_one_of(key, self._param_names, name="parameter", where="CustomerClusters")
            setattr(self, key, value)
        return self

    def __repr__(self):
        changed = {k: v for k, v in self.get_params().items()
                   if v != type(self)().get_params()[k]}
        return f"CustomerClusters({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # -- checks ---------------------------------------------------------------------------------
    def _candidate_ks(self, n_rows, where):
        if self.n_clusters is not None:
            check_interval(self.n_clusters, 1, None, name="n_clusters", where=where, integer=True,
                           closed="left")
            ks = [int(self.n_clusters)]
        else:
            check_type(self.k_range, (tuple, list, range), name="k_range", where=where,
                       type_name="a (low, high) tuple or a list of int")
            if isinstance(self.k_range, tuple) and len(self.k_range) == 2:
                low, high = self.k_range
                check_interval(low, 2, None, name="k_range[0]", where=where, integer=True,
                               closed="left")
                check_interval(high, low, None, name="k_range[1]", where=where, integer=True,
                               closed="left")
                ks = list(range(int(low), int(high) + 1))
            else:
                ks = list(self.k_range)
                if not ks or not all(isinstance(k, numbers.Integral) and k >= 2 for k in ks):
                    raise ParameterError(f"{where}: 'k_range' must list ints >= 2; got "
                                         f"{self.k_range!r}.", name="k_range")
        if max(ks) >= n_rows:
            raise ParameterError(f"{where}: n_samples={n_rows} should be > the largest k="
                                 f"{max(ks)}.", name="k_range")
        return sorted(set(ks))

    def _check_params(self, where):
        check_one_of(self.method, CLUSTER_METHODS, name="method", where=where)
        check_one_of(self.scaling, SCALINGS, name="scaling", where=where)
        check_one_of(self.covariance_type, ("full", "diag", "tied", "spherical"),
                     name="covariance_type", where=where)
        check_interval(self.n_init, 1, None, name="n_init", where=where, integer=True,
                       closed="left")
        check_interval(self.silhouette_sample, 10, None, name="silhouette_sample", where=where,
                       integer=True, closed="left")
        check_type(self.random_state, numbers.Integral, name="random_state", where=where,
                   type_name="an int")

    def _select(self, X, where):
        check_type(X, pd.DataFrame, name="X", where=where, type_name="a pandas DataFrame")
        if hasattr(self, "feature_names_in_"):
            cols = list(self.feature_names_in_)
        elif self.columns is not None:
            cols = list(self.columns)
        else:
            cols = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
                    and not pd.api.types.is_bool_dtype(X[c])]
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise DataContractError(f"{where}: missing column(s) {missing}; found {list(X.columns)}",
                                    column=missing[0])
        if not cols:
            raise DataContractError(f"{where}: X has no numeric feature column; found "
                                    f"{list(X.columns)}")
        data = X[cols].astype(float)
        bad = ~np.isfinite(data.to_numpy()).all(axis=1)
        if bad.any():
            raise DataContractError(f"{where}: {int(bad.sum())} rows have missing or infinite "
                                    f"features (e.g. {examples(X.index[bad])}).")
        return data

    def _transform_raw(self, data):
        out = data.copy()
        for c in self.log_columns_:
            out[c] = signed_log1p(out[c])
        return self.scaler_.transform(out.to_numpy())

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Scale ``X``, fit every candidate k, keep the best and profile its clusters.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per customer, numeric features (e.g. from ``customer_features``).
        y : None
            Ignored (pipeline compatibility).

        Returns
        -------
        self : CustomerClusters
        """
        where = "CustomerClusters.fit"
        self._check_params(where)
        for attr in ("feature_names_in_",):
            if hasattr(self, attr):
                delattr(self, attr)
        data = self._select(X, where)
        if len(data) == 0:
            raise EmptyDataError(f"{where}: X has no rows.")
        ks = self._candidate_ks(len(data), where)
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        if self.scaling == "log-robust":
            inside = (data.min() >= 0) & (data.max() <= 1)
            skew = data.skew().fillna(0.0)
            self.log_columns_ = [c for c in data.columns if not inside[c] and skew[c] > 1]
        else:
            self.log_columns_ = []
        pre = data.copy()
        for c in self.log_columns_:
            pre[c] = signed_log1p(pre[c])
        self.scaler_ = StandardScaler() if self.scaling == "standard" else RobustScaler()
        Z = self.scaler_.fit_transform(pre.to_numpy())

        rng = np.random.RandomState(self.random_state)
        sample = None
        if len(Z) > self.silhouette_sample:
            sample = rng.choice(len(Z), self.silhouette_sample, replace=False)
        rows, models = [], {}
        for k in ks:
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Z)
            gm = GaussianMixture(n_components=k, covariance_type=self.covariance_type,
                                 n_init=max(1, self.n_init // 3), random_state=self.random_state,
                                 reg_covar=1e-4).fit(Z)
            gl = gm.predict(Z)
            rows.append({"k": k, "silhouette": _silhouette(Z, km.labels_, sample),
                         "inertia": float(km.inertia_), "bic": float(gm.bic(Z)),
                         "silhouette_gmm": _silhouette(Z, gl, sample)})
            models[k] = km if self.method == "kmeans" else gm
        self.scores_ = pd.DataFrame(rows, columns=["k", "silhouette", "inertia", "bic",
                                                   "silhouette_gmm"])
        if self.method == "kmeans":
            best = self.scores_.loc[self.scores_["silhouette"].fillna(-np.inf).idxmax(), "k"]
        else:
            best = self.scores_.loc[self.scores_["bic"].idxmin(), "k"]
        self.n_clusters_ = int(best)
        self.model_ = models[self.n_clusters_]
        raw = self.model_.predict(Z)
        # number clusters by size, largest first, so labels do not depend on the seed's order
        sizes = pd.Series(raw).value_counts()
        order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
        self.relabel_ = np.empty(self.n_clusters_, dtype=int)
        for new, old in enumerate(order):
            self.relabel_[old] = new
        self._relabel_missing = [c for c in range(self.n_clusters_) if c not in sizes.index]
        for i, c in enumerate(self._relabel_missing):
            self.relabel_[c] = len(order) + i
        self.labels_ = self.relabel_[raw]
        self.projection_ = PCA(n_components=min(2, Z.shape[1]),
                               random_state=self.random_state).fit(Z)
        self._profile(data, Z)
        return self

    def _profile(self, data, Z):
        labels = pd.Series(self.labels_, index=data.index, name="cluster")
        means = data.groupby(labels.to_numpy()).mean()
        size = labels.value_counts().sort_index()
        prof = pd.concat([size.rename("size"), (size / size.sum()).rename("share"), means], axis=1)
        prof.index = prof.index.rename("cluster")
        self.profiles_ = prof
        zframe = pd.DataFrame(Z, columns=data.columns)
        sd = zframe.std(ddof=0).replace(0, 1.0)
        zmeans = zframe.groupby(self.labels_).mean()
        z = (zmeans - zframe.mean()) / sd
        z.index = z.index.rename("cluster")
        self.profile_z_ = z
        names = {}
        for cluster, row in z.iterrows():
            top = row.abs().sort_values(ascending=False, kind="stable").index[:3]
            names[cluster] = ", ".join(f"{'high' if row[c] > 0 else 'low'} {c}" for c in top)
        self.cluster_names_ = pd.Series(names, name="cluster_name").rename_axis("cluster")

    # -- use ------------------------------------------------------------------------------------
    def transform(self, X):
        """The scaled features the model clusters on (numpy array, n_rows x n_features)."""
        check_fitted(self, "model_")
        return self._transform_raw(self._select(X, "CustomerClusters.transform"))

    def predict(self, X):
        """Cluster of each row of ``X`` (int array, numbered as ``labels_``)."""
        check_fitted(self, "model_")
        Z = self._transform_raw(self._select(X, "CustomerClusters.predict"))
        return self.relabel_[self.model_.predict(Z)]

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    def project(self, X=None) -> pd.DataFrame:
        """2-D principal-component projection for plotting.

        Parameters
        ----------
        X : pandas.DataFrame, optional
            Rows to project; default: the training rows are not stored, so pass them.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``X``: ``pc1``, ``pc2`` (float), ``cluster`` (int).
        """
        check_fitted(self, "model_")
        check_type(X, pd.DataFrame, name="X", where="CustomerClusters.project",
                   type_name="a pandas DataFrame")
        Z = self._transform_raw(self._select(X, "CustomerClusters.project"))
        P = self.projection_.transform(Z)
        out = pd.DataFrame(P, index=X.index, columns=[f"pc{i + 1}" for i in range(P.shape[1])])
        if "pc2" not in out:
            out["pc2"] = 0.0
        out["cluster"] = self.relabel_[self.model_.predict(Z)]
        return out

    def profile_table(self) -> pd.DataFrame:
        """``profiles_`` with the cluster name as the first column (for reports)."""
        check_fitted(self, "model_")
        return pd.concat([self.cluster_names_, self.profiles_], axis=1)


def _silhouette(Z, labels, sample):
    if len(np.unique(labels)) < 2:
        return np.nan
    if sample is not None:
        Z, labels = Z[sample], np.asarray(labels)[sample]
        if len(np.unique(labels)) < 2:
            return np.nan
    # scikit-learn computes the distances in blocks of up to 1 GB: all 3,000 x 3,000 at once,
    # +70 MB on the kernel's peak. 16 MB blocks give the same score for +17 MB.
    with config_context(working_memory=16):
        return float(silhouette_score(Z, labels))
