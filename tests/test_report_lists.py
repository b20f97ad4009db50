"""Lists beside a report (crmlib.report.lists): files, personal data, publishing, history, pruning."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from report_support import copy_notebooks

from crmlib.errors import DataContractError, ParameterError
from crmlib.report import lists
from crmlib.report.store import prune


def frame():
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5, 6],
        "first_name": ["Zoë", "Anna", "Ben", "Cy", "Di", "Ed"],
        "email": [f"c{i}@example.com" for i in range(6)],
        "note": ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "plain, with comma"],
        "delta": [-0.5, 0.25, -1.0, 0.0, 2.0, 3.5],
        "tags": [["a", "b"], ["c"], [], ["d"], ["e"], ["f"]],
    })


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets detect the encoding
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)


def test_publish_writes_csv_and_parquet_without_personal_data(tmp_path):
    entry = lists.publish("targets", frame(), title="Targets", folder=tmp_path, display=False)
    assert entry["published"] and entry["rows"] == 6
    assert entry["columns"] == ["customer_id", "note", "delta", "tags"]
    assert entry["personal_columns"] == []
    csv = read_csv(tmp_path / "targets.csv")
    assert list(csv.columns) == ["customer_id", "note", "delta", "tags"]
    # text that a spreadsheet would run as a formula starts with an apostrophe; numbers stay numbers
    assert csv["note"].tolist() == ["'=1+1", "'+33 1 23", "'-2", "'@SUM(A1)", "'\tx", "plain, with comma"]
    assert csv["delta"].tolist() == [-0.5, 0.25, -1.0, 0.0, 2.0, 3.5]
    assert csv["tags"].tolist() == ["a; b", "c", "", "d", "e", "f"]
    text = (tmp_path / "targets.csv").read_bytes().decode("utf-8-sig")
    assert "Zoë" not in text and "example.com" not in text
    back = pd.read_parquet(tmp_path / "targets.parquet")
    assert back["note"].tolist()[0] == "=1+1"  # Parquet keeps the value as it is
    assert back["customer_id"].dtype == "int64"
    assert lists.read_manifest(tmp_path) == [entry]


def test_unmasked_list_keeps_and_names_personal_columns(tmp_path):
    entry = lists.publish("targets", frame(), mask_pii=False, personal=["note"], folder=tmp_path,
                          display=False)
    assert entry["personal_columns"] == ["first_name", "email", "note"]
    csv = read_csv(tmp_path / "targets.csv")
    assert csv["first_name"].tolist()[0] == "Zoë"
    stripped = lists.strip_personal(pd.read_parquet(tmp_path / "targets.parquet"), ["note"])
    assert list(stripped.columns) == ["customer_id", "delta", "tags"]


def test_publish_again_replaces_the_manifest_entry(tmp_path):
    lists.publish("a", frame(), folder=tmp_path, display=False)
    lists.publish("b", frame().head(2), folder=tmp_path, display=False)
    lists.publish("a", frame().head(3), folder=tmp_path, display=False)
    assert [(e["name"], e["rows"]) for e in lists.read_manifest(tmp_path)] == [("b", 2), ("a", 3)]


def test_without_a_staging_folder_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(lists.LISTS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    entry = lists.publish("targets", frame(), display=False)
    assert entry["published"] is False and list(tmp_path.iterdir()) == []


def test_staging_folder_comes_from_the_environment(tmp_path, monkeypatch):
    with lists.staging(tmp_path / "stage"):
        entry = lists.publish("targets", frame(), display=False)
    assert entry["published"] and (tmp_path / "stage" / "targets.parquet").is_file()
    assert lists.LISTS_DIR_ENV not in __import__("os").environ


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": "Bad Name"}, ParameterError, "'name' must be lower-case"),
    ({"scores": ["missing"]}, ParameterError, r"'scores' must name columns of the list; got \['missing'\]"),
    ({"frame": frame().drop(columns="customer_id"), "scores": ["delta"]}, DataContractError,
     "has scores but no customer_id"),
    ({"frame": pd.concat([frame(), frame().head(2)]), "scores": ["delta"]}, DataContractError,
     r"2 customer_id value\(s\) appear more than once \(e.g. 1, 2\)"),
    ({"mask_pii": "yes"}, ParameterError, "'mask_pii' must be a bool"),
])
def test_publish_errors(tmp_path, kwargs, error, match):
    args = {"name": "targets", "frame": frame(), "folder": tmp_path, "display": False, **kwargs}
    with pytest.raises(error, match=match):
        lists.publish(args.pop("name"), args.pop("frame"), **args)


def test_relink_changes_only_list_links():
    page = ('<a class="crmlib-list" download="" href="lists/t.csv">CSV</a>'
            '<a href="lists/other.csv">other</a>')
    out = lists.relink(page, "lists/20250101T000000Z/")
    assert 'href="lists/20250101T000000Z/t.csv"' in out and 'href="lists/other.csv"' in out


# ------------------------------------------------------------------ with the runner (real kernels)

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs of the `listed` fixture: first, second (shifted ids), third fails after its list."""
    from crmlib.report.runner import run_reports

    root = tmp_path_factory.mktemp("lists")
    notebooks = copy_notebooks(root / "notebooks", ("listed",))
    reports = root / "reports"
    common = {"notebooks_dir": notebooks, "reports_dir": reports, "progress": False, "timeout": 120}
    (first,) = run_reports(["listed"], **common)
    (second,) = run_reports(["listed"], parameters={"shift": "5", "loss": "150"}, **common)
    (failed,) = run_reports(["listed"], parameters={"fail": "true"}, **common)
    return {"reports": reports, "first": first, "second": second, "failed": failed}


