"""Tiny typed readers that check an agency's JSON before it becomes one of our values.

A decoder reads fields through ``Fields``; any missing field or wrong type raises
``ShapeError`` naming the JSON path, which the HTTP layer turns into ``UpstreamBadResponse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")


class ShapeError(ValueError):
    """A JSON value is missing or has the wrong type."""

    def __init__(self, path: str, expected: str) -> None:
        super().__init__(f"{path}: expected {expected}")
        self.path = path


class Fields:
    """Checked access to the members of one JSON object."""

    def __init__(self, value: object, path: str = "$") -> None:
        if not isinstance(value, Mapping):
            raise ShapeError(path, "an object")
        self._value = value
        self._path = path

    def raw(self, key: str) -> object:
        """The member as it came, for values decoded elsewhere."""
        return self._get(key)

    def _get(self, key: str) -> object:
        if key not in self._value:
            raise ShapeError(f"{self._path}.{key}", "a value")
        return self._value[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise ShapeError(f"{self._path}.{key}", "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._get(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(f"{self._path}.{key}", "an integer")
        return value

    def amount(self, key: str) -> Decimal:
        """Money arrives as a decimal string; a JSON number would already have lost cents."""
        value = self.text(key)
        if not _AMOUNT.fullmatch(value):
            raise ShapeError(f"{self._path}.{key}", "a decimal string")
        return Decimal(value)

    def day(self, key: str) -> date:
        try:
            return date.fromisoformat(self.text(key))
        except ValueError as exc:
            raise ShapeError(f"{self._path}.{key}", "an ISO date") from exc

    def optional_day(self, key: str) -> date | None:
        return None if self._get(key) is None else self.day(key)

    def choice(self, key: str, kind: type[E]) -> E:
        value = self.text(key)
        try:
            return kind(value)
        except ValueError as exc:
            allowed = ", ".join(member.value for member in kind)
            raise ShapeError(f"{self._path}.{key}", f"one of {allowed}") from exc

    def nested(self, key: str) -> Fields:
        return Fields(self._get(key), f"{self._path}.{key}")

    def each(self, key: str, decode: Callable[[Fields], T]) -> tuple[T, ...]:
        value = self._get(key)
        if not isinstance(value, list):
            raise ShapeError(f"{self._path}.{key}", "a list")
        return tuple(
            decode(Fields(item, f"{self._path}.{key}[{n}]")) for n, item in enumerate(value)
        )
