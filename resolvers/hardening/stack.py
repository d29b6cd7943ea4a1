"""The hardening extensions for one process, assembled once from ``HardeningSettings``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from graphql import GraphQLError, GraphQLSchema, ValidationRule
from strawberry.extensions import MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from integrations.recent import Recent
from resolvers.hardening.cost import CostLimiter, CostModel, OperationCosts
from resolvers.hardening.limits import HardeningSettings, SecurityRules, validation_rules
from resolvers.hardening.masking import MaskInternalErrors
from resolvers.hardening.trusted import DocumentRequest, TrustedDocuments

ExtensionFactory = Callable[[], SchemaExtension]


class Hardening:
    """Limits, cost analysis, masking and trusted documents, built once at start.

    Pass ``extensions`` to ``strawberry.Schema`` (they are factories, so each request gets
    fresh extension instances around shared, pre-built rules and caches), and the same
    object to the GraphQL route, which checks that the schema carries them::

        hardening = Hardening(HardeningSettings(max_depth=8), TrustedDocuments.from_manifest(p))
        schema = strawberry.Schema(Query, extensions=[*hardening.extensions, Audit])
    """

    def __init__(
        self, settings: HardeningSettings, trusted: TrustedDocuments | None = None
    ) -> None:
        self.settings = settings
        self.trusted = trusted or TrustedDocuments()
        # Bounded, and large enough that the published documents never evict each other.
        self.cache_size = settings.cache_size + len(self.trusted)
        self.extensions: tuple[ExtensionFactory, ...] = (
            partial(ErrorReportingParserCache, maxsize=self.cache_size),
            partial(TextValidationCache, ValidationResults(self.cache_size)),
            partial(SecurityRules, validation_rules(settings)),
            partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
            *self._cost(),
            partial(MaskInternalErrors, suggestions=settings.suggestions),
        )

    def requires_trusted(self, role: str | None) -> bool:
        return role in self.settings.trusted_documents_required_for_roles

    def document_for(self, request: DocumentRequest, role: str | None) -> str | None:
        """The text to run for ``request`` from a principal with ``role``; see trusted.py."""
        return self.trusted.resolve(request, trusted_only=self.requires_trusted(role))

    def _cost(self) -> tuple[ExtensionFactory, ...]:
        if self.settings.cost_mode == "off":
            return ()
        limiter = partial(
            CostLimiter,
            OperationCosts(CostModel.from_settings(self.settings), maxsize=self.cache_size),
            max_cost=self.settings.max_cost,
            mode=self.settings.cost_mode,
        )
        return (limiter,)


class ErrorReportingParserCache(ParserCache):
    """``ParserCache`` that leaves a failed parse to strawberry's own parse step.

    The stock cache raises syntax errors (the token limit's among them) from inside its
    hook, which bypasses every extension's post-processing, masking and codes included.
    Failed parses are never cached, so parsing them once more costs what it did the first
    time, bounded by the token limit.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


ValidationKey = tuple[GraphQLSchema, str, tuple[type[ValidationRule], ...]]


class ValidationResults:
    """Validation errors per document text, schema and rules; the least recently used go first."""

    def __init__(self, maxsize: int) -> None:
        self._errors: Recent[ValidationKey, list[GraphQLError]] = Recent(maxsize)

    def of(self, context: ExecutionContext) -> list[GraphQLError]:
        """The errors of validating ``context``'s document, validated on its text's first use."""
        schema = context.schema._schema
        document = context.graphql_document
        if document is None:
            raise ValueError("validation needs the parsed document")
        rules = tuple(context.validation_rules)
        key = (schema, context.query or "", rules)
        return self._errors.get(key, lambda: validate_document(schema, document, rules))


class TextValidationCache(SchemaExtension):
    """strawberry's ``ValidationCache`` keyed by the document's text instead of its tree.

    The stock cache hashes the parsed document, which graphql-core does by walking every node,
    on every request. The parser cache maps one text to one tree, so the text names the same
    document, and a string's hash is computed once.
    """

    def __init__(self, results: ValidationResults) -> None:
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self.results.of(context)
        yield
