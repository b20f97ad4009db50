"""CustomerClusters: k selection, labels, profiles, projection, estimator conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from crmlib.errors import DataContractError, EmptyDataError, NotFittedError, ParameterError
from crmlib.segments import CustomerClusters

SIGNAL = ["frequency", "avg_order_value", "recency_days"]


@pytest.fixture(autouse=True)
def _one_thread():
    """KMeans' OpenMP threads spin badly on a busy 2-core machine; one thread is 20x faster."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def blobs():
    """Three customer types: rare small buyers, regular mid buyers, frequent big spenders."""
    rng = np.random.default_rng(42)
    n = 120
    kinds = np.repeat([0, 1, 2], n)
    freq = np.r_[rng.poisson(2, n) + 1, rng.poisson(10, n) + 1, rng.poisson(40, n) + 1]
    aov = np.r_[rng.gamma(20, 1, n), rng.gamma(20, 3, n), rng.gamma(20, 12, n)]
    recency = np.r_[rng.uniform(150, 365, n), rng.uniform(30, 90, n), rng.uniform(2, 12, n)]
    X = pd.DataFrame({"frequency": freq.astype(float), "avg_order_value": aov,
                      "recency_days": recency, "discount_share": rng.beta(2, 8, 3 * n)},
                     index=pd.Index(np.arange(1000, 1000 + 3 * n), name="customer_id"))
    return X, kinds


def test_kmeans_finds_three_types(blobs):
    X, kinds = blobs
    model = CustomerClusters(k_range=(2, 6), columns=SIGNAL).fit(X)
    assert model.n_clusters_ == 3
    assert adjusted_rand_score(kinds, model.labels_) > 0.9
    assert model.scores_["k"].tolist() == [2, 3, 4, 5, 6]
    assert model.scores_.set_index("k")["silhouette"].idxmax() == 3


def test_gmm_picks_k_by_bic(blobs):
    X, kinds = blobs
    model = CustomerClusters(method="gmm", k_range=(2, 5), columns=SIGNAL).fit(X)
    assert model.n_clusters_ == model.scores_.set_index("k")["bic"].idxmin()
    assert adjusted_rand_score(kinds, model.labels_) > 0.8


def test_labels_numbered_by_size_and_predict_matches(blobs):
    X, _ = blobs
    model = CustomerClusters(n_clusters=3).fit(X.iloc[:-10])
    sizes = np.bincount(model.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)
    np.testing.assert_array_equal(model.predict(X.iloc[:-10]), model.labels_)
    assert set(model.predict(X.iloc[-10:])) <= {0, 1, 2}


def test_profiles_and_names(blobs):
    X, kinds = blobs
    model = CustomerClusters(n_clusters=3).fit(X)
    prof = model.profiles_
    assert prof["size"].sum() == len(X)
    assert prof["share"].sum() == pytest.approx(1.0)
    assert {"frequency", "avg_order_value", "recency_days"} <= set(prof.columns)
    best = prof["frequency"].idxmax()
    assert "high frequency" in model.cluster_names_[best] or "low recency_days" in \
        model.cluster_names_[best]
    assert model.profile_z_.shape == (3, 4)
    table = model.profile_table()
    assert table.columns[0] == "cluster_name"


def test_log_scaling_only_on_right_skewed_columns_outside_unit_interval():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"spend": rng.lognormal(3, 1, 200), "share": rng.beta(1, 9, 200),
                      "tenure": rng.uniform(0, 1000, 200)})
    model = CustomerClusters(n_clusters=2).fit(X)
    assert model.log_columns_ == ["spend"]  # share is in [0, 1]; tenure is not skewed
    assert CustomerClusters(n_clusters=2, scaling="robust").fit(X).log_columns_ == []


def test_projection(blobs):
    X, _ = blobs
    model = CustomerClusters(n_clusters=3).fit(X)
    proj = model.project(X)
    assert list(proj.columns) == ["pc1", "pc2", "cluster"]
    assert proj.index.equals(X.index)
    np.testing.assert_array_equal(proj["cluster"], model.labels_)
    assert model.transform(X).shape == (len(X), 4)


def test_deterministic(blobs):
    X, _ = blobs
    a = CustomerClusters(k_range=(2, 4), columns=SIGNAL).fit(X)
    b = CustomerClusters(k_range=(2, 4), columns=SIGNAL).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_pipeline_and_params(blobs):
    X, _ = blobs
    model = CustomerClusters(n_clusters=2)
    assert model.get_params()["n_clusters"] == 2
    assert model.set_params(n_clusters=3) is model
    assert repr(model) == "CustomerClusters(n_clusters=3)"
    pipe = Pipeline([("clusters", model)])
    assert len(pipe.fit_predict(X)) == len(X)


def test_silhouette_sampling(blobs):
    X, kinds = blobs
    model = CustomerClusters(k_range=(2, 4), silhouette_sample=100, columns=SIGNAL).fit(X)
    assert model.n_clusters_ == 3


def test_one_row_per_customer_with_one_purchase():
    X = pd.DataFrame({"frequency": [1.0] * 6, "monetary": [10.0, 11, 12, 500, 510, 520]})
    model = CustomerClusters(k_range=(2, 3)).fit(X)
    assert model.n_clusters_ == 2


@pytest.mark.parametrize(
    ("params", "match"),
    [({"method": "dbscan"}, r"CustomerClusters.fit: 'method' must be one of \['kmeans', 'gmm'\]; got 'dbscan'"),
     ({"scaling": "minmax"}, r"'scaling' must be one of \['log-robust', 'robust', 'standard'\]"),
     ({"k_range": (1, 4)}, r"'k_range\[0\]' must be an int in \[2, inf\); got 1"),
     ({"k_range": (5, 3)}, r"'k_range\[1\]' must be an int in \[5, inf\); got 3"),
     ({"k_range": [2, "x"]}, r"'k_range' must list ints >= 2; got \[2, 'x'\]"),
     ({"k_range": 4}, r"'k_range' must be a \(low, high\) tuple or a list of int; got 4"),
     ({"n_clusters": 0}, r"'n_clusters' must be an int in \[1, inf\); got 0"),
     ({"k_range": (2, 50)}, r"n_samples=6 should be > the largest k=50"),
     ({"n_init": 0}, r"'n_init' must be an int in \[1, inf\); got 0")],
)
def test_bad_parameters(params, match):
    X = pd.DataFrame({"frequency": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(ParameterError, match=match):
        CustomerClusters(**params).fit(X)


def test_missing_and_bad_values():
    X = pd.DataFrame({"frequency": [1.0, 2, np.nan, 4]}, index=[7, 8, 9, 10])
    with pytest.raises(DataContractError, match=r"1 rows have missing or infinite features \(e.g. 9\)"):
        CustomerClusters(n_clusters=2).fit(X)
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['monetary'\]"):
        CustomerClusters(n_clusters=2, columns=["monetary"]).fit(X)
    with pytest.raises(EmptyDataError, match="CustomerClusters.fit: X has no rows"):
        CustomerClusters(n_clusters=2).fit(X.iloc[:0])
    with pytest.raises(ParameterError, match="'X' must be a pandas DataFrame"):
        CustomerClusters(n_clusters=2).fit(X.to_numpy())


@pytest.mark.parametrize("method", ["predict", "transform", "project", "profile_table"])
def test_not_fitted(method):
    X = pd.DataFrame({"frequency": [1.0, 2]})
    args = () if method == "profile_table" else (X,)
    with pytest.raises(NotFittedError, match="This CustomerClusters instance is not fitted yet"):
        getattr(CustomerClusters(), method)(*args)
