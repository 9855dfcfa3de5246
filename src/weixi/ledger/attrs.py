"""Limits on an event's free-form ``attrs`` object (bounded depth, key count and size).

``attrs`` arrives from the API and from event files and travels with the event: through validation, to the
group-commit writer (pickled, when the writer is a process of its own), into the journal as JSON. A value nested
hundreds of levels deep fails on the way (``RecursionError``), and a huge one costs every step; real attrs are a
few flat keys (``service_type``, ``merchant``, ``score``). Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from weixi.errors import Problem

MAX_DEPTH = 8  # {"a": {"b": 1}} is 2 levels; lists count as levels too
MAX_KEYS = 100  # keys of every object inside, counted together
MAX_BYTES = 8 * 1024  # the JSON text (UTF-8)


def attrs_problem(value: Any) -> Problem | None:
    """Why ``value`` (a decoded ``attrs`` object) is refused (a coded problem), or None when it is within the limits. Walks
    without recursion and stops at the first limit passed, so any depth is safe to check."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
            keys += len(item)
            if keys > MAX_KEYS:
                return Problem("attrs_too_many_keys", {"max": MAX_KEYS})
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if children and depth >= MAX_DEPTH and any(isinstance(c, (dict, list, tuple)) for c in children):
            return Problem("attrs_too_deep", {"max": MAX_DEPTH})
        stack.extend((c, depth + 1) for c in children)
    size = len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return Problem("attrs_too_large", {"max": MAX_BYTES})
    return None


def text_problem(text: str) -> Problem | None:
    """The size check of attrs written as JSON text (event files), before it is decoded."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return Problem("attrs_too_large", {"max": MAX_BYTES})
    return None
