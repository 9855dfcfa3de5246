"""Load on `weixi serve` over loopback: sustained redeem (POST /api/redemptions) and earn (POST /api/events) from
keep-alive connections; throughput, p50/p99 latency and errors per phase; then `weixi verify` and an overspend
check. Baseline in the same run: GET /api/health (no auth, no database) with the same client.

Phases, one server: health (the baseline), then **redeem** (only redemptions: members credited beforehand so most
succeed, while HOT members with 500 points and a gift with a stock of 300 are asked for far more than they have, so
requests race for the same balance and stock), **earn** (only one-bill events) and **mix** (50/50). The client is
one process of raw HTTP/1.1 on uvloop (see the load generator below), so that it costs little CPU next to the
server on a 2-core machine; latency runs from sending a request to the last byte of its response.

PostgreSQL: with ``WEIXI_TEST_PG_URL`` set, or PostgreSQL binaries installed (a throwaway cluster through
scripts/with-postgres.sh), the same scenario runs against it.

    python -m benchmarks.bench_api [--seconds 10] [--conns 32] [--pg-only]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PLAN = """\
plan: bench-api
name: API load benchmark
expiry: {months_after: 24}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 1}
rewards:
  - {id: credit, type: bill_credit, name: 话费抵扣, cost: 100, credit_yuan: 1}
  - {id: gift, type: gift, name: 限量礼品, cost: 100, stock: 300}
"""
TZ = ZoneInfo("Asia/Shanghai")
HOT = 5  # hot members: 500 points each, i.e. 5 redemptions, asked for far more often
PROCS, CONNS = 1, 32  # client processes, keep-alive connections in each


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, members: int) -> str:
    """Fresh ledger with the bench plan, ``members`` members of 2000 points and HOT members of 500; an admin token."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events
    from weixi.plans.service import apply_plan_text
    from weixi.users import service as users

    engine = make_engine(url)
    schema.upgrade(engine)
    apply_plan_text(engine, PLAN, "bench-api.yaml")
    day = datetime(2026, 1, 5, 10, tzinfo=TZ)
    events = [Event(f"seed-{m}", f"M{m:06d}", "bill", day, day.date(), amount_fen=200_000) for m in range(members)]
    events += [Event(f"seed-h{h}", f"H{h}", "bill", day, day.date(), amount_fen=50_000) for h in range(HOT)]
    result = post_events(engine, events)
    assert result.posted == len(events), result.rejected[:3]
    admin = users.create_user(engine, "bench", "bench-password", "admin")
    token = users.issue_token(engine, admin, "bench")
    engine.dispose()
    return token


