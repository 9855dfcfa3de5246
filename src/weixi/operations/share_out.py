"""How members without a manager are shared out (分配) among the managers: by who introduced them first, by drawing
lots, or (the default) in a fixed pseudo-random order — always evenly, least-loaded first (:mod:`.assign`).

Seed 002 (康乐部会员维护方案): "现有会员资源平均分配。把客人分类别(储值金额及消费能力),分组,抽签。" and, for new members,
"如一个班次有2名员工,维护名额分配给为客人先介绍的人员". A plan says which under ``assignment.share_out``:

    share_out: {introduced_first: true, lots: true}

* ``introduced_first``: a member whose introduction is on record goes to the staff member who introduced them
  first (the earliest ``introduced_at``), when that person is active, may hold the member's ratio group and has
  room; status ``introduced``. The introductions come from a file (``weixi tasks create --introductions FILE``:
  member_id, staff_id, introduced_at).
* ``lots``: the others of each ratio group (the seed's 类别/分组) are dealt by a drawn lot: the order of the members
  and the tie order of the managers come from a seed (``--lots-seed``; by default ``PLAN/MONTH``), so the same
  seed draws the same lot again; the run's report and the audit log keep the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.plans import values as v
from weixi.plans.spec import Field, Shape, Spec

SHARE_OUT = Shape("share_out", {"introduced_first": Field(v.boolean), "lots": Field(v.boolean)})


@dataclass(frozen=True)
class ShareOut:
    introduced_first: bool = False
    lots: bool = False


def read_share_out(spec: Spec | None) -> ShareOut:
    if spec is None:
        return ShareOut()
    return ShareOut(bool(spec.get("introduced_first", False)), bool(spec.get("lots", False)))


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def default_seed(plan_id: str, month: str) -> str:
    return f"{plan_id}/{month}"


def member_order(seed: str | None, member: str = "m.member_id") -> str:
    """The order members are dealt in: the drawn lot (``seed``) or the fixed pseudo-random one."""
    if seed is None:
        return f"hash({member}), {member}"
    return f"hash({_lit(seed)} || '/' || {member}), {member}"


def staff_order(seed: str | None, staff: str = "r.staff_id") -> str:
    """Among managers with the same load, who is dealt to first: by lot (``seed``) or by staff id."""
    return f"hash({_lit(seed)} || '/' || {staff}), {staff}" if seed is not None else staff
