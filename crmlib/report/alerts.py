"""Alerts on key figures: the ``alerts:`` section of schedules.yml.

::

    alerts:
      command: 'echo "$CRMLIB_ALERT" >> reports/alerts.log'   # default: the file's on_failure
      rules:
        - report: payment_default
          figure: expected_loss
          change_above: 0.20   # |relative change| against the last successful run above 20%
        - report: payment_default
          figure: score_psi
          above: 0.25          # the value itself above 0.25
        - figure: revenue_growth   # no report: every report that records the figure
          below: -0.05

A rule has a ``figure`` (a key figure's name, as in summary.json ``metrics``), optionally a
``report``, and at least one of ``above``, ``below`` (the value) and ``change_above`` (the size of
the relative change since the report's previous successful run, as a fraction; not checked on the
first run). After each successful report of a scheduled job, every breached rule runs the command
once, the way ``on_failure`` does, with the details in environment variables (never pasted into
the command): ``CRMLIB_JOB``, ``CRMLIB_REPORT``, ``CRMLIB_STATUS`` (``alert``), ``CRMLIB_FIGURE``,
``CRMLIB_LABEL`` (the reader's label), ``CRMLIB_VALUE``, ``CRMLIB_PREVIOUS`` (empty on a first
run), ``CRMLIB_CHANGE`` (relative, empty without a previous value), ``CRMLIB_RULE``
(``change_above 0.2``), ``CRMLIB_ALERT`` (one readable line), ``CRMLIB_RUN_DIR`` and
``CRMLIB_SUMMARY``.
"""

from __future__ import annotations

import math
import numbers
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .._validation import check_type
from ..errors import ParameterError

__all__ = ["ALERT_KEYS", "RULE_KEYS", "AlertRule", "Alerts", "Breach", "evaluate", "notify", "parse_alerts",
           "previous_metrics"]

ALERT_KEYS = ("command", "rules")
RULE_KEYS = ("report", "figure", "above", "below", "change_above")
CHECKS = ("above", "below", "change_above")
COMMAND_TIMEOUT = 300


@dataclass(frozen=True)
class AlertRule:
    figure: str
    report: str | None = None
    above: float | None = None
    below: float | None = None
    change_above: float | None = None


@dataclass(frozen=True)
class Alerts:
    command: str | None
    rules: tuple[AlertRule, ...]


@dataclass(frozen=True)
class Breach:
    """One rule breached by one run."""

    rule: AlertRule
    report: str
    check: str  # above, below or change_above
    threshold: float
    value: float
    previous: float | None
    change: float | None

    def text(self) -> str:
        from .figures import format_value, label

        name = self.rule.figure
        now = format_value(name, self.value)
        if self.check == "change_above":
            return (f"{self.report}: {label(name)} changed {self.change:+.1%} since the last run "
                    f"({format_value(name, self.previous)} to {now}); alert above ±{self.threshold:.0%}.")
        word = "above" if self.check == "above" else "below"
        return (f"{self.report}: {label(name)} is {now}, {word} the alert threshold "
                f"{format_value(name, self.threshold)}.")


