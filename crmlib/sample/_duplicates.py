"""Opt-in duplicate customers for the sample, with their true pairs (``truth_duplicates``).

``crmlib sample --duplicates 0.05`` adds, for 5% of the customers, a second customer row for the
same person, as a second CRM or a careless sign-up would create it: a typo in a name, first and last
name swapped, the phone number in another format, the e-mail in other case or at another domain,
shouting case or stray whitespace, a missing field, another spelling of the salutation. Each
duplicate gets two to three of these changes, and keeps enough of the person (birth date, address,
phone digits or e-mail) that a careful human would still call it the same customer. The duplicate
signs up later than the original and has no orders of its own, so the other analyses are unchanged
apart from the extra customer rows.

To make precision mean something, as many household members are added as hard non-duplicates:
another person (own first name, gender, birth date and e-mail) at the same address with the same
last name and phone number. They are customers of their own and are not in ``truth_duplicates``.

``truth_duplicates`` has one row per planted pair: ``customer_id`` (the original),
``duplicate_id`` (the planted copy) and ``changes`` (comma-separated names of the changes).

``mode='hard'`` (``crmlib sample --duplicates 0.05 --duplicate-mode hard``) plants duplicates like
those of real, badly kept lists instead: four to six of :data:`HARD_CHANGES` each, with typos that
may hit any letter (the first too) in names, street and e-mail, OCR confusions ('0'/'O', 'rn'/'m'),
names spelled another way that sounds alike, first and last name swapped, a birth date with a wrong
digit or day and month swapped, a postcode or phone digit wrong, and e-mail and phone often
missing. It draws from its own random stream, so the default sample and the default duplicates stay
exactly as they were.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CHANGES", "HARD_CHANGES", "MODES", "plant_duplicates"]

#: The changes a duplicate can carry; two or three are drawn per duplicate.
CHANGES = ("typo", "swap_names", "phone_format", "email_variant", "case_noise", "missing_field",
           "salutation_variant", "address_variant")

#: The changes of the hard mode; four to six are drawn per duplicate.
HARD_CHANGES = ("first_name_typo", "last_name_typo", "phonetic_variant", "ocr_error", "swap_names",
                "birth_date_digit", "street_typo", "postcode_digit", "email_typo", "phone_digit",
                "missing_email", "missing_phone", "case_noise", "address_variant")
MODES = ("default", "hard")

_SALUTATIONS = {"Mr": ["MR", "Mr.", "mr", "Herr"], "Mrs": ["MRS", "Mrs.", "mrs"], "Ms": ["MS", "Ms.", "ms"],
                "Dr": ["DR", "Dr.", "dr"], "Mx": ["MX", "Mx."]}


def plant_duplicates(tables: dict[str, pd.DataFrame], fraction: float,
                     rng: np.random.Generator, *, mode: str = "default") -> dict[str, pd.DataFrame]:
    """Return ``tables`` with duplicate customers added and a ``truth_duplicates`` table.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The generated tables (:func:`crmlib.sample.generate`); not changed.
    fraction : float
        Share of customers that get a duplicate, in [0, 0.5].
    rng : numpy.random.Generator
        Source of randomness.
    mode : {'default', 'hard'}
        Which changes the duplicates get (see the module docstring).

    Returns
    -------
    dict of str to pandas.DataFrame
        A new dict: ``customers`` and ``truth_customers`` with the duplicate rows appended
        (new ids after the last one), and ``truth_duplicates`` (customer_id, duplicate_id, changes).
    """
    customers = tables["customers"]
    n_dup = int(round(fraction * len(customers)))
    out = dict(tables)
    if n_dup == 0:
        out["truth_duplicates"] = pd.DataFrame({"customer_id": pd.Series(dtype="int64"),
                                                "duplicate_id": pd.Series(dtype="int64"),
                                                "changes": pd.Series(dtype="str")})
        return out
    rows = np.sort(rng.choice(len(customers), size=n_dup, replace=False))
    dup = customers.iloc[rows].reset_index(drop=True).copy()
    originals = dup["customer_id"].to_numpy()
    dup["customer_id"] = np.arange(1, n_dup + 1) + int(customers["customer_id"].max())
    end = pd.Timestamp("2025-12-31")
    later = dup["created_at"] + pd.to_timedelta(rng.uniform(7, 720, n_dup), unit="D")
    dup["created_at"] = later.where(later < end, end).dt.floor("s")

    records = dup.to_dict("records")
    changes = []
    if mode == "hard":
        changes = _hard_changes(records, np.random.default_rng(rng.integers(0, 2**63)))
    for rec in records if mode != "hard" else ():
        picked = list(rng.choice(CHANGES, size=int(rng.integers(2, 4)), replace=False))
        for change in picked:
            field = _FIELD.get(change)
            if field is None or isinstance(rec.get(field), str):  # never change a missing value
                _APPLY[change](rec, rng)
        changes.append(",".join(sorted(picked)))
    dup = pd.DataFrame.from_records(records, columns=customers.columns)
    for col in customers.columns:  # keep the generated dtypes (dates, nullable ints)
        try:
            dup[col] = dup[col].astype(customers[col].dtype)
        except (TypeError, ValueError):
            pass
    house = _households(customers, rng, n_dup, start_id=int(dup["customer_id"].max()) + 1)
    if "truth_customers" in tables:
        truth = tables["truth_customers"]
        copy = truth.set_index("customer_id").loc[np.concatenate([originals, house.pop("_of").to_numpy()])]
        copy = copy.reset_index()
        copy["customer_id"] = np.concatenate([dup["customer_id"].to_numpy(), house["customer_id"].to_numpy()])
        out["truth_customers"] = pd.concat([truth, copy], ignore_index=True)
    else:
        house = house.drop(columns="_of")
    out["customers"] = pd.concat([customers, dup, house], ignore_index=True)
    out["truth_duplicates"] = pd.DataFrame({"customer_id": originals.astype("int64"),
                                            "duplicate_id": dup["customer_id"].to_numpy().astype("int64"),
                                            "changes": changes})
    return out


_OTHER_FIRST = {"female": ["Emma", "Olivia", "Sophia", "Laura", "Anna", "Grace", "Chloe", "Maria"],
                "male": ["Liam", "Noah", "Lucas", "Ethan", "Oliver", "Jacob", "Daniel", "Samuel"],
                "other": ["Alex", "Sam", "Robin", "Jordan"]}


def _households(customers: pd.DataFrame, rng: np.random.Generator, n: int, start_id: int) -> pd.DataFrame:
    """Other people at a customer's address: same last name, street and phone; not duplicates."""
    rows = rng.choice(len(customers), size=n, replace=False)
    house = customers.iloc[rows].reset_index(drop=True).copy()
    house["_of"] = house["customer_id"].to_numpy()
    house["customer_id"] = np.arange(start_id, start_id + n)
    gender = rng.choice(["female", "male", "other"], size=n, p=[0.5, 0.48, 0.02])
    house["gender"] = gender
    house["salutation"] = np.where(gender == "male", "Mr", np.where(gender == "female", "Ms", "Mx"))
    first = [_OTHER_FIRST[g][int(rng.integers(0, len(_OTHER_FIRST[g])))] for g in gender]
    house["first_name"] = first
    shift = pd.to_timedelta(rng.integers(2 * 365, 30 * 365, n), unit="D") * rng.choice([-1, 1], n)
    house["birth_date"] = (house["birth_date"] + shift).clip(upper=pd.Timestamp("2007-01-01"))
    house["email"] = [f"{f.lower()}.{str(last).lower().replace(' ', '')}{i % 89}@example.org"
                      for i, (f, last) in enumerate(zip(first, house["last_name"], strict=True))]
    return house


