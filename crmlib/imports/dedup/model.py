"""The Fellegi-Sunter model splink fits: comparisons, blocking rules and the EM training plan.

Each comparison is used only where its key columns hold values (:func:`comparisons`), so a customer
list without e-mail or phone gets a model without them. Every level is written in SQL that DuckDB
and Spark SQL both run unchanged (equality, ``levenshtein``, ``substr``), so the two backends
compare pairs identically; phonetic codes are computed beforehand (:mod:`.keys`).

Why one comparison for first and last name together: the levels can then say "both names agree
once swapped", and "same last name, other first name" (a relative at the same address, the hard
non-duplicate) gets its own weight instead of the sum of a surname agreement and a first-name
disagreement learned on other pairs. For the same reason street, postcode and city are one
comparison (``address``, with postcode levels of its own), and so is the phone where there is an
address: two records on one street share its postcode and city, a household shares its landline,
and separate comparisons would count one fact three or four times.
"""

from __future__ import annotations

__all__ = ["COMPARISONS", "blocking_rules", "comparisons", "settings", "training_rules"]


def _close(a: str, b: str, ph_a: str | None, ph_b: str | None) -> str:
    """Names that differ by one edit or sound alike (metaphone)."""
    phonetic = f" OR {ph_a}_l = {ph_b}_r" if ph_a and ph_b else ""
    return f"({a}_l = {b}_r OR levenshtein({a}_l, {b}_r) <= 1{phonetic})"


def _loose(a: str, b: str) -> str:
    """Two edits, in a name of six letters or more ('traci' and 'grace' are two names)."""
    return f"(levenshtein({a}_l, {b}_r) <= 2 AND least(length({a}_l), length({b}_r)) >= 6)"


def _level(sql: str, label: str, *, null: bool = False, tf: str | None = None) -> dict:
    out = {"sql_condition": sql, "label_for_charts": label}
    if tf:  # an exact match on a common value ('2008-01-01', 'Michael Smith') is weaker evidence
        out["tf_adjustment_column"] = tf
        out["tf_adjustment_weight"] = 1.0
    if null:
        out["is_null_level"] = True
    return out


def _name_levels(present: set[str]) -> list[dict] | None:
    has_f, has_l = "first_key" in present, "last_key" in present
    if not (has_f or has_l):
        return None
    if not (has_f and has_l):  # a single name column: a plain fuzzy comparison
        col = "first_key" if has_f else "last_key"
        ph = col.replace("_key", "_ph")
        return [
            _level(f"{col}_l IS NULL OR {col}_r IS NULL", "null", null=True),
            _level(f"{col}_l = {col}_r", "exact"),
            _level(_close(col, col, ph, ph), "one edit or sounds alike"),
            _level(_loose(col, col), "two edits"),
            _level("ELSE", "else"),
        ]
    f, ln = ("first_key", "first_ph"), ("last_key", "last_ph")

    def close(x, y):
        return _close(x[0], y[0], x[1], y[1])

    straight = f"({close(f, f)} AND {close(ln, ln)})"
    swapped = f"({close(f, ln)} AND {close(ln, f)})"
    return [
        _level("(first_key_l IS NULL AND last_key_l IS NULL) OR (first_key_r IS NULL AND last_key_r IS NULL)",
               "null", null=True),
        _level("full_key_l = full_key_r", "exact", tf="full_key"),
        _level("first_key_l = last_key_r AND last_key_l = first_key_r", "exact, first and last swapped"),
        _level(f"(first_key_l = first_key_r AND {close(ln, ln)}) OR (last_key_l = last_key_r AND {close(f, f)})",
               "one exact, the other one edit or sounds alike"),
        _level(f"{straight} OR {swapped}", "both one edit or sound alike (or swapped)"),
        _level(f"({_loose('first_key', 'first_key')} AND {_loose('last_key', 'last_key')}) OR "
               f"({_loose('first_key', 'last_key')} AND {_loose('last_key', 'first_key')})",
               "both within two edits (or swapped)"),
        _level(close(ln, ln), "last name agrees, first name does not"),
        _level(close(f, f), "first name agrees, last name does not"),
        _level("ELSE", "else"),
    ]


def _birth_date_levels(present: set[str]) -> list[dict] | None:
    if "dob_key" not in present:
        return None
    swap = ("(substr(dob_key_l, 1, 4) = substr(dob_key_r, 1, 4) AND substr(dob_key_l, 5, 2) = "
            "substr(dob_key_r, 7, 2) AND substr(dob_key_l, 7, 2) = substr(dob_key_r, 5, 2))")
    return [
        _level("dob_key_l IS NULL OR dob_key_r IS NULL", "null", null=True),
        _level("dob_key_l = dob_key_r", "exact", tf="dob_key"),
        _level("levenshtein(dob_key_l, dob_key_r) <= 1", "one digit differs"),
        _level(f"levenshtein(dob_key_l, dob_key_r) <= 2 OR {swap}", "two digits differ, or day and month swapped"),
        _level("ELSE", "else"),
    ]


