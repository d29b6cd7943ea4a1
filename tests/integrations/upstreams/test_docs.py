"""docs/upstreams.md is part of the product: it must name every setting, default and metric."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

import integrations.upstreams
from integrations.upstreams import UpstreamMetrics, UpstreamSettings

DOC = (Path(__file__).parents[3] / "docs" / "upstreams.md").read_text(encoding="utf-8")


def _table_row(name: str) -> str:
    match = re.search(rf"^\| `{name}` \|(.*)$", DOC, re.MULTILINE)
    assert match, f"{name} is not documented in docs/upstreams.md"
    return match.group(1)


@pytest.mark.parametrize("field", fields(UpstreamSettings), ids=lambda f: f.name)
def test_every_setting_is_documented_with_its_default(field: object) -> None:
    name, default = field.name, field.default  # type: ignore[attr-defined]
    row = _table_row(name)
    if default is not MISSING:
        assert f"`{default}`" in row, f"{name}: the documented default is not {default}"


def test_every_metric_is_documented() -> None:
    registry = CollectorRegistry()
    UpstreamMetrics(registry)
    names = {m.name + ("_total" if m.type == "counter" else "") for m in registry.collect()}
    for name in names:
        _table_row(name)


def test_exported_members_are_complete() -> None:
    package = integrations.upstreams
    exported = set(package.__all__)
    prefix = package.__name__
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith(prefix)
    }
    assert public <= exported