def test_lists_are_in_the_run_folder_and_summary(runs):
    first = runs["first"]
    assert first.ok
    (entry,) = first.summary["lists"]
    assert entry["name"] == "targets" and entry["rows"] == 30 and entry["scores"] == ["score", "segment"]
    assert "first_name" not in entry["columns"] and "email" not in entry["columns"]
    assert (first.run_dir / "lists" / "targets.csv").is_file()
    assert (first.run_dir / "lists" / "targets.parquet").is_file()
    saved = json.loads((first.run_dir / "summary.json").read_text())
    assert saved["lists"] == first.summary["lists"]


def test_run_page_links_its_lists_with_row_counts(runs):
    page = (runs["first"].run_dir / "listed.html").read_text()
    links = re.findall(r'<a class="crmlib-list"[^>]*href="([^"]+)"', page)
    assert links == ["lists/targets.csv", "lists/targets.parquet"]
    assert "Target list" in page and ">30<" in page
    assert "no personal data" in page
    assert "crmlib.lists" not in page and "published with the report" not in page  # the note is hidden


def test_latest_page_links_the_published_copy_of_its_own_run(runs):
    reports, second = runs["reports"], runs["second"]
    page = (reports / "listed" / "latest.html").read_text()
    links = re.findall(r'<a class="crmlib-list"[^>]*href="([^"]+)"', page)
    assert links == [f"lists/{second.run_dir.name}/targets.csv", f"lists/{second.run_dir.name}/targets.parquet"]
    for link in links:
        assert (reports / "listed" / link).is_file()
    # only the copy the page links is kept
    assert [p.name for p in (reports / "listed" / "lists").iterdir()] == [second.run_dir.name]
    ids = pd.read_parquet(reports / "listed" / links[1])["customer_id"]
    assert ids.min() == 6 and len(ids) == 30


def test_failed_run_publishes_no_list(runs):
    failed, reports = runs["failed"], runs["reports"]
    assert failed.status == "failed"
    assert failed.summary["lists"] == [] and not (failed.run_dir / "lists").exists()
    assert f"lists/{runs['second'].run_dir.name}/" in (reports / "listed" / "latest.html").read_text()


def test_index_links_the_published_lists(runs):
    page = (runs["reports"] / "index.html").read_text()
    assert f'href="listed/lists/{runs["second"].run_dir.name}/targets.csv">Target list</a> (30 rows)' in page


def test_first_run_has_nothing_to_compare_and_second_compares(runs):
    first = (runs["first"].run_dir / "listed.html").read_text()
    assert "there is nothing to compare yet" in first
    second = (runs["second"].run_dir / "listed.html").read_text()
    assert "there is nothing to compare yet" not in second
    since = second[second.index('class="crmlib-since'):]
    cells = re.sub(r"<[^>]+>", " ", since[:since.index("</table>")])
    assert re.search(r"Expected loss\s+100\s+150\s+\+50\.00 \(\+50\.0%\)", cells)
    assert re.search("Revenue growth\\s+\u22127.0%\\s+\u22127.0%\\s+no change", cells)
    assert runs["second"].summary["previous_run"] == runs["first"].run_dir.name
    # the overlap of the two lists (ids 1-30 and 6-35) and the segment migration
    assert re.search(r"in_both</th>\s*<td>25</td>", second)
    assert "(new)" in second and "(gone)" in second


def test_lists_are_pruned_with_their_runs(runs, tmp_path):
    import shutil

    reports = tmp_path / "reports"
    shutil.copytree(runs["reports"], reports)
    removed = prune(reports, keep=1, report="listed")
    assert len(removed) == 2
    assert all(not (p / "lists").exists() for p in removed)
    # the published copy belongs to latest.html and stays
    assert (reports / "listed" / "lists" / runs["second"].run_dir.name / "targets.csv").is_file()


# ------------------------------------------------------------------ a Spark DataFrame (streamed)

def typed_frame():
    """frame() with the other column types a notebook publishes (dates, times, missing values)."""
    out = frame()
    out["score"] = [0.1, float("nan"), 1e-5, 123456.789, -0.0, 2.5]
    out["flag"] = [True, False, True, True, False, False]
    out["at"] = pd.to_datetime(["2025-01-02 03:04:05", "2025-02-03 00:00:00", None, "2025-12-31 23:59:59",
                                "2024-02-29 12:00:00", "2025-06-30 00:00:00"]).astype("datetime64[us]")
    out["day"] = [pd.Timestamp("2025-01-02").date(), None] + [pd.Timestamp("2025-03-04").date()] * 4
    out["segment"] = ["Champions", None, "=HYPERLINK(\"x\")", "Lost", "At risk", "New"]
    return out


