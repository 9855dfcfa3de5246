"""Questionnaires (调研): a survey designed in a plan file (``kind: survey``), sent through the outbox, answers
collected (API, CLI), and the satisfaction figures they feed (:func:`satisfaction`, which the staff incentive
scorecards can read per customer manager).

Seed 002 (大型购物中心VIP客户维护方案): "定期进行客户满意度调查…了解客户需求"; seed 000: "参与调查问卷或反馈:每参与一次可
获得50积分" — a member who answers every question posts a ``survey`` event to the ledger once, so the points plan's
survey rule awards its points.

    kind: survey
    survey: satisfaction-2026q4
    name: 2026年四季度客户满意度调研
    channel: sms
    invite: "尊敬的{{ member.surname }}{{ member.title }}:诚邀您参加{{ occasion.name }},回复1-5分评价我们的服务。"
    audience: {star_levels: [5, 6, 7]}      # or tiers; neither: every member in service
    satisfaction: overall                   # the rating question the satisfaction figures read
    questions:
      - {id: overall, type: rating, text: 您对我们的服务总体满意吗?, scale: 5}
      - {id: channel, type: choice, text: 您最常通过哪种方式办理业务?, options: [营业厅, 网上营业厅, 客户经理]}
      - {id: advice, type: text, text: 您对我们还有什么建议?, required: false}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.adapters.duck import lit
from weixi.adapters.sql import execute
from weixi.close import store as close_store
from weixi.errors import Conflict, Invalid, NotFound
from weixi.messaging import service as messaging
from weixi.messaging.templates import Compiled, Template, TemplateError, check
from weixi.operations import policy
from weixi.operations.clock import now as clock_now
from weixi.operations.service import consents
from weixi.plans import values as v
from weixi.plans.diagnostics import Diagnostic, Report
from weixi.plans.kinds import PlanKind, register
from weixi.plans.spec import Field, ListOf, Shape, Spec, read
from weixi.plans.yaml_source import Mapping, parse

QUESTION_TYPES = ("rating", "choice", "text")
TEXT_MAX = 500
QUESTION = Shape(
    "question",
    {
        "id": Field(v.ident, required=True),
        "type": Field(v.choice(QUESTION_TYPES, "question type"), required=True),
        "text": Field(v.text, required=True),
        "scale": Field(v.int_between(2, 10, "rating scale")),
        "options": Field(ListOf(v.text)),
        "required": Field(v.boolean),
    },
)
SURVEY = Shape(
    "survey",
    {
        "kind": Field(v.choice(("survey",), "kind"), required=True),
        "survey": Field(v.ident, required=True),
        "name": Field(v.text, required=True),
        "channel": Field(v.choice(("sms", "email"), "channel")),
        "invite": Field(v.text, required=True),
        "audience": Field(
            Shape(
                "audience",
                {"tiers": Field(ListOf(v.ident)), "star_levels": Field(ListOf(v.int_between(1, 7, "star level")))},
            )
        ),
        "satisfaction": Field(v.ident),
        "questions": Field(ListOf(QUESTION), required=True),
    },
)


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    scale: int = 5
    options: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Survey:
    id: str
    name: str
    channel: str
    invite: str
    questions: tuple[Question, ...]
    satisfaction: str | None = None
    tiers: tuple[str, ...] = ()
    star_levels: tuple[int, ...] = ()

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)


def load_survey(node: Mapping, filename: str) -> tuple[Survey | None, list[Diagnostic]]:
    report = Report(filename)
    val = read(node, SURVEY, report)
    spec: Spec | None = val.value if val else None
    survey = _resolve(spec, report) if spec is not None else None
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else survey), found


def _resolve(spec: Spec, report: Report) -> Survey | None:
    questions, seen = [], set()
    for item in spec.items("questions"):
        q: Spec = item.value
        if q.get("id") in seen:
            report.error(q.at("id"), "survey_question_twice", question=q.get("id"))
        seen.add(q.get("id"))
        options = tuple(x.value for x in q.items("options"))
        if q.get("type") == "choice" and len(options) < 2:
            report.error(q.pos, "survey_choice_needs_options", question=q.get("id"))
        questions.append(
            Question(q.get("id"), q.get("type"), q.get("text"), q.get("scale", 5), options, q.get("required", True))
        )
    sat = spec.get("satisfaction")
    if sat is not None and not any(q.id == sat and q.type == "rating" for q in questions):
        report.error(spec.at("satisfaction"), "survey_satisfaction_not_rating", question=sat)
    try:
        check("invite", spec.get("invite"))
    except TemplateError as exc:
        report.error(spec.at("invite"), exc.code, **exc.params)
    if report.has_errors:
        return None
    audience: Spec | None = spec.get("audience")
    return Survey(
        spec.get("survey"),
        spec.get("name"),
        spec.get("channel", "sms"),
        spec.get("invite"),
        tuple(questions),
        sat,
        tuple(x.value for x in audience.items("tiers")) if audience else (),
        tuple(x.value for x in audience.items("star_levels")) if audience else (),
    )


register(PlanKind(("survey",), load_survey, Survey))


def parse_survey(text: str, filename: str) -> Survey:
    node, diagnostics = parse(text, filename)
    survey, found = load_survey(node, filename) if isinstance(node, Mapping) else (None, diagnostics)
    if survey is None:
        errors = [d for d in (found or diagnostics) if d.is_error]
        raise Invalid("survey_file_invalid", path=filename, errors=len(errors) or 1,
                      first=errors[0].format() if errors else "")  # fmt: skip
    return survey


def save_survey(engine: Engine, text: str, filename: str, by: str | None) -> dict:
    """Keep a checked survey (the same id again with other content is refused: answers refer to its questions)."""
    survey = parse_survey(text, filename)
    with engine.begin() as conn:
        rows = execute(conn, "SELECT content FROM surveys WHERE survey_id = ?", [survey.id])
        if rows and rows[0][0] != text:
            raise Conflict("survey_exists", survey=survey.id)
        if not rows:
            execute(
                conn,
                "INSERT INTO surveys (survey_id, name, content, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                [survey.id, survey.name, text, by, clock_now(engine)],
            )
    return {"survey_id": survey.id, "name": survey.name, "questions": len(survey.questions), "new": not rows}


def get_survey(engine: Engine, survey_id: str) -> Survey:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT content FROM surveys WHERE survey_id = ?", [survey_id])
    if not rows:
        raise NotFound("survey_unknown", survey=survey_id)
    return parse_survey(rows[0][0], f"{survey_id}.yaml")


def send_survey(engine: Engine, data_dir: Path, survey_id: str, day: date, members: list[str] | None = None) -> dict:
    """Queue the invitation through the outbox for the survey's audience (the latest month's members in service
    of its tiers or star levels) or for ``members``; each member once (key ``survey/ID/MEMBER``), within their
    consents (purpose ``care``). Returns queued, already queued, blocked and without an address."""
    survey = get_survey(engine, survey_id)
    data_dir = Path(data_dir)
    found = [m for m in close_store.months(data_dir, "snapshots") if m <= day.strftime("%Y-%m")]
    if not found:
        raise Conflict("survey_no_snapshot", day=day.isoformat())
    snap = close_store.source(data_dir, "snapshots", found[-1])  # read_parquet([...]) of the month's files
    conds = ["s.status = 'active'"]
    if survey.tiers:
        conds.append("s.tier IN (" + ", ".join(lit(t) for t in survey.tiers) + ")")
    if survey.star_levels:
        conds.append("s.star_level IN (" + ", ".join(str(s) for s in survey.star_levels) + ")")
    con = duck.connect()
    if members is not None:
        import pyarrow as pa

        con.register("survey_pick", pa.table({"member_id": pa.array(sorted(set(members)), pa.string())}))
        conds = ["s.member_id IN (SELECT member_id FROM survey_pick)"]
    address = "m.phone" if survey.channel == "sms" else "m.email"
    rows = con.execute(
        f"SELECT s.member_id, m.name, m.gender, {address} FROM {snap} s "
        f"JOIN ({archive.scan_sql(data_dir, 'members')}) m ON m.member_id = s.member_id "
        f"WHERE {' AND '.join(conds)} ORDER BY s.member_id"
    ).fetchall()
    by_member: dict = {}
    for rec in consents(engine):
        by_member.setdefault(rec.member_id, []).append(rec)
    template = Compiled(Template("invite", survey.channel, survey.invite, None))
    at = clock_now(engine)
    out = {"survey_id": survey.id, "queued": 0, "already_queued": 0, "blocked": 0, "no_address": 0}
    with engine.begin() as conn:
        for member_id, name, gender, recipient in rows:
            if not recipient:
                out["no_address"] += 1
                continue
            if policy.consent_block(by_member.get(member_id, []), survey.channel, "care") is not None:
                out["blocked"] += 1
                continue
            member = {"member_id": member_id, "name": name or "", "surname": (name or "")[:1],
                      "title": {"M": "先生", "F": "女士"}.get(gender, "")}  # fmt: skip
            ctx = {"member": member, "occasion": {"kind": "survey", "name": survey.name, "date": day.isoformat()}}
            subject, body = template.render(ctx)
            _, created = messaging.enqueue(
                conn, f"survey/{survey.id}/{member_id}", survey.channel, recipient, body, purpose="care",
                subject=subject, member_id=member_id, source=f"survey/{survey.id}", template_id="invite", at=at,
            )  # fmt: skip
            out["queued" if created else "already_queued"] += 1
    return out


def _check_answer(q: Question, value) -> tuple[int | None, str | None]:
    if q.type == "rating":
        try:
            score = int(value)
        except (TypeError, ValueError):
            score = None
        if score is None or str(value).strip() != str(score) or not 1 <= score <= q.scale:
            raise Invalid("survey_bad_rating", question=q.id, value=str(value), scale=q.scale)
        return score, None
    text = str(value).strip()
    if q.type == "choice" and text not in q.options:
        raise Invalid("survey_bad_choice", question=q.id, value=text, options=list(q.options))
    if not text or len(text) > TEXT_MAX:
        raise Invalid("survey_bad_text", question=q.id, limit=TEXT_MAX)
    return None, text


def record_answers(
    engine: Engine, survey_id: str, member_id: str, answers: dict, by: str | None, at: datetime | None = None
) -> dict:
    """A member's answers (question id -> value; a rating's score, a choice's option, free text), all checked before
    any is kept; answering a question again replaces it. Once every required question has an answer the member has
    taken part: a ``survey`` event (``survey:ID:MEMBER``) goes to the ledger for the points plan's survey rule."""
    survey = get_survey(engine, survey_id)
    at = at or clock_now(engine)
    checked = []
    for qid, value in answers.items():
        q = survey.question(qid)
        if q is None:
            raise Invalid("survey_unknown_question", survey=survey.id, question=qid,
                          questions=[x.id for x in survey.questions])  # fmt: skip
        checked.append((qid, *_check_answer(q, value)))
    if not checked:
        raise Invalid("survey_no_answers", survey=survey.id)
    with engine.begin() as conn:
        for qid, score, text in checked:
            execute(conn, "DELETE FROM survey_answers WHERE survey_id = ? AND member_id = ? AND question_id = ?",
                    [survey.id, member_id, qid])  # fmt: skip
            execute(
                conn,
                "INSERT INTO survey_answers (survey_id, member_id, question_id, score, answer, answered_at, "
                "recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [survey.id, member_id, qid, score, text, at, by],
            )
        have = {r[0] for r in execute(conn, "SELECT question_id FROM survey_answers WHERE survey_id = ? AND "
                                            "member_id = ?", [survey.id, member_id])}  # fmt: skip
    complete = all(q.id in have for q in survey.questions if q.required)
    posted = False
    if complete:
        from weixi.ledger.events import Event
        from weixi.ledger.posting import post_events

        day = at.date()
        result = post_events(engine, [Event(f"survey:{survey.id}:{member_id}", member_id, "survey", at, day,
                                            None, None, survey.id, {})])  # fmt: skip
        posted = result.posted > 0  # a second completion posts nothing: the event id is the same
    return {"survey_id": survey.id, "member_id": member_id, "answered": sorted(have), "complete": complete,
            "points_event": posted}  # fmt: skip


