"""The draws' export anyone can verify (the commitment, the seed once revealed, the prize table, every draw) and
its replay (:func:`weixi.campaigns.lottery.verify`); docs/campaigns.md gives the algorithm."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from weixi.adapters.sql import as_date, execute
from weixi.campaigns import lottery as lot
from weixi.campaigns.errors import CampaignInvalid, CampaignNotFound, CampaignRefused
from weixi.campaigns.store import load
from weixi.messages import render


def export_draws(engine: Engine, campaign_id: str) -> dict:
    """Everything needed to re-verify the draws: the commitment, the seed once revealed, the prize table and
    every draw in order (docs/campaigns.md gives the algorithm)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        if c.lottery is None:
            raise CampaignNotFound("campaign_no_lottery", campaign=campaign_id)
        revealed = execute(conn, "SELECT revealed_at FROM campaigns WHERE campaign_id = ?", [campaign_id])[0][0]
        rows = execute(
            conn,
            "SELECT seq, member_id, day, prize_id, mac FROM campaign_draws WHERE campaign_id = ? ORDER BY seq",
            [campaign_id],
        )
    return {
        "scheme": "weixi-draw-v1",
        "campaign_id": campaign_id,
        "commitment": info["commitment"],
        "seed": info["seed_hex"] if revealed is not None else None,
        "prizes": [{"id": p.id, "name": p.name, "per_day": p.per_day} for p in c.lottery.prizes],
        "blanks_per_day": c.lottery.blanks_per_day,
        "draws": [
            {"seq": int(r[0]), "member_id": r[1], "day": str(as_date(r[2])), "prize_id": r[3], "mac": r[4]}
            for r in rows
        ],
    }


def verify_export(doc: dict) -> dict:
    """Replay an export; ``ok`` only when the seed is revealed, matches the commitment and every draw checks.
    ``problems``: each difference with its code, params and English sentence."""
    from weixi.campaigns.model import Lottery, Prize

    if doc.get("scheme") != "weixi-draw-v1":
        raise CampaignInvalid("draw_export_unknown_scheme", scheme=doc.get("scheme"))
    if not doc.get("seed"):
        raise CampaignRefused(
            "draw_export_seed_secret", campaign=doc.get("campaign_id"), commitment=doc.get("commitment")
        )
    try:
        lottery = Lottery(
            tuple(Prize(p["id"], p.get("name", ""), int(p["per_day"])) for p in doc["prizes"]),
            int(doc.get("blanks_per_day", 0)),
        )
        draws = [
            lot.RecordedDraw(int(d["seq"]), d["member_id"], date.fromisoformat(d["day"]), d["prize_id"], d["mac"])
            for d in doc["draws"]
        ]
        seed = bytes.fromhex(doc["seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CampaignInvalid("draw_export_malformed", detail=str(exc)) from None
    problems = lot.verify(doc["campaign_id"], lottery, doc["commitment"], seed, draws)
    return {
        "campaign_id": doc["campaign_id"],
        "ok": not problems,
        "draws": len(draws),
        "commitment": doc["commitment"],
        "problems": [{"code": p.code, "params": dict(p.params), "message": render(p, "en")} for p in problems],
    }


def verify_draws(engine: Engine, campaign_id: str) -> dict:
    return verify_export(export_draws(engine, campaign_id))
