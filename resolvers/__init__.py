"""The GraphQL layer: the citizen graph over the agencies, the invoice store and the access log.

The app builds the schema once and a context per request::

    schema = build_schema(extensions=hardening.extensions)
    context = build_context(principal=p, upstreams=u, store=s, audit=a, intake=i)
    result = await schema.execute(query, context_value=context)
"""

from resolvers.context import Context, Info, build_context
from resolvers.schema import SCHEMA_FILE, build_schema, print_schema, write_schema

__all__ = [
    "SCHEMA_FILE",
    "Context",
    "Info",
    "build_context",
    "build_schema",
    "print_schema",
    "write_schema",
]
