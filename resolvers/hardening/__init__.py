"""GraphQL hardening: limits, cost analysis, error masking and trusted documents."""

from resolvers.hardening.cost import COST_LIMIT_EXCEEDED, CostLimiter, CostModel, operation_cost
from resolvers.hardening.limits import (
    ALIAS_LIMIT_EXCEEDED,
    COST_MODES,
    DEPTH_LIMIT_EXCEEDED,
    FIELD_LIMIT_EXCEEDED,
    INTROSPECTION_DISABLED,
    TOKEN_LIMIT_EXCEEDED,
    CostMode,
    HardeningSettings,
    SecurityRules,
    expanded_field_count,
    validation_rules,
)
from resolvers.hardening.masking import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL,
    MaskInternalErrors,
    should_mask_error,
)
from resolvers.hardening.stack import ExtensionFactory, Hardening
from resolvers.hardening.trusted import (
    DocumentRequest,
    TrustedDocuments,
    TrustedManifestError,
    document_hash,
)

__all__ = [
    "ALIAS_LIMIT_EXCEEDED",
    "BAD_USER_INPUT",
    "COST_LIMIT_EXCEEDED",
    "COST_MODES",
    "DEPTH_LIMIT_EXCEEDED",
    "FIELD_LIMIT_EXCEEDED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTERNAL",
    "INTROSPECTION_DISABLED",
    "TOKEN_LIMIT_EXCEEDED",
    "CostLimiter",
    "CostMode",
    "CostModel",
    "DocumentRequest",
    "ExtensionFactory",
    "Hardening",
    "HardeningSettings",
    "MaskInternalErrors",
    "SecurityRules",
    "TrustedDocuments",
    "TrustedManifestError",
    "document_hash",
    "expanded_field_count",
    "operation_cost",
    "should_mask_error",
    "validation_rules",
]
