"""The example documents in ``examples/queries/`` are valid against the schema, so the README's
links never point at a document the gateway would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from resolvers.schema import build_schema

FOLDER = Path(__file__).resolve().parent.parent / "examples" / "queries"
DOCUMENTS = sorted(FOLDER.glob("*.graphql"))
ROLES = ("citizen", "app", "merchant", "officer")


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in DOCUMENTS])
def test_each_example_document_is_valid(path: Path) -> None:
    schema = build_schema()._schema
    assert validate(schema, parse(path.read_text(encoding="utf-8"))) == []


def test_every_role_has_examples_and_the_readme_links_each() -> None:
    readme = (FOLDER.parent.parent / "README.md").read_text(encoding="utf-8")
    assert {p.stem.split("-")[0] for p in DOCUMENTS} == set(ROLES)
    assert [p.name for p in DOCUMENTS if f"examples/queries/{p.name}" not in readme] == []
