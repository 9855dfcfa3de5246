"""A kept value is computed once per key, and the least recently used key goes first when the size is passed."""

from __future__ import annotations

from weixi.adapters.kept import Kept


def test_a_key_is_computed_once_and_the_least_recently_used_goes_first():
    made: list[str] = []
    kept = Kept(2)

    def make(key: str):
        return lambda: made.append(key) or key.upper()

    assert kept.get("a", make("a")) == "A" and kept.get("b", make("b")) == "B"
    assert kept.get("a", make("a")) == "A" and made == ["a", "b"]  # kept; "a" is now the most recently used
    kept.get("c", make("c"))  # over the size: "b" goes
    assert kept.get("a", make("a")) == "A" and made == ["a", "b", "c"]
    assert kept.get("b", make("b")) == "B" and made == ["a", "b", "c", "b"]