# ------------------------------------------------------------------ the changes
def _typo(rec, rng):
    field = "first_name" if rng.random() < 0.5 else "last_name"
    rec[field] = _typo_text(str(rec[field]), rng)


def _typo_text(text: str, rng) -> str:
    if len(text) < 3:
        return text + text[-1]
    i = int(rng.integers(1, len(text) - 1))  # keep the first letter, as most typos do
    kind = rng.integers(0, 4)
    if kind == 0:  # swap two neighbours
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:  # drop a letter
        return text[:i] + text[i + 1:]
    if kind == 2:  # double a letter
        return text[:i] + text[i] + text[i:]
    near = "qwertyuiopasdfghjklzxcvbnm"
    return text[:i] + near[int(rng.integers(0, len(near)))] + text[i + 1:]


def _swap_names(rec, rng):
    rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]


def _phone_format(rec, rng):
    digits = "".join(ch for ch in str(rec["phone"]) if ch.isdigit())[-10:]
    if len(digits) != 10:
        return
    a, b, c = digits[:3], digits[3:6], digits[6:]
    formats = [f"+1 {a} {b} {c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"+1{a}{b}{c}",
               f"{a} {b} {c}"]
    current = str(rec["phone"])
    choices = [f for f in formats if f != current]
    rec["phone"] = choices[int(rng.integers(0, len(choices)))]


