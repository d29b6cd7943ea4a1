"""The schema: root fields from the node modules, our scalars, and the audit extension.

``build_schema`` takes the gateway's hardening extensions; ``AuditReads`` is always added, so
no build of the schema can read a person's data without writing the access log, and so is
``CodeRaisedErrors``, so every refusal carries its code.
``print_schema`` gives the text checked in as ``schema.graphql``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from graphql.execution import ExperimentalIncrementalExecutionResults
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from resolvers import access, citizen, invoices, officer, subscription, taxpayer
from resolvers.access import AuditReads
from resolvers.errors import CodeRaisedErrors, public_extensions
from resolvers.scalars import SCALARS

Extension = type[SchemaExtension] | Callable[[], SchemaExtension]

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


@strawberry.type
class Query:
    me = strawberry.field(resolver=citizen.me)
    citizen = strawberry.field(resolver=citizen.citizen)
    taxpayer = strawberry.field(resolver=taxpayer.taxpayer)
    invoice = strawberry.field(resolver=invoices.invoice)
    invoices = strawberry.field(resolver=officer.invoices)
    invoice_summary = strawberry.field(resolver=officer.invoice_summary)
    person_purchases = strawberry.field(resolver=officer.person_purchases)
    merchant_sales = strawberry.field(resolver=officer.merchant_sales)
    my_data_access_log = strawberry.field(resolver=access.my_data_access_log)


@strawberry.type
class Mutation:
    submit_invoice = strawberry.mutation(resolver=invoices.submit_invoice)
    grant_consent = strawberry.mutation(resolver=access.grant_consent)
    revoke_consent = strawberry.mutation(resolver=access.revoke_consent)


@strawberry.type
class Subscription:
    invoice_accepted = strawberry.subscription(resolver=subscription.invoice_accepted)


class AcyclicExecution(StrawberryGraphQLCoreExecutionContext):
    """Lets what a request made go as soon as its answer is built.

    graphql-core's execution context holds helpers bound to itself: a reference cycle, through
    which everything the request made (its context, data loaders, agency records, field plans;
    some 330 objects) waited for the garbage collector instead of going with the request, and
    cost the collector twice its time under load. Dropping the context's own reference once
    the response is built breaks the cycle; resolvers still holding the helpers keep them.
    """

    def build_response(
        self, data: dict[str, Any] | None
    ) -> ExecutionResult | ExperimentalIncrementalExecutionResults:
        try:
            return super().build_response(data)
        finally:
            vars(self).pop("async_helpers", None)


class GatewaySchema(strawberry.Schema):
    """Logs only the errors nobody meant to raise. Refusals, bad input, agency failures and
    parse or validation errors are answers to the client, not faults of the gateway: logging
    their tracebacks would bury the faults."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        super().process_errors([e for e in errors if is_fault(e)], execution_context)


def is_fault(error: GraphQLError) -> bool:
    original = error.original_error
    return (
        original is not None
        and not isinstance(original, GraphQLError)
        and public_extensions(original) is None
    )


def build_schema(extensions: Iterable[Extension] = ()) -> strawberry.Schema:
    """The gateway's schema with ``extensions`` (classes or zero-argument factories) first."""
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[*extensions, AuditReads, CodeRaisedErrors],
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=AcyclicExecution,
    )


def print_schema() -> str:
    """The SDL of the schema, as checked in at the repository root."""
    return build_schema().as_str() + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> None:
    path.write_text(print_schema(), encoding="utf-8")
