"""A citizen's access log paged through the graph with cursors it never issued."""

from __future__ import annotations

import base64

import pytest

from integrations.access import AuditRecord, Outcome
from integrations.store.database import Database
from tests.resolvers.conftest import AN, CITIZEN_AN, Graph, codes

PAGE = """
query($after: String) {
  myDataAccessLog(first: 5, after: $after) { edges { node { reader } } pageInfo { hasNextPage } }
}
"""


@pytest.fixture
def database(db: None, database_url: str) -> Database:
    """The access log on each backend: each turns an id past 64 bits into its own error."""
    return Database(database_url)


def cursor_of(number: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{number}".encode()).decode()


@pytest.mark.parametrize(
    "number",
    [pytest.param(2**63, id="int64-max-plus-1"), pytest.param(10**40, id="40-digits")],
)
async def test_a_cursor_past_any_event_id_is_a_user_error(graph: Graph, number: int) -> None:
    result = await graph.run(PAGE, CITIZEN_AN, {"after": cursor_of(number)})
    assert codes(result) == [("CURSOR_INVALID", None)]


async def test_the_largest_event_id_is_a_cursor_before_every_event(graph: Graph) -> None:
    await graph.audit.record(
        AuditRecord("officer:off-7", "officer", AN, ("tax",), ("taxCode",), Outcome.ALLOWED)
    )
    result = await graph.run(PAGE, CITIZEN_AN, {"after": cursor_of(2**63 - 1)})
    assert result.errors is None
    assert [e["node"]["reader"] for e in result.data["myDataAccessLog"]["edges"]] == [
        "officer:off-7"
    ]
