"""The hand-written matcher crmlib used before splink, kept as the baseline of benchmarks/dedup.py.

Find and merge duplicate customers: blocking, fuzzy comparison with rapidfuzz, survivorship.

Comparing every customer with every other is O(n^2): 5 * 10^9 pairs for 100,000 customers.
Blocking compares only customers that share a cheap key (the same e-mail, phone digits, birth date
and postal code, or name initials and birth date), which keeps almost every true duplicate and a
tiny share of the pairs. Each candidate pair is then scored with ``rapidfuzz`` (vectorised over
all pairs with ``process.cpdist``): names (first and last name each, also crossed, so 'Doe Jane'
matches 'Jane Doe' but 'Emma Doe' does not match 'John Doe'),
e-mail, phone digits, birth date and address, combined into a weighted mean of the comparisons
that both records can make. Pairs at or above ``threshold`` are linked, linked customers form
clusters (connected components), and each cluster becomes one customer: the smallest id
survives, and each column takes its value by a survivorship rule.

>>> import pandas as pd
>>> people = pd.DataFrame({
...     "customer_id": [1, 2, 3],
...     "first_name": ["Jane", "Doe", "John"], "last_name": ["Doe", "Jane", "Smith"],
...     "email": ["jane.doe@example.com", "JANE.DOE@example.com", "js@example.org"],
...     "phone": ["+1 201 555 0123", "(201) 555-0123", "202-555-0199"],
...     "birth_date": pd.to_datetime(["1980-02-01", "1980-02-01", "1975-05-05"]),
... })
>>> dedup = Deduplicator(threshold=0.8).fit(people)
>>> dedup.id_map_.to_dict()
{1: 1, 2: 1, 3: 3}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib._validation import check_columns, check_interval, check_one_of, check_type
from crmlib.imports.standardise import digits

__all__ = ["PAIR_COLUMNS", "SURVIVORSHIP_RULES", "WEIGHTS", "Deduplicator", "candidate_pairs",
           "find_duplicates", "prepare", "score_pairs"]

#: Blocking passes: each is a list of prepared key columns that must all be equal.
BLOCKS: tuple[tuple[str, ...], ...] = (
    ("email_key",), ("phone_key",), ("birth_date_key", "postal_key"), ("initials", "birth_date_key"),
    ("initials", "postal_key"),
)
#: Weight of each comparison in the match score.
WEIGHTS: dict[str, float] = {"name": 0.30, "email": 0.20, "phone": 0.20, "birth_date": 0.15,
                             "address": 0.15}
#: Columns of the scored pair table.
PAIR_COLUMNS = ["left_id", "right_id", "score", *WEIGHTS]
SURVIVORSHIP_RULES = ("most_complete", "most_recent", "oldest", "first")
_KEY_COLUMNS = ["name_key", "first_key", "last_key", "email_key", "email_local", "email_domain", "phone_key", "birth_date_key",
                "postal_key", "street_key", "initials"]


def prepare(customers: pd.DataFrame, *, id_column: str = "customer_id") -> pd.DataFrame:
    """Comparison keys per customer: normalised name, e-mail, phone digits, birth date, address.

    Parameters
    ----------
    customers : pandas.DataFrame
        Needs ``id_column``; uses whichever of first_name, last_name, email, phone, birth_date,
        street, postal_code it has.

    Returns
    -------
    pandas.DataFrame
        ``id`` (int64) and the key columns ``name_key`` (lower-case name tokens, sorted),
        ``first_key``, ``last_key`` (lower-case, letters only),
        ``email_key``, ``email_local`` (no dots or +tags), ``email_domain``, ``phone_key`` (last
        10 digits), ``birth_date_key``, ``postal_key``, ``street_key``, ``initials`` (first two
        letters of each sorted name token); missing as ``None``.
    """
    check_columns(customers, [id_column], where="dedup.prepare")
    n = len(customers)

    def col(name):
        if name in customers:
            return customers[name].astype("string")
        return pd.Series(pd.NA, index=customers.index, dtype="string")

    def clean(s):
        out = s.str.lower().str.replace(r"[^\w\s]", "", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
        return out.mask(out.eq(""))

    first, last = clean(col("first_name")), clean(col("last_name"))
    tokens = (first.fillna("") + " " + last.fillna("")).str.split()
    name_key = tokens.map(lambda t: " ".join(sorted(t)) if isinstance(t, list) and t else None)
    initials = tokens.map(lambda t: "|".join(sorted(w[:2] for w in t)) if isinstance(t, list) and t else None)
    email = col("email").str.strip().str.lower()
    email = email.mask(~email.str.contains("@", regex=False).fillna(False))
    local = email.str.split("@").str[0].str.split("+").str[0].str.replace(".", "", regex=False)
    domain = email.str.split("@").str[-1]
    if "birth_date" in customers:
        dob = pd.to_datetime(customers["birth_date"], errors="coerce").dt.strftime("%Y-%m-%d")
    else:
        dob = pd.Series(pd.NA, index=customers.index, dtype="string")
    postal = col("postal_code").str.replace(r"\s+", "", regex=True).str.upper().str[:5]
    street = clean(col("street"))
    out = pd.DataFrame({
        "id": customers[id_column].to_numpy().astype("int64"),
        "name_key": name_key.to_numpy(), "first_key": first.to_numpy(), "last_key": last.to_numpy(),
        "email_key": email.to_numpy(), "email_local": local.to_numpy(),
        "email_domain": domain.to_numpy(), "phone_key": digits(col("phone")).to_numpy(),
        "birth_date_key": dob.to_numpy(), "postal_key": postal.to_numpy(), "street_key": street.to_numpy(),
        "initials": initials.to_numpy(),
    }, index=pd.RangeIndex(n))
    for c in _KEY_COLUMNS:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def candidate_pairs(prepared: pd.DataFrame, *, blocks=BLOCKS, max_block_size: int = 50) -> pd.DataFrame:
    """Pairs of rows of ``prepared`` that share every key of at least one blocking pass.

    Blocks larger than ``max_block_size`` (a shared family e-mail, a default phone number) are
    skipped: they hold few true pairs and many comparisons.

    Returns
    -------
    pandas.DataFrame
        ``left``, ``right`` (int64 row positions in ``prepared``, left < right), unique pairs.
    """
    parts = []
    for keys in blocks:
        frame = prepared[list(keys)].copy()
        frame = frame[frame.notna().all(axis=1)]
        if frame.empty:
            continue
        block = frame.groupby(list(keys), sort=False).ngroup()
        size = block.map(block.value_counts())
        block = block[(size > 1) & (size <= max_block_size)]
        if block.empty:
            continue
        rows = pd.DataFrame({"block": block.to_numpy(), "row": block.index.to_numpy()})
        pairs = rows.merge(rows, on="block", suffixes=("_l", "_r"))
        pairs = pairs[pairs["row_l"] < pairs["row_r"]]
        parts.append(pairs[["row_l", "row_r"]])
    if not parts:
        return pd.DataFrame({"left": pd.Series(dtype="int64"), "right": pd.Series(dtype="int64")})
    pairs = pd.concat(parts, ignore_index=True).drop_duplicates()
    return pd.DataFrame({"left": pairs["row_l"].to_numpy(dtype="int64"),
                         "right": pairs["row_r"].to_numpy(dtype="int64")})


def _similarity(a: np.ndarray, b: np.ndarray, scorer) -> np.ndarray:
    """rapidfuzz similarity in [0, 1] per pair; NaN where either side is missing."""
    from rapidfuzz.process import cpdist

    ok = np.array([x is not None and y is not None for x, y in zip(a, b, strict=True)], dtype=bool)
    out = np.full(len(a), np.nan)
    if ok.any():
        out[ok] = cpdist(list(a[ok]), list(b[ok]), scorer=scorer, workers=-1) / 100.0
    return out


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = np.array([x is not None and y is not None for x, y in zip(a, b, strict=True)], dtype=bool)
    out = np.full(len(a), np.nan)
    out[ok] = (a[ok] == b[ok]).astype(float)
    return out


def score_pairs(prepared: pd.DataFrame, pairs: pd.DataFrame, *, weights: dict | None = None) -> pd.DataFrame:
    """Compare each candidate pair and combine the comparisons into a match score in [0, 1].

    Returns
    -------
    pandas.DataFrame
        :data:`PAIR_COLUMNS`: ``left_id``, ``right_id`` (int64 customer ids), ``score`` (float64,
        the weighted mean of the comparisons both records can make) and one column per comparison
        (float64 in [0, 1], NaN where a side is missing).
    """
    from rapidfuzz import fuzz

    weights = weights or WEIGHTS
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()

    def side(col):
        values = prepared[col].to_numpy(dtype=object)
        return values[left], values[right]

    # names: first with first and last with last (or crossed, for swapped names), the weaker of the
    # two counts, so 'Emma Martinez' is not 'Anthony Martinez' at the same address
    f1, f2 = side("first_key")
    l1, l2 = side("last_key")
    straight = np.fmin(_similarity(f1, f2, fuzz.ratio), _similarity(l1, l2, fuzz.ratio))
    crossed = np.fmin(_similarity(f1, l2, fuzz.ratio), _similarity(l1, f2, fuzz.ratio))
    name = np.fmax(straight, crossed)
    whole = _similarity(*side("name_key"), fuzz.token_sort_ratio)
    name = np.where(np.isnan(name), whole, name)
    local = _similarity(*side("email_local"), fuzz.ratio)
    same_domain = _equal(*side("email_domain"))
    email = np.where(np.isnan(local), np.nan, 0.85 * local + 0.15 * np.nan_to_num(same_domain))
    email = np.where(_equal(*side("email_key")) == 1, 1.0, email)
    phone = _equal(*side("phone_key"))
    birth = _equal(*side("birth_date_key"))
    street = _similarity(*side("street_key"), fuzz.token_set_ratio)
    postal = _equal(*side("postal_key"))
    address = np.where(np.isnan(street), postal, np.where(np.isnan(postal), street, 0.6 * street + 0.4 * postal))
    features = {"name": name, "email": email, "phone": phone, "birth_date": birth, "address": address}
    num = np.zeros(len(pairs))
    den = np.zeros(len(pairs))
    for key, values in features.items():
        w = weights.get(key, 0.0)
        ok = ~np.isnan(values)
        num[ok] += w * values[ok]
        den[ok] += w
    score = np.divide(num, den, out=np.zeros(len(pairs)), where=den > 0)
    # a pair that can compare only one thing (a name, say) is too thin to merge on
    score = np.where(den < 0.45, score * den / 0.45, score)
    ids = prepared["id"].to_numpy()
    return pd.DataFrame({"left_id": ids[left], "right_id": ids[right], "score": score, **features})


def find_duplicates(customers: pd.DataFrame, *, threshold: float = 0.8, id_column: str = "customer_id",
                    max_block_size: int = 50) -> pd.DataFrame:
    """Scored candidate pairs at or above ``threshold`` (see :class:`Deduplicator`)."""
    dedup = Deduplicator(threshold=threshold, id_column=id_column, max_block_size=max_block_size)
    pairs = dedup.fit(customers).pairs_
    return pairs[pairs["score"] >= threshold].reset_index(drop=True)


class Deduplicator:
    """Link duplicate customers and merge them into one, scikit-learn style.

    Parameters
    ----------
    threshold : float, default=0.8
        Pairs with a match score at or above it are the same customer; in (0, 1].
    survivorship : dict, optional
        Column (or 'default') -> rule deciding which record's value the merged customer keeps:
        'most_complete' (the record with the most filled columns), 'most_recent' (latest
        ``recency_column``), 'oldest' (earliest ``recency_column``) or 'first' (smallest id).
        A rule skips missing values. Default: ``{'default': 'most_complete'}``; ``created_at``
        always keeps the earliest value (customer since).
    recency_column : str, default='created_at'
        What 'most_recent' and 'oldest' compare.
    id_column : str, default='customer_id'
    max_block_size : int, default=50
        Blocks with more members are skipped (see :func:`candidate_pairs`).

    Attributes
    ----------
    pairs_ : pandas.DataFrame
        Every scored candidate pair (:data:`PAIR_COLUMNS`).
    id_map_ : pandas.Series
        Customer id -> surviving (canonical) id, for every customer; int64, named 'canonical_id'.
    n_merged_ : int
        Customers merged into another one.
    """

    def __init__(self, *, threshold: float = 0.8, survivorship: dict | None = None,
                 recency_column: str = "created_at", id_column: str = "customer_id",
                 max_block_size: int = 50):
        self.threshold = threshold
        self.survivorship = survivorship
        self.recency_column = recency_column
        self.id_column = id_column
        self.max_block_size = max_block_size

    def _check_params(self) -> None:
        where = "Deduplicator"
        check_interval(self.threshold, 0, 1, name="threshold", where=where, closed="right")
        check_interval(self.max_block_size, 2, None, name="max_block_size", where=where, integer=True)
        check_type(self.survivorship or {}, dict, name="survivorship", where=where)
        for rule in (self.survivorship or {}).values():
            check_one_of(rule, SURVIVORSHIP_RULES, name="survivorship", where=where)

    def fit(self, customers: pd.DataFrame) -> Deduplicator:
        """Find candidate pairs, score them and cluster the matches; return self."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        self._check_params()
        check_columns(customers, [self.id_column], where="Deduplicator.fit")
        prepared = prepare(customers, id_column=self.id_column)
        pairs = candidate_pairs(prepared, max_block_size=self.max_block_size)
        self.pairs_ = score_pairs(prepared, pairs)
        match = pairs[self.pairs_["score"].to_numpy() >= self.threshold]
        n = len(prepared)
        graph = coo_matrix((np.ones(len(match)), (match["left"], match["right"])), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        ids = prepared["id"].to_numpy()
        canonical = pd.Series(ids).groupby(label).transform("min").to_numpy()
        self.id_map_ = pd.Series(canonical, index=pd.Index(ids, name=self.id_column), name="canonical_id")
        self.n_merged_ = int((self.id_map_.index.to_numpy() != canonical).sum())
        return self
