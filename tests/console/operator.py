"""A tiny operator for the console and browser tests: 300 generated members over three months, the telecom
example plan, August 2026 closed, one login per role and points for the demo member (``MEMBER``).

Built once per test session (a few seconds) and copied for each test that changes it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher

from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.plans import service as plans
from weixi.users import service as users

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"
MEMBER = "M0000000002"
OTHER = "M0000000003"
PASSWORD = "console pass 1"
GRANT = 5000  # points given to MEMBER by an adjustment, so that rewards are within reach
CLOSED = "2026-08"
LOGINS = {
    "admin": "admin",
    "analyst": "analyst",
    "manager": "manager",
    "agent": "agent",
    "clerk": "clerk",
    "member": "member",
}  # role -> username


def cheap_hasher() -> PasswordHasher:
    """Argon2id with small parameters: the same code path at a fraction of the CPU (tests only)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class Operator:
    db: Path
    data: Path

    def copy_to(self, target: Path) -> "Operator":
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.data, target / "data")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.db) + suffix)
            if src.exists():
                shutil.copy2(src, target / (self.db.name + suffix))
        return Operator(target / self.db.name, target / "data")


_built: Operator | None = None


def shared(tmp_path_factory) -> Operator:
    """The operator built once per test process (console and browser tests copy it before changing it)."""
    global _built
    if _built is None:
        _built = build(tmp_path_factory.mktemp("console-operator"))
    return _built


def build(root: Path) -> Operator:
    data, db = root / "data", root / "console.db"
    generate(GenerateConfig(members=300, months=3, seed=7, out=str(data), end_month="2026-10"))
    engine = make_engine(str(db))
    try:
        schema.upgrade(engine)
        plans.apply_plan(engine, PLAN)
        close_month(engine, data, CLOSED)
        now = datetime.now(ZoneInfo("Asia/Shanghai"))  # today, so the grant's lot is current whenever tests run
        result = post_events(
            engine,
            [
                Event(
                    "grant:console-tests",
                    MEMBER,
                    "adjust",
                    now,
                    now.date(),
                    points=GRANT,
                    attrs={"reason": "console test grant"},
                )
            ],
        )
        assert result.posted == 1, result
        hasher, users._hasher = users._hasher, cheap_hasher()
        try:
            for role, username in LOGINS.items():
                users.create_user(engine, username, PASSWORD, role, MEMBER if role == "member" else None)
        finally:
            users._hasher = hasher
    finally:
        engine.dispose()
    return Operator(db, data)
