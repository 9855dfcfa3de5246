"""A plan's pay suspended for a month by a recorded decision (issue 19 §6; seed 003, 维修部激励方案: "根据当月情况总监
可以决定各组或全部门不执行此方案"): who, when and why recorded; the month computes nothing from the plan and says why;
a month computed without the suspension is not published; ``weixi incentives approvals suspend|resume``."""

from __future__ import annotations

import pytest

from tests.e2e.cli_helpers import weixi_json
from tests.integration.test_incentive_approvals import month
from tests.integration.test_incentive_pay_statement import MAINTENANCE, RETENTION
from tests.integration.test_incentive_pay_statement import files as files  # noqa: F401 - the fixture
from weixi.incentives import publication, suspensions
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict, NotVisible

REASON = "发生重大事故（人为故意）"


def test_a_recorded_suspension_stops_the_months_pay_of_the_plan(engine, files):
    plan = svc.load_incentive_plan(MAINTENANCE)
    with pytest.raises(NotVisible):  # "总监可以决定": the team leader cannot
        suspensions.record(engine, "2016-01", plan, "suspend", "李强", "team_leader", REASON)
    state = suspensions.record(engine, "2016-01", plan, "suspend", "张总", "director", REASON)
    assert state["suspended"]["by"] == "张总" and state["next"]["id"] == "judged"  # not a step of the chain
    assert suspensions.in_force(engine, "2016-01") == {"maintenance-scorecard": REASON}
    assert suspensions.in_force(engine, "2016-02") == {}  # each month its own
    unaware = month(files, [RETENTION, MAINTENANCE])  # computed without the recorded suspension
    with pytest.raises(IncentiveConflict) as refused:
        publication.publish(engine, unaware, "admin")
    assert refused.value.code == "incentive_plan_suspended_for_month" and refused.value.params["reason"] == REASON
    result = svc.compute_month(
        [RETENTION, MAINTENANCE], "2016-01", files["orders"], None, files["roster"], scores=files["scores"],
        suspensions=suspensions.in_force(engine, "2016-01"),
    )  # fmt: skip
    assert result.suspended == [{"plan": "maintenance-scorecard", "plan_name": "维修部激励方案", "reason": REASON}]
    assert result.staff["T1"].bonus_yuan == 20  # the prepay order only: no 500 yuan this month
    assert publication.publish(engine, result, "admin")["new"] is True  # nothing of the plan waits for approval


def test_the_cli_suspends_and_resumes_and_publish_applies_it(tmp_path, files):
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine

    db = tmp_path / "s.db"
    schema.upgrade(make_engine(str(db)))
    common = ["--plan", MAINTENANCE, "--month", "2016-01", "--by", "张总", "--role", "director"]
    out = weixi_json("incentives", "approvals", "suspend", *common, "--reason", REASON, db=db)
    assert out["suspended"]["note"] == REASON
    args = ["incentives", "publish", "--month", "2016-01", "--plan", RETENTION, "--plan", MAINTENANCE]
    args += ["--orders", files["orders"], "--roster", files["roster"], "--scores", files["scores"], "--by", "admin"]
    assert weixi_json(*args, db=db)["new"] is True  # computed with the suspension: nothing waits for approval
    assert weixi_json("incentives", "approvals", "resume", *common, db=db)["suspended"] is None
    err = weixi_json("incentives", "approvals", "resume", *common, db=db, expect=1)
    assert err["error"]["code"] == "incentive_plan_not_suspended"
