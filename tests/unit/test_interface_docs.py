"""docs/interfaces.md: generated from the catalog and validation rules, never out of date."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.protocol.catalog import CATALOG
from medical_insurance_sdk.protocol.catalog_docs import example_input, render_input_reference
from medical_insurance_sdk.protocol.validation import FIELD_LABELS, RULES, validate_input
from medical_insurance_sdk.simulator.workload import Visit, new_visit

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "interfaces.md"


def _visit() -> Visit:
    visit = new_visit(random.Random(3), 1)
    visit.psn_no, visit.mdtrt_id, visit.setl_id = "43000011111111", "MD1", "ST1"
    return visit


def _workload_inputs() -> list[tuple[str, dict[str, object]]]:
    visit = _visit()
    return [
        ("1101", visit.person_query()),
        ("2201", visit.registration()),
        ("2203", visit.visit_upload()),
        ("2204", visit.fee_upload()),
        ("2206", visit.settlement()),
        ("2207", visit.settlement()),
        ("2208", visit.settlement_reversal()),
    ]


def _section(text: str, code: str) -> str:
    match = re.search(rf"^## {code} .*?(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"no section for {code}"
    return match.group(0)


def test_committed_reference_equals_the_generator():
    """docs/interfaces.md is exactly what render_input_reference() produces (run `misdk docs
    interfaces` after changing the catalog or the rules)."""
    assert COMMITTED.read_text(encoding="utf-8") == render_input_reference()


def test_reference_lists_every_catalog_interface_with_kind_and_category():
    """The summary has one row per catalog code with its Chinese name, kind and category."""
    text = render_input_reference()
    for entry in CATALOG.values():
        row = f"| {entry.code} | {entry.name} | {entry.name_en} | {entry.kind.value} | "
        assert row + f"{entry.category.value} |" in text


@pytest.mark.parametrize("code", sorted(RULES), ids=sorted(RULES))
def test_each_checked_interface_has_fields_and_a_valid_example(code):
    """Every field of the rules appears with its Chinese name; the example input passes."""
    assert code in CATALOG
    section = _section(render_input_reference(), code)
    for node in RULES[code]:
        assert f"Node `{node.name}`" in section
        for rule in node.fields:
            assert rule.name in FIELD_LABELS, f"{rule.name} has no Chinese name"
            assert f"| `{rule.name}` | {FIELD_LABELS[rule.name]} |" in section
            if rule.required:
                assert rule.example != "", f"{code}.{rule.name}: required field without example"
    assert validate_input(code, example_input(code)) == []
    assert '"' + RULES[code][0].name + '"' in section  # the example input is shown


@pytest.mark.parametrize(("code", "input_data"), _workload_inputs(), ids=lambda v: str(v)[:4])
def test_every_field_the_workload_sends_is_documented(code, input_data):
    """The simulator workload's inputs use only nodes and fields of the rules, and pass them."""
    documented = {node.name: {rule.name for rule in node.fields} for node in RULES[code]}
    assert set(input_data) <= set(documented)
    for name, node in input_data.items():
        items = node if isinstance(node, list) else [node]
        for item in items:
            assert set(item) <= documented[name], set(item) - documented[name]
    assert validate_input(code, input_data) == []


def test_2207_section_names_the_settlement_fields_and_codes():
    """The 2207 section answers what a newcomer asks: fields, 中文, codes, lengths."""
    section = _section(render_input_reference(), "2207")
    assert "kind **W$**" in section
    codes = "`01` 按项目结算, `02` 按定额结算"
    assert f"| `psn_setlway` | 个人结算方式 | string | 6 | yes | {codes} |" in section
    assert "| `medfee_sumamt` | 医疗费总额 | number | 16 | yes |" in section
    assert "required when mdtrt_cert_type is 03" in section
    assert '"psn_setlway": "01"' in section


def test_optional_second_node_is_checked_when_present():
    """2203's diseinfo list is optional, but its items are checked when it is sent."""
    good = _visit().visit_upload()
    assert validate_input("2203", {"mdtrtinfo": good["mdtrtinfo"]}) == []
    bad = {**good, "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_name": "x"}]}
    assert [p.field for p in validate_input("2203", bad)] == ["diag_code"]


def test_cli_writes_and_checks_the_reference(tmp_path, capsys):
    """`misdk docs interfaces` writes the generator's text; --check exits 1 when stale."""
    out = tmp_path / "interfaces.md"
    assert main(["docs", "interfaces", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_input_reference()
    assert main(["docs", "interfaces", "--out", str(out), "--check"]) == 0
    out.write_text("stale\n", encoding="utf-8")
    assert main(["docs", "interfaces", "--out", str(out), "--check"]) == 1
    assert "不一致" in capsys.readouterr().err
    assert main(["docs", "interfaces", "--out", "-"]) == 0
    assert capsys.readouterr().out == render_input_reference()
