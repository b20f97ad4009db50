"""Comparison keys per customer: the normalised values the linkage model compares and blocks on.

One row in, one row out, no look at other rows except :func:`drop_shared_identifiers` (so the same
function prepares a pandas frame and, batch by batch, a Spark DataFrame). Every key is a string or
missing; an empty string counts as missing.

>>> import pandas as pd
>>> prepare(pd.DataFrame({"customer_id": [7], "first_name": [" Zoë "], "last_name": ["O'Neil"],
...                       "birth_date": ["1980-02-01"]}))[["first_key", "last_key", "dob_key"]].iloc[0].tolist()
['zoe', 'oneil', '19800201']
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from ..._validation import check_columns
from ..standardise import digits

__all__ = ["KEY_COLUMNS", "SOURCE_COLUMNS", "drop_shared_identifiers", "present_keys", "prepare"]

#: Customer columns the keys are made from (each optional except the id).
SOURCE_COLUMNS = ("first_name", "last_name", "birth_date", "street", "city", "postal_code", "email", "phone")

#: The prepared key columns, in order (``unique_id`` first).
KEY_COLUMNS = ["unique_id", "first_key", "last_key", "full_key", "first_ph", "last_ph", "dob_key", "dob_year",
               "street_key", "city_key", "postcode_key", "email_key", "email_local", "phone_key"]

# Spellings of the same street word, so '1 Main St.' and '1 MAIN STREET' agree exactly.
_STREET_WORDS = {
    "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "rd": "road", "dr": "drive",
    "ln": "lane", "ct": "court", "pl": "place", "blvd": "boulevard", "hwy": "highway", "sq": "square",
    "cres": "crescent", "cr": "crescent", "tce": "terrace", "pde": "parade", "cct": "circuit",
    "apt": "apartment", "ste": "suite", "unit": "unit", "n": "north", "s": "south", "e": "east",
    "w": "west",
}


def _text(customers: pd.DataFrame, name: str) -> pd.Series:
    if name in customers:
        return customers[name].astype("string")
    return pd.Series(pd.NA, index=customers.index, dtype="string")


def _ascii_lower(s: pd.Series) -> pd.Series:
    def fold(text):
        if text is None or text is pd.NA:
            return pd.NA
        return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()

    return s.map(fold, na_action="ignore").astype("string")


def _missing_if_empty(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.mask(s.eq(""))


def _name(s: pd.Series) -> pd.Series:
    """Lower-case letters only ('O'Neil' and 'ONEIL' agree; spaces and hyphens go)."""
    return _missing_if_empty(_ascii_lower(s).str.replace(r"[^a-z]", "", regex=True))


def _metaphone(s: pd.Series) -> pd.Series:
    import jellyfish

    out = s.map(jellyfish.metaphone, na_action="ignore").astype("string")
    return _missing_if_empty(out)


def _birth_date(values: pd.Series | None, index) -> pd.Series:
    """'YYYYMMDD': dates as such; text keeps its digits when there are eight of them.

    Text is not parsed as a date, so a date with a wrong digit ('1980-02-31', '19780231' from a
    scanned form) keeps its other seven digits for the comparison instead of becoming missing.
    """
    if values is None:
        return pd.Series(pd.NA, index=index, dtype="string")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y%m%d").astype("string")
    text = values.astype("string").str.strip()
    dated = pd.to_datetime(text, errors="coerce", format="mixed") if text.notna().any() else text
    # '1980-02-01', '1980-02-01 00:00:00', '19800201'; day-first text like '01/02/1980' is parsed
    digits8 = text.str.replace(r"[\sT]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?$", "", regex=True)
    digits8 = digits8.str.replace(r"\D", "", regex=True)
    iso_like = text.str.match(r"^\d{4}\D?\d{2}\D?\d{2}")
    out = digits8.where(iso_like.fillna(False) & digits8.str.len().eq(8))
    if isinstance(dated, pd.Series) and pd.api.types.is_datetime64_any_dtype(dated):
        out = out.fillna(dated.dt.strftime("%Y%m%d").astype("string"))
    return _missing_if_empty(out.astype("string"))


def _street(s: pd.Series) -> pd.Series:
    words = _ascii_lower(s).str.replace(r"[^a-z0-9\s]", " ", regex=True).str.split()

    def norm(tokens):
        if not isinstance(tokens, list):
            return pd.NA
        return " ".join(_STREET_WORDS.get(t, t) for t in tokens)

    return _missing_if_empty(words.map(norm).astype("string"))


def prepare(customers: pd.DataFrame, *, id_column: str = "customer_id") -> pd.DataFrame:
    """The comparison keys of each customer.

    Parameters
    ----------
    customers : pandas.DataFrame
        Needs ``id_column``; uses whichever of :data:`SOURCE_COLUMNS` it has.
    id_column : str, default='customer_id'

    Returns
    -------
    pandas.DataFrame
        :data:`KEY_COLUMNS`, one row per customer in the input order: ``unique_id`` (int64, the
        id) and string keys (missing as ``None``): ``first_key``, ``last_key`` (lower-case ASCII
        letters), ``full_key`` (both, for how common the full name is), ``first_ph``, ``last_ph`` (their metaphone codes, so 'Smyth' meets 'Smith' and
        'Katherine' meets 'Catherine'), ``dob_key`` ('YYYYMMDD') and ``dob_year``, ``street_key``
        (lower case, street words spelled out), ``city_key``, ``postcode_key`` (upper case, no
        spaces), ``email_key`` (trimmed, lower case, dots and '+tags' removed from the part before
        '@'), ``email_local`` (that part), ``phone_key`` (the last 10 digits).
    """
    check_columns(customers, [id_column], where="dedup.prepare")
    first, last = _name(_text(customers, "first_name")), _name(_text(customers, "last_name"))
    dob = _birth_date(customers["birth_date"] if "birth_date" in customers else None, customers.index)
    email = _missing_if_empty(_text(customers, "email").str.lower())
    email = email.mask(~email.str.contains("@", regex=False).fillna(False))
    local = email.str.split("@").str[0].str.split("+").str[0].str.replace(".", "", regex=False)
    # one key for 'Anna.Smith+shop@x.com' and 'annasmith@x.com': dots and '+tags' do not route mail
    email = (local + "@" + email.str.split("@").str[-1]).where(email.notna())
    postcode = _missing_if_empty(_text(customers, "postal_code").str.upper().str.replace(r"[^0-9A-Z]", "",
                                                                                          regex=True))
    out = pd.DataFrame({
        "unique_id": pd.to_numeric(customers[id_column]).to_numpy().astype("int64"),
        "first_key": first, "last_key": last, "full_key": (first + " " + last).where(first.notna() & last.notna()),
        "first_ph": _metaphone(first), "last_ph": _metaphone(last),
        "dob_key": dob, "dob_year": dob.str[:4],
        "street_key": _street(_text(customers, "street")),
        "city_key": _missing_if_empty(_ascii_lower(_text(customers, "city")).str.replace(r"[^a-z]", "",
                                                                                       regex=True)),
        "postcode_key": postcode, "email_key": email, "email_local": _missing_if_empty(local),
        "phone_key": digits(_text(customers, "phone")),
    })
    out = out.reset_index(drop=True)
    for col in KEY_COLUMNS[1:]:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def drop_shared_identifiers(keys: pd.DataFrame, *, max_shared: int) -> pd.DataFrame:
    """E-mails and phones held by more than ``max_shared`` customers count as missing.

    A placeholder ('no@email.com', '0000000000') or a company switchboard is no evidence that two
    customers are one, and as a blocking key it would make one huge block.
    """
    out = keys.copy()
    for col in ("email_key", "email_local", "phone_key"):
        counts = out[col].map(out[col].value_counts())
        out[col] = out[col].where(~(counts > max_shared), None)
    return out


def present_keys(keys: pd.DataFrame) -> set[str]:
    """The key columns with at least two non-missing values (a comparison needs a pair)."""
    return {c for c in KEY_COLUMNS[1:] if c in keys and keys[c].notna().sum() >= 2}
