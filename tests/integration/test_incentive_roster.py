"""One staff roster and one role vocabulary (issue 19 §12): the operations roster (``weixi staff load``) is the
incentive roster when a month has none of its own; its role codes map to the incentive plans' roles (``lead`` is
the 组长 ``team_leader``), and it accepts the incentive roles, so one list of staff ids serves operations,
incentives and logins (a login's username is its staff id)."""

from __future__ import annotations

import csv
import shutil

from tests.integration.test_incentive_pay_statement import EXAMPLES
from weixi.adapters.sql import execute
from weixi.incentives import reports
from weixi.incentives.roles import ALIASES, ROLES, canonical
from weixi.names import display
from weixi.operations.staff import load_staff


def test_every_role_code_has_one_name_and_the_aliases_point_into_the_vocabulary():
    assert all(target in ROLES for target in ALIASES.values())
    assert canonical("lead") == "team_leader" and canonical("clerk") == "clerk"
    for code in (*ROLES, *ALIASES):
        assert display("staff_role", code, "zh_CN") != code


def test_the_operations_roster_is_the_incentive_roster_of_a_month_without_one(engine, tmp_path):
    roster = tmp_path / "staff.csv"
    with open(roster, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["staff_id", "name", "role", "team"])
        w.writerows(
            [["S1", "李强", "lead", "维修一组"], ["S2", "王丽", "clerk", "前台"], ["S3", "赵敏", "manager", "T1"]]
        )
    assert load_staff(engine, roster)["loaded"] == 3  # operations and incentive roles in one file
    month = tmp_path / "data" / "incentives" / "2016-01"
    month.mkdir(parents=True)
    shutil.copy(EXAMPLES / "maintenance-scorecard.yaml", month)
    with open(month / "scores.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["staff_id", "metric", "score"])
        w.writerows([["S1", m, 9] for m in ("attitude", "skill", "compliance", "cooperation")])
    result = reports.recompute(tmp_path / "data", "2016-01", None, engine).to_json()["staff"]
    # the operations roster's 组长 ("lead") is paid as the plan's team_leader: "组长优500元"
    assert result["S1"]["role"] == "team_leader" and result["S1"]["bonus_yuan"] == "500.00"
    assert set(result) == {"S1", "S2", "S3"}  # everyone on the one roster has a statement
    people = reports.roster(engine, tmp_path / "data", "2016-01")
    assert people["S3"]["role"] == "customer_manager" and people["S1"]["name"] == "李强"


def test_a_months_result_is_kept_until_what_it_is_computed_from_changes(engine, tmp_path, monkeypatch):
    """The publish, diff and approval pages recompute the month at every view: the result is kept per process by
    its inputs' contents, the roster and the recorded suspensions, and computed again when any of them changes. Each
    caller gets its own copy."""
    from weixi.incentives import service as svc

    computed = []
    real = svc.compute_month

    def counting(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(svc, "compute_month", counting)
    roster = tmp_path / "staff.csv"
    roster.write_text("staff_id,name,role,team\nS1,李强,lead,维修一组\n", encoding="utf-8")
    load_staff(engine, roster)
    data = tmp_path / "data"
    month = data / "incentives" / "2016-01"
    month.mkdir(parents=True)
    shutil.copy(EXAMPLES / "maintenance-scorecard.yaml", month)
    scores = month / "scores.csv"
    scores.write_text("staff_id,metric,score\n" + "".join(f"S1,{m},9\n" for m in ("attitude", "skill")), "utf-8")

    def bonus(expect_computed: int) -> str:
        got = reports.recompute(data, "2016-01", None, engine)
        assert len(computed) == expect_computed
        return got.to_json()["staff"]["S1"]["bonus_yuan"]

    first = bonus(1)
    mine = reports.recompute(data, "2016-01", None, engine)
    mine.staff.clear()  # a caller changing its copy changes nothing kept
    assert bonus(1) == first and len(computed) == 1
    scores.write_text("staff_id,metric,score\n" + "".join(f"S1,{m},3\n" for m in ("attitude", "skill")), "utf-8")
    assert bonus(2) != first  # an input file's content changed
    roster.write_text("staff_id,name,role,team\nS1,李强,clerk,前台\n", encoding="utf-8")
    load_staff(engine, roster)
    bonus(3)  # the operations roster changed
    bonus(3)
    with engine.begin() as conn:  # a recorded suspension of the plan's month (what `weixi incentive suspend` writes)
        execute(
            conn,
            "INSERT INTO incentive_approvals (month, plan, seq, step, decision, actor, actor_role, at, note) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            ["2016-01", "maintenance-scorecard", 1, "director", "suspend", "dir", "director", "2016-02-01", "事故"],
        )
    suspended = reports.recompute(data, "2016-01", None, engine)
    assert len(computed) == 4 and [s["plan"] for s in suspended.suspended] == ["maintenance-scorecard"]
