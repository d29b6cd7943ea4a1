"""Static cost analysis: what an operation could cost, computed before it runs.

Each field costs its weight (1 unless ``field_weights`` says otherwise for "Type.field").
A list field multiplies the cost of its selection by its ``first``/``last``/``limit``
argument, or by ``default_list_size`` when none is given. A connection field (not a list
itself, but with a slicing argument) passes that size to the list fields below it, so
``invoices(first: 50) { edges { node { … } } }`` counts 50 nodes. Fields under an
interface or union in several fragments are summed, an upper bound. Fragment spreads are
costed once per (fragment, size) and never re-entered, so neither a fragment cycle nor a
deep fan-out of fragments makes the walk itself expensive.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from integrations.recent import Recent
from resolvers.hardening.limits import CostMode, HardeningSettings

COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"


@dataclass(frozen=True)
class CostModel:
    """How to weigh fields and size lists; see the module docstring."""

    default_list_size: int = 10
    weights: Mapping[str, int] | None = None
    slicing_arguments: tuple[str, ...] = ("first", "last", "limit")

    @classmethod
    def from_settings(cls, settings: HardeningSettings) -> CostModel:
        return cls(
            default_list_size=settings.default_list_size,
            weights=settings.field_weights,
            slicing_arguments=settings.slicing_arguments,
        )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    model: CostModel,
) -> int:
    """The static cost of the named operation, or 0 when it cannot be picked out."""
    operation = get_operation_ast(document, operation_name)
    root = None if operation is None else schema.get_root_type(operation.operation)
    if operation is None or root is None:
        return 0
    walk = _Walk(schema, document, operation, variables or {}, model)
    return walk.selections(operation.selection_set, root, None, frozenset())


CostKey = tuple[GraphQLSchema, str, str | None, tuple[tuple[str, int], ...]]


class OperationCosts:
    """The cost of each operation, computed on its first run and kept (least recently used go
    first). A cost depends on the schema, the document, the operation picked and the integer
    variables (the only ones a slicing argument reads), which together make the key."""

    def __init__(self, model: CostModel, *, maxsize: int) -> None:
        self.model = model
        self._costs: Recent[CostKey, int] = Recent(maxsize)

    def of(self, context: ExecutionContext, document: DocumentNode) -> int:
        schema = context.schema._schema
        variables = context.variables or {}
        numbers = tuple(
            sorted((name, value) for name, value in variables.items() if _is_integer(value))
        )
        key = (schema, context.query or "", context.operation_name, numbers)
        return self._costs.get(
            key,
            lambda: operation_cost(schema, document, context.operation_name, variables, self.model),
        )


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CostLimiter(SchemaExtension):
    """Measures each operation's cost and reports it in ``extensions.cost`` ("measure"), or
    refuses operations above the limit with COST_LIMIT_EXCEEDED before any resolver runs,
    the cost in the error's extensions ("enforce").

    Runs as execution starts, since ``first: $n`` needs the request's variables::

        costs = OperationCosts(CostModel(), maxsize=1024)
        extensions=[partial(CostLimiter, costs, max_cost=5000, mode="enforce")]
    """

    def __init__(self, costs: OperationCosts, *, max_cost: int, mode: CostMode) -> None:
        self.costs = costs
        self.max_cost = max_cost
        self.mode = mode
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.cost = self.costs.of(context, context.graphql_document)
            if self.mode == "enforce" and self.cost > self.max_cost:
                context.result = GraphQLExecutionResult(data=None, errors=[self._refusal()])
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None or self.mode != "measure":
            return {}
        return {"cost": {"requested": self.cost, "limit": self.max_cost, "mode": self.mode}}

    def _refusal(self) -> GraphQLError:
        return GraphQLError(
            f"Operation cost {self.cost} exceeds the limit of {self.max_cost}",
            extensions={
                "code": COST_LIMIT_EXCEEDED,
                "cost": self.cost,
                "limit": self.max_cost,
                "hint": "Ask for fewer items (first/limit) or fewer nested lists.",
            },
        )


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        model: CostModel,
    ) -> None:
        self.schema = schema
        self.model = model
        self.weights = model.weights or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and isinstance(definition.default_value, IntValueNode):
                self.variables[name] = int(definition.default_value.value)
        self.fragment_costs: dict[tuple[str, int | None], int] = {}

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        size: int | None,
        entered: frozenset[str],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, size, entered)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.selections(selection.selection_set, target, size, entered)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, size, entered)
        return total

    def spread(self, name: str, size: int | None, entered: frozenset[str]) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in entered:
            return 0
        key = (name, size)
        if key not in self.fragment_costs:
            target = self.schema.get_type(fragment.type_condition.name.value)
            self.fragment_costs[key] = (
                0
                if target is None
                else self.selections(fragment.selection_set, target, size, entered | {name})
            )
        return self.fragment_costs[key]

    def field(
        self, node: FieldNode, parent: GraphQLNamedType, size: int | None, entered: frozenset[str]
    ) -> int:
        name = node.name.value
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            # Meta fields (__typename, __schema) and fields validation will refuse anyway.
            return 0
        weight = self.weights.get(f"{parent.name}.{name}", 1)
        if node.selection_set is None:
            return weight
        child = get_named_type(definition.type)
        sliced = self.slice_size(node)
        if is_list_type(get_nullable_type(definition.type)):
            count = sliced if sliced is not None else size
            count = self.model.default_list_size if count is None else count
            return weight + count * self.selections(node.selection_set, child, None, entered)
        return weight + self.selections(node.selection_set, child, sliced, entered)

    def slice_size(self, node: FieldNode) -> int | None:
        sizes = [
            self.int_value(argument.value)
            for argument in node.arguments or ()
            if argument.name.value in self.model.slicing_arguments
        ]
        known = [size for size in sizes if size is not None]
        return max(known) if known else None

    def int_value(self, value: ValueNode) -> int | None:
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            if _is_integer(given):
                return max(given, 0)
        return None
