"""The ledger's birthday keeper (:mod:`weixi.ledger.birthday_check`): is a day the member's birthday?

Seed 000 (积分活动方案): "生日积分:会员生日当天获得额外积分奖励". The ledger asks here for each ``birthday`` event from
outside (``weixi events post``, the API, the console's upload). The answer is the care run's own rule
(:func:`weixi.operations.care.keeps_birthday`): the member's archive row (:func:`weixi.adapters.archive.members_lookup`
in the data directory, ``WEIXI_DATA``) gives the solar birthday and the lunar one, and the operations plan
(``WEIXI_OPS_PLAN`` or the packaged one; ``care: birthday: lunar:``) says whether a lunar birthday, when given, is
kept instead. A 29 February birthday is kept on 28 February in other years; a lunar 30th on the 29th of a short month.

Refusals: ``not_birthday`` (the day is not the birthday), ``birthday_unknown`` (the archive has no birthday for the
member, or no row), ``operations_plan_invalid`` (the plan cannot say which birthday counts).
"""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path

from weixi import settings
from weixi.adapters import archive
from weixi.errors import Problem, Where
from weixi.operations import care
from weixi.operations.plan import DEFAULT, load_operations_plan

_plans: dict[tuple[str, int], tuple[bool | None, str]] = {}  # (file, mtime) -> (lunar rule or None, errors)
_lock = threading.Lock()


def refusal(member_id: str, day: date) -> Problem | None:
    """Why ``day`` is not ``member_id``'s birthday (a coded problem), or None when it is."""
    lunar, errors = _lunar_rule()
    if lunar is None:
        return Problem("operations_plan_invalid", {"errors": errors})
    row = archive.members_lookup(archive.data_dir(), member_id) or {}
    birthday, lunar_birthday = row.get("birthday"), (row.get("lunar_birthday") or "").strip()
    if birthday is None and not (lunar and lunar_birthday):
        return Problem("birthday_unknown", {"member": member_id})
    if care.keeps_birthday(day, birthday, lunar_birthday, lunar):
        return None
    return Problem("not_birthday", {"day": day}, Where(field="occurred_at"))


def _lunar_rule() -> tuple[bool | None, str]:
    """The plan's ``lunar`` switch (None when the plan has errors, with them), read once per version of the file."""
    filename = str(settings.OPS_PLAN.raw() or DEFAULT)
    try:
        key = (filename, os.stat(filename).st_mtime_ns)
    except OSError:
        key = (filename, -1)
    with _lock:
        found = _plans.get(key)
    if found is not None:
        return found
    plan, diagnostics = load_operations_plan(Path(filename))
    found = (
        (plan.care.lunar_birthdays, "")
        if plan is not None
        else (None, "\n".join(d.format() for d in diagnostics if d.is_error))
    )
    with _lock:
        _plans.clear()  # one plan file in use at a time: keep the newest reading only
        _plans[key] = found
    return found
