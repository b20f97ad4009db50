"""Audiences (crmlib.report.audiences): audiences.yml checks, one site per audience, no leaks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from audience_support import PEOPLE, audience_run, personal_hits
from report_support import copy_notebooks

from crmlib.errors import ParameterError
from crmlib.report import audiences as aud

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return audience_run(tmp_path_factory)


@pytest.fixture
def notebooks(tmp_path):
    return copy_notebooks(tmp_path / "notebooks", ("ok", "people", "listed"))


def write(tmp_path, text):
    path = tmp_path / "audiences.yml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ the file

def test_declared_lists_are_read_from_the_notebooks(notebooks):
    assert aud.declared_lists(notebooks / "people.ipynb") == ["contacts", "scores"]
    assert aud.declared_lists(notebooks / "listed.ipynb") == ["targets"]
    assert aud.declared_lists(notebooks / "ok.ipynb") == []


def test_a_good_file_is_read_with_its_defaults(tmp_path, notebooks):
    cfg = aud.load_audiences(write(tmp_path, """
audiences:
  a: {reports: all}
  b: {reports: [people, listed], mask_pii: false, lists: [contacts, listed/targets], notebooks: true}
  c: {reports: [people], lists: all}
"""), notebooks_dir=notebooks)
    a, b, c = (cfg.audiences[k] for k in "abc")
    assert a.reports == ("listed", "ok", "people") and a.mask_pii is True and a.lists == {}
    assert a.notebooks is False
    assert b.mask_pii is False and b.notebooks is True
    assert b.lists == {"people": frozenset({"contacts"}), "listed": frozenset({"targets"})}
    assert c.lists == {"people": frozenset({"contacts", "scores"})}
    assert [x.name for x in cfg.for_report("people")] == ["a", "b", "c"]
    assert cfg.policies("people") == {True, False} and cfg.policies("ok") == {True}


@pytest.mark.parametrize(("text", "message"), [
    ("audiences:\n  a: {reports: [people], mask: true}",
     "audiences.yml: 1 problem: audience 'a': unknown key 'mask' (did you mean 'mask_pii'?); "
     "allowed keys: ['description', 'reports', 'mask_pii', 'lists', 'notebooks']."),
    ("audiences:\n  a: {reports: [peple]}",
     "audiences.yml: 1 problem: audience 'a': unknown report 'peple' (did you mean 'people'?); "
     "reports: ['listed', 'ok', 'people']."),
    ("audiences:\n  a: {reports: [people], lists: [contact]}",
     "audiences.yml: 1 problem: audience 'a': unknown list 'contact' (did you mean 'contacts'?); "
     "its reports publish ['contacts', 'scores']."),
    ("audiences:\n  a: {reports: [people], lists: [targets]}",
     "audiences.yml: 1 problem: audience 'a': list 'targets' belongs to report(s) ['listed'], "
     "which the audience does not see."),
    ("audiences:\n  a: {reports: [ok], lists: [listed/targets]}",
     "audiences.yml: 1 problem: audience 'a': list 'listed/targets' belongs to report 'listed', "
     "which the audience does not see."),
    ("audiences:\n  a: {reports: [people], lists: [people/target]}",
     "audiences.yml: 1 problem: audience 'a': unknown list 'people/target'; people publishes "
     "['contacts', 'scores']."),
    ("audiences:\n  a: {reports: [ok], mask_pii: 'no'}",
     "audiences.yml: 1 problem: audience 'a': 'mask_pii' must be true or false; got 'no'."),
    ("audiences:\n  a: {reports: [ok], notebooks: 1}",
     "audiences.yml: 1 problem: audience 'a': 'notebooks' must be true or false; got 1."),
    ("audiences:\n  a: {reports: 3}",
     "audiences.yml: 1 problem: audience 'a': 'reports' must be a list of notebook names or 'all'; "
     "got 3."),
    ("audiences:\n  a: {reports: [ok], lists: {x: 1}}",
     "audiences.yml: 1 problem: audience 'a': 'lists' must be a list of list names (or "
     "report/list), 'all' or 'none'; got {'x': 1}."),
    ("audiences:\n  runs: {reports: [ok]}",
     "audiences.yml: 1 problem: audience 'runs': the name is taken by the reports folder's own "
     "entry 'runs'; choose another."),
    ("audiences:\n  ok: {reports: [ok]}",
     "audiences.yml: 1 problem: audience 'ok': the name is taken by the reports folder's own "
     "report 'ok'; choose another."),
    ("audiences:\n  Board: {reports: [ok]}",
     "audiences.yml: 1 problem: audience 'Board': a name uses lower-case letters, digits, '_' and "
     "'-' (it is the site's folder)."),
    ("audiences:\n  a: [ok]",
     "audiences.yml: 1 problem: audience 'a': must be a mapping with keys"),
    ("audience:\n  a: {reports: [ok]}",
     "audiences.yml: must hold 'audiences:', a mapping of audience names"),
    ("audiences: {a: {reports: [ok]}}\nsites: 1",
     "audiences.yml: 1 problem: unknown key 'sites' (allowed: ['audiences'])."),
])
def test_each_problem_gets_one_clear_message(tmp_path, notebooks, text, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        aud.load_audiences(write(tmp_path, text), notebooks_dir=notebooks)


def test_every_problem_is_named_at_once(tmp_path, notebooks):
    with pytest.raises(ParameterError) as info:
        aud.load_audiences(write(tmp_path, "audiences:\n  a: {reports: [ok, nope], colour: red}\n"
                                           "  b: {reports: [people], lists: [x]}"),
                           notebooks_dir=notebooks)
    text = str(info.value)
    assert text.startswith("audiences.yml: 3 problems: ") and "\n" not in text
    assert "unknown key 'colour'" in text and "unknown report 'nope'" in text
    assert "audience 'b': unknown list 'x'" in text


def test_not_yaml_and_missing_file(tmp_path, notebooks):
    from crmlib.errors import CrmlibError

    with pytest.raises(CrmlibError, match="audiences.yml: not valid YAML"):
        aud.load_audiences(write(tmp_path, "audiences: [unclosed"), notebooks_dir=notebooks)
    with pytest.raises(CrmlibError, match="no audiences file at"):
        aud.load_audiences(tmp_path / "none.yml", notebooks_dir=notebooks)


def test_the_shipped_example_is_valid_and_make_reports_uses_it():
    cfg = aud.load_audiences(ROOT / "audiences.yml", notebooks_dir=ROOT / "notebooks")
    assert len(cfg.audiences) >= 2
    assert {a.mask_pii for a in cfg.audiences.values()} == {True, False}
    recipe = re.search(r"^reports:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert "crmlib run all" in recipe and "--audiences audiences.yml" in recipe


def test_a_bad_file_stops_the_run_before_anything_runs(tmp_path, notebooks):
    from crmlib.report.runner import run_reports

    bad = write(tmp_path, "audiences:\n  a: {reports: [nope]}")
    with pytest.raises(ParameterError, match="unknown report 'nope'"):
        run_reports(["ok"], notebooks_dir=notebooks, reports_dir=tmp_path / "reports",
                    audiences=bad)
    assert not (tmp_path / "reports" / "runs").exists()


# ------------------------------------------------------------------------------------ the sites

def test_one_site_per_audience_with_only_its_reports(run):
    assert all(r.ok for r in run.results)
    for name, reports in (("board", {"ok"}), ("sales", {"people"}), ("service", {"ok", "people"})):
        site = run.reports / name
        assert (site / "index.html").is_file()
        assert {p.name for p in site.iterdir() if p.is_dir()} == reports
        index = (site / "index.html").read_text(encoding="utf-8")
        for report in ("ok", "people"):
            linked = f'href="{report}/latest.html"' in index
            assert linked == (report in reports), (name, report)
    # a report outside the set appears nowhere in the folder, not even by name in a file
    for path in (run.reports / "board").rglob("*"):
        if path.is_file():
            assert "People report" not in path.read_text(encoding="utf-8"), path
    assert not (run.reports / "sales" / "ok").exists()


def test_masked_sites_hold_no_personal_data_even_in_notebooks_and_lists(run):
    people = run.people()
    assert len(people) == PEOPLE
    assert personal_hits(run.reports / "board", people) == []
    assert personal_hits(run.reports / "sales", people) == []
    assert (run.reports / "sales" / "people" / "latest.ipynb").is_file()  # searched above
    # the unmasked audience gets the names: the check above can fail
    hits = personal_hits(run.reports / "service", people)
    assert "people/latest.html" in hits and "people/latest.ipynb" in hits
    assert any(h.endswith("contacts.csv") for h in hits) and any(h.endswith(".parquet") for h in hits)
    # and the analysts' main reports stay masked, as the run was asked
    assert personal_hits(run.reports / "people", people) == []


def test_sites_receive_only_their_lists_and_pages_link_only_those(run):
    sales = run.reports / "sales" / "people"
    assert sorted(p.name for p in sales.glob("lists/*/*")) == ["contacts.csv", "contacts.parquet"]
    page = (sales / "latest.html").read_text(encoding="utf-8")
    links = re.findall(r'<a [^>]*class="crmlib-list"[^>]*>', page)
    assert links and all("contacts." in link for link in links)
    assert "scores.csv" not in page
    for link in links:  # every link resolves inside the site
        href = re.search(r'href="([^"]+)"', link).group(1)
        assert (sales / href).is_file()
    masked = pd.read_csv(next(sales.glob("lists/*/contacts.csv")), encoding="utf-8-sig")
    assert list(masked.columns) == ["customer_id"] and len(masked) == PEOPLE
    service = run.reports / "service" / "people"
    assert sorted(p.name for p in service.glob("lists/*/*")) == [
        "contacts.csv", "contacts.parquet", "scores.csv", "scores.parquet"]
    full = pd.read_parquet(next(service.glob("lists/*/contacts.parquet")))
    assert {"first_name", "last_name", "email"} <= set(full.columns)
    assert not list((run.reports / "board" / "ok").glob("lists"))
    assert not (run.reports / "board" / "ok" / "latest.ipynb").exists()  # notebooks: false


def test_site_index_says_the_policy_and_escapes_the_description(run):
    service = (run.reports / "service" / "index.html").read_text(encoding="utf-8")
    assert "shows personal data" in service and "&lt;b&gt;team&lt;/b&gt;" in service
    board = (run.reports / "board" / "index.html").read_text(encoding="utf-8")
    assert "Personal data is masked" in board
    assert re.search(r'href="people/lists/[^"]+/contacts.csv"', service)


def test_the_other_policy_runs_into_its_own_tree(run):
    (people,) = [r for r in run.results if r.report == "people"]
    assert [again.summary["mask_pii"] for again in people.policy_runs] == [False]
    assert people.policy_runs[0].run_dir.is_relative_to(aud.policy_tree(run.reports, False))
    assert people.summary["mask_pii"] is True and sorted(people.sites) == ["sales"]
    assert people.policy_runs[0].sites == ["service"]
    # the analysts' index lists each report once, from the main runs
    index = (run.reports / "index.html").read_text(encoding="utf-8")
    assert index.count('id="report-people"') == 1


def test_the_analysts_index_links_every_audience_site(run):
    from crmlib.report.index import audience_sites

    sites = {s["name"]: s for s in audience_sites(run.reports)}
    assert sorted(sites) == ["board", "sales", "service"]
    assert [sites[n]["reports"] for n in ("board", "sales", "service")] == [1, 1, 2]
    assert sites["board"]["masked"] and not sites["service"]["masked"]
    index = (run.reports / "index.html").read_text(encoding="utf-8")
    for name in sites:
        assert f'<a href="{name}/index.html">{name}</a>' in index
    assert "runs/index.html" not in index  # report folders and the run history are not sites


def test_leaving_the_set_removes_the_report_from_the_site(run, tmp_path):
    import shutil

    site = tmp_path / "service"
    shutil.copytree(run.reports / "service", site)
    smaller = aud.Audience(name="service", reports=("ok",), mask_pii=False)
    aud.build_site_index(smaller, site)
    assert not (site / "people").exists()
    assert "people/latest.html" not in (site / "index.html").read_text(encoding="utf-8")


def test_a_run_is_never_copied_into_a_site_of_the_other_policy(run, tmp_path):
    (people,) = [r for r in run.results if r.report == "people"]
    cfg = aud.Audiences(path=run.audiences, audiences={
        "masked": aud.Audience(name="masked", reports=("people",), mask_pii=True,
                               lists={"people": frozenset({"contacts"})}, notebooks=True)})
    unmasked = people.policy_runs[0]
    sites, folders = aud.publish_run(cfg, tmp_path, unmasked.run_dir, unmasked.summary)
    assert sites == [] and folders == [] and not (tmp_path / "masked").exists()
    sites, _ = aud.publish_run(cfg, tmp_path, people.run_dir, people.summary)
    assert sites == ["masked"] and personal_hits(tmp_path / "masked", run.people()) == []


def test_without_audiences_publishing_is_as_before(tmp_path):
    from crmlib.report.runner import run_reports

    notebooks = copy_notebooks(tmp_path / "notebooks", ("ok",))
    (result,) = run_reports(["ok"], notebooks_dir=notebooks, reports_dir=tmp_path / "reports",
                            progress=False, timeout=120)
    assert result.ok and result.sites == [] and result.policy_runs == []
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        ".locks", "audit.jsonl", "index.html", "ok", "runs"]


def test_cli_finds_audiences_yml_beside_the_notebooks_and_can_skip_it(tmp_path, monkeypatch):
    import argparse

    from crmlib.report import cli

    notebooks = copy_notebooks(tmp_path / "notebooks", ("ok",))
    args = argparse.Namespace(no_audiences=False, audiences=None)
    assert cli._audiences_file(args, notebooks) is None
    write(tmp_path, "audiences:\n  a: {reports: [ok]}")
    assert cli._audiences_file(args, notebooks) == tmp_path / "audiences.yml"
    assert cli._audiences_file(argparse.Namespace(no_audiences=True, audiences=None), notebooks) is None


def test_schedules_use_the_audiences_file(tmp_path):
    from crmlib.report import schedule

    notebooks = copy_notebooks(tmp_path / "notebooks", ("ok",))
    write(tmp_path, "audiences:\n  a: {reports: [ok]}")
    (tmp_path / "schedules.yml").write_text("jobs:\n  n: {cron: '0 1 * * *', report: all}\n")
    cfg = schedule.load_schedules(tmp_path / "schedules.yml", notebooks_dir=notebooks)
    assert cfg.audiences == (tmp_path / "audiences.yml").absolute()
    calls = []

    def runner(names, **kwargs):
        calls.append(kwargs)
        return []

    schedule.run_job(cfg, "n", runner=runner)
    assert calls[0]["audiences"] == cfg.audiences
    (tmp_path / "schedules.yml").write_text("audiences: null\njobs:\n  n: {cron: '0 1 * * *', report: all}\n")
    assert schedule.load_schedules(tmp_path / "schedules.yml", notebooks_dir=notebooks).audiences is None
    (tmp_path / "audiences.yml").write_text("audiences:\n  a: {reports: [nope]}")
    (tmp_path / "schedules.yml").write_text("jobs:\n  n: {cron: '0 1 * * *', report: all}\n")
    with pytest.raises(ParameterError, match="unknown report 'nope'"):
        schedule.load_schedules(tmp_path / "schedules.yml", notebooks_dir=notebooks)


def test_site_about_files_hold_no_parameters(run):
    about = json.loads((run.reports / "service" / "people" / "about.json").read_text())
    assert set(about) == {"report", "title", "run_id", "started", "mask_pii", "metrics", "findings",
                          "notebook", "lists"}
    assert about["lists"][0]["files"]["csv"].startswith(f"lists/{about['run_id']}/")


def test_an_unmasked_run_still_gives_masked_sites_a_masked_run(tmp_path, run):
    from crmlib.report.runner import run_reports

    notebooks = copy_notebooks(tmp_path / "notebooks", ("people",))
    cfg = write(tmp_path, "audiences:\n  m: {reports: [people], lists: all, notebooks: true}")
    (result,) = run_reports(["people"], notebooks_dir=notebooks, reports_dir=tmp_path / "reports",
                            progress=False, timeout=120, mask_pii=False, audiences=cfg)
    assert result.ok and result.summary["mask_pii"] is False and result.sites == []
    (again,) = result.policy_runs
    assert again.ok and again.summary["mask_pii"] is True and again.sites == ["m"]
    assert again.run_dir.is_relative_to(aud.policy_tree(tmp_path / "reports", True))
    people = run.people()
    assert personal_hits(tmp_path / "reports" / "people", people)  # the analysts asked for names
    assert personal_hits(tmp_path / "reports" / "m", people) == []


def test_prune_ages_the_runs_made_for_audiences_too(tmp_path, capsys):
    from crmlib.cli import main

    reports = tmp_path / "reports"
    for tree in (reports, aud.policy_tree(reports, False)):
        for run_id in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
            folder = tree / "runs" / "x" / run_id
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps({"report": "x", "run_id": run_id,
                                                             "status": "ok"}))
    assert main(["prune", "--keep", "1", "--reports-dir", str(reports)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "deleted 4 run folders."
    for tree in (reports, aud.policy_tree(reports, False)):
        assert [p.name for p in (tree / "runs" / "x").iterdir()] == ["20260103T000000Z"]


def test_a_site_whose_audience_left_the_file_is_deleted(run, tmp_path):
    import shutil

    reports = tmp_path / "reports"
    shutil.copytree(run.reports / "board", reports / "board")
    shutil.copytree(run.reports / "service", reports / "service")
    (reports / "notes").mkdir()  # not a site: left alone
    (reports / "notes" / "about.json").write_text("{}")
    cfg = aud.Audiences(path=run.audiences, audiences={
        "service": aud.Audience(name="service", reports=("ok",), mask_pii=False)})
    assert aud.retire_sites(cfg, reports) == ["board"]
    assert sorted(p.name for p in reports.iterdir()) == [".locks", "notes", "service"]