@pytest.mark.parametrize("mask_pii", [True, False])
def test_a_spark_frame_gives_the_same_files_as_pandas(spark, tmp_path, monkeypatch, mask_pii):
    monkeypatch.setattr(lists, "CHUNK_ROWS", 2)  # several chunks, and partitions of 2 rows
    pdf = typed_frame()
    sdf = spark.createDataFrame(pdf).repartitionByRange(3, "customer_id").sortWithinPartitions("customer_id")
    assert sdf.rdd.getNumPartitions() == 3
    ref = lists.publish("targets", pdf, folder=tmp_path / "pandas", mask_pii=mask_pii, display=False,
                        personal=["segment"], scores=["score"])
    got = lists.publish("targets", sdf, folder=tmp_path / "spark", mask_pii=mask_pii, display=False,
                        personal=["segment"], scores=["score"])
    assert got == ref
    assert (tmp_path / "spark" / "targets.csv").read_bytes() == (tmp_path / "pandas" / "targets.csv").read_bytes()
    a = pd.read_parquet(tmp_path / "pandas" / "targets.parquet")
    b = pd.read_parquet(tmp_path / "spark" / "targets.parquet")
    pd.testing.assert_frame_equal(b, a)
    assert lists.read_manifest(tmp_path / "spark") == [ref]
    if mask_pii:
        assert "first_name" not in b.columns and "segment" not in b.columns
    else:
        assert b["first_name"].tolist()[0] == "Zoë" and got["personal_columns"] == ["first_name", "email",
                                                                                  "segment"]


def test_a_spark_scores_list_must_have_one_row_per_customer(spark, tmp_path):
    pdf = pd.concat([frame(), frame().head(2)]).drop(columns="tags")
    with pytest.raises(DataContractError, match=r"2 customer_id value\(s\) appear more than once "
                                                r"\(e\.g\. 1, 2\)"):
        lists.publish("targets", spark.createDataFrame(pdf), scores=["delta"], folder=tmp_path,
                      display=False)
    assert not (tmp_path / "targets.csv").exists()  # checked on Spark before anything is written
    with pytest.raises(DataContractError, match="has scores but no customer_id"):
        lists.publish("targets", spark.createDataFrame(pdf.drop(columns="customer_id")),
                      scores=["delta"], folder=tmp_path, display=False)
    with pytest.raises(ParameterError, match=r"'scores' must name columns of the list; got \['email'\]"):
        lists.publish("targets", spark.createDataFrame(pdf), scores=["email"], folder=tmp_path,
                      display=False)  # masked away


def test_a_spark_list_is_streamed_and_read_back_by_scores_changes_and_forget(spark, tmp_path,
                                                                            monkeypatch):
    from crmlib.report import changes
    from crmlib.report.forget import forget
    from crmlib.report.scores import score_rows

    n = 1000
    pdf = pd.DataFrame({"customer_id": range(1, n + 1), "clv": [i / 4 for i in range(n)],
                        "rfm_segment": ["Champions", "Lost"] * (n // 2), "email": ["x@y.z"] * n})
    sdf = spark.createDataFrame(pdf).repartition(4)
    monkeypatch.setattr(type(sdf), "toPandas", lambda self: pytest.fail("whole frame in pandas"))
    monkeypatch.setattr(lists, "CHUNK_ROWS", 128)
    run_dir = tmp_path / "reports" / "runs" / "segmentation" / "20250101T020000Z"
    entry = lists.publish("customer_value", sdf, folder=run_dir / "lists", display=False,
                          scores=["clv", "rfm_segment"])
    assert entry["rows"] == n and entry["columns"] == ["customer_id", "clv", "rfm_segment"]
    written = pd.read_parquet(run_dir / "lists" / "customer_value.parquet")
    assert sorted(written["customer_id"]) == list(range(1, n + 1))
    summary = {"report": "segmentation", "run_id": run_dir.name, "started": "2025-01-01T02:00:00Z",
               "status": "ok", "lists": [entry]}
    rows = score_rows(run_dir, summary)
    assert len(rows) == 2 * n
    clv = rows[rows["name"] == "clv"].set_index("customer_id")["value"]
    assert clv.loc[5] == 1.0 and rows[rows["name"] == "rfm_segment"]["text"].notna().all()
    previous = changes.PreviousRun(run_dir.name, summary["started"], lists_dir=run_dir / "lists")
    pd.testing.assert_frame_equal(previous.list("customer_value"), written)
    forget(["3", "7"], reports_dir=tmp_path / "reports", db_url="sqlite:////nonexistent/x.sqlite")
    left = pd.read_parquet(run_dir / "lists" / "customer_value.parquet")
    assert len(left) == n - 2 and not {3, 7} & set(left["customer_id"])
    csv = read_csv(run_dir / "lists" / "customer_value.csv")
    assert len(csv) == n - 2 and not {3, 7} & set(csv["customer_id"])