def _start_server(url: str, data: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weixi",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            url,
            "--data",
            str(data),
            "--workers",
            str(workers),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"weixi serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"GET /api/health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("weixi serve did not answer /api/health within 60 s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that are alive (the workers), Linux /proc."""
    total = 0.0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _get_json(port: int, path: str, token: str) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(_request("GET", path, token, None)[:-2] + b"Connection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the load generator ---------------------------------------------------------------------------------------
# Cheap on purpose (it shares the 2 cores with the server): one asyncio Protocol per keep-alive connection on
# uvloop, requests as bytes from a template (each with its own request id / event id), responses parsed only as
# far as the status line and Content-Length. A request's latency runs from just before its bytes are written to
# just after the last byte of its response has arrived.


def _request(method: str, path: str, token: str | None, body: dict | None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


def _post_head(path: str, token: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: "
    ).encode()


class _Client(asyncio.Protocol):
    """One keep-alive connection: ``await ask(raw)`` gives (status, body) of the next response."""

    def __init__(self):
        self.buf = bytearray()
        self.waiter = None
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        if self.waiter is None:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        at = self.buf.find(b"\r\ncontent-length:", 0, end)
        if at < 0:
            at = self.buf.lower().find(b"\r\ncontent-length:", 0, end)
        length = int(self.buf[at + 17 : self.buf.find(b"\r\n", at + 17)]) if at >= 0 else 0
        if len(self.buf) < end + 4 + length:
            return
        status = int(self.buf[9:12])
        body = bytes(self.buf[end + 4 : end + 4 + length])
        del self.buf[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((status, body))

    def connection_lost(self, exc):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def ask(self, raw: bytes):
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter


def _new_stats() -> dict:
    return {"lat": [], "ok": 0, "refused": 0, "errors": 0, "refusals": {}}


async def _connection(
    port: int, token: str, mode: str, deadline: float, seed: int, members: int, stats: dict, redeem_share: float
) -> None:
    """``mode``: ``health``, or writes with ``redeem_share`` of them redemptions and the rest earns."""
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    redeem_head, earn_head = _post_head("/api/redemptions", token), _post_head("/api/events", token)
    health = _request("GET", "/api/health", None, None)
    clock = time.perf_counter
    n = 0
    client = None
    try:
        _, client = await loop.create_connection(_Client, "127.0.0.1", port)
        while clock() < deadline:
            n += 1
            if mode == "health":
                op, raw = "health", health
            elif redeem_share >= 1 or rng.random() < redeem_share:
                # 5% of redemptions on HOT members with 500 points, 10% on the gift with its stock of 300
                member = f"H{rng.randrange(HOT)}" if rng.random() < 0.05 else f"M{rng.randrange(members):06d}"
                reward = "gift" if rng.random() < 0.1 else "credit"
                body = b'{"member_id":"%s","reward_id":"%s","request_id":"c%d-%d"}' % (
                    member.encode(),
                    reward.encode(),
                    seed,
                    n,
                )
                op, raw = "redeem", redeem_head + b"%d\r\n\r\n" % len(body) + body
            else:
                body = (
                    b'{"events":[{"event_id":"load-%d-%d","member_id":"M%06d","type":"bill",'
                    b'"occurred_at":"2026-03-01T09:00:00+08:00","amount":"12.30"}]}' % (seed, n, rng.randrange(members))
                )
                op, raw = "earn", earn_head + b"%d\r\n\r\n" % len(body) + body
            start = clock()
            status, body = await client.ask(raw)
            elapsed = clock() - start
            s = stats.get(op)
            if s is None:
                s = stats[op] = _new_stats()
            s["lat"].append(elapsed)
            if status < 300:
                s["ok"] += 1
                if op == "earn" and b'"posted":1' not in body:
                    s["errors"] += 1
            elif op == "redeem" and status == 409:
                s["refused"] += 1
                reason = json.loads(body)["error"]["message"].split(":")[0]
                s["refusals"][reason] = s["refusals"].get(reason, 0) + 1
            else:
                s["errors"] += 1
    except (OSError, ConnectionError) as exc:
        stats.setdefault("connection", _new_stats())["errors"] += 1
        stats.setdefault("exceptions", []).append(repr(exc))
    finally:
        if client is not None and client.transport is not None:
            client.transport.close()


def _client_process(
    port: int,
    token: str,
    mode: str,
    start_at: float,
    seconds: float,
    conns: int,
    seed: int,
    members: int,
    redeem_share: float,
    out,
) -> None:
    async def main():
        stats: dict = {}
        while time.time() < start_at:
            await asyncio.sleep(0.001)
        cpu = time.process_time()
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *[
                _connection(port, token, mode, deadline, seed * 1000 + i, members, stats, redeem_share)
                for i in range(conns)
            ]
        )
        stats["client_cpu"] = time.process_time() - cpu
        return stats

    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            out.put(runner.run(main()))
    except ImportError:
        out.put(asyncio.run(main()))


def _drive(
    port: int,
    token: str,
    mode: str,
    seconds: float,
    procs: int,
    conns: int,
    members: int,
    redeem_share: float = 0.5,
    seed: int = 1,
) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 2.0
    workers = [
        ctx.Process(
            target=_client_process,
            args=(port, token, mode, start_at, seconds, conns, seed * 100 + p + 1, members, redeem_share, queue),
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    parts = [queue.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    merged: dict = {"client_cpu": 0.0}
    for part in parts:
        for op, s in part.items():
            if op == "exceptions":
                merged.setdefault("exceptions", []).extend(s)
                continue
            if op == "client_cpu":
                merged["client_cpu"] += s
                continue
            m = merged.setdefault(op, _new_stats())
            m["lat"] += s["lat"]
            for k in ("ok", "refused", "errors"):
                m[k] += s[k]
            for k, v in s["refusals"].items():
                m["refusals"][k] = m["refusals"].get(k, 0) + v
    return merged


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(prefix: str, stats: dict, seconds: float) -> dict:
    out: dict = {}
    for op in ("health", "redeem", "earn"):
        s = stats.get(op)
        if not s:
            continue
        out[f"{prefix}{op}_per_s"] = round(len(s["lat"]) / seconds, 1)
        out[f"{prefix}{op}_p50_ms"] = round(_pct(s["lat"], 0.50) * 1000, 2)
        out[f"{prefix}{op}_p99_ms"] = round(_pct(s["lat"], 0.99) * 1000, 2)
        out[f"{prefix}{op}_errors"] = s["errors"]
        if op == "redeem":
            out[f"{prefix}redeem_ok"] = s["ok"]
            out[f"{prefix}redeem_refused"] = s["refused"]
            out[f"{prefix}redeem_refusals"] = ", ".join(f"{k}: {v}" for k, v in sorted(s["refusals"].items()))
    conn_errors = stats.get("connection", {}).get("errors", 0)
    if conn_errors:
        out[f"{prefix}connection_errors"] = conn_errors
    n = sum(len(stats.get(op, {}).get("lat", [])) for op in ("health", "redeem", "earn"))
    if n:
        out[f"{prefix}client_cpu_ms_per_request"] = round(stats.get("client_cpu", 0.0) * 1000 / n, 3)
    return out


def _checks(url: str, redeemed_ok: int, data: Path | None = None) -> dict:
    """`weixi verify` (of the lake under ``data`` too) and the overspend check, after the server stopped."""
    from weixi.adapters.db import make_engine
    from weixi.adapters.sql import execute

    verified = subprocess.run(
        [sys.executable, "-m", "weixi", "verify", "--db", url, "--json", *(["--data", str(data)] if data else [])],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    report = json.loads(verified.stdout)
    engine = make_engine(url)
    with engine.connect() as conn:
        negative = execute(conn, "SELECT count(*) FROM members WHERE balance < 0 OR debt < 0")[0][0]
        lots = execute(conn, "SELECT count(*) FROM lots WHERE remaining < 0 OR remaining > points")[0][0]
        stock = execute(conn, "SELECT count(*) FROM rewards WHERE stock_total IS NOT NULL AND issued > stock_total")[0][
            0
        ]
        rows = execute(conn, "SELECT count(*) FROM redemptions WHERE request_id IS NOT NULL")[0][0]
        hot = execute(conn, "SELECT coalesce(sum(points), 0) FROM redemptions WHERE member_id LIKE ?", ["H%"])[0][0]
        gift = execute(conn, "SELECT issued, stock_total FROM rewards WHERE reward_id = 'gift'")[0]
    engine.dispose()
    overspend = int(negative) + int(lots) + int(stock) + (1 if int(hot) > HOT * 500 else 0)
    return {
        "verify_ok": bool(report["ok"]) and verified.returncode == 0,
        "verify_checked": ", ".join(f"{v} {k}" for k, v in report["checked"].items()),
        "overspend": overspend,
        "redemptions_recorded_vs_201s": f"{rows} / {redeemed_ok}",
        "hot_members_points_redeemed": f"{hot} of {HOT * 500}",
        "gift_stock_issued": f"{gift[0]} of {gift[1]}",
    }


PHASES = (("redeem", 1.0), ("earn", 0.0), ("mix", 0.5))  # phase, share of redemptions among the writes


def scenario(
    workdir: Path, url: str, label: str, seconds: float, members: int, procs: int, conns: int, workers: int = 1
) -> dict:
    """Health baseline (``seconds / 2``), then three write phases of ``seconds`` each against one server: only
    redemptions (members credited beforehand, HOT members and a limited gift racing), only earns, 50/50."""
    data = workdir / f"{label}-data"
    data.mkdir(parents=True, exist_ok=True)
    token = _prepare(url, members)
    port = _free_port()
    server = _start_server(url, data, port, workdir / f"{label}-server.log", workers)
    out = {
        f"{label}_clients": f"{procs} process(es) x {conns} keep-alive connections, {members} members",
        f"{label}_phases": f"health {seconds / 2:g} s, then redeem, earn and 50/50 mix {seconds:g} s each",
        f"{label}_server_processes": workers,
        f"{label}_load_average_at_start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    results = {}
    ok = 0
    try:
        cpu = _cpu_seconds(server.pid)
        base = _drive(port, token, "health", seconds / 2, procs, conns, members)
        now = _cpu_seconds(server.pid)
        n_base = len(base.get("health", {}).get("lat", []))
        out.update(_summary(f"{label}_", base, seconds / 2))
        out[f"{label}_server_cpu_ms_per_health"] = round((now - cpu) * 1000 / n_base, 2) if n_base else None
        health = out.get(f"{label}_health_per_s") or float("nan")
        for i, (phase, share) in enumerate(PHASES):
            cpu = _cpu_seconds(server.pid)
            load = _drive(port, token, "writes", seconds, procs, conns, members, share, seed=i + 2)
            now = _cpu_seconds(server.pid)
            results[phase] = load
            prefix = f"{label}_{phase}_phase_"
            out.update(_summary(prefix, load, seconds))
            n = sum(len(load.get(op, {}).get("lat", [])) for op in ("redeem", "earn"))
            out[f"{prefix}server_cpu_ms_per_write"] = round((now - cpu) * 1000 / n, 2) if n else None
            out[f"{prefix}writes_per_s_vs_health"] = (
                round(n / seconds / health, 3) if health == health and health else None
            )
            if load.get("exceptions"):
                out[f"{prefix}client_exceptions"] = "; ".join(sorted(set(load["exceptions"])))[:300]
            ok += load.get("redeem", {}).get("ok", 0)
        writer = _get_json(port, "/api/system/writer", token)
    finally:
        _stop(server)
    out[f"{label}_load_average_at_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    out.update({f"{label}_writer_{k}": v for k, v in writer.items()})
    out.update({f"{label}_{k}": v for k, v in _checks(url, ok).items()})
    return out


def _pg_available() -> bool:
    return bool(os.environ.get("WEIXI_TEST_PG_URL")) or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def _pg(workdir: Path, seconds: float, members: int, procs: int, conns: int) -> dict:
    pg = os.environ.get("WEIXI_TEST_PG_URL")
    if pg:
        from sqlalchemy import create_engine, text

        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_api CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_api"))
        admin.dispose()
        out = scenario(workdir, f"{pg}?options=-csearch_path%3Dbench_api", "postgresql", seconds, members, procs, conns)
        out["postgresql_server"] = "throwaway cluster of scripts/with-postgres.sh (fsync=off)"
        return out
    # a throwaway cluster for this run only
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "with-postgres.sh"),
            sys.executable,
            "-m",
            "benchmarks.bench_api",
            "--pg-only",
            "--seconds",
            str(seconds),
            "--members",
            str(members),
            "--procs",
            str(procs),
            "--conns",
            str(conns),
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        return {
            "postgresql": f"not measured: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(
    workdir: Path,
    seconds: float = 10.0,
    members: int = 5000,
    procs: int = PROCS,
    conns: int = CONNS,
    postgres: bool = True,
) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "api.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    out = scenario(workdir, str(db), "sqlite", seconds, members, procs, conns)
    out["target"] = ">= 500 redeems/s, p99 < 100 ms, zero overspend (SQLite)"
    clean = out["sqlite_overspend"] == 0 and out["sqlite_verify_ok"]
    for phase in ("redeem", "mix"):
        out[f"sqlite_{phase}_phase_target_met"] = (
            out.get(f"sqlite_{phase}_phase_redeem_per_s", 0) >= 500
            and out.get(f"sqlite_{phase}_phase_redeem_p99_ms", 1e9) < 100
            and clean
        )
    if postgres and _pg_available():
        out.update(_pg(workdir, seconds, members, procs, conns))
    elif postgres:
        out["postgresql"] = "not measured: no PostgreSQL server on this machine (make postgres installs it)"
    return out


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--procs", type=int, default=PROCS)
    parser.add_argument("--conns", type=int, default=CONNS)
    parser.add_argument("--workdir")
    parser.add_argument("--pg-only", action="store_true", help="Only the PostgreSQL run (needs WEIXI_TEST_PG_URL).")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="weixi-bench-api-"))
    try:
        if args.pg_only:
            if not os.environ.get("WEIXI_TEST_PG_URL"):
                sys.exit("bench_api --pg-only: WEIXI_TEST_PG_URL is not set (run it under scripts/with-postgres.sh)")
            print(json.dumps(_pg(work, args.seconds, args.members, args.procs, args.conns)))
        else:
            print(json.dumps(run(work, args.seconds, args.members, args.procs, args.conns), indent=2))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
