from __future__ import annotations

import uuid

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse
from strawberry.extensions import QueryDepthLimiter

from resolvers.hardening import HardeningSettings, expanded_field_count
from tests.resolvers.hardening.support import codes, hardened, run
from tests.resolvers.hardening.toy import toy_schema

SCHEMA = hardened(max_depth=4, max_aliases=3, max_fields=100, max_tokens=300, max_cost=10**9)


def _nested(levels: int) -> str:
    return "{ people " + "{ friends " * levels + "{ name }" + " }" * levels + " }"


def _fragment_fan_out(levels: int) -> str:
    """Each fragment spreads the one below twice: 2**levels fields once expanded."""
    fragments = ["fragment F0 on Query { hello }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return f"{{ ...F{levels} }} " + " ".join(fragments)


HOSTILE = [
    pytest.param(_nested(6), "DEPTH_LIMIT_EXCEEDED", id="deep"),
    pytest.param(
        "{ " + " ".join(f"a{i}: hello" for i in range(4)) + " }",
        "ALIAS_LIMIT_EXCEEDED",
        id="alias-bomb",
    ),
    pytest.param(_fragment_fan_out(12), "FIELD_LIMIT_EXCEEDED", id="fragment-fan-out"),
    pytest.param(
        "{ " + " ".join("people { name }" for _ in range(60)) + " }",
        "FIELD_LIMIT_EXCEEDED",
        id="wide",
    ),
    pytest.param("{ hello " + "hello " * 400 + "}", "TOKEN_LIMIT_EXCEEDED", id="token-flood"),
    pytest.param(
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "GRAPHQL_VALIDATION_FAILED",
        id="fragment-cycle",
    ),
    pytest.param("{ ...Missing }", "GRAPHQL_VALIDATION_FAILED", id="unknown-fragment"),
]


@pytest.mark.parametrize(("query", "code"), HOSTILE)
async def test_hostile_queries_are_refused_before_any_resolver_runs(query: str, code: str) -> None:
    result, calls = await run(SCHEMA, query)
    assert code in codes(result)
    assert result.data is None
    assert calls == []


async def test_queries_within_every_limit_run() -> None:
    result, calls = await run(SCHEMA, _nested(3))
    assert result.errors is None
    assert calls[0] == "people"


def test_expanded_field_count_reuses_fragments_and_skips_cycles() -> None:
    assert expanded_field_count(parse(_fragment_fan_out(40))) == 2**40
    cycle = parse("{ ...A } fragment A on Query { hello ...B } fragment B on Query { ...A }")
    assert expanded_field_count(cycle) == 1
    assert expanded_field_count(parse("{ ...Missing }")) is None


async def test_introspection_is_refused_when_disabled() -> None:
    result, _ = await run(hardened(introspection=False), "{ __schema { types { name } } }")
    assert codes(result)[0] == "INTROSPECTION_DISABLED"
    result, _ = await run(hardened(), "{ __schema { queryType { name } } }")
    assert result.errors is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_depth", 0), ("max_aliases", -1), ("max_cost", 0), ("cost_mode", "maybe")],
)
def test_settings_refuse_values_out_of_range(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        HardeningSettings(**{field: value})


def test_every_request_gets_the_same_rule_classes() -> None:
    schema = hardened()
    first = [factory() for factory in schema.extensions]
    second = [factory() for factory in schema.extensions]
    rules = [getattr(e, "validation_rules", None) for e in first]
    assert rules == [getattr(e, "validation_rules", None) for e in second]


class _CountingValidate:
    def __init__(self, validate: object) -> None:
        self.validate = validate
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return self.validate(*args, **kwargs)  # type: ignore[operator]


async def test_validation_cache_hits_with_every_limit_on(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _CountingValidate(strawberry_schema.validate)
    monkeypatch.setattr(strawberry_schema, "validate", counting)
    schema = hardened(introspection=False, suggestions=False, cost_mode="enforce")
    query = f"query Q{uuid.uuid4().hex} {{ people(first: 2) {{ name }} }}"
    for _ in range(3):
        result, _ = await run(schema, query)
        assert result.errors is None
    assert counting.calls == 1


async def test_a_limiter_built_per_request_misses_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pitfall the pre-built rules avoid, kept here so the test above can fail."""
    counting = _CountingValidate(strawberry_schema.validate)
    monkeypatch.setattr(strawberry_schema, "validate", counting)
    extensions = [*hardened().extensions, lambda: QueryDepthLimiter(max_depth=10)]
    schema = toy_schema(extensions)
    query = f"query Q{uuid.uuid4().hex} {{ hello }}"
    for _ in range(3):
        await run(schema, query)
    assert counting.calls == 3
