"""A closed month's summary as the CLI, the API and the console show it."""

from __future__ import annotations

from weixi.close import store


def star_event_counts(data_dir, month: str) -> dict[str, int]:
    """``{"upgraded": n, "downgraded": n}``: the month's star-level events (``DATA/close/star_events``, only the
    kinds that happened), read from the month's files; empty for a month without them."""
    table = store.read(data_dir, "star_events", month)
    if table is None or table.num_rows == 0:
        return {}
    counts = table.group_by("event").aggregate([("event", "count")]).to_pylist()
    return {str(r["event"]): int(r["event_count"]) for r in sorted(counts, key=lambda r: str(r["event"])) if r["event"]}


def with_star_events(data_dir, month: str, summary: dict | None) -> dict | None:
    """A close summary with its month's star-level event counts: those the close kept, else (a close of an earlier
    release) counted from the month's files."""
    if not summary or "star_events" in summary:
        return summary
    return {**summary, "star_events": star_event_counts(data_dir, month)}
