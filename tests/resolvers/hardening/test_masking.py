from __future__ import annotations

from tests.resolvers.hardening.support import codes, hardened, run

SCHEMA = hardened()


async def test_internal_errors_are_hidden_and_coded() -> None:
    result, _ = await run(SCHEMA, "{ broken }")
    (error,) = result.errors
    assert error.message == "Internal error"
    assert error.extensions == {"code": "INTERNAL"}
    assert "hunter2" not in str(error.formatted)
    assert error.path == ["broken"]


async def test_public_errors_keep_message_and_code() -> None:
    result, _ = await run(SCHEMA, "{ refused hello }")
    assert result.data == {"refused": None, "hello": "world"}
    (error,) = result.errors
    assert error.message == "Consent has expired"
    assert error.extensions["code"] == "CONSENT_EXPIRED"


async def test_upstream_errors_name_their_service() -> None:
    result, _ = await run(SCHEMA, "{ slow }")
    (error,) = result.errors
    assert error.extensions == {"code": "UPSTREAM_TIMEOUT", "service": "tax"}
    assert error.message == "tax: no answer within 2.0 s"


async def test_parse_and_validation_errors_keep_their_message_with_a_code() -> None:
    result, _ = await run(SCHEMA, "{ hello")
    assert codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert "Syntax Error" in result.errors[0].message
    result, _ = await run(SCHEMA, "{ helo }")
    assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert (
        result.errors[0].message
        == "Cannot query field 'helo' on type 'Query'. Did you mean 'hello'?"
    )


async def test_suggestions_are_cut_when_disabled() -> None:
    result, _ = await run(hardened(suggestions=False), "{ helo }")
    assert result.errors[0].message == "Cannot query field 'helo' on type 'Query'."
    result, _ = await run(hardened(suggestions=False), "{ people(frist: 1) { name } }")
    assert "Did you mean" not in result.errors[0].message


async def test_suggestions_do_not_leak_through_the_validation_cache() -> None:
    query = "{ hell }"
    await run(hardened(), query)
    result, _ = await run(hardened(suggestions=False), query)
    assert "Did you mean" not in result.errors[0].message
    result, _ = await run(hardened(), query)
    assert "Did you mean" in result.errors[0].message


async def test_bad_variables_are_user_input_errors() -> None:
    query = "query($n: Int!) { people(first: $n) { name } }"
    result, calls = await run(SCHEMA, query, variable_values={"n": "many"})
    assert codes(result) == ["BAD_USER_INPUT"]
    assert "Int cannot represent" in result.errors[0].message
    assert calls == []


async def test_subscription_errors_are_masked_too() -> None:
    stream = await SCHEMA.subscribe("subscription { ticks(count: 1) }", context_value=None)
    results = [item async for item in stream]
    assert results[0].errors[0].extensions == {"code": "INTERNAL"}
