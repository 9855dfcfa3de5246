"""Data for the incentive and retention API and console tests, built once per test process:

* ``incentives(dir)`` — a month (2016-01) of synthetic staff, CRM orders and target lists
  (:mod:`weixi.incentives.synthetic`) with the seed's retention plan, laid out as the API and console read
  them: ``DATA/incentives/2016-01/{retention-2016.yaml, roster.csv, orders.csv, targets.csv}``.
* ``retention(tmp_path_factory)`` — a generated operator of 600 members over six months, a churn model trained
  on it (the smallest operator that trains), August 2026 scored and its target lists built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from weixi.incentives import synthetic

ROOT = Path(__file__).resolve().parents[2]
INCENTIVE_PLAN = ROOT / "plans" / "examples" / "retention-2016.yaml"
MONTH = "2016-01"
CLERK = "S000003"  # team T0
MANAGER = "S000010"  # manages team T1 (S000010-S000019)
TEAM_MATE = "S000011"
OTHER_TEAM = "S000004"  # team T0
STAFF = 20
SCORED = "2026-08"


def incentives(data_dir: Path) -> Path:
    """Write the month's inputs under ``data_dir``; returns the month's directory."""
    month_dir = Path(data_dir) / "incentives" / MONTH
    synthetic.generate(month_dir, staff=STAFF, orders=160, month=MONTH, fmt="csv")
    shutil.copy(INCENTIVE_PLAN, month_dir / INCENTIVE_PLAN.name)
    return month_dir


def add_late_order(month_dir: Path, staff_id: str, order_id: str = "LATE1") -> None:
    """A late CRM order: an expiring target's phone-for-credit deal for ``staff_id`` (1 unit and some yuan)."""
    import csv

    with open(month_dir / "targets.csv", "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["C-LATE", MONTH, "expiring"])
    with open(month_dir / "orders.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    row = {
        "order_id": order_id,
        "staff_id": staff_id,
        "business": "phone_for_credit",
        "customer_id": "C-LATE",
        "number": "13912345678",
        "card": "primary",
        "monthly_rent": "58",
        "network": "4G",
        "active": "true",
        "cancels_unexpired_subsidy": "false",
        "created_at": "2016-01-30T17:00:00+08:00",
    }
    with open(month_dir / "orders.csv", "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow([row.get(c, "") for c in header])


_retention: Path | None = None


def retention(tmp_path_factory) -> Path:
    """The scored operator's data directory (read-only: copy it before changing it)."""
    global _retention
    if _retention is None:
        from weixi.churn import service as churn
        from weixi.generator.run import GenerateConfig, generate
        from weixi.targets import service as targets

        out = tmp_path_factory.mktemp("retention") / "data"
        generate(GenerateConfig(members=600, months=6, seed=7, out=str(out), end_month="2026-10"))
        churn.train_operator(out, "2026-10")
        churn.score_month(out, SCORED)
        targets.build(out, SCORED)
        _retention = out
    return _retention
