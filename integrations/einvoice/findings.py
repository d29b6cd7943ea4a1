"""The finding: one thing the intake noticed about a submission."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    return any(f.is_error for f in findings)


class Rejection(Exception):
    """A stage found errors that stop the pipeline; carries every finding so far."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.code} {f.message}" for f in findings))
        self.findings = findings
