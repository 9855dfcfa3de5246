"""Approval chains of incentive plans (issue 19 §6): a plan's ``approval:`` steps, in order, each decided by the roles
it names, approve the plan's pay of a month before it is published. Referral rewards go 信息员 → 销售总监/零售经理 →
客服部 → 总经理 (seed 003, 转介绍奖励方案); the maintenance bonuses are judged by the 组长/主管 and go to the 总监 (seed
003, 维修部激励方案: "上报总监审核,批准执行").

Every decision is a row of ``incentive_approvals`` (month, plan, step, decision, who, their role, when, note); nothing
is updated or deleted. A step is approved (``approve``) or returned (``return``, with a reason): a return sends the
plan back to its first step, and the chain starts again; the earlier decisions stay in the history. :func:`chain` is
pure: the state of a chain from its decisions.

A plan that awards prizes takes no decision on the month that pays them once the next quarter has started (seed 000:
"奖励将在下季度开始前正式宣布和发放", :mod:`weixi.incentives.deadlines`); the state shows that ``deadline``.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.errors import Where
from weixi.incentives.errors import IncentiveConflict, IncentiveInvalid, NotVisible
from weixi.incentives.model import ApprovalStep, IncentivePlan

DECISIONS = ("approve", "return")


@dataclass(frozen=True)
class Decision:
    step: str
    decision: str
    by: str
    role: str
    at: str
    note: str | None = None

    def to_json(self) -> dict:
        return {"step": self.step, "decision": self.decision, "by": self.by, "role": self.role, "at": self.at,
                "note": self.note}  # fmt: skip


def chain(steps: tuple[ApprovalStep, ...], decisions: list[Decision]) -> dict:
    """The chain's state: each step with the decision that approved it since the last return, the next step (None
    when every step approved), the last return, the month's suspension (if the plan is suspended), and the whole
    history in order."""
    done: dict[str, Decision] = {}
    returned = suspended = None
    for d in decisions:
        if d.decision == "return":
            done, returned = {}, d
        elif d.decision == "approve":
            done[d.step] = d
        elif d.decision in ("suspend", "resume"):  # :mod:`weixi.incentives.suspensions`: not a step of the chain
            suspended = d if d.decision == "suspend" else None
    shown = []
    for s in steps:
        d = done.get(s.id)
        shown.append({"id": s.id, "name": s.name, "roles": list(s.roles), "approved": d.to_json() if d else None})
    nxt = next((s for s in steps if s.id not in done), None)
    return {
        "steps": shown,
        "next": {"id": nxt.id, "name": nxt.name, "roles": list(nxt.roles)} if nxt else None,
        "complete": nxt is None,
        "returned": returned.to_json() if returned else None,
        "suspended": suspended.to_json() if suspended else None,
        "history": [d.to_json() for d in decisions],
    }


def check(plan: IncentivePlan, decisions: list[Decision], step: str, decision: str, role: str, note: str | None):
    """Refuse a decision that is not the next step's, by a role the step does not name, or a return without a
    reason."""
    if not plan.approval:
        raise IncentiveConflict("incentive_approval_no_chain", plan=plan.id)
    if decision not in DECISIONS:
        raise IncentiveInvalid("incentive_approval_bad_decision", Where(field="decision"), decision=decision)
    state = chain(plan.approval, decisions)
    nxt = state["next"]
    if nxt is None:
        raise IncentiveConflict("incentive_approval_complete", plan=plan.id)
    if step != nxt["id"]:
        raise IncentiveConflict("incentive_approval_out_of_order", plan=plan.id, step=step, next_step=nxt["id"])
    if role not in nxt["roles"]:
        raise NotVisible("incentive_approval_wrong_role", step=nxt["name"], staff_role=role, step_roles=nxt["roles"])
    if decision == "return" and not (note and note.strip()):
        raise IncentiveInvalid("incentive_approval_return_needs_reason", Where(field="note"))


def decisions(conn, month: str, plan_id: str) -> list[Decision]:
    from weixi.adapters.sql import execute

    rows = execute(
        conn,
        "SELECT step, decision, actor, actor_role, at, note FROM incentive_approvals WHERE month = ? AND plan = ?"
        " ORDER BY seq",
        [month, plan_id],
    )
    return [Decision(s, d, a, r, str(at), n) for s, d, a, r, at, n in rows]


def state(engine, month: str, plan: IncentivePlan) -> dict:
    """The chain's state (:func:`chain`) with the ``deadline`` of the awards the plan pays this month (or None)."""
    from weixi.incentives.deadlines import award_deadline

    with engine.connect() as conn:
        return {**chain(plan.approval, decisions(conn, month, plan.id)), "deadline": award_deadline(plan, month)}


def decide(
    engine, month: str, plan: IncentivePlan, step: str, decision: str, by: str, role: str, note: str | None = None
) -> dict:
    """Record ``by``'s decision on the plan's next step for ``month``; returns the chain's new state. Refused on
    or after the deadline of the awards the plan pays this month."""
    from weixi.adapters.sql import execute
    from weixi.incentives import deadlines
    from weixi.incentives.service import now

    if not by or not by.strip():
        raise IncentiveInvalid("incentive_decider_missing")
    due = deadlines.award_deadline(plan, month)
    if due is not None:
        deadlines.refuse_late(due, deadlines.today(engine))
    with engine.begin() as conn:
        found = decisions(conn, month, plan.id)
        check(plan, found, step, decision, role, note)
        seq = len(found) + 1  # the primary key (month, plan, seq): a concurrent decision on the same chain fails
        execute(
            conn,
            "INSERT INTO incentive_approvals (month, plan, seq, step, decision, actor, actor_role, at, note)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [month, plan.id, seq, step, decision, by.strip(), role, now(), (note or "").strip() or None],
        )
        return {**chain(plan.approval, decisions(conn, month, plan.id)), "deadline": due}


def require_approved(engine, month: str, chains: dict[str, tuple[ApprovalStep, ...]]) -> None:
    """Refuse to publish a month whose plans' pay is not approved by every step of their chains."""
    with engine.connect() as conn:
        for plan_id, steps in chains.items():
            nxt = chain(steps, decisions(conn, month, plan_id))["next"]
            if nxt is not None:
                raise IncentiveConflict(
                    "incentive_approval_pending", plan=plan_id, month=month, step=nxt["name"], step_roles=nxt["roles"]
                )
