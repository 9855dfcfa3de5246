"""What a month's run reads from earlier months: contacts from the first day a cap can count (not the whole
quarter), and the loader's rule for rebuilding the task indexes rather than inserting into them."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from weixi.adapters import tasks_load as load
from weixi.operations import monthly_tasks
from weixi.operations.plan import load_operations_plan

PLAN, _ = load_operations_plan(Path(__file__).resolve().parents[3] / "plans" / "examples" / "retention-operations.yaml")


def test_contacts_are_read_from_the_earliest_cap_period_that_holds_a_due_date():
    # the seed's caps: calls-per-week (Monday weeks) and marketing-messages-per-month
    assert {c.per for c in PLAN.caps} == {"week", "month"}
    # Thursday 1 October: its week began on Monday 28 September, before the month did
    assert monthly_tasks.planned_since(PLAN, date(2026, 10, 1)) == date(2026, 9, 28)
    # Wednesday 4 November: the month began before the week
    assert monthly_tasks.planned_since(PLAN, date(2026, 11, 4)) == date(2026, 11, 1)
    quarterly = dataclasses.replace(PLAN, caps=(*PLAN.caps, dataclasses.replace(PLAN.caps[0], per="quarter")))
    assert monthly_tasks.planned_since(quarterly, date(2026, 11, 4)) == date(2026, 10, 1)
    assert monthly_tasks.planned_since(dataclasses.replace(PLAN, caps=()), date(2026, 11, 4)) == date(2026, 11, 4)


def test_indexes_are_rebuilt_only_when_the_new_rows_outnumber_twice_the_table():
    assert load.REBUILD_FACTOR == 2
    assert load.rebuilds_indexes(2_695_174, 0)  # the first month
    assert not load.rebuilds_indexes(2_944_436, 2_695_174)  # the second month at 10M: in place
    assert not load.rebuilds_indexes(200, 100) and load.rebuilds_indexes(201, 100)
