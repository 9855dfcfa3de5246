"""Campaign referrals: codes and links, attributing a new member to a code, fraud checks, the review queue, and
rewards once the referee qualifies (registered and, when the campaign asks, paid — as the ledger records it).

Only a new member can be referred (seed: "经客服人员确定此客户为新客户", "必须保证新客户为首次到访"): a referee the ledger
knew before the day the referrer's code was first issued (``campaign_referral_codes``) is rejected, never paid.
A referral that closes a ring (A referred B and B refers A) sends every open referral of the ring to review.

Phones, ID numbers and device ids are kept only as keyed fingerprints (HMAC with the campaign's secret).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import as_bool, as_date, execute
from weixi.campaigns import referrals as rf
from weixi.campaigns.awards import post_pending_awards
from weixi.campaigns.errors import CampaignError, CampaignInvalid, CampaignNotFound, CampaignRefused
from weixi.campaigns.gifts import claim_gift
from weixi.campaigns.participation import require_running, require_treatment
from weixi.campaigns.store import campaign_today, iso_text, load, now_utc
from weixi.ledger.posting import with_retries

STATUSES = ("pending", "review", "approved", "rejected", "rewarded")


def _fps(secret: bytes, phone: str | None, id_number: str | None, device: str | None) -> tuple:
    return (
        rf.fingerprint(secret, "phone", phone),
        rf.fingerprint(secret, "id", id_number),
        rf.fingerprint(secret, "device", device),
    )


def code(
    engine: Engine,
    campaign_id: str,
    member_id: str,
    phone: str | None = None,
    id_number: str | None = None,
    device: str | None = None,
    now: datetime | None = None,
) -> dict:
    """The member's referral code and link; identifiers given here are what later referees are compared with.
    The first call records when the code was issued: only members who join on or after that day qualify."""
    at = now or now_utc()

    def work(conn):
        info, c = load(conn, campaign_id)
        if c.referral is None:
            raise CampaignNotFound("campaign_no_referral_programme", campaign=campaign_id)
        require_treatment(conn, c, member_id)
        fps = _fps(info["secret"], phone, id_number, device)
        if any(fps):
            execute(
                conn,
                "DELETE FROM campaign_identities WHERE campaign_id = ? AND member_id = ?",
                [campaign_id, member_id],
            )
            execute(
                conn,
                "INSERT INTO campaign_identities (campaign_id, member_id, phone_fp, id_fp, device_fp) "
                "VALUES (?,?,?,?,?)",
                [campaign_id, member_id, *fps],
            )
        value = rf.code_for(info["secret"], campaign_id, member_id)
        if not execute(
            conn,
            "SELECT 1 FROM campaign_referral_codes WHERE campaign_id = ? AND member_id = ?",
            [campaign_id, member_id],
        ):
            execute(
                conn,
                "INSERT INTO campaign_referral_codes (campaign_id, member_id, code, issued_at, issued_on) "
                "VALUES (?,?,?,?,?)",
                [campaign_id, member_id, value, at, campaign_today(c, at)],
            )
        return value, c.referral.link_base.rstrip("/") + "/" + value

    value, link = with_retries(engine, work)
    return {"campaign_id": campaign_id, "member_id": member_id, "code": value, "link": link}


def _owner(conn: Connection, secret: bytes, campaign_id: str, value: str) -> str | None:
    """The treatment member whose code this is (codes are derived, not stored: one set-based pass)."""
    rows = execute(
        conn, "SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment'", [campaign_id]
    )
    value = value.strip().upper()
    return next((r[0] for r in rows if rf.code_for(secret, campaign_id, r[0]) == value), None)


def _issued_on(conn: Connection, campaign_id: str, referrer: str):
    """The day the referrer's code was first issued; for a code issued before issue days were recorded, the day
    the campaign was created (no code existed before it)."""
    found = execute(
        conn,
        "SELECT issued_on FROM campaign_referral_codes WHERE campaign_id = ? AND member_id = ?",
        [campaign_id, referrer],
    )
    if found:
        return as_date(found[0][0])
    return as_date(execute(conn, "SELECT created_at FROM campaigns WHERE campaign_id = ?", [campaign_id])[0][0])


def _not_new(conn: Connection, campaign_id: str, referrer: str, referee: str) -> str | None:
    """Why ``referee`` is not a new member for ``referrer``'s code (None: it is): the ledger knew them (signed up,
    first seen or first paid) before the day the code was issued."""
    row = execute(
        conn, "SELECT signed_up_on, first_seen_on, first_spend_on FROM members WHERE member_id = ?", [referee]
    )
    days = [as_date(d) for d in (row[0] if row else ()) if d is not None]
    issued = _issued_on(conn, campaign_id, referrer)
    if days and min(days) < issued:
        return (
            f"not a new member: {referee} is a member since {min(days)}, before {referrer}'s referral code "
            f"was issued on {issued}"
        )
    return None


def _ring_to_review(conn: Connection, campaign_id: str, ring: list[str], flag: str) -> None:
    """Send the ring's other referrals that are still open (pending) to review, with the ring as their flag."""
    for referee in ring[1:]:
        row = execute(
            conn,
            "SELECT status, flags FROM campaign_referrals WHERE campaign_id = ? AND referee_id = ?",
            [campaign_id, referee],
        )
        if row and row[0][0] == "pending":
            flags = json.loads(row[0][1]) if row[0][1] else []
            execute(
                conn,
                "UPDATE campaign_referrals SET status = 'review', flags = ? WHERE campaign_id = ? AND referee_id = ?",
                [json.dumps([*flags, flag], ensure_ascii=False), campaign_id, referee],
            )


