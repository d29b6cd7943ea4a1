"""Bar charts as plain numbers for an inline SVG: no script, no chart library.

``bars`` lays out one bar per (label, value) in a fixed viewBox; the template draws them and
puts the same numbers in a table beside, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 220
AXIS: Final = 24
"""Room under the bars for their labels."""
TOP: Final = 16


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - AXIS
    top: int = TOP

    @property
    def peak(self) -> Decimal:
        return max((bar.value for bar in self.bars), default=Decimal(0))


def bars(points: Sequence[tuple[str, Decimal | str]]) -> Chart:
    """A chart of ``points`` in order; the tallest bar fills the height."""
    values = [(label, Decimal(str(value))) for label, value in points]
    if not values:
        return Chart(())
    peak = max(value for _, value in values) or Decimal(1)
    slot = WIDTH / len(values)
    room = HEIGHT - AXIS - TOP
    laid = []
    for index, (label, value) in enumerate(values):
        height = float(max(value, Decimal(0)) / peak) * room
        laid.append(
            Bar(
                label=label,
                value=value,
                x=round(index * slot + slot * 0.15, 1),
                y=round(HEIGHT - AXIS - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return Chart(tuple(laid))


def last_months(
    values: Mapping[str, Decimal | str | int | None], span: int = 12
) -> list[tuple[str, Decimal]]:
    """The ``span`` months up to the latest of ``values`` (keyed ``YYYY-MM``), oldest first,
    labelled ``mm/yyyy``, with 0 for a month without any: a time axis without holes."""
    if not values:
        return []
    year, month = (int(part) for part in max(values).split("-"))
    points = []
    for back in range(span - 1, -1, -1):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        key = f"{y:04d}-{m + 1:02d}"
        points.append((f"{m + 1:02d}/{y}", Decimal(str(values.get(key) or 0))))
    return points
