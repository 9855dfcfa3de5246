"""The month's tasks from target lists, tier events, new VIPs and cadence rules, set-based in DuckDB.

Every task has a deterministic id (``month/rule/member[/period]``), so a rerun finds the tasks it already made.
Due dates come from the plan's SLA rules; as a month holds few distinct start dates, they are computed once per
(rule, start) on the working-day calendar (:mod:`weixi.operations.calendar`) and joined in (table ``ops_dates``).
The contact policy (:mod:`weixi.operations.policy`) then removes what it must, each with its rule.

Tables read: ``ops_members`` (member_id, tier, key_account, star_level, join_date), ``ops_assignment`` (members
with a dedicated manager or none for lack of room; anyone not in it is a pool member),
``ops_events`` (member_id, event, from_tier, to_tier, effective_on), ``ops_targets`` (member_id, list, priority,
reason, reason_en, offer_id, offer_name), ``ops_dates`` (rule_id, start, not_before, due_on), ``ops_pool`` (staff_id, team,
open_tasks). Table written: ``ops_candidates`` (every task before the contact policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from weixi.adapters.duck import lit, lit_in
from weixi.names import display
from weixi.operations import calendar
from weixi.operations.plan import KIND_CHANNEL, MESSAGE_KINDS, OperationsPlan, SlaRule

# Base priorities (higher first); target lists carry their own priority (value at risk, fen).
PRIORITY = {
    "will_downgrade": 500_000,
    "upgraded": 400_000,
    "new_vip": 300_000,
    "cadence": 100_000,
    "follow_up": 600_000,
}
COLUMNS = (
    "task_id",
    "month",
    "member_id",
    "kind",
    "source",
    "sla_rule",
    "purpose",
    "reason",
    "offer_id",
    "offer_name",
    "template_id",
    "priority",
    "status",
    "assignee",
    "team",
    "created_on",
    "not_before",
    "due_on",
    "outcome",
    "reason_en",  # the reason in English (``reason``: in Chinese, or as the target list gave it)
)
QUEUE_KINDS = ("retention_call", "care_call", "visit")
EVERY_ZH = {"week": "每周", "month": "每月", "quarter": "每季度"}
EVERY_EN = {"week": "weekly", "month": "monthly", "quarter": "quarterly"}


@dataclass(frozen=True)
class Dates:
    not_before: date
    due_on: date


def rule_dates(rule: SlaRule, start: date, run_date: date) -> dict[str, Dates]:
    """Dates of a rule's tasks for one start date: ``{"task": Dates, "notice": Dates}`` (notice only when the
    rule has one: the message goes out on the first working day from the run date, the call no sooner than
    ``working_days_before`` working days later)."""
    due = calendar.due_date(start, rule.amount, rule.unit)
    first = calendar.add_working_days(max(run_date, start), 0)
    if rule.notice_task:
        call_from = calendar.add_working_days(first, rule.notice_days_before)
        return {"notice": Dates(first, first), "task": Dates(call_from, due)}
    return {"task": Dates(max(run_date, start), due)}


def dates_table(plan: OperationsPlan, starts: dict[str, list[date]], run_date: date) -> list[tuple]:
    """Rows (rule_id, part, start, not_before, due_on) for every rule and distinct start of its trigger."""
    rows = []
    for rule in plan.rules:
        for start in starts.get(rule.on, []):
            for part, d in rule_dates(rule, start, run_date).items():
                rows.append((rule.id, part, start, d.not_before, d.due_on))
    return rows


def _task(rule: SlaRule, part: str) -> tuple[str, str | None, str]:
    """(kind, template, id suffix) of a rule's task or notice."""
    if part == "notice":
        return rule.notice_task, rule.notice_template, rule.id + "-notice"
    return ("bind" if rule.action == "bind" else rule.task), rule.template, rule.id


def _select(
    rule: SlaRule,
    part: str,
    source_sql: str,
    month: str,
    run_date: date,
    priority: str,
    reason: str,
    reason_en: str,
    offer_id: str = "NULL",
    offer_name: str = "NULL",
) -> str:
    kind, template, suffix = _task(rule, part)
    purpose = "service" if kind == "bind" else rule.purpose
    return f"""
SELECT {lit(month)} || '/' || {lit(suffix)} || '/' || src.member_id AS task_id, {lit(month)} AS month,
  src.member_id, {lit(kind)} AS kind, {lit(rule.on)} AS source, {lit(rule.id)} AS sla_rule,
  {lit(purpose)} AS purpose, {reason} AS reason, {offer_id} AS offer_id, {offer_name} AS offer_name,
  {lit(template) if template else "NULL"} AS template_id, CAST({priority} AS BIGINT) AS priority,
  d.not_before, d.due_on, {reason_en} AS reason_en
FROM ({source_sql}) src JOIN ops_dates d ON d.rule_id = {lit(rule.id)} AND d.part = {lit(part)} AND d.start = src.start"""


