"""Request budgets per caller: sliding windows in memory or in Redis."""

from integrations.ratelimit.windows import (
    Limit,
    MemoryWindows,
    RateLimitUnavailable,
    RedisWindows,
    Verdict,
    Windows,
)

__all__ = ["Limit", "MemoryWindows", "RateLimitUnavailable", "RedisWindows", "Verdict", "Windows"]
