"""Suspending a plan's pay for a month, recorded (issue 19 §6; seed 003, 维修部激励方案: "根据当月情况总监可以决定各组或
全部门不执行此方案"). Beside a plan file's own ``suspended:`` months, the decider of the plan's last approval step (the
维修部's 总监) suspends the plan for a month with a reason, or lifts that suspension; each is a row of
``incentive_approvals`` (decision ``suspend`` / ``resume``, step ``suspension``: who, their role, when, the reason),
never changed. A suspended plan computes no pay that month (:func:`weixi.incentives.service.compute_month`,
``suspensions``) and the statements show the reason; publishing a month computed without a recorded suspension is
refused."""

from __future__ import annotations

from weixi.errors import Where
from weixi.incentives.approvals import Decision, chain, decisions
from weixi.incentives.errors import IncentiveConflict, IncentiveInvalid, NotVisible
from weixi.incentives.model import IncentivePlan

STEP = "suspension"


def check(plan: IncentivePlan, found: list[Decision], decision: str, role: str, reason: str | None) -> None:
    """Refuse a suspension of a plan without an approval chain, by a role its last step does not name, without a
    reason, twice, or the lifting of one that is not in force."""
    if not plan.approval:
        raise IncentiveConflict("incentive_approval_no_chain", plan=plan.id)
    if decision not in ("suspend", "resume"):
        raise IncentiveInvalid("incentive_approval_bad_decision", Where(field="decision"), decision=decision)
    last = plan.approval[-1]
    if role not in last.roles:
        raise NotVisible("incentive_suspension_wrong_role", plan=plan.id, staff_role=role, step_roles=list(last.roles))
    current = chain(plan.approval, found)["suspended"]
    if decision == "suspend":
        if not (reason and reason.strip()):
            raise IncentiveInvalid("incentive_suspension_needs_reason", Where(field="reason"))
        if current is not None:
            raise IncentiveConflict("incentive_plan_already_suspended", plan=plan.id, by=current["by"])
    elif current is None:
        raise IncentiveConflict("incentive_plan_not_suspended", plan=plan.id)


def record(
    engine, month: str, plan: IncentivePlan, decision: str, by: str, role: str, reason: str | None = None
) -> dict:
    """Suspend (``suspend``, with the reason) or lift (``resume``) the plan's pay of ``month``; returns the chain's
    new state (its ``suspended``)."""
    from weixi.adapters.sql import execute
    from weixi.incentives.service import now

    if not by or not by.strip():
        raise IncentiveInvalid("incentive_decider_missing")
    with engine.begin() as conn:
        found = decisions(conn, month, plan.id)
        check(plan, found, decision, role, reason)
        execute(
            conn,
            "INSERT INTO incentive_approvals (month, plan, seq, step, decision, actor, actor_role, at, note)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [month, plan.id, len(found) + 1, STEP, decision, by.strip(), role, now(), (reason or "").strip() or None],
        )
        return chain(plan.approval, decisions(conn, month, plan.id))


def in_force(engine, month: str) -> dict[str, str]:
    """``{plan id: reason}`` of the plans suspended for ``month`` by a recorded decision."""
    from weixi.adapters.sql import execute

    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT plan, decision, note FROM incentive_approvals WHERE month = ? AND decision IN ('suspend', 'resume')"
            " ORDER BY plan, seq",
            [month],
        )
    found: dict[str, str] = {}
    for plan, decision, note in rows:
        if decision == "suspend":
            found[plan] = note or ""
        else:
            found.pop(plan, None)
    return found