def _address_levels(present: set[str]) -> list[dict] | None:
    has_s, has_p, has_c, has_t = ("street_key" in present, "postcode_key" in present, "city_key" in present,
                                  "phone_key" in present)
    cols = [c for c, has in (("street_key", has_s), ("postcode_key", has_p), ("city_key", has_c)) if has]
    if not cols:
        return None
    if has_t:
        cols.append("phone_key")
    sides = [" AND ".join(f"{c}{side} IS NULL" for c in cols) for side in ("_l", "_r")]
    street_close = ("(levenshtein(street_key_l, street_key_r) <= 2 OR levenshtein(street_key_l, street_key_r) * 4 "
                    "<= greatest(length(street_key_l), length(street_key_r)))")
    postcode_close = "levenshtein(postcode_key_l, postcode_key_r) <= 1"
    same_place = " AND ".join(f"{c}_l = {c}_r" for c in ("street_key", "postcode_key") if c in present) or \
        "city_key_l = city_key_r"
    levels = [_level(f"({sides[0]}) OR ({sides[1]})", "null", null=True)]
    if has_t:  # a household shares the address and the landline: one fact, so one level
        levels += [_level(f"{same_place} AND phone_key_l = phone_key_r", "address and phone exact"),
                   _level("phone_key_l = phone_key_r", "phone exact, address not")]
    if has_s and has_p:
        levels.append(_level("street_key_l = street_key_r AND postcode_key_l = postcode_key_r",
                             "street and postcode exact"))
    if has_s:
        levels.append(_level("street_key_l = street_key_r", "street exact"))
    if has_s and has_p:
        levels.append(_level(f"{street_close} AND {postcode_close}", "street and postcode close"))
    if has_s:
        levels.append(_level(street_close, "street close"))
    if has_t:
        levels.append(_level("levenshtein(phone_key_l, phone_key_r) <= 1", "phone one digit differs"))
    if has_p:
        levels += [_level("postcode_key_l = postcode_key_r", "postcode exact"),
                   _level(postcode_close, "postcode one character differs")]
    if has_c:
        levels.append(_level("city_key_l = city_key_r", "same city"))
    return levels + [_level("ELSE", "else")]


def _simple(col: str, present: set[str], extra: list[tuple[str, str]]) -> list[dict] | None:
    if col not in present:
        return None
    return [
        _level(f"{col}_l IS NULL OR {col}_r IS NULL", "null", null=True),
        _level(f"{col}_l = {col}_r", "exact"),
        *[_level(sql, label) for sql, label in extra],
        _level("ELSE", "else"),
    ]


def _email_levels(present):
    # no fuzzy level: addresses are made of names ('anna.smith71@' and 'anna.smith17@' are two
    # people), so a near match would count the name agreement a second time
    return _simple("email_key", present, [])


def _phone_levels(present):
    if present & {"street_key", "postcode_key", "city_key"}:
        return None  # part of the address comparison
    return _simple("phone_key", present, [("levenshtein(phone_key_l, phone_key_r) <= 1", "one digit differs")])


#: Comparison name -> function of the present key columns giving its levels (None: left out).
COMPARISONS = {
    "name": _name_levels, "birth_date": _birth_date_levels, "address": _address_levels,
    "email": _email_levels, "phone": _phone_levels,
}


def comparisons(present: set[str]) -> list[dict]:
    """splink comparison dicts for the comparisons whose columns are present."""
    out = []
    for name, levels in COMPARISONS.items():
        got = levels(present)
        if got is not None:
            out.append({"output_column_name": name, "comparison_levels": got,
                        "comparison_description": name})
    return out


# Blocking: a pair is scored if it agrees on every column of at least one rule. Several rules
# so that one typo anywhere (a name's first letter, a birth-date digit, a postcode) leaves another
# rule that still brings the pair together.
_BLOCKING = (
    ("email_key",), ("phone_key",),
    ("dob_key", "postcode_key"), ("dob_key", "last_ph"), ("dob_key", "first_ph"), ("dob_key", "city_key"),
    ("first_ph", "last_ph"), ("first_key", "last_key"), "swapped",
    ("postcode_key", "last_ph"), ("postcode_key", "first_ph"),
    ("street_key", "postcode_key"), ("street_key", "city_key"),
    ("email_local", "dob_year"), ("dob_year", "first_ph", "city_key"),
)


def blocking_rules(present: set[str]) -> list[str]:
    """SQL blocking rules whose columns are all present."""
    out = []
    for rule in _BLOCKING:
        if rule == "swapped":
            if {"first_ph", "last_ph"} <= present:
                out.append("l.first_ph = r.last_ph AND l.last_ph = r.first_ph")
            continue
        if set(rule) <= present:
            out.append(" AND ".join(f"l.{c} = r.{c}" for c in rule))
    return out


def training_rules(present: set[str]) -> list[str]:
    """The EM sessions' blocking rules: one on the names and the e-mail (trains the others), one on
    another identifier (trains the names and the e-mail).

    The second rule avoids the address and the phone where a birth date is known: relatives
    share those, and pairs blocked on them would teach the model that a different first name is
    normal in a match.
    """
    out = []
    names = [c for c in ("first_key", "last_key") if c in present]
    if names:
        # e-mail addresses are made of names: namesakes share 'anna.smith@' more often than
        # strangers do, so pairs agreeing on the name would make a shared address look like a
        # match; blocking on both takes the e-mail out of this session (trained in the other)
        names += ["email_key"] if "email_key" in present else []
        out.append(" AND ".join(f"l.{c} = r.{c}" for c in names))
    for col in ("dob_key", "email_key", "phone_key", "postcode_key", "street_key"):
        if col in present:
            out.append(f"l.{col} = r.{col}")
            break
    return out


def settings(present: set[str], *, max_iterations: int, em_convergence: float) -> dict:
    """The splink settings dictionary (dedupe only, ids in ``unique_id``)."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": comparisons(present),
        "blocking_rules_to_generate_predictions": blocking_rules(present),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "max_iterations": max_iterations,
        "em_convergence": em_convergence,
    }
