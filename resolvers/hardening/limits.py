"""Field, depth, alias and token limits, and the settings every hardening piece reads.

The limits are graphql-core validation rules (depth and aliases from strawberry's
factories) built once per process by ``validation_rules`` and installed through one
``AddValidationRules`` subclass: a rule class made per request would never hit the
validation cache, whose key includes the rule classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

CostMode = Literal["off", "measure", "enforce"]
COST_MODES: tuple[CostMode, ...] = ("off", "measure", "enforce")

FIELD_LIMIT_EXCEEDED = "FIELD_LIMIT_EXCEEDED"
DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
ALIAS_LIMIT_EXCEEDED = "ALIAS_LIMIT_EXCEEDED"
TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"

# graphql-core's parser words its token-limit error this way and gives it no code of its own.
_TOKEN_LIMIT_WORDING = "tokens. Parsing aborted."


@dataclass(frozen=True)
class HardeningSettings:
    """Limits applied to every GraphQL operation before any resolver runs.

    ``max_fields`` bounds the fields selected once fragments are inlined (wide queries and
    fragments that spread others many times over).

    ``cost_mode`` "measure" reports the cost in ``extensions.cost`` without refusing;
    "enforce" also refuses operations above ``max_cost``. ``field_weights`` maps
    "Type.field" to a weight (default 1). ``cache_size`` bounds the parser and validation
    caches; the trusted-document count is added to it so the published set always fits::

        HardeningSettings(max_depth=8, cost_mode="enforce", max_cost=2000,
                          trusted_documents_required_for_roles=frozenset({"app"}))
    """

    max_depth: int = 10
    max_aliases: int = 15
    max_fields: int = 2000
    max_tokens: int = 2000
    max_cost: int = 5000
    cost_mode: CostMode = "enforce"
    default_list_size: int = 10
    slicing_arguments: tuple[str, ...] = ("first", "last", "limit")
    field_weights: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    introspection: bool = True
    suggestions: bool = True
    trusted_documents_required_for_roles: frozenset[str] = frozenset()
    cache_size: int = 1024

    def __post_init__(self) -> None:
        positive = ("max_depth", "max_fields", "max_tokens", "max_cost", "default_list_size")
        for name in (*positive, "cache_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.max_aliases < 0:
            raise ValueError(f"max_aliases must not be negative, not {self.max_aliases}")
        if self.cost_mode not in COST_MODES:
            raise ValueError(f"cost_mode must be one of {', '.join(COST_MODES)}")
        if any(weight < 0 for weight in self.field_weights.values()):
            raise ValueError("field_weights must not be negative")


def validation_rules(settings: HardeningSettings) -> tuple[type[ValidationRule], ...]:
    """The limit rules for ``settings``; call once per process and reuse the result."""
    rules: list[type[ValidationRule]] = [_operation_limits(settings)]
    if not settings.introspection:
        rules.append(_NoIntrospection)
    return tuple(rules)


class SecurityRules(AddValidationRules):
    """Adds the pre-built limit rules to each operation's validation.

    Use as an extension factory with the tuple from ``validation_rules``, so every
    request hands the validation cache the very same rule classes.
    """

    def __init__(self, rules: tuple[type[ValidationRule], ...]) -> None:
        super().__init__(list(rules))


def is_token_limit_error(error: GraphQLError) -> bool:
    return _TOKEN_LIMIT_WORDING in error.message


class _NoIntrospection(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": INTROSPECTION_DISABLED}
        super().report_error(error)


class _CodingContext:
    """A validation context that stamps one code on every error reported through it."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": self._code}
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _operation_limits(settings: HardeningSettings) -> type[ValidationRule]:
    """One rule for the field, depth and alias limits, fields first.

    strawberry's depth and alias rules walk the document with every fragment spread
    inlined, which takes exponential time on fragments that spread others twice over.
    Counting the inlined fields costs linear time, and the other two only run when that
    count is within ``max_fields``, which also bounds their walk.
    """
    depth = depth_rule(settings.max_depth, None, None)
    aliases = alias_rule(settings.max_aliases)

    class OperationLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fields = expanded_field_count(context.document)
            if fields is None:
                return  # an unknown fragment; KnownFragmentNames reports it
            if fields > settings.max_fields:
                message = f"{fields} fields selected once fragments are expanded. Allowed: "
                context.report_error(
                    GraphQLError(
                        f"{message}{settings.max_fields}",
                        extensions={"code": FIELD_LIMIT_EXCEEDED},
                    )
                )
                return
            depth(cast(ValidationContext, _CodingContext(context, DEPTH_LIMIT_EXCEEDED)))
            aliases(cast(ValidationContext, _CodingContext(context, ALIAS_LIMIT_EXCEEDED)))

    return OperationLimits


def expanded_field_count(document: DocumentNode) -> int | None:
    """Fields the operations select with fragments inlined, or None for an unknown fragment.

    Each fragment is counted once and reused, so the count takes linear time however
    often fragments spread each other; a spread inside its own cycle counts nothing.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counted: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, entered: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set, entered)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, entered)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in fragments:
                    raise _UnknownFragment
                if name not in entered and name not in counted:
                    counted[name] = count(fragments[name].selection_set, entered | {name})
                total += counted.get(name, 0)
        return total

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    try:
        return sum(count(operation.selection_set, frozenset()) for operation in operations)
    except _UnknownFragment:
        return None


class _UnknownFragment(Exception):
    pass
