"""Value pyramid A/B/C/D (白金/黄金/钢铁/重铅) by share of contribution."""

from __future__ import annotations

import ibis

from weixi.plans.model import VALUE_GRADES, ValuePyramid


def value_grades(members: ibis.Table, config: ValuePyramid) -> ibis.Table:
    """``member_id, value_grade`` for every row of ``members`` (which has ``member_id, contribution_fen``).

    A member's grade depends on ``before``: the contribution of all members who contributed strictly more.
    The member is A when ``before < cut_A x total`` (the smallest group of top members that reaches the cut,
    the member who crosses it included), B when ``before < cut_B x total``, C likewise, else D. Members with
    equal contribution share a grade. Negative contributions count as 0; when the total is 0 everyone is D.
    All in integers: ``before x 10^4 < cut x 10^4 x total``.
    """
    amount = ibis.greatest(members.contribution_fen, 0)
    levels = members.mutate(amount=amount).group_by("amount").aggregate(level_total=ibis._.amount.sum())
    running = levels.level_total.sum().over(ibis.window(order_by=ibis.desc(levels.amount), rows=(None, 0)))
    total = levels.level_total.sum().over(ibis.window())
    levels = levels.mutate(before=running - levels.level_total, total=total)
    scale = 10_000
    grade = ibis.cases(
        *((levels.before * scale < int(cut * scale) * levels.total, name) for name, cut in config.cuts),
        else_=VALUE_GRADES[-1],
    )
    levels = levels.select(grade_amount=levels.amount, value_grade=grade)
    graded = members.mutate(amount=amount)
    joined = graded.join(levels, graded.amount == levels.grade_amount)
    return joined.select("member_id", "value_grade")