def _number(value, *, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ParameterError(f"{where}: '{name}' must be a number; got {value!r}.", name=name)
    return float(value)


def _check_mapping(value, keys, *, where: str, name: str) -> None:
    if not isinstance(value, dict):
        raise ParameterError(f"{where}: must be a mapping with keys {list(keys)}; got {value!r}.",
                             name=name)
    extra = [k for k in value if k not in keys]
    if extra:
        raise ParameterError(f"{where}: unknown key(s) {extra}; allowed keys: {list(keys)}.",
                             name=str(extra[0]))


def parse_alerts(raw, *, where: str, default_command: str | None = None) -> Alerts | None:
    """Check the ``alerts:`` mapping of schedules.yml (None when absent).

    Raises
    ------
    ParameterError
        Naming the rule and the problem.
    """
    if raw is None:
        return None
    where = f"{where}: alerts"
    _check_mapping(raw, ALERT_KEYS, where=where, name="alerts")
    command = raw.get("command", default_command)
    if command is not None:
        check_type(command, str, name="command", where=where)
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        raise ParameterError(f"{where}: 'rules' must be a list of rules; got {rules_raw!r}.", name="rules")
    rules = []
    for i, r in enumerate(rules_raw):
        at = f"{where}: rule {i + 1}"
        _check_mapping(r, RULE_KEYS, where=at, name="rules")
        figure = r.get("figure")
        if not isinstance(figure, str) or not figure:
            raise ParameterError(f"{at}: 'figure' must name a key figure (e.g. expected_loss); "
                                 f"got {figure!r}.", name="figure")
        report = r.get("report")
        if report is not None:
            check_type(report, str, name="report", where=at)
        checks = {k: _number(r[k], name=k, where=at) for k in CHECKS if r.get(k) is not None}
        if not checks:
            raise ParameterError(f"{at}: give at least one of {list(CHECKS)}.", name="figure")
        if "change_above" in checks and checks["change_above"] <= 0:
            raise ParameterError(f"{at}: 'change_above' must be a fraction > 0 (0.2 = 20%); "
                                 f"got {checks['change_above']!r}.", name="change_above")
        rules.append(AlertRule(figure=figure, report=report, **checks))
    if rules and not command:
        raise ParameterError(f"{where}: 'command' is needed (or a top-level on_failure) to say "
                             "what an alert runs.", name="command")
    return Alerts(command=command, rules=tuple(rules))


def _value(metrics: dict, name: str) -> float | None:
    v = (metrics or {}).get(name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def evaluate(alerts: Alerts | None, report: str, metrics: dict, previous: dict | None) -> list[Breach]:
    """The rules of ``alerts`` that a run of ``report`` with ``metrics`` breaches."""
    if not alerts:
        return []
    found = []
    for rule in alerts.rules:
        if rule.report not in (None, report):
            continue
        value = _value(metrics, rule.figure)
        if value is None:
            continue
        before = _value(previous or {}, rule.figure)
        change = (value / before - 1) if before not in (None, 0.0) else None
        if rule.above is not None and value > rule.above:
            found.append(Breach(rule, report, "above", rule.above, value, before, change))
        if rule.below is not None and value < rule.below:
            found.append(Breach(rule, report, "below", rule.below, value, before, change))
        if rule.change_above is not None and change is not None and abs(change) > rule.change_above:
            found.append(Breach(rule, report, "change_above", rule.change_above, value, before, change))
    return found


def previous_metrics(run_dir: Path) -> dict | None:
    """Metrics of the successful run of the same report just before ``run_dir`` (None: first)."""
    from . import store

    run_dir = Path(run_dir)
    runs = store.list_runs(run_dir.parent.parent.parent, run_dir.parent.name)
    earlier = [r for r in runs if r.name < run_dir.name]
    for r in reversed(earlier):
        s = store.read_summary(r)
        if s.get("status") == "ok":
            return s.get("metrics") or {}
    return None


def notify(command: str, breach: Breach, *, job: str, run_dir: Path | None, cwd: Path) -> int | None:
    """Run ``command`` for ``breach`` with the details in environment variables; its exit code."""
    from .. import config as _config
    from .figures import label

    env = {**os.environ, "CRMLIB_JOB": job, "CRMLIB_REPORT": breach.report, "CRMLIB_STATUS": "alert",
           "CRMLIB_FIGURE": breach.rule.figure, "CRMLIB_LABEL": label(breach.rule.figure),
           "CRMLIB_VALUE": repr(breach.value),
           "CRMLIB_PREVIOUS": "" if breach.previous is None else repr(breach.previous),
           "CRMLIB_CHANGE": "" if breach.change is None else repr(breach.change),
           "CRMLIB_RULE": f"{breach.check} {breach.threshold:g}",
           "CRMLIB_ALERT": _config.redact_url(breach.text()),
           "CRMLIB_RUN_DIR": str(run_dir or ""),
           "CRMLIB_SUMMARY": str(Path(run_dir) / "summary.json") if run_dir else ""}
    try:
        done = subprocess.run(command, shell=True, env=env, cwd=cwd, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"crmlib schedule: alert command of job '{job}' failed: {err}", file=sys.stderr)
        return None
    if done.returncode:
        print(f"crmlib schedule: alert command of job '{job}' exited with {done.returncode}",
              file=sys.stderr)
    return done.returncode
