"""Standardise raw CRM values into one format: Series in, ``(values, problems)`` out.

Every standardiser takes a pandas Series of raw values and returns two Series on the same index:
the standard values (missing where the input was empty or could not be read) and a problem
text per row (missing where the value was fine or empty). A loader puts a row with a problem into
quarantine with that text as the reason; nothing is dropped quietly.

Maintained libraries do the hard parts: ``phonenumbers`` (E.164), ``email-validator`` (syntax),
``pycountry`` (ISO 3166 country codes). Each distinct raw value is parsed once.

>>> import pandas as pd
>>> values, problems = gender(pd.Series(["M", "female ", "x", "?"]))
>>> values.tolist()
['male', 'female', 'other', <NA>]
>>> problems.tolist()[3]
"unknown gender code '?'; known codes: d, divers, diverse, f, female, femme, ..."
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import pandas as pd

from .._validation import examples
from ..errors import CrmlibError

__all__ = [
    "AUTO_DATE_FORMATS",
    "AmbiguousDateError",
    "GENDER_CODES",
    "SALUTATION_CODES",
    "STANDARDISERS",
    "boolean",
    "country",
    "dates",
    "detect_date_format",
    "email",
    "gender",
    "name",
    "number",
    "phone",
    "salutation",
    "split_name",
    "text",
    "value_map",
]

Result = tuple[pd.Series, pd.Series]

#: Raw gender codes (compared lower-case, without dots and spaces) -> canonical value.
GENDER_CODES: dict[str, str] = {
    **dict.fromkeys(["m", "male", "man", "mr", "herr", "mannlich", "männlich", "h", "homme"], "male"),
    **dict.fromkeys(["f", "female", "woman", "w", "mrs", "ms", "frau", "weiblich", "femme"], "female"),
    **dict.fromkeys(["d", "x", "o", "other", "diverse", "divers", "nonbinary", "non-binary", "nb"], "other"),
}
#: Raw codes that mean "not known": they become missing without a problem.
UNKNOWN_CODES = frozenset({"", "u", "unknown", "n/a", "na", "none", "null", "-", "unspecified", "not known"})

#: Raw salutations (lower-case, without dots) -> canonical salutation.
SALUTATION_CODES: dict[str, str] = {
    **dict.fromkeys(["mr", "mister", "herr", "monsieur", "sir"], "Mr"),
    **dict.fromkeys(["mrs", "missus", "madam", "frau", "madame"], "Mrs"),
    **dict.fromkeys(["ms", "miss", "mlle", "fraulein"], "Ms"),
    **dict.fromkeys(["mx"], "Mx"),
    **dict.fromkeys(["dr", "doctor", "doktor"], "Dr"),
    **dict.fromkeys(["prof", "professor"], "Prof"),
}

#: Country names and codes that ISO 3166 does not spell this way (upper-case keys).
COUNTRY_ALIASES: dict[str, str | None] = {
    "UK": "GB", "U.K.": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB",
    "NORTHERN IRELAND": "GB", "EIRE": "IE", "USA": "US", "U.S.A.": "US", "U.S.": "US",
    "UNITED STATES OF AMERICA": "US", "AMERICA": "US", "RSA": "ZA", "KOREA": "KR", "SOUTH KOREA": "KR",
    "RUSSIA": "RU", "CZECHIA": "CZ", "HOLLAND": "NL", "THE NETHERLANDS": "NL", "UAE": "AE",
    "DEUTSCHLAND": "DE", "SCHWEIZ": "CH", "ÖSTERREICH": "AT", "OSTERREICH": "AT",
    "UNSPECIFIED": None, "UNKNOWN": None,
}


def _blank(s: pd.Series) -> pd.Series:
    """True where a raw value is missing or only whitespace."""
    return s.isna() | s.astype("string").str.strip().fillna("").eq("")


def _per_unique(s: pd.Series, parse: Callable[[str], tuple[object, str | None]]) -> Result:
    """Apply ``parse(text) -> (value, problem)`` once per distinct non-blank value."""
    blank = _blank(s)
    raw = s[~blank].astype(str)
    parsed = {u: parse(u) for u in raw.unique()}
    values = pd.Series(pd.NA, index=s.index, dtype="object")
    problems = pd.Series(pd.NA, index=s.index, dtype="object")
    if len(raw):
        values[raw.index] = raw.map(lambda u: parsed[u][0]).to_numpy(dtype=object)
        problems[raw.index] = raw.map(lambda u: parsed[u][1]).to_numpy(dtype=object)
    values = values.where(values.notna(), pd.NA)
    return values, problems.where(problems.notna(), pd.NA)


# ------------------------------------------------------------------ text
def text(s: pd.Series) -> Result:
    """Strip, collapse inner whitespace; blank becomes missing. Never a problem."""
    out = s.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    out = out.mask(out.eq(""))
    return out.astype(object).where(out.notna(), pd.NA), pd.Series(pd.NA, index=s.index, dtype="object")


def upper(s: pd.Series) -> Result:
    """:func:`text`, upper-case."""
    values, problems = text(s)
    return values.str.upper(), problems


def lower(s: pd.Series) -> Result:
    """:func:`text`, lower-case."""
    values, problems = text(s)
    return values.str.lower(), problems


def _name_case(value: str) -> str:
    """Title-case a name typed all upper or all lower case; keep deliberate mixed case."""
    if not value or (value != value.upper() and value != value.lower()):
        return value  # mixed case was typed on purpose (McDonald, van der Berg)
    words = []
    for word in value.split(" "):
        word = "-".join(p[:1].upper() + p[1:].lower() for p in word.split("-"))
        if word.startswith(("Mc", "O'")) and len(word) > 2:
            word = word[:2] + word[2:3].upper() + word[3:]
        words.append(word)
    return " ".join(words)


def name(s: pd.Series) -> Result:
    """:func:`text`, and names typed all upper or all lower case get title case ('SMITH' -> 'Smith')."""
    values, problems = text(s)
    return values.map(_name_case, na_action="ignore"), problems


_TITLE = re.compile(r"^(mr|mrs|ms|miss|mx|dr|prof|herr|frau|sir|madam)\.?\s+", re.IGNORECASE)


def split_name(s: pd.Series) -> pd.DataFrame:
    """Split free-form full names into salutation, first and last name.

    'Dr. Jane Doe', 'DOE, Jane', 'jane  doe' and 'Jane Mary Doe' give first names 'Jane' /
    'Jane Mary' and last name 'Doe'; a single word is taken as the last name.

    Returns
    -------
    pandas.DataFrame
        Columns ``salutation`` (canonical, or missing), ``first_name``, ``last_name`` (object).
    """
    def parse(raw: str) -> tuple[object, object, object]:
        value = re.sub(r"\s+", " ", raw.strip())
        title = pd.NA
        match = _TITLE.match(value)
        if match:
            title = SALUTATION_CODES.get(match.group(1).lower(), pd.NA)
            value = value[match.end():]
        if "," in value:
            last, _, first = value.partition(",")
        else:
            parts = value.split(" ")
            first, last = " ".join(parts[:-1]), parts[-1]
        first = _name_case(first.strip()) or pd.NA
        last = _name_case(last.strip()) or pd.NA
        return title, first, last

    blank = _blank(s)
    raw = s[~blank].astype(str)
    parsed = {u: parse(u) for u in raw.unique()}
    out = pd.DataFrame(pd.NA, index=s.index, columns=["salutation", "first_name", "last_name"], dtype=object)
    for i, col in enumerate(out.columns):
        out.loc[raw.index, col] = raw.map(lambda u, i=i: parsed[u][i]).to_numpy(dtype=object)
    return out


# ------------------------------------------------------------------ codes
def _code_key(value: str) -> str:
    return re.sub(r"[\s.]+", "", value.strip().lower())


def value_map(s: pd.Series, mapping: Mapping[str, object], *, what: str = "value",
              unknown: str = "problem") -> Result:
    """Map raw codes to canonical values, comparing case-, dot- and whitespace-insensitively.

    Parameters
    ----------
    s : pandas.Series
        Raw codes.
    mapping : mapping of str to object
        Raw code -> canonical value. A canonical value maps to itself without being listed.
    what : str, default='value'
        Name used in problem texts ("unknown gender code 'q'").
    unknown : {'problem', 'missing', 'keep'}, default='problem'
        What an unlisted code gives: a problem (the row is quarantined), a missing value, or the
        code unchanged.
    """
    keys = {_code_key(str(k)): v for k, v in mapping.items()}
    keys.update({_code_key(str(v)): v for v in mapping.values() if isinstance(v, str)})
    known = examples(sorted(keys), limit=6)

    def parse(raw: str):
        key = _code_key(raw)
        if key in keys:
            return keys[key], None
        if key in UNKNOWN_CODES:
            return pd.NA, None
        if unknown == "missing":
            return pd.NA, None
        if unknown == "keep":
            return raw.strip(), None
        return pd.NA, f"unknown {what} code {raw!r}; known codes: {known}"

    return _per_unique(s, parse)


def gender(s: pd.Series, *, unknown: str = "problem") -> Result:
    """Gender codes ('m', 'Male', 'W', 'diverse', ...) -> 'male' / 'female' / 'other'."""
    return value_map(s, GENDER_CODES, what="gender", unknown=unknown)


def salutation(s: pd.Series, *, unknown: str = "problem") -> Result:
    """Salutations ('MR.', 'mrs', 'Herr', 'Dr') -> 'Mr', 'Mrs', 'Ms', 'Mx', 'Dr', 'Prof'."""
    return value_map(s, SALUTATION_CODES, what="salutation", unknown=unknown)


def boolean(s: pd.Series) -> Result:
    """Yes/no flags ('yes', 'Y', 'true', '1', 'x', 'no', '0', ...) -> True / False."""
    codes = {**dict.fromkeys(["y", "yes", "true", "t", "1", "x", "ja", "oui", "opt-in", "optin"], True),
             **dict.fromkeys(["n", "no", "false", "f", "0", "nein", "non", "opt-out", "optout"], False)}
    return value_map(s, codes, what="yes/no")


def country(s: pd.Series, *, unknown: str = "problem") -> Result:
    """Country names and codes ('United Kingdom', 'EIRE', 'deu', 'USA') -> ISO 3166 alpha-2."""
    import pycountry

    def parse(raw: str):
        key = raw.strip().upper()
        if key in COUNTRY_ALIASES:
            return (COUNTRY_ALIASES[key] or pd.NA), None
        try:
            return pycountry.countries.lookup(raw.strip()).alpha_2, None
        except LookupError:
            if unknown == "missing":
                return pd.NA, None
            return pd.NA, f"unknown country {raw!r} (not an ISO 3166 name or code)"

    return _per_unique(s, parse)


# ------------------------------------------------------------------ contact details
def phone(s: pd.Series, *, region: str = "US") -> Result:
    """Phone numbers in any format -> E.164 ('+12015550123'), with ``region`` for national numbers.

    A number that ``phonenumbers`` cannot read, or that has an impossible length for its country,
    is a problem. Numbers that are possible but not assigned (test numbers) are kept.
    """
    import phonenumbers as pn

    def parse(raw: str):
        try:
            number = pn.parse(raw, region)
        except pn.NumberParseException as err:
            return pd.NA, f"phone {raw!r} is not a phone number ({err})"
        if not pn.is_possible_number(number):
            return pd.NA, f"phone {raw!r} has an impossible length for region {region}"
        return pn.format_number(number, pn.PhoneNumberFormat.E164), None

    return _per_unique(s, parse)


def email(s: pd.Series) -> Result:
    """E-mail addresses -> trimmed, lower-case, syntax checked by ``email-validator`` (no DNS look-up)."""
    from email_validator import EmailNotValidError, validate_email

    def parse(raw: str):
        try:
            return validate_email(raw.strip(), check_deliverability=False).normalized.lower(), None
        except EmailNotValidError as err:
            return pd.NA, f"email {raw!r} is not a valid address: {err}"

    return _per_unique(s, parse)


# ------------------------------------------------------------------ numbers and dates
def number(s: pd.Series, *, decimal: str = ".", thousands: str | None = None) -> Result:
    """Numbers written as text ('1,234.50', '12,5' with decimal=',') -> float."""
    raw = s.astype("string").str.strip()
    if thousands:
        raw = raw.str.replace(thousands, "", regex=False)
    if decimal != ".":
        raw = raw.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(raw, errors="coerce").astype("Float64")
    bad = values.isna() & ~_blank(s)
    problems = pd.Series(pd.NA, index=s.index, dtype="object")
    problems[bad] = [f"{v!r} is not a number" for v in s[bad]]
    return values, problems


#: What ``date_format: auto`` tries, in this order: ISO 8601, then the formats spreadsheets and
#: exports write. Month-first and day-first twins (``%m/%d/%Y`` and ``%d/%m/%Y``) are told apart
#: by a value whose day is above 12; dotted dates (``%d.%m.%Y``) are day-first by convention.
AUTO_DATE_FORMATS = (
    "ISO8601",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y",
    "%m/%d/%y %H:%M", "%m/%d/%y", "%d/%m/%y %H:%M", "%d/%m/%y",
    "%m-%d-%Y %H:%M", "%m-%d-%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y",
    "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%y",
    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
    "%d %b %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%Y%m%d",
)


class AmbiguousDateError(CrmlibError):
    """``date_format: auto`` cannot tell day from month: every value fits both orders.

    Attributes
    ----------
    formats : tuple of str
        The twin formats that both read every value.
    examples : list of str
        Up to 5 values that read either way.
    """

    def __init__(self, message: str, *, formats: tuple[str, ...], examples: list[str]):
        super().__init__(message)
        self.formats = formats
        self.examples = examples


def _twin(fmt: str) -> str:
    return fmt.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")


def _parsed(values: pd.Series, fmt: str) -> pd.Series:
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce").notna()
    except (ValueError, OverflowError, TypeError):  # e.g. mixed time zones: not this format
        return pd.Series(False, index=values.index)


def detect_date_format(s: pd.Series, *, dayfirst: bool | None = None,
                       candidates=AUTO_DATE_FORMATS) -> str:
    """The one format of :data:`AUTO_DATE_FORMATS` that reads the most values of ``s``.

    The first candidate (ISO 8601 before the others) wins a tie, except between a month-first and
    a day-first twin: when both read every value they read (no day above 12), ``dayfirst``
    decides, and without it the column is ambiguous and refused.

    Parameters
    ----------
    s : pandas.Series
        Dates as text; blanks are ignored.
    dayfirst : bool, optional
        Which twin an ambiguous column takes (True: day-first); None refuses it.
    candidates : sequence of str, default=AUTO_DATE_FORMATS

    Returns
    -------
    str
        A format for ``pandas.to_datetime`` ('ISO8601' or a strptime format); 'ISO8601' when no
        candidate reads any value (each value then becomes a problem).

    Raises
    ------
    AmbiguousDateError
        Both day/month orders read the same values, e.g. '03/04/2025' only, and ``dayfirst`` is
        None.

    Examples
    --------
    >>> detect_date_format(pd.Series(["12/1/2010 8:26", "12/13/2010 9:01"]))
    '%m/%d/%Y %H:%M'
    >>> detect_date_format(pd.Series(["2025-03-01", "2025-03-02 10:00"]))
    'ISO8601'
    """
    raw = s.astype("string").str.strip()
    values = pd.Series(raw[raw.notna() & raw.ne("")].unique())
    if values.empty:
        return "ISO8601"
    probe = values.head(2000)  # most candidates fail on every value: drop them cheaply first
    alive = [f for f in candidates if _parsed(probe, f).any()]
    hits = {f: _parsed(values, f) for f in alive}
    counts = {f: int(h.sum()) for f, h in hits.items()}
    if not counts or max(counts.values()) == 0:
        return "ISO8601"
    best = max(counts.values())
    top = [f for f in alive if counts[f] == best]
    chosen = top[0]
    twin = _twin(chosen)
    if twin != chosen and counts.get(twin) == best:
        first, second = sorted((chosen, twin), key=lambda f: f.index("%d") < f.index("%m"))
        if dayfirst is not None:
            return second if dayfirst else first
        both = values[hits[chosen] & hits[twin]].tolist()
        raise AmbiguousDateError(
            f"date_format auto cannot tell day from month: every value reads as {first} and as "
            f"{second} (no day above 12; e.g. {examples(both)}); give date_format: \"{first}\" "
            f"or \"{second}\", or keep auto and add dayfirst: false (month first) or true",
            formats=(first, second), examples=both[:5])
    return chosen


def dates(s: pd.Series, *, formats: list[str] | None = None,
          dayfirst: bool | None = None) -> Result:
    """Dates and timestamps as text -> datetime64, trying each strptime format in turn.

    Without ``formats`` ISO 8601 is expected ('2025-03-01', '2025-03-01 14:30:00'). ``["auto"]``
    uses the format :func:`detect_date_format` finds for the whole column (``dayfirst`` settles
    a column that reads either way; None raises its :class:`AmbiguousDateError`). Values already
    of a datetime type pass through. A value no format reads is a problem naming the formats
    tried.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[us]"), pd.Series(pd.NA, index=s.index, dtype="object")
    raw = s.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    if formats is not None and list(formats) == ["auto"]:
        formats = [detect_date_format(raw, dayfirst=dayfirst)]
    tried = formats or ["ISO8601"]
    for fmt in tried:
        todo = out.isna() & raw.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(raw[todo], format=fmt, errors="coerce", dayfirst=bool(dayfirst))
        out[todo] = parsed.astype("datetime64[us]")
    bad = out.isna() & ~_blank(s)
    problems = pd.Series(pd.NA, index=s.index, dtype="object")
    if bad.any():
        problems[bad] = [f"date {v!r} does not match {' or '.join(tried)}" for v in s[bad]]
    return out, problems


def _dates_std(s: pd.Series) -> Result:
    return dates(s)


#: Standardisers a mapping file may name with ``standardise:`` (those that need no options).
STANDARDISERS: dict[str, Callable[[pd.Series], Result]] = {
    "text": text, "upper": upper, "lower": lower, "name": name, "gender": gender,
    "salutation": salutation, "boolean": boolean, "country": country, "phone": phone, "email": email,
    "number": number, "date": _dates_std,
}


def digits(s: pd.Series, *, last: int = 10) -> pd.Series:
    """The last ``last`` digits of each value (a format-free phone key for matching)."""
    out = s.astype("string").str.replace(r"\D", "", regex=True).str[-last:]
    return out.mask(out.str.len().fillna(0) < min(7, last))
