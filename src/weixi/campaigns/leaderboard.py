"""Ranks of a leaderboard and the points each rank earns. Pure.

Ties share a rank (standard competition ranking: 1, 2, 2, 4) and every member at a rewarded rank gets that
rank's reward, so two members tied for 10th both get the 10th place reward.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.campaigns.model import Leaderboard


@dataclass(frozen=True)
class Row:
    rank: int
    member_id: str
    points: int
    reward: int


def rank(board: Leaderboard, totals: list[tuple[str, int]]) -> list[Row]:
    """``totals``: (member, points earned in the window); the rows down to rank ``board.top`` (ties included)."""
    ordered = sorted(((m, p) for m, p in totals if p > 0), key=lambda t: (-t[1], t[0]))
    rows, rank_no, previous = [], 0, None
    for position, (member, points) in enumerate(ordered, start=1):
        if points != previous:
            rank_no, previous = position, points
        if rank_no > board.top:
            break
        rows.append(Row(rank_no, member, points, board.reward_for(rank_no)))
    return rows