def _email_variant(rec, rng):
    email = str(rec["email"])
    local, _, domain = email.partition("@")
    kind = rng.integers(0, 3)
    if kind == 0:
        rec["email"] = email.upper()
    elif kind == 1:
        rec["email"] = f"{local}@{'example.net' if domain != 'example.net' else 'example.org'}"
    else:
        rec["email"] = f" {local.capitalize()}@{domain} "


def _case_noise(rec, rng):
    if rng.random() < 0.5:
        rec["first_name"] = str(rec["first_name"]).upper()
        rec["last_name"] = str(rec["last_name"]).upper()
    else:
        rec["first_name"] = f" {str(rec['first_name']).lower()}"
        rec["last_name"] = f"{str(rec['last_name']).lower()}  "


def _missing_field(rec, rng):
    field = ["phone", "email", "street", "birth_date"][int(rng.integers(0, 4))]
    rec[field] = None


_STREET_WORDS = {"Street": "St", "Avenue": "Ave", "Road": "Rd", "Drive": "Dr", "Lane": "Ln",
                 "Court": "Ct", "Apt.": "#", "Suite": "Ste"}


def _address_variant(rec, rng):
    street = str(rec["street"])
    for long, short in _STREET_WORDS.items():
        street = street.replace(long, short)
    if street == str(rec["street"]):
        street = street.upper()
    rec["street"] = street


def _salutation_variant(rec, rng):
    options = _SALUTATIONS.get(str(rec["salutation"]))
    if options:
        rec["salutation"] = options[int(rng.integers(0, len(options)))]


_FIELD = {"phone_format": "phone", "email_variant": "email", "salutation_variant": "salutation",
          "address_variant": "street"}
_APPLY = {"typo": _typo, "swap_names": _swap_names, "phone_format": _phone_format,
          "email_variant": _email_variant, "case_noise": _case_noise, "missing_field": _missing_field,
          "salutation_variant": _salutation_variant, "address_variant": _address_variant}


