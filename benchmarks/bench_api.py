"""Load on `weixi serve` over loopback: sustained earn (POST /api/events) and redeem (POST /api/redemptions)
from several client processes; p50/p99 latency, throughput per operation, errors; then `weixi verify` and an
overspend check. Baseline in the same run: GET /api/health (no auth, no database) with the same clients.

The clients speak raw HTTP/1.1 over keep-alive asyncio connections, so that the load generator costs little
CPU next to the server on a 2-core machine. Hot members (few points, many requests) and a gift with a small
stock make requests race for the same balance and stock.

PostgreSQL: with ``WEIXI_TEST_PG_URL`` set, or PostgreSQL binaries installed (a throwaway cluster through
scripts/with-postgres.sh), the same scenario runs against it.

    python -m benchmarks.bench_api [--seconds 10] [--pg-only]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, members: int) -> str:
    """Fresh ledger with the bench plan, ``members`` members of 2000 points and HOT members of 500; an admin token."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.ledger.events import Event
    from weixi.service_layer import users
    from weixi.service_layer.plans import apply_plan_text
    from weixi.service_layer.posting import post_events

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
    proc = subprocess.Popen([sys.executable, "-m", "weixi", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--db", url, "--data", str(data), "--workers", str(workers)], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env=env, cwd=ROOT)
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

def _request(method: str, path: str, token: str | None, body: dict | None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


async def _connection(port: int, token: str, mode: str, deadline: float, seed: int, members: int, stats: dict) -> None:
    rng = random.Random(seed)
    n = 0
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            n += 1
            if mode == "health":
                op, raw = "health", _request("GET", "/api/health", None, None)
            elif rng.random() < 0.5:
                member = f"H{rng.randrange(HOT)}" if rng.random() < 0.05 else f"M{rng.randrange(members):06d}"
                reward = "gift" if rng.random() < 0.1 else "credit"
                op, raw = "redeem", _request("POST", "/api/redemptions", token,
                                             {"member_id": member, "reward_id": reward, "request_id": f"c{seed}-{n}"})
            else:
                member = f"M{rng.randrange(members):06d}"
                op, raw = "earn", _request("POST", "/api/events", token, {"events": [
                    {"event_id": f"load-{seed}-{n}", "member_id": member, "type": "bill",
                     "occurred_at": "2026-03-01T09:00:00+08:00", "amount": "12.30"}]})
            start = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            elapsed = time.perf_counter() - start
            s = stats.setdefault(op, {"lat": [], "ok": 0, "refused": 0, "errors": 0, "refusals": {}})
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
    except (OSError, asyncio.IncompleteReadError) as exc:
        stats.setdefault("connection", {"lat": [], "ok": 0, "refused": 0, "errors": 0, "refusals": {}})["errors"] += 1
        stats.setdefault("exceptions", []).append(repr(exc))
    finally:
        if writer is not None:
            writer.close()


def _client_process(port: int, token: str, mode: str, start_at: float, seconds: float, conns: int, seed: int,
                    members: int, out) -> None:
    async def main():
        stats: dict = {}
        while time.time() < start_at:
            await asyncio.sleep(0.001)
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*[_connection(port, token, mode, deadline, seed * 1000 + i, members, stats)
                               for i in range(conns)])
        return stats

    out.put(asyncio.run(main()))


def _drive(port: int, token: str, mode: str, seconds: float, procs: int, conns: int, members: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 2.0
    workers = [ctx.Process(target=_client_process, args=(port, token, mode, start_at, seconds, conns, p + 1, members, queue))
               for p in range(procs)]
    for w in workers:
        w.start()
    parts = [queue.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    merged: dict = {}
    for part in parts:
        for op, s in part.items():
            if op == "exceptions":
                merged.setdefault("exceptions", []).extend(s)
                continue
            m = merged.setdefault(op, {"lat": [], "ok": 0, "refused": 0, "errors": 0, "refusals": {}})
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
    return out


def _checks(url: str, redeemed_ok: int) -> dict:
    """`weixi verify` and the overspend check, after the server stopped."""
    from weixi.adapters.db import make_engine
    from weixi.adapters.sql import execute

    verified = subprocess.run([sys.executable, "-m", "weixi", "verify", "--db", url, "--json"], capture_output=True,
                              text=True, cwd=ROOT)
    report = json.loads(verified.stdout)
    engine = make_engine(url)
    with engine.connect() as conn:
        negative = execute(conn, "SELECT count(*) FROM members WHERE balance < 0 OR debt < 0")[0][0]
        lots = execute(conn, "SELECT count(*) FROM lots WHERE remaining < 0 OR remaining > points")[0][0]
        stock = execute(conn, "SELECT count(*) FROM rewards WHERE stock_total IS NOT NULL AND issued > stock_total")[0][0]
        rows = execute(conn, "SELECT count(*) FROM redemptions WHERE request_id IS NOT NULL")[0][0]
        hot = execute(conn, "SELECT coalesce(sum(points), 0) FROM redemptions WHERE member_id LIKE ?", ["H%"])[0][0]
        gift = execute(conn, "SELECT issued, stock_total FROM rewards WHERE reward_id = 'gift'")[0]
    engine.dispose()
    overspend = int(negative) + int(lots) + int(stock) + (1 if int(hot) > HOT * 500 else 0)
    return {"verify_ok": bool(report["ok"]) and verified.returncode == 0,
            "verify_checked": ", ".join(f"{v} {k}" for k, v in report["checked"].items()),
            "overspend": overspend,
            "redemptions_recorded_vs_201s": f"{rows} / {redeemed_ok}",
            "hot_members_points_redeemed": f"{hot} of {HOT * 500}",
            "gift_stock_issued": f"{gift[0]} of {gift[1]}"}


def scenario(workdir: Path, url: str, label: str, seconds: float, members: int, procs: int, conns: int,
             workers: int = 1) -> dict:
    data = workdir / f"{label}-data"
    data.mkdir(parents=True, exist_ok=True)
    token = _prepare(url, members)
    port = _free_port()
    server = _start_server(url, data, port, workdir / f"{label}-server.log", workers)
    try:
        cpu0 = _cpu_seconds(server.pid)
        base = _drive(port, token, "health", seconds / 2, procs, conns, members)
        cpu1 = _cpu_seconds(server.pid)
        load = _drive(port, token, "load", seconds, procs, conns, members)
        cpu2 = _cpu_seconds(server.pid)
        writer = _get_json(port, "/api/system/writer", token)
    finally:
        _stop(server)
    out = {f"{label}_clients": f"{procs} processes x {conns} connections, {seconds:g} s load, {members} members",
           f"{label}_server_processes": workers}
    out.update(_summary(f"{label}_", base, seconds / 2))
    out.update(_summary(f"{label}_", load, seconds))
    out.update({f"{label}_writer_{k}": v for k, v in writer.items()})
    n_base = len(base.get("health", {}).get("lat", []))
    n_load = sum(len(load.get(op, {}).get("lat", [])) for op in ("redeem", "earn"))
    out[f"{label}_server_cpu_ms_per_health"] = round((cpu1 - cpu0) * 1000 / n_base, 2) if n_base else None
    out[f"{label}_server_cpu_ms_per_write"] = round((cpu2 - cpu1) * 1000 / n_load, 2) if n_load else None
    health = out.get(f"{label}_health_per_s") or float("nan")
    total = out.get(f"{label}_redeem_per_s", 0) + out.get(f"{label}_earn_per_s", 0)
    out[f"{label}_requests_per_s_vs_health"] = round(total / health, 3) if health == health and health else None
    if load.get("exceptions"):
        out[f"{label}_client_exceptions"] = "; ".join(sorted(set(load["exceptions"])))[:300]
    ok = load.get("redeem", {}).get("ok", 0)
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
    result = subprocess.run(["bash", str(ROOT / "scripts" / "with-postgres.sh"), sys.executable, "-m", "benchmarks.bench_api",
                             "--pg-only", "--seconds", str(seconds), "--members", str(members), "--procs", str(procs),
                             "--conns", str(conns), "--workdir", str(workdir)],
                            capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        return {"postgresql": f"not measured: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(workdir: Path, seconds: float = 10.0, members: int = 5000, procs: int = 2, conns: int = 16,
        postgres: bool = True) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "api.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    out = scenario(workdir, str(db), "sqlite", seconds, members, procs, conns)
    out["target"] = ">= 500 redeems/s, p99 < 100 ms, zero overspend (SQLite)"
    out["sqlite_target_met"] = (out.get("sqlite_redeem_per_s", 0) >= 500 and out.get("sqlite_redeem_p99_ms", 1e9) < 100
                                and out["sqlite_overspend"] == 0 and out["sqlite_verify_ok"])
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
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--conns", type=int, default=16)
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
