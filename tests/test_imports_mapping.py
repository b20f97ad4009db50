"""Mapping files: the examples parse; every mistake is reported with its place in the file."""

from pathlib import Path

import pytest
import yaml

from crmlib.imports.mapping import MappingError, load_mapping, parse_mapping

MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "mappings"

BASE = {
    "name": "t",
    "sources": {"s": {"path": "x.csv"}},
    "tables": {"channels": {"source": "s", "key": "id", "columns": {"name": "n", "kind": "k"}}},
}


def _with(**tables):
    return {**BASE, "tables": {**BASE["tables"], **tables}}


@pytest.mark.parametrize("name", ["online_retail.yml", "customer_list.yml"])
def test_example_mappings_parse(name):
    mapping = load_mapping(MAPPINGS / name)
    assert mapping.tables and all(s.system == "shop" for s in mapping.sources.values())


def test_tables_are_ordered_parents_first():
    mapping = load_mapping(MAPPINGS / "online_retail.yml")
    assert list(mapping.tables) == ["channels", "products", "customers", "orders", "order_lines"]


def test_relative_paths_are_relative_to_the_mapping():
    mapping = load_mapping(MAPPINGS / "online_retail.yml")
    assert mapping.sources["retail"].path == MAPPINGS / "../raw/online_retail.csv"


@pytest.mark.parametrize("data, message", [
    (_with(clients={"source": "s", "key": "id"}), r"tables\.clients: 'clients' is not a canonical table"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": "n", "kind": "k", "colour": "c"}}),
     r"tables\.channels\.columns: 'colour' is not a column of channels"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": "n"}}),
     r"required column\(s\) \['kind'\] of channels are not mapped"),
    (_with(channels={"source": "s", "columns": {"name": "n", "kind": "k"}}),
     r"tables\.channels\.key: give the source column\(s\)"),
    (_with(channels={"source": "nope", "key": "id", "columns": {"name": "n", "kind": "k"}}),
     r"tables\.channels\.source: 'nope' is not one of the sources \['s'\]"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": {"from": "n", "agregate": "min"}, "kind": "k"}}),
     r"tables\.channels\.columns\.name: unknown option 'agregate'"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": {"from": "n", "aggregate": "avg"}, "kind": "k"}}),
     r"aggregate: must be one of \['first', .*got 'avg'"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": {"from": "n", "standardise": "zip"}, "kind": "k"}}),
     r"standardise: must be one of .*got 'zip'"),
    (_with(orders={"source": "s", "key": "o", "columns": {
        "customer_id": {"from": "c", "references": "products"}, "channel_id": {"value": 1},
        "ordered_at": "d", "status": {"value": "completed"}}}),
     r"orders\.customer_id refers to customers, not 'products'"),
    (_with(channels={"source": "s", "key": "id", "columns": {"name": {"from": "n", "value": "x"}, "kind": "k"}}),
     r"give exactly one of 'from', 'value', 'cases' or 'sequence'"),
    ({"name": "t", "sources": {"s": {"url": "sqlite:///x.sqlite"}}, "tables": BASE["tables"]},
     r"sources\.s: a sql source needs exactly one of 'table' or 'query'"),
    ({"name": "t", "tables": BASE["tables"]}, r"sources: give at least one source"),
    (_with(products={"source": "s", "key": "k", "deduplicate": True, "columns": {
        "sku": "k", "name": "n", "category": "c", "subcategory": "c", "unit_price": "p", "unit_cost": "p"}}),
     r"de-duplication is available for customers only"),
])
def test_mistakes_are_named_with_their_place(data, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, label="m.yml")


def test_every_mistake_is_reported_at_once():
    data = _with(clients={"source": "s", "key": "id"},
                 channels={"source": "s", "columns": {"name": "n", "kind": "k"}})
    with pytest.raises(MappingError, match=r"2 problem\(s\) in the mapping") as info:
        parse_mapping(data, label="m.yml")
    assert len(info.value.problems) == 2 and all(p.startswith("m.yml: tables.") for p in info.value.problems)


def test_missing_file(tmp_path):
    with pytest.raises(MappingError, match="mapping file not found: .*nope.yml"):
        load_mapping(tmp_path / "nope.yml")


def test_not_yaml(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("sources: [unclosed\n")
    with pytest.raises(MappingError, match="bad.yml: not a readable YAML file"):
        load_mapping(path)


def test_not_a_dictionary(tmp_path):
    with pytest.raises(MappingError, match="a mapping must be a YAML dictionary"):
        parse_mapping(["a", "b"])


def test_dedup_decisions_path_is_relative_to_the_mapping(tmp_path):
    data = yaml.safe_load((MAPPINGS / "customer_list.yml").read_text())
    data["tables"]["customers"]["deduplicate"]["decisions"] = "review/decisions.csv"
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump(data))
    spec = load_mapping(path).tables["customers"].deduplicate
    assert spec["decisions"] == tmp_path / "review" / "decisions.csv"
    assert load_mapping(MAPPINGS / "customer_list.yml").tables["customers"].deduplicate["decisions"] is None


@pytest.mark.parametrize("value", [3, "", ["a.csv"]])
def test_bad_dedup_decisions(value):
    data = yaml.safe_load((MAPPINGS / "customer_list.yml").read_text())
    data["tables"]["customers"]["deduplicate"]["decisions"] = value
    with pytest.raises(MappingError, match=r"customers\.deduplicate\.decisions: must be the path of a CSV"):
        parse_mapping(data, label="m.yml")