# ------------------------------------------------------------------ the hard mode
_SOUND_ALIKE = (  # spelling swaps that keep the sound (first match wins)
    ("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("k", "c"), ("y", "i"), ("i", "y"), ("ie", "y"),
    ("ee", "ea"), ("ou", "ow"), ("s", "z"), ("z", "s"), ("th", "t"), ("mm", "m"), ("nn", "n"),
    ("ll", "l"), ("tt", "t"), ("l", "ll"), ("n", "nn"), ("ei", "ie"), ("ey", "y"), ("ae", "e"),
)
_OCR = (("rn", "m"), ("m", "rn"), ("o", "0"), ("O", "0"), ("l", "1"), ("I", "1"), ("i", "1"), ("S", "5"),
        ("s", "5"), ("B", "8"), ("e", "c"), ("cl", "d"), ("h", "b"), ("u", "v"))


def _hard_typo(text: str, rng) -> str:
    """One keyboard slip anywhere, the first letter included."""
    if len(text) < 2:
        return text + text
    i = int(rng.integers(0, len(text) - 1))
    kind = rng.integers(0, 4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    letters = "qwertyuiopasdfghjklzxcvbnm"
    new = letters[int(rng.integers(0, len(letters)))]
    return text[:i] + (new.upper() if text[i].isupper() else new) + text[i + 1:]


def _sound_alike(text: str, rng) -> str:
    lower = text.lower()
    options = [(a, b) for a, b in _SOUND_ALIKE if a in lower[1:] or (a in lower and len(a) == len(b))]
    if not options:
        return _hard_typo(text, rng)
    a, b = options[int(rng.integers(0, len(options)))]
    at = lower.find(a, 1) if a in lower[1:] else lower.find(a)
    out = lower[:at] + b + lower[at + len(a):]
    return out[:1].upper() + out[1:] if text[:1].isupper() else out


def _ocr(text: str, rng) -> str:
    options = [(a, b) for a, b in _OCR if a in text]
    if not options:
        return _hard_typo(text, rng)
    a, b = options[int(rng.integers(0, len(options)))]
    return text.replace(a, b, 1)


def _digit(text: str, rng, positions) -> str:
    """One digit at one of ``positions`` (indexes of the digits) replaced by another."""
    spots = [p for p in positions if p < len(text)]
    if not spots:
        return text
    i = spots[int(rng.integers(0, len(spots)))]
    new = str((int(text[i]) + int(rng.integers(1, 10))) % 10)
    return text[:i] + new + text[i + 1:]


def _wrong_birth_date(value, rng):
    if value is None or pd.isna(value):
        return value
    date = pd.Timestamp(value)
    text = date.strftime("%Y%m%d")
    for _ in range(20):
        if rng.random() < 0.25 and date.day <= 12 and date.day != date.month:  # day and month swapped
            candidate = f"{text[:4]}{text[6:8]}{text[4:6]}"
        else:
            candidate = _digit(text, rng, [2, 3, 5, 6, 7])  # a year, month or day digit
        try:
            return pd.Timestamp(f"{candidate[:4]}-{candidate[4:6]}-{candidate[6:]}")
        except ValueError:
            continue
    return value


def _hard_changes(records: list[dict], rng) -> list[str]:
    out = []
    for rec in records:
        picked = list(rng.choice(HARD_CHANGES, size=int(rng.integers(4, 7)), replace=False))
        for change in picked:
            _apply_hard(change, rec, rng)
        out.append(",".join(sorted(picked)))
    return out


def _apply_hard(change: str, rec: dict, rng) -> None:
    def text(field):
        value = rec.get(field)
        return value if isinstance(value, str) and value else None

    if change in ("first_name_typo", "last_name_typo"):
        field = change.replace("_typo", "")
        if text(field):
            rec[field] = _hard_typo(rec[field], rng)
    elif change == "phonetic_variant":
        field = "first_name" if rng.random() < 0.5 else "last_name"
        if text(field):
            rec[field] = _sound_alike(rec[field], rng)
    elif change == "ocr_error":
        field = ["first_name", "last_name", "street"][int(rng.integers(0, 3))]
        if text(field):
            rec[field] = _ocr(rec[field], rng)
    elif change == "swap_names":
        _swap_names(rec, rng)
    elif change == "birth_date_digit":
        rec["birth_date"] = _wrong_birth_date(rec.get("birth_date"), rng)
    elif change == "street_typo":
        if text("street"):
            rec["street"] = _hard_typo(rec["street"], rng)
    elif change == "postcode_digit":
        if text("postal_code"):
            code = rec["postal_code"]
            rec["postal_code"] = _digit(code, rng, [i for i, ch in enumerate(code) if ch.isdigit()])
    elif change == "email_typo":
        if text("email"):
            local, _, domain = rec["email"].partition("@")
            rec["email"] = f"{_hard_typo(local, rng)}@{domain}"
    elif change == "phone_digit":
        if text("phone"):
            phone = rec["phone"]
            rec["phone"] = _digit(phone, rng, [i for i, ch in enumerate(phone) if ch.isdigit()][-7:])
    elif change == "missing_email":
        rec["email"] = None
    elif change == "missing_phone":
        rec["phone"] = None
    elif change == "case_noise":
        if text("first_name") and text("last_name"):
            _case_noise(rec, rng)
    elif change == "address_variant":
        if text("street"):
            _address_variant(rec, rng)
