"""What travels between instances: a topic and a few short strings, as one JSON object.

Messages are hints, never the truth: an instance that hears one reads what it names from the
database, or only drops cached entries. So a message carries names (an invoice id, a tax code,
a cache scope), never records, and one that cannot be read is dropped rather than trusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

VERSION = 1
MAX_BYTES = 2048
"""The longest message read; names fit many times over, so anything longer is not ours."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message: the instance that sent it, its topic and its data (text values only)."""

    origin: str
    topic: str
    data: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        body = {"v": VERSION, "origin": self.origin, "topic": self.topic, "data": dict(self.data)}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> Envelope | None:
        """The envelope in ``raw``; None for anything else (too long, not JSON, not ours)."""
        if len(raw) > MAX_BYTES:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("v") != VERSION:
            return None
        origin, topic, data = body.get("origin"), body.get("topic"), body.get("data")
        if not (isinstance(origin, str) and isinstance(topic, str) and isinstance(data, dict)):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            return None
        return cls(origin, topic, data)