def refer(
    engine: Engine,
    campaign_id: str,
    code_value: str,
    referee_id: str,
    phone: str | None = None,
    id_number: str | None = None,
    device: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Attribute a new member to a referral code. Fraud checks run now; a flagged referral waits for review."""
    at = now or now_utc()

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)
        if c.referral is None:
            raise CampaignNotFound("campaign_no_referral_programme", campaign=campaign_id)
        require_running(c, info, campaign_today(c, at), "referral")
        referrer = _owner(conn, info["secret"], campaign_id, code_value)
        if referrer is None:
            raise CampaignNotFound("campaign_unknown_referral_code", code=code_value, campaign=campaign_id)
        before = execute(
            conn,
            "SELECT referrer_id FROM campaign_referrals WHERE campaign_id = ? AND referee_id = ?",
            [campaign_id, referee_id],
        )
        if before:
            raise CampaignRefused(
                "campaign_already_referred", referee=referee_id, referrer=before[0][0], campaign=campaign_id
            )
        if c.referral.max_per_referrer is not None:
            n = execute(
                conn,
                "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND referrer_id = ? "
                "AND status <> 'rejected'",
                [campaign_id, referrer],
            )[0][0]
            if n >= c.referral.max_per_referrer:
                raise CampaignRefused(
                    "campaign_referrer_limit", referrer=referrer, referred=int(n), limit=c.referral.max_per_referrer
                )
        fps = _fps(info["secret"], phone, id_number, device)
        me = rf.Identity(referee_id, *fps)
        known = execute(
            conn,
            "SELECT member_id, phone_fp, id_fp, device_fp FROM campaign_identities WHERE "
            "campaign_id = ? AND member_id = ?",
            [campaign_id, referrer],
        )
        known += execute(
            conn,
            "SELECT referee_id, phone_fp, id_fp, device_fp FROM campaign_referrals WHERE "
            "campaign_id = ? AND referee_id = ?",
            [campaign_id, referrer],
        )
        siblings = execute(
            conn,
            "SELECT referee_id, phone_fp, id_fp, device_fp FROM campaign_referrals WHERE "
            "campaign_id = ? AND referrer_id = ?",
            [campaign_id, referrer],
        )
        graph = dict(
            execute(conn, "SELECT referee_id, referrer_id FROM campaign_referrals WHERE campaign_id = ?", [campaign_id])
        )
        flags = rf.flags(referrer, me, [rf.Identity(*k) for k in known], [rf.Identity(*s) for s in siblings], graph)
        status = "review" if flags else "pending"
        ring = rf.ring_through(referrer, referee_id, graph)
        if ring:  # a mutual pair (A -> B -> A) or a longer ring: none of it is paid before a person looks
            _ring_to_review(conn, campaign_id, ring, "referral ring: " + " → ".join(ring))
        not_new = _not_new(conn, campaign_id, referrer, referee_id)
        if not_new:
            status, flags = "rejected", [*flags, not_new]
        execute(
            conn,
            "INSERT INTO campaign_referrals (campaign_id, referee_id, referrer_id, code, phone_fp, id_fp, "
            "device_fp, at, status, flags) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                campaign_id,
                referee_id,
                referrer,
                code_value.strip().upper(),
                *fps,
                at,
                status,
                json.dumps(flags, ensure_ascii=False) if flags else None,
            ],
        )
        return referrer, status, flags

    referrer, status, flags = with_retries(engine, work)
    return {
        "campaign_id": campaign_id,
        "referrer_id": referrer,
        "referee_id": referee_id,
        "status": status,
        "flags": flags,
    }


def review(
    engine: Engine,
    campaign_id: str,
    referee_id: str,
    approve: bool,
    by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Decide a flagged referral: approved ones are rewarded once qualified; rejected ones never."""
    if not by:
        raise CampaignInvalid("campaign_reviewer_missing")

    def work(conn):
        load(conn, campaign_id, lock=True)
        row = execute(
            conn,
            "SELECT status, referrer_id FROM campaign_referrals WHERE campaign_id = ? AND referee_id = ?",
            [campaign_id, referee_id],
        )
        if not row:
            raise CampaignNotFound("campaign_unknown_referral", referee=referee_id, campaign=campaign_id)
        if row[0][0] != "review":
            raise CampaignRefused(
                "campaign_referral_not_in_review", referee=referee_id, campaign_referral_status=row[0][0]
            )
        if by == row[0][1]:
            raise CampaignRefused("campaign_referral_self_review", actor=by)
        execute(
            conn,
            "UPDATE campaign_referrals SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ? "
            "WHERE campaign_id = ? AND referee_id = ?",
            ["approved" if approve else "rejected", by, now or now_utc(), note, campaign_id, referee_id],
        )

    with_retries(engine, work)
    settle(engine, campaign_id, now=now)
    return queue(engine, campaign_id, referee_id=referee_id)[0]


def queue(engine: Engine, campaign_id: str, status: str | None = None, referee_id: str | None = None) -> list[dict]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        load(conn, campaign_id)
        sql = (
            "SELECT referee_id, referrer_id, code, at, status, flags, reviewed_by, reviewed_at, review_note, "
            "rewarded_at FROM campaign_referrals WHERE campaign_id = ?"
        )
        params = [campaign_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        if referee_id:
            sql += " AND referee_id = ?"
            params.append(referee_id)
        rows = execute(conn, sql + " ORDER BY at, referee_id", params)
    return [
        {
            "referee_id": r[0],
            "referrer_id": r[1],
            "code": r[2],
            "at": iso_text(r[3]),
            "status": r[4],
            "flags": json.loads(r[5]) if r[5] else [],
            "reviewed_by": r[6],
            "reviewed_at": iso_text(r[7]),
            "review_note": r[8],
            "rewarded_at": iso_text(r[9]),
        }
        for r in rows
    ]


def _reject(conn: Connection, campaign_id: str, referee: str, reason: str) -> None:
    row = execute(
        conn, "SELECT flags FROM campaign_referrals WHERE campaign_id = ? AND referee_id = ?", [campaign_id, referee]
    )
    flags = json.loads(row[0][0]) if row and row[0][0] else []
    execute(
        conn,
        "UPDATE campaign_referrals SET status = 'rejected', flags = ? WHERE campaign_id = ? AND referee_id = ?",
        [json.dumps([*flags, reason], ensure_ascii=False), campaign_id, referee],
    )


# What the ledger keeps of a referral's points: a code and its parameters as JSON, never a sentence (the award becomes
# the ledger's ``reason`` "campaign <id>: <note>"); member 360 and /me say it in the reader's language
# (weixi.members.member360.ledger_note), which also reads the sentence written before ("referral of n1 (referrer)").
REFERRAL_NOTE = "campaign_referral"


def referral_note(campaign_id: str, referee: str, role: str) -> str:
    """The note of a referral's points: the ``referee`` whose qualifying paid them and the member's ``role``
    (``referrer`` or ``referee``)."""
    params = {"note": REFERRAL_NOTE, "campaign": campaign_id, "referee": referee, "role": role}
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


def settle(engine: Engine, campaign_id: str, now: datetime | None = None) -> dict:
    """Reward every referral that is clean (pending) or approved and whose referee has qualified in the ledger."""
    at = now or now_utc()

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)
        if c.referral is None:
            return c, []
        rows = execute(
            conn,
            "SELECT r.referee_id, r.referrer_id, m.signed_up_on, m.paid FROM campaign_referrals r "
            "LEFT JOIN members m ON m.member_id = r.referee_id WHERE r.campaign_id = ? AND "
            "r.status IN ('pending', 'approved') ORDER BY r.at, r.referee_id",
            [campaign_id],
        )
        done = []
        for referee, referrer, signed_up, paid in rows:
            if c.referral.require_registration and signed_up is None:
                continue
            if c.referral.require_payment and not as_bool(paid or False):
                continue
            not_new = _not_new(conn, campaign_id, referrer, referee)
            if not_new:  # joined before the code existed (a back-dated sign-up): never paid
                _reject(conn, campaign_id, referee, not_new)
                continue
            for member, points, kind in (
                (referrer, c.referral.referrer_points, "referrer"),
                (referee, c.referral.referee_points, "referee"),
            ):
                if points:
                    execute(
                        conn,
                        "INSERT INTO campaign_awards (event_id, campaign_id, member_id, kind, points, status,"
                        " note) VALUES (?,?,?,?,?,?,?)",
                        [
                            f"campaign:{campaign_id}:referral:{referee}:{kind}",
                            campaign_id,
                            member,
                            "referral",
                            points,
                            "pending",
                            referral_note(campaign_id, referee, kind),
                        ],
                    )
            execute(
                conn,
                "UPDATE campaign_referrals SET status = 'rewarded', rewarded_at = ? WHERE campaign_id = ? "
                "AND referee_id = ?",
                [at, campaign_id, referee],
            )
            done.append((referee, referrer))
        return c, done

    c, done = with_retries(engine, work)
    gifts, failures = 0, []
    for referee, referrer in done:
        for member, gift in ((referrer, c.referral.referrer_gift), (referee, c.referral.referee_gift)):
            if gift:
                try:
                    claim_gift(
                        engine,
                        campaign_id,
                        member,
                        gift,
                        by="referral",
                        now=at,
                        reason="referral",
                        request_id=f"referral:{referee}:{member}",
                        check_member=False,
                    )
                    gifts += 1
                except CampaignError as exc:  # out of stock or over the limit: reported, handled by a person
                    failures.append(
                        {
                            "member_id": member,
                            "gift": gift,
                            "reason": str(exc),
                            "code": exc.code,
                            "params": dict(exc.params),
                        }
                    )
    posted = post_pending_awards(engine, campaign_id)
    return {"rewarded": len(done), "gifts": gifts, "gift_failures": failures, **posted}
