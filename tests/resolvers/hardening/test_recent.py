"""The document caches keep a bounded number of results and drop the least recently used."""

from resolvers.hardening.recent import Recent


def test_a_value_is_made_once_per_key() -> None:
    made: list[str] = []
    recent: Recent[str, int] = Recent(maxsize=4)
    for _ in range(3):
        assert recent.get("query", lambda: made.append("query") or 7) == 7
    assert made == ["query"]


def test_the_least_recently_used_key_goes_first() -> None:
    made: list[str] = []
    recent: Recent[str, str] = Recent(maxsize=2)

    def make(key: str) -> str:
        made.append(key)
        return key

    recent.get("a", lambda: make("a"))
    recent.get("b", lambda: make("b"))
    recent.get("a", lambda: make("a"))  # a is now the most recent
    recent.get("c", lambda: make("c"))  # evicts b
    recent.get("a", lambda: make("a"))
    recent.get("b", lambda: make("b"))
    assert made == ["a", "b", "c", "b"]
