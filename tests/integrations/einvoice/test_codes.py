"""The registry of finding codes: one number one meaning, in the family of the stage raising it."""

import ast
import re
from pathlib import Path

import pytest

from integrations.einvoice import codes
from integrations.einvoice.codes import REGISTRY, RETIRED, STAGES, Code

ROOT = Path(__file__).parents[3]
# Each module that raises findings, and the stage it is part of (architecture: parse 1xxx,
# signature 2xxx, schema 3xxx, link 4xxx, rules 5xxx). Modules that compose stages (checks,
# pipeline, batches) or only report findings (receipts) relay codes of every family.
STAGE_OF_MODULE = {
    "integrations/einvoice/parse.py": "transport",
    "integrations/einvoice/signature.py": "signature",
    "integrations/einvoice/schema.py": "schema",
    "integrations/identity.py": "identity",
    "integrations/einvoice/link.py": "identity",
    "integrations/einvoice/document.py": "rules",
    "integrations/einvoice/rules.py": "rules",
    "integrations/einvoice/authority.py": "rules",
}
CODE_LITERAL = re.compile(r'_code\("(\d{4})"')


def named_codes(path: Path) -> set[Code]:
    """The registry entries a module names, imported by name or read as ``codes.NAME``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "integrations.einvoice.codes"
        for alias in node.names
    }
    names |= {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "codes"
    }
    return {entry for name in names if isinstance(entry := getattr(codes, name, None), Code)}


@pytest.mark.parametrize(("module", "stage"), STAGE_OF_MODULE.items())
def test_a_stage_raises_only_codes_of_its_family(module: str, stage: str) -> None:
    named = named_codes(ROOT / module)
    assert named, f"{module} names no code"
    assert {entry.code: entry.stage for entry in named} == {entry.code: stage for entry in named}


def test_every_stage_has_a_family_digit() -> None:
    assert set(STAGE_OF_MODULE.values()) == set(STAGES.values())
    for entry in REGISTRY.values():
        assert re.fullmatch(r"[1-5]\d{3}", entry.code), entry
        assert entry.stage == STAGES[entry.code[0]]


def test_no_two_codes_share_a_number_and_a_retired_number_is_never_given_again() -> None:
    source = (ROOT / "integrations/einvoice/codes.py").read_text(encoding="utf-8")
    numbers = CODE_LITERAL.findall(source)
    assert len(numbers) == len(set(numbers)) == len(REGISTRY)
    assert not RETIRED.keys() & REGISTRY.keys()
    for number in RETIRED:
        with pytest.raises(ValueError, match=f"{number} is retired"):
            codes._code(number, codes.E, "another meaning", "")
    with pytest.raises(ValueError, match="registered twice"):
        codes._code("1001", codes.E, "another meaning", "")


def test_the_cash_register_code_is_a_business_rule_and_the_template_a_schema_matter() -> None:
    assert codes.CASH_REGISTER_CODE.stage == "rules"
    assert {"2016", "5003"} <= RETIRED.keys()
    assert "5025" in RETIRED["2016"]
    assert "3001" in RETIRED["5003"]
