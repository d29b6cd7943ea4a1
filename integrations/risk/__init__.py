"""Risk flags on accepted invoices: leads for tax officers, never rejections."""

from integrations.risk.assessor import RiskAssessor
from integrations.risk.certificates import RevocationSource
from integrations.risk.checks import Check, RiskSettings
from integrations.risk.flags import DESCRIPTIONS, Flag, FlagCode

__all__ = [
    "DESCRIPTIONS",
    "Check",
    "Flag",
    "FlagCode",
    "RevocationSource",
    "RiskAssessor",
    "RiskSettings",
]