def _ratio(n: int, d: int) -> str | None:
    return str((Decimal(n) / d).quantize(Decimal("0.0001"), ROUND_HALF_UP)) if d else None


def satisfaction(engine: Engine, survey_id: str, data_dir: Path | None = None, month: str | None = None) -> dict:
    """The satisfaction figures of a survey's rating question: responses, the average score, the share satisfied
    (the top two scores, e.g. 4-5 of 5), the distribution; with ``data_dir`` and ``month``, the same per customer
    manager of that month's assignment (``by_manager``: what a staff scorecard reads)."""
    survey = get_survey(engine, survey_id)
    if survey.satisfaction is None:
        raise Conflict("survey_no_satisfaction_question", survey=survey.id)
    scale = survey.question(survey.satisfaction).scale
    with engine.connect() as conn:
        rows = execute(conn, "SELECT member_id, score FROM survey_answers WHERE survey_id = ? AND question_id = ?",
                       [survey.id, survey.satisfaction])  # fmt: skip

    def figures(scores: list[int]) -> dict:
        n = len(scores)
        return {
            "responses": n,
            "average": str((Decimal(sum(scores)) / n).quantize(Decimal("0.01"), ROUND_HALF_UP)) if n else None,
            "satisfied_share": _ratio(sum(1 for s in scores if s >= scale - 1), n),
            "distribution": {str(k): sum(1 for s in scores if s == k) for k in range(1, scale + 1)},
        }

    out = {"survey_id": survey.id, "question": survey.satisfaction, "scale": scale,
           **figures([int(r[1]) for r in rows])}  # fmt: skip
    if data_dir is not None and month is not None:
        path = Path(data_dir) / "operations" / "assignments" / f"month={month}" / "part-0.parquet"
        managers: dict[str, str] = {}
        if path.exists():
            import pyarrow as pa

            con = duck.connect()
            con.register("survey_members", pa.table({"member_id": pa.array([r[0] for r in rows], pa.string())}))
            managers = dict(con.execute(
                f"SELECT a.member_id, a.staff_id FROM read_parquet({lit(path)}) a JOIN survey_members m USING "
                "(member_id) WHERE a.staff_id IS NOT NULL").fetchall())  # fmt: skip
        by: dict[str, list[int]] = {}
        for member_id, score in rows:
            if member_id in managers:
                by.setdefault(managers[member_id], []).append(int(score))
        out["by_manager"] = {staff: figures(scores) for staff, scores in sorted(by.items())}
    return out
