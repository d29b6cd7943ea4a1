"""The finding: one thing the intake noticed about a submission."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_LISTED = 100
"""The most findings an answer lists; the rest are counted. A hostile document can carry tens
of thousands, and neither an answer nor the work behind it may grow with them."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """A coded observation with where it was seen and how to fix it."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    path: str = ""
    hint: str = ""
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "hint": self.hint,
        }
        if self.line is not None:
            body["line"] = self.line
        return body


@dataclass(frozen=True, slots=True)
class Omission(Finding):
    """Stands for ``count`` findings left out, so that no stage has to keep them all."""

    count: int = 0


@dataclass(frozen=True, slots=True)
class Listing:
    """Findings as an answer lists them: at most ``MAX_LISTED``, and how many more there were."""

    shown: list[Finding]
    omitted: int


def listing(findings: Iterable[Finding], limit: int = MAX_LISTED) -> Listing:
    """The first ``limit`` findings; omissions met on the way add their counts to the rest."""
    shown: list[Finding] = []
    omitted = 0
    for finding in findings:
        if isinstance(finding, Omission):
            omitted += finding.count
        elif len(shown) < limit:
            shown.append(finding)
        else:
            omitted += 1
    return Listing(shown, omitted)


def listed(findings: Iterable[Finding]) -> dict[str, Any]:
    """The JSON answer's ``errors`` and ``warnings``, with ``omitted`` counts when cut short."""
    kept = list(findings)
    parts = {
        "errors": listing(f for f in kept if f.is_error),
        "warnings": listing(f for f in kept if not f.is_error),
    }
    body: dict[str, Any] = {name: [f.as_dict() for f in part.shown] for name, part in parts.items()}
    omitted = {name: part.omitted for name, part in parts.items() if part.omitted}
    if omitted:
        body["omitted"] = omitted
    return body


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    return any(f.is_error for f in findings)


class Rejection(Exception):
    """A stage found errors that stop the pipeline; carries every finding so far."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.code} {f.message}" for f in findings))
        self.findings = findings