def _parts(rule: SlaRule) -> list[str]:
    return ["task", "notice"] if rule.notice_task else ["task"]


def candidates_sql(plan: OperationsPlan, month: str, run_date: date) -> str:
    """Every task the plan asks for this month, before the contact policy."""
    selects = []
    run = f"DATE {lit(run_date)}"
    for rule in plan.rules:
        for part in _parts(rule):
            if rule.on in ("upgraded", "will_downgrade"):
                start = "e.effective_on" if rule.on == "upgraded" else run
                label_zh = "晋级" if rule.on == "upgraded" else "将降级"
                label_en = "Upgraded" if rule.on == "upgraded" else "Will downgrade"
                src = (  # only the month's active members: no bind or call for a member who has left
                    f"SELECT e.member_id, {start} AS start, e.from_tier, e.to_tier FROM ops_events e "
                    f"SEMI JOIN ops_members m ON m.member_id = e.member_id WHERE e.event = {lit(rule.on)}"
                )
                reason, reason_en = (
                    f"printf('{label} %s → %s (%s)', src.from_tier, src.to_tier, {lit(rule.on)})"
                    for label in (label_zh, label_en)
                )
                selects.append(_select(rule, part, src, month, run_date, str(PRIORITY[rule.on]), reason, reason_en))
            elif rule.on == "new_vip" and plan.new_vip_tiers:
                src = (
                    f"SELECT m.member_id, m.join_date AS start, m.tier FROM ops_members m WHERE m.tier IN "
                    f"{lit_in(plan.new_vip_tiers)} AND m.join_date BETWEEN DATE {lit(month + '-01')} AND {run}"
                )
                reason = "printf('新入网VIP (%s, %s入网)', src.tier, CAST(src.start AS VARCHAR))"
                reason_en = "printf('New VIP (%s, joined %s)', src.tier, CAST(src.start AS VARCHAR))"
                selects.append(_select(rule, part, src, month, run_date, str(PRIORITY["new_vip"]), reason, reason_en))
            elif rule.on in ("target_list", "winback"):
                cond = "t.list = 'winback'" if rule.on == "winback" else "coalesce(t.list, '') <> 'winback'"
                src = (
                    f"SELECT t.member_id, {run} AS start, t.list, t.priority, t.reason, t.reason_en, t.offer_id, "
                    "t.offer_name "
                    f"FROM ops_targets t WHERE {cond}"
                )
                selects.append(
                    _select(
                        rule,
                        part,
                        src,
                        month,
                        run_date,
                        "coalesce(src.priority, 0)",
                        "coalesce(src.reason, src.list)",
                        "coalesce(src.reason_en, CASE WHEN src.reason IS NULL THEN src.list END)",
                        "src.offer_id",
                        "src.offer_name",
                    )
                )
    selects += _cadence(plan, month)
    if not selects:
        return (
            "SELECT "
            + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in COLUMNS[:11])
            + ", CAST(NULL AS BIGINT) AS priority, CAST(NULL AS DATE) AS not_before, CAST(NULL AS DATE) AS due_on"
            ", CAST(NULL AS VARCHAR) AS reason_en WHERE FALSE"
        )
    return "\nUNION ALL\n".join(selects)


def _monthly_messages(plan: OperationsPlan) -> list[str]:
    return [c.id for c in plan.cadence if c.every == "month" and c.task in MESSAGE_KINDS]


