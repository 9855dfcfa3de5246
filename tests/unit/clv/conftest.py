"""CDNOW data as shipped in the lifetimes wheel (a test dependency): read straight from the installed package
directory; lifetimes itself is never imported."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SBG_SURVIVAL = ROOT / "tests" / "data" / "sbg_survival_fader_hardie_2007.csv"


def lifetimes_datasets() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        pytest.fail("the test extra's lifetimes==0.11.3 is not installed (it ships the CDNOW data): run make install")
    return Path(spec.origin).parent / "datasets"


def read_csv(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


@pytest.fixture(scope="session")
def cdnow() -> dict[str, np.ndarray]:
    """2,357 CDNOW customers, 39-week calibration: ID, frequency, recency, T (weeks)."""
    return read_csv(lifetimes_datasets() / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_spend() -> dict[str, np.ndarray]:
    """The same customers with x, t_x, T and zbar, the average value of the repeat purchases."""
    return read_csv(lifetimes_datasets() / "cdnow_customers_summary_with_transactions.csv")


def cdnow_transactions_csv(path: Path) -> Path:
    """CDNOW_sample.txt (master id, sample id 0001-2357, yyyymmdd, CDs, amount) as a CSV with ISO dates;
    the customer is the sample id, the order of the published summary."""
    with open(lifetimes_datasets() / "CDNOW_sample.txt") as src, open(path, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["customer", "date", "cds", "amount"])
        for line in src:
            _, c, d, n, a = line.split()
            w.writerow([c, f"{d[:4]}-{d[4:6]}-{d[6:]}", n, a])
    return path


def survival(cohort: str, last_period: int = 7) -> list[int]:
    with open(SBG_SURVIVAL, newline="") as fh:
        return [
            int(r["alive"]) for r in csv.DictReader(fh) if r["cohort"] == cohort and int(r["period"]) <= last_period
        ]
