"""What the distribution ships: every package of the tree, and the XSDs the intake reads.

The wheel itself is built, installed in a fresh venv and run by ``.ci/wheel_smoke.py``; these
checks hold ``pyproject.toml``'s explicit package list to the source tree on every test run.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from integrations.einvoice.schema import XSD_PACKAGE, default_xsd_dir

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def test_every_package_of_the_tree_is_listed() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("gateway", "integrations", "resolvers")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(SETUPTOOLS["packages"]) == found | {XSD_PACKAGE}


def test_the_xsd_folder_ships_as_package_data() -> None:
    assert SETUPTOOLS["package-dir"] == {XSD_PACKAGE: "xsd"}
    patterns = SETUPTOOLS["package-data"][XSD_PACKAGE]
    shipped = {path.name for pattern in patterns for path in (ROOT / "xsd").glob(pattern)}
    assert shipped == {path.name for path in (ROOT / "xsd").glob("*.xsd")}
    assert {"invoice.xsd", "message.xsd", "xmldsig-lax.xsd"} <= shipped


def test_the_schemas_are_read_through_the_package() -> None:
    assert default_xsd_dir() == ROOT / "xsd"
    assert default_xsd_dir().joinpath("invoice.xsd").is_file()
