"""What happened on a call or visit, the churn-reason taxonomy, and what follows an outcome.

Outcomes: ``reached``, ``unreachable`` (the task stays open until :data:`MAX_ATTEMPTS` tries), ``accepted``
(an offer: creates the retention order the incentive engine reads, credited to the agent, and a follow-up),
``declined`` (with a reason from :data:`REASONS`), ``callback`` (at a time outside the quiet hours: a follow-up
task for that day), ``left`` (the member has already left: the win-back flow).
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.members.taxonomy import CHURN_REASONS
from weixi.operations.errors import OperationsError

OUTCOMES = ("reached", "unreachable", "accepted", "declined", "callback", "left")
MAX_ATTEMPTS = 3
# Outcomes that count as "contact made" for the SLA (an unreachable try does not).
MET = ("reached", "accepted", "declined", "callback", "left", "bound", "sent")

# Churn reasons (code -> Chinese label) from the seeds: seed 002 (VIP客户维系与挽留实施方案) names call forwarding
# while roaming (呼叫转移问题), spam SMS (垃圾短信) and the withheld contract rebate when phone and SIM are separated
# (机卡分离问题); MISSION area 4 adds moving away, competitor offer, price and service quality. The codes are the
# generator's churn_labels codes, so a declined reason and a real leaver's reason compare directly.
REASONS: dict[str, str] = {code: zh for code, zh, _ in CHURN_REASONS} | {"other": "其他(请注明)"}
# The seed's advice for the agent (应对), shown on the work page as the script.
SCRIPTS: dict[str, str] = {
    "roaming_call_forwarding": "建议用户尽量不要呼转到归属地以外的电话上(漫游地无条件呼转收取功能费和0.07元/6秒的长途费)。",
    "spam_sms": "向用户解释有些是公司免费给用户阅读的,并引导用户阅读;实在不愿意用的,帮用户联系厂家取消或屏蔽消息源。",
    "contract_rebate_withheld": "机卡间断性分离(电话没电或借给朋友使用)与彻底分离(手机丢失补卡)分别说明返费处理,上报后回复用户。",
}
# The seed's call and visit guidance (seed 002, 星级权益告知 and 节假日、生日、时令关怀), shown on every task.
CALL_SCRIPT: tuple[str, ...] = (
    "告知客户所享有的星级权益,并主动告知自己的联系方式。",
    "收集客户生日、兴趣爱好、第二联系方式、QQ及微信等;生日日期错误的重新录入,并致歉。",
    "针对客户感兴趣的权益进行解答;对有需求的客户做好业务受理与业务辅导。",
    "遇周末、时令节气、降温避暑等关怀场景,在结束语进行关怀。",
)
# Offer -> incentive business (weixi.incentives BUSINESSES); other offers make an order the engine does not pay.
OFFER_BUSINESS = {
    "phone_for_credit": "phone_for_credit",
    "prepay_credit": "broadband_prepay",
    "fiber_migration": "fiber_migration",
}


class OutcomeError(OperationsError):
    """An outcome that cannot be recorded; nothing was changed."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    reason: str | None = None
    offer_id: str | None = None
    note: str | None = None


def check(outcome: Outcome, task: str | None = None) -> None:
    """Refuse an outcome that cannot be recorded on ``task`` (:class:`OutcomeError`)."""
    if outcome.kind not in OUTCOMES:
        raise OutcomeError("outcome_unknown", task=task, outcome=outcome.kind, outcomes=OUTCOMES)
    if outcome.kind == "declined":
        if not outcome.reason:
            raise OutcomeError("outcome_reason_missing", task=task, reasons=[f"{k} ({v})" for k, v in REASONS.items()])
        if outcome.reason not in REASONS:
            raise OutcomeError("outcome_reason_unknown", task=task, reason=outcome.reason, reasons=list(REASONS))
        if outcome.reason == "other" and not outcome.note:
            raise OutcomeError("outcome_note_missing", task=task)
    elif outcome.reason:
        raise OutcomeError("outcome_reason_not_declined", task=task, outcome=outcome.kind)
    if outcome.kind == "accepted" and not outcome.offer_id:
        raise OutcomeError("outcome_offer_missing", task=task)
