"""Alerts on key figures (crmlib.report.alerts, `alerts:` in schedules.yml), with and without a breach."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from report_support import copy_notebooks

from crmlib.errors import ParameterError
from crmlib.report import schedule
from crmlib.report.alerts import AlertRule, Alerts, evaluate, parse_alerts

ENV_DUMP = f"{sys.executable} dump_env.py >> alerts.jsonl"
DUMP_SCRIPT = ("import json, os\n"
               "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('CRMLIB_')}))\n")


def config(tmp_path, alerts: str, *, scores_to: str | None = None):
    copy_notebooks(tmp_path / "notebooks", ("listed",))
    (tmp_path / "dump_env.py").write_text(DUMP_SCRIPT)
    text = textwrap.dedent(f"""\
        notebooks_dir: notebooks
        reports_dir: reports
        jobs:
          nightly:
            cron: "30 2 * * *"
            report: listed
            timeout: 120
            {f"scores_to: '{scores_to}'" if scores_to else ""}
          bigger:
            cron: "30 3 * * *"
            report: listed
            timeout: 120
            parameters: {{loss: 130}}
        """) + textwrap.dedent(alerts)
    (tmp_path / "schedules.yml").write_text(text)
    return schedule.load_schedules(tmp_path / "schedules.yml")


RULES = f"""\
    alerts:
      command: '{ENV_DUMP}'
      rules:
        - report: listed
          figure: expected_loss
          change_above: 0.20
        - figure: score_psi
          above: 0.25
        - figure: customers
          below: 10
"""


def alerts_sent(tmp_path):
    path = tmp_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_no_alert_without_a_breach(tmp_path, capsys):
    cfg = config(tmp_path, RULES)
    for _ in range(2):  # first run: nothing to compare; second: expected loss unchanged
        (result,) = schedule.run_job(cfg, "nightly")
        assert result.ok
    assert alerts_sent(tmp_path) == []
    assert "ALERT" not in capsys.readouterr().out


def test_a_breach_runs_the_command_with_the_details_in_the_environment(tmp_path, capsys):
    cfg = config(tmp_path, RULES)
    (first,) = schedule.run_job(cfg, "nightly")
    (second,) = schedule.run_job(cfg, "bigger")  # expected loss 100 -> 130: +30% > 20%
    (sent,) = alerts_sent(tmp_path)
    assert sent["CRMLIB_JOB"] == "bigger" and sent["CRMLIB_REPORT"] == "listed"
    assert sent["CRMLIB_STATUS"] == "alert" and sent["CRMLIB_FIGURE"] == "expected_loss"
    assert sent["CRMLIB_LABEL"] == "Expected loss"
    assert float(sent["CRMLIB_VALUE"]) == 130 and float(sent["CRMLIB_PREVIOUS"]) == 100
    assert float(sent["CRMLIB_CHANGE"]) == pytest.approx(0.3)
    assert sent["CRMLIB_RULE"] == "change_above 0.2"
    assert sent["CRMLIB_ALERT"] == ("listed: Expected loss changed +30.0% since the last run "
                                    "(100 to 130); alert above ±20%.")
    assert sent["CRMLIB_RUN_DIR"] == str(second.run_dir)
    assert "ALERT    listed: Expected loss changed +30.0%" in capsys.readouterr().out


def test_evaluate_each_check():
    alerts = Alerts("true", (AlertRule("score_psi", above=0.25), AlertRule("growth", report="x", below=-0.05),
                             AlertRule("loss", change_above=0.2)))
    found = evaluate(alerts, "x", {"score_psi": 0.3, "growth": -0.1, "loss": 79.0}, {"loss": 100.0})
    assert [(b.rule.figure, b.check) for b in found] == [("score_psi", "above"), ("growth", "below"),
                                                         ("loss", "change_above")]
    assert evaluate(alerts, "y", {"score_psi": 0.2, "growth": -0.1, "loss": 81.0}, {"loss": 100.0}) == []
    assert evaluate(alerts, "x", {"loss": 500.0}, None) == []  # first run: no change to measure
    assert evaluate(alerts, "x", {"score_psi": None, "loss": "n/a"}, {"loss": 1.0}) == []


@pytest.mark.parametrize(("raw", "match"), [
    ([], r"alerts: must be a mapping with keys \['command', 'rules'\]"),
    ({"rules": [], "cmd": "x"}, r"alerts: unknown key\(s\) \['cmd'\]"),
    ({"command": "x", "rules": [{"figure": "a"}]}, r"rule 1: give at least one of \['above', 'below', 'change_above'\]"),
    ({"command": "x", "rules": [{"figure": "a", "above": "high"}]}, "rule 1: 'above' must be a number; got 'high'"),
    ({"command": "x", "rules": [{"above": 1}]}, "rule 1: 'figure' must name a key figure"),
    ({"command": "x", "rules": [{"figure": "a", "change_above": -1}]}, "'change_above' must be a fraction > 0"),
    ({"command": "x", "rules": [{"figure": "a", "above": 1, "when": 2}]}, r"rule 1: unknown key\(s\) \['when'\]"),
    ({"rules": [{"figure": "a", "above": 1}]}, "'command' is needed"),
])
def test_parse_errors(raw, match):
    with pytest.raises(ParameterError, match=match):
        parse_alerts(raw, where="schedules.yml")


def test_on_failure_is_the_default_command():
    alerts = parse_alerts({"rules": [{"figure": "a", "above": 1}]}, where="s", default_command="echo hi")
    assert alerts.command == "echo hi"


def test_schedule_refuses_scores_to_the_source(tmp_path, small_url):
    with pytest.raises(Exception, match="job 'nightly': .*is the source database"):
        config(tmp_path, "", scores_to=small_url)


def test_schedule_scores_to_reaches_the_runner(tmp_path):
    target = tmp_path / "scores.sqlite"
    cfg = config(tmp_path, "", scores_to=f"sqlite:///{target}")
    (result,) = schedule.run_job(cfg, "nightly")
    assert result.scores == {"status": "ok", "rows": 60, "target": f"sqlite:///{target}"}
