"""Server time of every console page at the demo's size (issue 18 §5: ≤ 300 ms a page).

Builds the demo of ``make run`` (``weixi demo``: 20,000 members × 12 closed months, churn, targets, tasks,
incentives, campaigns), then, in this process, logs in as each demo login and requests every page of its menu
plus the detail pages people open from them (a member 360, a campaign, a statement, a model report), one warm-up
and ``REPEAT`` timed requests each, through the ASGI app (FastAPI's TestClient: no network in the figure). The
same-run baseline is the login page (a template and no data).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]
REPEAT = 5
PASSWORD = "weixi-demo"
DETAILS = {  # role -> detail pages opened from its menu
    "admin": ["/members/M0000000002", "/plans/1"],
    "analyst": [  # the draws and prizes of the demo's campaigns: a running one's live page, a closed one's report
        "/campaigns/anniversary-draw",
        "/campaigns/anniversary-draw/live",
        "/campaigns/points-carnival/report",
        "/campaigns/new-customer-month/report",
    ],
    "manager": ["/members/M0000000002"],
    "clerk": [],
    "agent": [],
    "member": [],
}


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def run(workdir: Path, members: int = 20_000, months: int = 12) -> dict:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

    from weixi.api.app import create_app
    from weixi.console import nav
    from weixi.users import service as users

    data, db = workdir / "operator", workdir / "operator.db"
    start = time.perf_counter()
    subprocess.run(
        WEIXI + ["demo", "--out", str(data), "--db", str(db), "--members", str(members), "--months", str(months)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ},
    )
    demo_s = time.perf_counter() - start
    app = create_app(str(db), str(data), secure_cookies=False)
    out: dict = {"members": members, "months": months, "demo_build_seconds": round(demo_s, 1), "repeats": REPEAT}
    pages: dict[str, float] = {}
    try:
        for role in DETAILS:
            http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)
            r = http.post("/login", data={"username": role, "password": PASSWORD, "next": "", "csrf_token": token})
            assert r.status_code == 303, (role, r.status_code)
            user = users.get_user(app.state.engine, role)
            paths = [i["path"] for i in nav.visible(user)] + DETAILS[role]
            for path in paths:
                assert http.get(path).status_code == 200, (role, path)  # warm-up
                times = []
                for _ in range(REPEAT):
                    t = time.perf_counter()
                    http.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                key = f"{role} {path}"
                pages[key] = _p(times, 0.5)
            http.close()
        anon = TestClient(app)
        base = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            anon.get("/login")
            base.append((time.perf_counter() - t) * 1000)
        anon.close()
    finally:
        app.state.engine.dispose()
    out["baseline_login_page_p50_ms"] = _p(base, 0.5)
    out["pages"] = len(pages)
    slowest = sorted(pages.items(), key=lambda kv: -kv[1])
    for key, ms in slowest[:8]:
        out[f"slowest: {key} p50 ms"] = ms
    out["all_pages_median_p50_ms"] = _p(list(pages.values()), 0.5)
    out["slowest_p50_ms"] = slowest[0][1]
    out["pages_over_300_ms"] = sum(1 for v in pages.values() if v > 300)
    out["slowest_over_baseline"] = round(slowest[0][1] / max(out["baseline_login_page_p50_ms"], 0.1), 1)
    out["target_met"] = out["pages_over_300_ms"] == 0
    return out


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 2_000), indent=1))
