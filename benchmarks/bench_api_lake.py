"""API redemption when every redeeming member has 12 unfolded lake months (issue 21, ``WEIXI_LEDGER_STORE=lake``):
the same redeem phase as :mod:`benchmarks.bench_api` (raw HTTP/1.1 client, keep-alive connections, members
credited beforehand, HOT members and a limited gift racing) against three ledgers built the same way apart from
where the points are:

* ``sql``: the SQL bench's ledger (one bill of 2,000 yuan per member in the SQL ledger): the same-run baseline;
* ``sql_12``: twelve monthly bills per member in the SQL ledger (twelve lots, same points): what the lots cost;
* ``lake``: twelve months closed into the lake, each by :func:`weixi.close.accrual_lake.post` over a DuckDB
  ``range()`` of the month's bills, then what the close does after it (the result recorded, the expiry, the month
  marked closed); no member folded, so a member's first redemption folds their twelve months. The lake's months
  hold ``lake_members`` members (default 100,000: a month's file then has row groups of the full 50,000 rows, so a
  fold reads what it reads at any larger scale), of whom the first ``members`` redeem.

Each ledger: health baseline (half the phase), then the redeem phase, then `weixi verify` (with the lake) and the
overspend check after the server stopped. Target: >= 500 redeems/s and p99 < 100 ms with the lake, zero
overspend, verify clean.

    python -m benchmarks.bench_api_lake [--seconds 20] [--members 5000] [--lake-members 100000]
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

from benchmarks import bench_api
from benchmarks.bench_api import HOT, PLAN, TZ

MONTHS = 12
# points per month, the first 8 months and the last 4 (1 point a yuan): 2,000 a member, 500 a HOT member
MEMBER_FEN, HOT_FEN = (16_700, 16_600), (4_200, 4_100)
LEDGERS = ("sql", "sql_12", "lake")


def lake_months(today: date | None = None) -> list[str]:
    """The twelve months before this one, oldest first (the plan's lots last 24 months: none has expired)."""
    from weixi.close.months import previous_month, window

    today = today or datetime.now(TZ).date()
    return window(previous_month(f"{today:%Y-%m}"), MONTHS)


def bills_sql(month: str, index: int, members: int) -> str:
    """The month's paid bills as the close's source query (:func:`weixi.close.accrual._source_sql`'s columns):
    one per member ``M000000``.. (``members`` of them) and HOT member ``H0``.., generated with DuckDB ``range()``."""
    member_fen, hot_fen = MEMBER_FEN[index >= 8], HOT_FEN[index >= 8]
    tag = month.replace("-", "")
    rows = (
        f"SELECT 'b{tag}-M' || lpad(CAST(i AS VARCHAR), 6, '0') AS event_id, "
        f"'M' || lpad(CAST(i AS VARCHAR), 6, '0') AS member_id, DATE '{month}-01' + CAST(i % 28 AS INTEGER) AS day, "
        f"CAST({member_fen} AS BIGINT) AS amount_fen FROM range({members}) t(i) UNION ALL "
        f"SELECT 'b{tag}-H' || CAST(i AS VARCHAR), 'H' || CAST(i AS VARCHAR), DATE '{month}-01' + CAST(i AS INTEGER), "
        f"CAST({hot_fen} AS BIGINT) FROM range({HOT}) t(i)"
    )
    return (
        "SELECT row_number() OVER (ORDER BY day, event_id) AS seq, 'bill' AS type, event_id, member_id, day, "
        "CAST(NULL AS TIMESTAMPTZ) AS moment, amount_fen, 'mobile' AS service_type "
        f"FROM ({rows})"
    )


def _token(engine) -> str:
    from weixi.users import service as users

    admin = users.create_user(engine, "bench", "bench-password", "admin")
    return users.issue_token(engine, admin, "bench")


def prepare_lake(url: str, data: Path, members: int) -> tuple[str, dict]:
    """A lake ledger: the bench plan, twelve months of ``members`` members' bills closed into the lake, nobody
    folded; an admin token and what was built."""
    from weixi.adapters import duck, schema
    from weixi.adapters.db import make_engine
    from weixi.close import accrual_lake, ledger_bridge
    from weixi.close.months import first_day, next_month
    from weixi.ledger.expire import expire
    from weixi.plans.service import active_plan, apply_plan_text

    engine = make_engine(url)
    schema.upgrade(engine)
    apply_plan_text(engine, PLAN, "bench-api.yaml")
    with engine.connect() as conn:
        version, plan = active_plan(conn)
    months = lake_months()
    posted = 0
    for i, month in enumerate(months):
        source = bills_sql(month, i, members)
        con = duck.connect()
        try:
            days = [r[0] for r in con.execute(f"SELECT DISTINCT day FROM ({source}) ORDER BY 1").fetchall()]
        finally:
            con.close()
        if not accrual_lake.applicable(plan, days, 0):
            raise RuntimeError(f"the set-based accrual does not take {month} of the bench plan")
        part = accrual_lake.post(engine, data, month, plan, version, source, days)
        if part.book_ids.num_rows or part.rejected or part.posted != members + HOT:
            raise RuntimeError(f"{month}: posted {part.posted}, rejected {part.reasons}, {part.book_ids.num_rows} left")
        posted += part.posted
        # what the close does after its accrual: the result recorded, the expiry, the month closed
        accrual_lake.finish(engine, month, [], {"bills": members + HOT, "recharges": 0, "posted": part.posted})
        expire(engine, first_day(next_month(month)))
        ledger_bridge.mark_closed(engine, month)
    token = _token(engine)
    from weixi.adapters.sql import execute

    with engine.connect() as conn:
        sql_events = execute(conn, "SELECT count(*) FROM events")[0][0]
    engine.dispose()
    return token, {"months": f"{months[0]}..{months[-1]}", "lake_rows": posted, "sql_events_before": sql_events}


def prepare_sql_12(url: str, members: int) -> tuple[str, dict]:
    """The SQL ledger with the same twelve monthly bills per member (twelve lots each), posted through the ledger."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events
    from weixi.plans.service import apply_plan_text

    engine = make_engine(url)
    schema.upgrade(engine)
    apply_plan_text(engine, PLAN, "bench-api.yaml")
    months = lake_months()
    events = []
    for i, month in enumerate(months):
        tag, member_fen, hot_fen = month.replace("-", ""), MEMBER_FEN[i >= 8], HOT_FEN[i >= 8]
        first = datetime(int(month[:4]), int(month[5:7]), 1, 23, 59, 59, tzinfo=TZ)
        for m in range(members):
            day = first.replace(day=1 + m % 28)
            events.append(Event(f"b{tag}-M{m:06d}", f"M{m:06d}", "bill", day, day.date(), amount_fen=member_fen))
        for h in range(HOT):
            day = first.replace(day=1 + h)
            events.append(Event(f"b{tag}-H{h}", f"H{h}", "bill", day, day.date(), amount_fen=hot_fen))
    result = post_events(engine, events)
    if result.posted != len(events):
        raise RuntimeError(f"sql_12: posted {result.posted} of {len(events)}: {result.rejected[:3]}")
    token = _token(engine)
    engine.dispose()
    return token, {"months": f"{months[0]}..{months[-1]}", "sql_events_before": len(events)}


def _fold_counts(url: str) -> dict:
    from weixi.adapters.db import make_engine
    from weixi.adapters.sql import execute

    engine = make_engine(url)
    with engine.connect() as conn:
        folded = execute(conn, "SELECT count(*) FROM ledger_folds")[0][0]
        members = execute(conn, "SELECT count(*) FROM members")[0][0]
        events = execute(conn, "SELECT count(*) FROM events WHERE type = 'bill'")[0][0]
    engine.dispose()
    return {"members_folded": f"{folded} of {members}", "bill_events_folded_into_sql": events, "folds": folded}


def ledger_run(
    workdir: Path, label: str, seconds: float, members: int, procs: int, conns: int, lake_members: int
) -> dict:
    """Build the ``label`` ledger, serve it, health baseline then the redeem phase, stop, check."""
    db, data = workdir / f"{label}.db", workdir / f"{label}-data"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    url = str(db)
    store = "lake" if label == "lake" else "sql"
    previous = os.environ.get("WEIXI_LEDGER_STORE")
    os.environ["WEIXI_LEDGER_STORE"] = store  # this process's close steps and the server's (inherited)
    try:
        if label == "lake":
            token, built = prepare_lake(url, data, max(members, lake_members))
        elif label == "sql_12":
            token, built = prepare_sql_12(url, members)
        else:
            token, built = bench_api._prepare(url, members), {"months": "one bill", "sql_events_before": members + HOT}
        out = {f"{label}_{k}": v for k, v in built.items()}
        port = bench_api._free_port()
        server = bench_api._start_server(url, data, port, workdir / f"{label}-server.log")
        ok = 0
        try:
            base = bench_api._drive(port, token, "health", seconds / 2, procs, conns, members)
            out.update(bench_api._summary(f"{label}_", base, seconds / 2))
            load = bench_api._drive(port, token, "writes", seconds, procs, conns, members, 1.0, seed=2)
            out.update(bench_api._summary(f"{label}_", load, seconds))
            if load.get("exceptions"):
                out[f"{label}_client_exceptions"] = "; ".join(sorted(set(load["exceptions"])))[:300]
            ok = load.get("redeem", {}).get("ok", 0)
            requests = len(load.get("redeem", {}).get("lat", []))
        finally:
            bench_api._stop(server)
        out.update({f"{label}_{k}": v for k, v in bench_api._checks(url, ok, data).items()})
        if label == "lake":
            folds = _fold_counts(url)
            out.update({f"lake_{k}": v for k, v in folds.items() if k != "folds"})
            out["lake_redeem_requests_that_folded"] = f"{folds['folds']} of {requests}"
    finally:
        if previous is None:
            os.environ.pop("WEIXI_LEDGER_STORE", None)
        else:
            os.environ["WEIXI_LEDGER_STORE"] = previous
    return out


def run(
    workdir: Path,
    seconds: float = 20.0,
    members: int = 5000,
    procs: int = bench_api.PROCS,
    conns: int = bench_api.CONNS,
    ledgers: tuple[str, ...] = LEDGERS,
    lake_members: int = 100_000,
) -> dict:
    if max(members, lake_members) > 1_000_000:
        raise ValueError("the client asks for members M000000..M999999: at most 1,000,000")
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict = {
        "clients": f"{procs} process(es) x {conns} keep-alive connections, {members} members + {HOT} HOT redeeming",
        "lake_population": f"{max(members, lake_members)} members in each lake month",
        "phases": f"per ledger: health {seconds / 2:g} s, then redeem {seconds:g} s (SQLite, embedded default)",
        "load_average_at_start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for label in ledgers:
        out.update(ledger_run(workdir, label, seconds, members, procs, conns, lake_members))
    out["load_average_at_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if "lake" in ledgers:
        for base in ("sql", "sql_12"):
            if f"{base}_redeem_per_s" in out:
                out[f"lake_redeem_per_s_vs_{base}"] = round(out["lake_redeem_per_s"] / out[f"{base}_redeem_per_s"], 3)
                out[f"lake_redeem_p99_vs_{base}"] = round(out["lake_redeem_p99_ms"] / out[f"{base}_redeem_p99_ms"], 3)
        out["target"] = ">= 500 redeems/s, p99 < 100 ms with 12 unfolded lake months, zero overspend, verify clean"
        out["target_met"] = (
            out.get("lake_redeem_per_s", 0) >= 500
            and out.get("lake_redeem_p99_ms", 1e9) < 100
            and out.get("lake_overspend") == 0
            and bool(out.get("lake_verify_ok"))
        )
    return out


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--lake-members", type=int, default=100_000, help="Members in each lake month.")
    parser.add_argument("--procs", type=int, default=bench_api.PROCS)
    parser.add_argument("--conns", type=int, default=bench_api.CONNS)
    parser.add_argument("--ledgers", default=",".join(LEDGERS), help="Comma-separated: sql, sql_12, lake.")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="weixi-bench-api-lake-"))
    try:
        chosen = tuple(x for x in args.ledgers.split(",") if x)
        result = run(work, args.seconds, args.members, args.procs, args.conns, chosen, args.lake_members)
        print(json.dumps(result, indent=2))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
