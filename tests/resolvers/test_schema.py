"""The checked-in contract and the schema the code builds must be the same text."""

from __future__ import annotations

import gc
from dataclasses import replace
from functools import partial

import graphql
import strawberry

from integrations.simulators import Faults, RunningSimulators
from resolvers import SCHEMA_FILE, build_schema, print_schema
from resolvers.hardening import MaskInternalErrors
from tests.resolvers.conftest import AN, CITIZEN_AN, OFFICER, Graph, codes


def test_schema_graphql_is_printed_from_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == print_schema(), (
        "schema.graphql is stale: run `python -c 'import resolvers; resolvers.write_schema()'`"
    )


def test_the_contract_root_fields_are_there(schema: strawberry.Schema) -> None:
    sdl = graphql.build_schema(schema.as_str())
    query, mutation = sdl.query_type, sdl.mutation_type
    assert query is not None
    assert mutation is not None
    assert set(query.fields) >= {
        "me", "citizen", "taxpayer", "invoice", "invoices", "myDataAccessLog"
    }  # fmt: skip
    assert set(mutation.fields) == {"submitInvoice", "grantConsent", "revokeConsent"}
    assert list(sdl.type_map["Citizen"].fields) == [
        "idNumber", "fullName", "dateOfBirth", "sex", "address",
        "taxpayer", "invoices", "insurance", "utilities",
    ]  # fmt: skip


async def test_extensions_are_added_and_upstream_codes_survive_masking(
    graph: Graph, sims: RunningSimulators
) -> None:
    masked = replace(graph, schema=build_schema([partial(MaskInternalErrors, suggestions=False)]))
    typo = await masked.run('{ citizn(idNumber: "1") { fullName } }', OFFICER)
    assert codes(typo) == [("GRAPHQL_VALIDATION_FAILED", None)]
    assert "Did you mean" not in typo.errors[0].message

    sims.set_faults("telecom", Faults(down=True))
    query = """query($id: String!) {
      citizen(idNumber: $id) { fullName utilities { telecom { plan } } }
    }"""
    result = await masked.run(query, OFFICER, {"id": AN})
    assert codes(result) == [("UPSTREAM_UNAVAILABLE", "telecom")]
    assert result.data["citizen"]["fullName"] == "Nguyễn Văn An"


EVERY_AGENCY = """query($id: String!) { citizen(idNumber: $id) { fullName taxpayer { taxCode }
  insurance { healthCard { cardNumber } social { status } }
  utilities { electricity { supplier } water { supplier } telecom { msisdn } } } }"""


async def test_a_finished_query_leaves_nothing_for_the_garbage_collector(graph: Graph) -> None:
    """Everything a request made goes with it: none of it waits in a reference cycle."""
    await graph.run(EVERY_AGENCY, CITIZEN_AN, {"id": AN})
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = await graph.run(EVERY_AGENCY, CITIZEN_AN, {"id": AN})
        assert not result.errors
        del result
        gc.collect()
        left = {type(thing).__qualname__ for thing in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert "Context" not in left
    assert "DataLoader" not in left
