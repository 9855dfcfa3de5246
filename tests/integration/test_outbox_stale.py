"""A message a crashed sender left ``sending`` is never resent by itself: the next send flags it ``unknown`` once it
is older than the longest send (STALE_AFTER), and only ``weixi outbox retry`` queues it again."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.messaging import service as messaging

AT = datetime(2026, 10, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _crashed_mid_send(engine, key: str, claimed_at: datetime) -> int:
    mid = messaging.queue_message(engine, key, "sms", "13800000001", "您好", purpose="care", at=claimed_at)[
        "message_id"
    ]
    with engine.begin() as conn:
        execute(
            conn, "UPDATE msg_outbox SET status = 'sending', updated_at = ? WHERE message_id = ?", [claimed_at, mid]
        )
    return mid


def test_the_next_send_flags_a_crashed_send_unknown_and_never_resends_it(db_url, tmp_path):
    engine = make_engine(db_url)
    old = _crashed_mid_send(engine, "care/old", AT - messaging.STALE_AFTER - timedelta(minutes=1))
    recent = _crashed_mid_send(engine, "care/recent", AT - timedelta(seconds=5))  # another sender, still at it
    report = messaging.send_due(engine, tmp_path / "data", at=AT)
    assert report["stale"] == 1 and report["sent"] == 0
    assert messaging.get(engine, old)["status"] == "unknown"
    assert messaging.get(engine, recent)["status"] == "sending"
    assert messaging.send_due(engine, tmp_path / "data", at=AT)["stale"] == 0  # once
    assert messaging.retry(engine, old)["status"] == "queued"  # after checking with the gateway
    assert messaging.send_due(engine, tmp_path / "data", at=AT)["sent"] == 1
