"""The table of plan kinds (weixi.plans.kinds): each business package registers the ``kind:`` it checks, and the
plan loader dispatches through the table instead of importing those packages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from weixi.campaigns.model import Campaign
from weixi.incentives.model import IncentivePlan
from weixi.operations.plan import OperationsPlan
from weixi.plans import kinds as plan_kinds
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.kinds import ANY, PlanKind, kinds, register
from weixi.plans.loader import load_plan_text


def test_the_built_in_kinds_register_themselves():
    table = kinds()
    assert table["campaign"].plan_type is Campaign
    assert table["operations"].plan_type is OperationsPlan
    assert table[ANY].plan_type is IncentivePlan  # incentive, scorecard, discipline, ... and unknown kinds
    assert table[ANY].check_together is not None  # two incentive plans in force for one business
    assert "points" not in table  # the points plan is the loader's own


@dataclass(frozen=True)
class Stamp:
    name: str


@pytest.fixture
def stamp_kind(monkeypatch):
    monkeypatch.setattr(plan_kinds, "_KINDS", dict(kinds()))

    def load(node, filename):
        return Stamp(node.get("name").value.value), [Diagnostic(filename, 1, 1, "warning", "plan_points_never_expire")]

    return register(PlanKind(("stamp",), load, Stamp))


def test_a_registered_kind_is_dispatched_by_the_loader(stamp_kind):
    plan, found = load_plan_text("kind: stamp\nname: loyalty stamps\n", "stamps.yaml")
    assert plan == Stamp("loyalty stamps")
    assert [(d.line, d.code) for d in found] == [(1, "plan_points_never_expire")]


def test_a_points_plan_and_an_unknown_kind_are_not_the_registered_kind(stamp_kind):
    plan, _ = load_plan_text("kind: stamps\nname: typo\n", "typo.yaml")  # the incentive checker reports it
    assert not isinstance(plan, Stamp)
