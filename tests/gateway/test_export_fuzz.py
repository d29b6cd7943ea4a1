"""No query string makes the officer CSV export fail: it answers rows or a coded 400.

Hypothesis writes raw query strings for the export's parameters, each value a typical one or a
hostile one (any bytes percent-encoded, so NUL and invalid UTF-8 arrive too; numbers of every
shape), against the real app over each backend. Unknown names are refused before any value is
read (``test_export``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from urllib.parse import quote

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from gateway.config import Settings
from integrations.ratelimit.windows import Limit
from tests.gateway import test_export
from tests.gateway.test_export import EXPORT, Gateway, rows_of
from tests.integrations.store.invoice_factory import BUYERS, SELLERS
from tests.support.fuzz import fuzz_divided, numbers, texts

gateway = test_export.gateway
Export = Callable[[str], Awaitable[httpx.Response]]

days = st.dates().map(lambda day: day.isoformat())
# Values each parameter takes, so that many requests get past the parsing to the database.
TYPICAL: dict[str, st.SearchStrategy[str]] = {
    "seller": st.sampled_from(SELLERS),
    "buyer": st.sampled_from([buyer for buyer in BUYERS if buyer]),
    "issuedFrom": days,
    "issuedTo": days,
    "amountMin": numbers,
    "amountMax": numbers,
    "taxRate": st.sampled_from(["8%", "KCT"]),
    "kind": st.sampled_from(["VAT", "SALES", "CASH_REGISTER"]),
    "status": st.sampled_from(["ACCEPTED", "REPLACED"]),
    "series": st.sampled_from(["C26TAA", "C26MCC"]),
    "flag": st.sampled_from(["NUMBERING_GAP"]),
    "sort": st.sampled_from(["ISSUED_ON", "TOTAL_PAYABLE"]),
    "order": st.sampled_from(["asc", "desc"]),
}
NAMES = list(TYPICAL)
hostile = st.one_of(
    numbers,
    st.sampled_from([b"\x00", b"8%\x00", b"\xff\xfe", b"\xed\xa0\x80", b"%", b"+"]),
    texts.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
)
values = st.fixed_dictionaries({name: st.one_of(TYPICAL[name], hostile) for name in NAMES})


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The gateway's settings with rate limits out of the way of hundreds of quick requests."""
    many = Limit(1_000_000, 60)
    return settings.with_values(rate_limit_principal=many, rate_limit_address=many)


@pytest.fixture
def export(gateway: Gateway) -> Export:
    """An officer's GET of the export (rather than the gateway, whose repr holds every row)."""
    return partial(gateway.http.get, headers=gateway.officer())


async def exported_or_refused(export: Export, params: dict[str, str | bytes]) -> None:
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())
    response = await export(f"{EXPORT}?{query}")

    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        event("200")
        rows_of(response)
    else:
        [error] = response.json()["errors"]
        assert (error["code"], error["path"] in params) == ("BAD_REQUEST", True), error
        event(f"400 {error['path']}")


# Each example asks once per parameter alone, where a bad value cannot hide behind another,
# and once with all of them.
@fuzz_divided(4)
@given(values=values)
async def test_any_parameter_value_is_exported_or_refused_with_a_code(
    export: Export, values: dict[str, str | bytes]
) -> None:
    for name, value in values.items():
        await exported_or_refused(export, {name: value})
    await exported_or_refused(export, values)
