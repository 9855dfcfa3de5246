"""Is a posted ``birthday`` event dated on the member's birthday? Seed 000 (积分活动方案): "生日积分:会员生日当天获得
额外积分奖励" — the bonus is for the birthday itself, so a birthday event from outside (``weixi events post``, the
API, the console's upload: the :mod:`weixi.ledger.posting` time rules, when the Book has a ``today``) on any other
day is refused, and so is one for a member whose archive holds no birthday.

Whether a day is a member's birthday depends on what the ledger cannot see from where it sits: the member archive
(solar birthday, lunar birthday) and the operations plan (``care: birthday: lunar:``: the lunar birthday, when the
member gave one, instead of the solar one — the same rule the care run's birthday trigger uses). The ledger sits
below both (import-linter's ``business-layers``), so it asks a *keeper* of the package that knows them, found the
way :mod:`weixi.plans.kinds` finds plan kinds: :data:`BUILT_IN` names the module whose ``refusal`` is the built-in
keeper (:mod:`weixi.operations.birthday_keeper`), imported by name on first use; :func:`register` puts another in
its place (a test's). Pure itself: no I/O here (the keeper reads the archive).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date

from weixi.errors import Problem

__all__ = ["BUILT_IN", "Keeper", "refusal", "register"]

BUILT_IN = "weixi.operations.birthday_keeper"  # its ``refusal`` is the keeper

Keeper = Callable[[str, date], "Problem | None"]  # (member id, day) -> why the day is not the birthday, or None

_keeper: list[Keeper] = []  # a keeper put in place of the built-in one (at most one)


def register(keeper: Keeper | None) -> Keeper | None:
    """Make ``keeper`` the one the ledger asks (None: back to the built-in one); returns the one it replaces."""
    before = _keeper[0] if _keeper else None
    _keeper.clear()
    if keeper is not None:
        _keeper.append(keeper)
    return before


def refusal(member_id: str, day: date) -> Problem | None:
    """Why a birthday event of ``member_id`` dated ``day`` is refused (``not_birthday``, ``birthday_unknown``, ...),
    or None when ``day`` is the member's birthday."""
    keeper = _keeper[0] if _keeper else importlib.import_module(BUILT_IN).refusal
    return keeper(member_id, day)