def _cadence(plan: OperationsPlan, month: str) -> list[str]:
    first = date.fromisoformat(month + "-01")
    last = calendar.add_months(first, 1).toordinal() - 1
    last = date.fromordinal(last)
    out = []
    for c in plan.cadence:
        conds = []
        if c.tiers:
            conds.append(f"m.tier IN {lit_in(c.tiers)}")
        if c.key_account:
            conds.append(f"m.key_account IN {lit_in(c.key_account)}")
        if c.star_levels:
            conds.append(f"m.star_level IN ({', '.join(str(s) for s in c.star_levels)})")
        who = " AND ".join(conds) or "TRUE"
        if c.every == "week":
            periods = (
                f"SELECT CAST(d AS DATE) AS p_start, CAST(d AS DATE) + 6 AS p_end FROM range(DATE "
                f"{lit(first)}, DATE {lit(last)} + 1, INTERVAL 1 DAY) t(d) WHERE isodow(d) = 1"
            )
        elif c.every == "month":
            periods = f"SELECT DATE {lit(first)} AS p_start, DATE {lit(last)} AS p_end"
        else:  # quarter: made in the quarter's first month
            if first.month % 3 != 1:
                continue
            q_end = date.fromordinal(calendar.add_months(first, 3).toordinal() - 1)
            periods = f"SELECT DATE {lit(first)} AS p_start, DATE {lit(q_end)} AS p_end"
        template = lit(c.template) if c.template else "NULL"
        # the reason people read: the rule's display name and its period, in Chinese and English
        zh = f"{display('sla_rule', c.id, 'zh_CN')}({EVERY_ZH.get(c.every, c.every)})"
        en = f"{display('sla_rule', c.id, 'en')} ({EVERY_EN.get(c.every, c.every)})"
        out.append(f"""
SELECT {lit(month)} || '/' || {lit(c.id)} || '/' || m.member_id || '/' || strftime(p.p_start, '%Y-%m-%d') AS task_id,
  {lit(month)} AS month, m.member_id, {lit(c.task)} AS kind, 'cadence' AS source, {lit(c.id)} AS sla_rule,
  {lit(c.purpose)} AS purpose, {lit(zh)} AS reason, NULL AS offer_id,
  NULL AS offer_name, {template} AS template_id, CAST({PRIORITY["cadence"]} AS BIGINT) AS priority,
  p.p_start AS not_before, p.p_end AS due_on, {lit(en)} AS reason_en
FROM ops_members m CROSS JOIN ({periods}) p WHERE {who}""")
    return out


def build(con: duckdb.DuckDBPyConnection, plan: OperationsPlan, month: str, run_date: date) -> None:
    """Create ``ops_candidates``: the candidate tasks with channel, assignee and team."""
    channel = (
        "CASE kind " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in KIND_CHANNEL.items()) + " ELSE 'none' END"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ops_raw AS SELECT *, {channel} AS channel FROM "
        f"({candidates_sql(plan, month, run_date)})"
    )
    # "At least one SMS a month": a monthly cadence message is not made for a member who gets one anyway.
    monthly_msgs = _monthly_messages(plan)
    if monthly_msgs:
        con.execute(f"""DELETE FROM ops_raw r WHERE r.sla_rule IN {lit_in(monthly_msgs)} AND EXISTS (
            SELECT 1 FROM ops_raw o WHERE o.member_id = r.member_id AND o.kind = r.kind
              AND o.sla_rule NOT IN {lit_in(monthly_msgs)})""")
    # Pool members (no dedicated manager) are dealt to the pool's agents, least loaded first; a member's
    # tasks all go to the same agent.
    con.execute("""CREATE OR REPLACE TEMP TABLE ops_pool_members AS
        WITH pm AS (SELECT r.member_id, max(r.priority) AS p FROM ops_raw r
                    LEFT JOIN ops_assignment a ON a.member_id = r.member_id
                    WHERE a.staff_id IS NULL GROUP BY r.member_id),
        agents AS (SELECT staff_id, team, row_number() OVER (ORDER BY open_tasks, staff_id) - 1 AS i,
                          count(*) OVER () AS n FROM ops_pool)
        SELECT pm.member_id, a.staff_id, a.team FROM
          (SELECT member_id, row_number() OVER (ORDER BY p DESC, member_id) - 1 AS r FROM pm) pm
          LEFT JOIN agents a ON a.i = pm.r % a.n""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_candidates AS
        SELECT r.task_id, r.month, r.member_id, r.kind, r.source, r.sla_rule, r.purpose, r.reason, r.offer_id,
               r.offer_name, r.template_id, r.priority,
               CASE WHEN r.kind = 'bind' AND w.staff_id IS NOT NULL THEN 'done' ELSE 'open' END AS status,
               CASE WHEN r.kind = 'bind' THEN w.staff_id ELSE coalesce(w.staff_id, w.pool_staff_id) END AS assignee,
               CASE WHEN r.kind = 'bind' THEN w.team ELSE coalesce(w.team, w.pool_team) END AS team,
               DATE {lit(run_date)} AS created_on, r.not_before, r.due_on,
               CASE WHEN r.kind = 'bind' AND w.staff_id IS NOT NULL THEN 'bound' END AS outcome, r.reason_en,
               r.channel
        FROM ops_raw r LEFT JOIN (
            -- one row per member: the dedicated manager, or (members without one) the pool agent: one join
            SELECT member_id, staff_id, team, NULL AS pool_staff_id, NULL AS pool_team FROM ops_assignment
            WHERE staff_id IS NOT NULL
            UNION ALL SELECT member_id, NULL, NULL, staff_id, team FROM ops_pool_members) w
          ON w.member_id = r.member_id""")
