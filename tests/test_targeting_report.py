"""notebooks/campaign_targeting.ipynb end to end on the small sample, through the report runner."""

import json
import re
import shutil
from pathlib import Path

import pytest

import crmlib

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "campaign_targeting.ipynb"


@pytest.fixture(scope="module")
def published(tmp_path_factory, small_url):
    """The report for one campaign named by its id as text, as `crmlib run -p campaign_id 14` gives it."""
    from crmlib.report.runner import run_reports

    crm = crmlib.connect(small_url)
    with_contacts = crm.campaigns().merge(crm.campaign_contacts()[["campaign_id"]].drop_duplicates())
    campaign = int(with_contacts.sort_values("started_at")["campaign_id"].iloc[-2])
    root = tmp_path_factory.mktemp("targeting")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    (result,) = run_reports(["campaign_targeting"], notebooks_dir=notebooks, reports_dir=root / "reports",
                            db_url=small_url, parameters={"campaign_id": str(campaign)}, progress=False,
                            timeout=600)
    assert result.status == "ok", result
    summary = json.loads((root / "reports" / "campaign_targeting" / "latest.json").read_text())
    return campaign, summary


def test_the_campaign_named_as_text_is_the_one_analysed(published):
    campaign, summary = published
    assert summary["metrics"]["campaign_id"] == campaign


def test_strategies_are_compared_on_the_target_lists_size(published):
    # at the budget's size the list held every candidate, and all three rankings earned the same
    _, summary = published
    sentence = next(s for s in summary["findings"] if "ranking by uplift would earn" in s)
    earned = [float(x.replace(",", "")) for x in re.findall(r"(-?[\d,]+) ?(?:,|and|\()", sentence)]
    assert len(earned) == 3 and len(set(earned)) == 3, sentence
