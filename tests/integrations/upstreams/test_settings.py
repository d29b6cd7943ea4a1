from __future__ import annotations

import pytest

from integrations.upstreams import UpstreamSettings


def test_api_key_stays_out_of_repr() -> None:
    settings = UpstreamSettings("https://agency.example/", api_key="s3cret")
    assert "s3cret" not in repr(settings)
    assert settings.base_url == "https://agency.example"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        pytest.param({"base_url": "agency.example"}, "base_url", id="no-scheme"),
        pytest.param({"total_timeout": 0}, "total_timeout", id="zero-timeout"),
        pytest.param({"attempts": 0}, "attempts", id="no-attempts"),
        pytest.param({"retry_budget_ratio": -0.1}, "retry_budget_ratio", id="negative-ratio"),
        pytest.param({"cache_max_entries": -1}, "cache_max_entries", id="negative-cache"),
    ],
)
def test_bad_values_name_the_setting(overrides: dict[str, object], named: str) -> None:
    arguments: dict[str, object] = {"base_url": "http://agency.example", **overrides}
    with pytest.raises(ValueError, match=named):
        UpstreamSettings(**arguments)  # type: ignore[arg-type]
