"""The document caches keep a bounded number of results and drop the least recently used."""

from integrations.recent import Recent


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


def test_a_value_kept_is_found_until_it_is_the_least_recently_used() -> None:
    recent: Recent[str, str] = Recent(maxsize=2)
    assert recent.find("a") is None
    recent.keep("a", "A")
    recent.keep("b", "B")
    assert recent.find("a") == "A"  # a is now the most recent
    recent.keep("c", "C")  # evicts b
    assert (recent.find("a"), recent.find("b"), recent.find("c")) == ("A", None, "C")
