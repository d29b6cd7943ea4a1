"""Settings shapes the tests share."""

from __future__ import annotations

from gateway.config import AGENCIES

PRODUCTION_ENV: dict[str, str] = {
    "GATEWAY_MODE": "production",
    "GATEWAY_UPSTREAM_BACKEND": "agencies",
    **{f"GATEWAY_{agency.upper()}_URL": f"https://{agency}.agency.test" for agency in AGENCIES},
}
"""The least a production configuration names: production mode and the real agencies."""
