"""What the fuzz tests share: the hypothesis profile, hostile values, and the error property.

The ``ci`` profile is small and derandomised, so CI runs the same examples every time and a
failure reproduces; ``GATEWAY_TEST_FUZZ=deep`` runs many random examples for a search by hand.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from integrations.einvoice.codes import REGISTRY
from resolvers.hardening import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL,
)

settings.register_profile(
    "ci",
    max_examples=75,
    deadline=None,
    derandomize=True,
    database=None,
    # The database and the schema are set up once per test and shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep", parent=settings.get_profile("ci"), max_examples=5000, derandomize=False
)
FUZZ = settings(settings.get_profile(os.environ.get("GATEWAY_TEST_FUZZ", "ci")))


def fuzz_divided(by: int) -> settings:
    """``FUZZ`` with a ``by``-th of its examples, for tests that make ``by`` requests each."""
    return settings(FUZZ, max_examples=max(FUZZ.max_examples // by, 1))


KNOWN_CODES = frozenset(
    {BAD_USER_INPUT, GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, *REGISTRY}
    | {"CURSOR_INVALID", "ANALYTICS_INVALID", "FORBIDDEN"}
)
"""The codes a malformed argument may earn: input, cursor, filter, access and finding codes
(such as 4009 for a tax code of the wrong shape), never INTERNAL."""

TRIAL_NUMBERS = (
    "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e999999999", "-1e999999999",
    "1e-999999999", "9" * 40, "0." + "0" * 40 + "1", "1E+3", "-0", "0",
    "99999999999999999.999999", "-99999999999999999.999999", "100000000000000000",
    "0.0000001", "9223372036854.775808", "-9223372036854.775809",
)  # fmt: skip
"""Numbers an outside trial sent, and their neighbours: not finite, beyond the column, or at
its edges and at SQLite's 64-bit integers (amounts compare there in millionths)."""

numbers = st.one_of(
    st.sampled_from(TRIAL_NUMBERS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,30})?", fullmatch=True),
)
"""Decimal text of every shape: exponents, NaN and Infinity, and plain digits of any size."""


HOSTILE_TEXT = ("", "\x00", "a\x00b", "\ud800", "x\udfffy", "'; --", "%_\\", "\u202e", "9" * 300)
"""Text that SQL drivers or encoders choke on: NUL, unpaired surrogates, quotes, wildcards."""

_any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included
texts = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    _any_text,
    st.tuples(_any_text, st.sampled_from(["\x00", "\ud800"]), _any_text).map("".join),
)
"""Any text, with NUL and unpaired surrogates often: JSON can carry them, SQL and UTF-8 cannot."""


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


def cursors(*fields: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Arbitrary text, base64 of arbitrary text or bytes, and base64 of ``fields`` joined by
    ``|`` as a cursor of that shape would be, with each field drawn hostile."""
    shaped = st.tuples(*fields).map(lambda parts: b64("|".join(parts)))
    raw = st.binary(max_size=64).map(lambda data: base64.urlsafe_b64encode(data).decode())
    return st.one_of(texts, texts.map(b64), raw, shaped)


def error_codes(errors: Iterable[object] | None) -> list[str | None]:
    """``extensions.code`` of each GraphQL error, None where there is none."""
    return [(getattr(e, "extensions", None) or {}).get("code") for e in errors or []]


def assert_coded(codes: Iterable[str | None], known: frozenset[str] = KNOWN_CODES) -> None:
    """Every error names a code a client can act on: known, and never INTERNAL."""
    codes = list(codes)
    event(" ".join(sorted({str(code) for code in codes})) or "no error")
    assert INTERNAL not in codes, codes
    assert set(codes) <= known, codes
