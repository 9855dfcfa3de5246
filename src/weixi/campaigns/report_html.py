"""The campaign report as one self-contained HTML page with inline SVG charts (no scripts, no network).

Pure: :func:`render` takes the report data of :func:`weixi.campaigns.report.evaluate` and returns
text. Every string from the campaign file or the database is escaped.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

W = 640


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _d(value, default: Decimal = Decimal(0)) -> Decimal:
    return default if value is None else Decimal(str(value))


def _pct(value) -> str:
    return "–" if value is None else f"{(_d(value) * 100).quantize(Decimal('0.1'))}%"


def bar_chart(
    rows: list[tuple[str, Decimal, Decimal | None]], title: str, ref: Decimal | None = None, fmt=lambda v: str(v)
) -> str:
    """Horizontal bars: (label, value, second value or None); ``ref`` draws a vertical line (e.g. 100%)."""
    if not rows:
        return ""
    top = max([abs(v) for _, v, _ in rows] + [abs(s) for _, _, s in rows if s is not None] + [ref or 0, Decimal(1)])
    left, bar_w, row_h = 170, W - 250, 26
    h = 30 + row_h * len(rows)
    out = [
        f'<svg class="chart" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="16" class="t">{_e(title)}</text>',
    ]
    for i, (label, value, second) in enumerate(rows):
        y = 26 + i * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{_e(label)}</text>')
        if second is not None:
            sw = int(bar_w * max(second, 0) / top)
            out.append(
                f'<rect x="{left}" y="{y + 2}" width="{sw}" height="8" class="b2"><title>{_e(fmt(second))}</title></rect>'
            )
        vw = int(bar_w * max(value, 0) / top)
        out.append(
            f'<rect x="{left}" y="{y + (11 if second is not None else 4)}" width="{vw}" height="{9 if second is not None else 14}" '
            f'class="b1"><title>{_e(fmt(value))}</title></rect>'
        )
        out.append(f'<text x="{left + vw + 4}" y="{y + 16}">{_e(fmt(value))}</text>')
    if ref is not None:
        x = left + int(bar_w * ref / top)
        out.append(f'<line x1="{x}" y1="22" x2="{x}" y2="{h}" class="ref"/>')
    out.append("</svg>")
    return "".join(out)


def line_chart(points: list[tuple[str, Decimal, Decimal]], title: str, labels: tuple[str, str]) -> str:
    """Two series over days (treatment and control)."""
    if not points:
        return ""
    h, left, bottom = 220, 50, 190
    top = max([max(a, b) for _, a, b in points] + [Decimal(1)])
    step = (W - left - 20) / max(len(points) - 1, 1)

    def xy(i, v):
        return f"{left + i * step:.1f},{bottom - float(v / top) * 160:.1f}"

    out = [
        f'<svg class="chart" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="16" class="t">{_e(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{W - 10}" y2="{bottom}" class="axis"/>',
        f'<text x="{left - 4}" y="{bottom - 160 + 4}" text-anchor="end">{_e(top)}</text>',
    ]
    for k, cls in ((1, "l1"), (2, "l2")):
        path = " ".join(xy(i, p[k]) for i, p in enumerate(points))
        out.append(f'<polyline points="{path}" class="{cls}"/>')
    out.append(f'<text x="{left}" y="{h - 6}">{_e(points[0][0])}</text>')
    out.append(f'<text x="{W - 10}" y="{h - 6}" text-anchor="end">{_e(points[-1][0])}</text>')
    out.append(
        f'<text x="{W - 10}" y="16" text-anchor="end"><tspan class="k1">■ {_e(labels[0])}</tspan> '
        f'<tspan class="k2">■ {_e(labels[1])}</tspan></text></svg>'
    )
    return "".join(out)


def interval_chart(diff, low, high, title: str) -> str:
    """The lift and its confidence interval against zero."""
    if low is None:
        return ""
    d, lo, hi = _d(diff), _d(low), _d(high)
    span = max(abs(lo), abs(hi), abs(d), Decimal("0.0001")) * Decimal("1.2")
    mid, half = W // 2, (W - 80) // 2

    def x(v):
        return mid + int(half * v / span)

    return (
        f'<svg class="chart" viewBox="0 0 {W} 70" width="{W}" height="70" role="img" aria-label="{_e(title)}">'
        f'<text x="0" y="16" class="t">{_e(title)}</text>'
        f'<line x1="{mid}" y1="24" x2="{mid}" y2="66" class="ref"/>'
        f'<line x1="{x(lo)}" y1="45" x2="{x(hi)}" y2="45" class="ci"/>'
        f'<line x1="{x(lo)}" y1="38" x2="{x(lo)}" y2="52" class="ci"/><line x1="{x(hi)}" y1="38" x2="{x(hi)}" y2="52" class="ci"/>'
        f'<circle cx="{x(d)}" cy="45" r="5" class="dot"/>'
        f'<text x="{x(lo)}" y="66" text-anchor="middle">{_e(lo)}</text>'
        f'<text x="{x(hi)}" y="66" text-anchor="middle">{_e(hi)}</text>'
        f'<text x="{x(d)}" y="33" text-anchor="middle">{_e(d)}</text></svg>'
    )


def risk_matrix(risks: list[dict]) -> str:
    cell = 44
    out = [
        f'<svg class="chart" viewBox="0 0 {cell * 5 + 60} {cell * 5 + 40}" width="{cell * 5 + 60}" '
        f'height="{cell * 5 + 40}" role="img" aria-label="risk matrix">'
    ]
    for li in range(5):
        for im in range(5):
            score = (li + 1) * (im + 1)
            cls = "hi" if score >= 15 else "md" if score >= 8 else "lo"
            x, y = 40 + im * cell, (4 - li) * cell
            ids = [r["id"] for r in risks if r["likelihood"] == li + 1 and r["impact"] == im + 1]
            out.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" class="{cls}"/>')
            for k, rid in enumerate(ids[:3]):
                out.append(f'<text x="{x + 3}" y="{y + 14 + 12 * k}" class="s">{_e(rid[:8])}</text>')
    out.append(f'<text x="{40 + cell * 2.5}" y="{cell * 5 + 30}" text-anchor="middle">影响 impact →</text>')
    out.append(
        f'<text x="12" y="{cell * 2.5}" transform="rotate(-90 12 {cell * 2.5})" text-anchor="middle">可能性 likelihood →</text>'
    )
    out.append("</svg>")
    return "".join(out)


CSS = """body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;max-width:920px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n,th.n{text-align:right}.met{color:#1a7f37}.miss{color:#b42318}.note{color:#666;font-size:.9em}
svg.chart{display:block;margin:.6em 0;font-size:11px}svg .t{font-weight:600;font-size:12px}
.b1{fill:#2f6fdf}.b2{fill:#c9d6f2}.ref{stroke:#b42318;stroke-dasharray:4 3}.axis{stroke:#999}
.l1{fill:none;stroke:#2f6fdf;stroke-width:2}.l2{fill:none;stroke:#e08a00;stroke-width:2}.k1{fill:#2f6fdf}.k2{fill:#e08a00}
.ci{stroke:#222;stroke-width:2}.dot{fill:#2f6fdf}.hi{fill:#f4b4ae;stroke:#fff}.md{fill:#fbe3a6;stroke:#fff}
.lo{fill:#cfe8d2;stroke:#fff}.s{font-size:9px}code{font-size:.85em;word-break:break-all}"""


def _table(head: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    h = "".join(f"<th{' class=n' if i in numeric else ''}>{_e(x)}</th>" for i, x in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if i in numeric else ''}>{c if isinstance(c, Markup) else _e(c)}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{h}</tr>{body}</table>"


class Markup(str):
    """Already-escaped HTML."""


def render(r: dict) -> str:
    objectives = r["objectives"]
    obj_rows = [
        [
            o["name"],
            o["metric"],
            o["target"],
            o["actual"] if o["actual"] is not None else "–",
            Markup(f'<span class="{"met" if o["met"] else "miss"}">{_e(_pct(o["achievement"]))}</span>'),
            "账本 ledger" if o["source"] == "ledger" else f"人工录入 recorded by {o['recorded_by']}",
        ]
        for o in objectives
    ]
    obj_chart = bar_chart(
        [(o["name"], _d(o["achievement"]) * 100, None) for o in objectives],
        "目标达成率 achievement (%)",
        Decimal(100),
        lambda v: f"{v.quantize(Decimal('0.1'))}%",
    )
    lines = r["budget"]["lines"]
    budget_chart = bar_chart(
        [(l["line"], _d(l["actual_yuan"]), _d(l["planned_yuan"])) for l in lines],
        "预算与实际 budget (light) vs actual (dark), yuan",
        None,
        lambda v: f"{v}",
    )
    lift, roi = r["lift"], r["roi"]
    daily = r.get("daily_sales") or []
    sales_chart = line_chart(
        [(d["day"], _d(d["treatment_per_member_yuan"]), _d(d["control_per_member_yuan"])) for d in daily],
        "每日人均消费 daily spend per member (yuan)",
        ("treatment 活动组", "control 对照组"),
    )
    lottery = r.get("lottery")
    draw_chart = ""
    if lottery and lottery.get("days"):
        draw_chart = bar_chart(
            [(day, Decimal(v["draws"]), None) for day, v in sorted(lottery["days"].items())],
            "每日抽奖次数 draws per day",
        )
    parts = [
        f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>{_e(r['name'])} — 活动报告</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(r['name'])} <small>({_e(r['campaign_id'])})</small></h1>",
        f"<p>{_e(r['from'])} – {_e(r['to'])} · 状态 status: <b>{_e(r['status'])}</b> · 负责 owner: {_e(r.get('owner'))}"
        f"{' · frozen at evaluation' if r.get('frozen') else ' · live figures'}</p>",
        (
            f"<p class=cancelled><b>已取消 cancelled</b> {_e(r['cancelled']['at'])} · {_e(r['cancelled']['by'])}: "
            f"{_e(r['cancelled']['reason'])} — 以下为取消前已发放的数据 the figures are what it gave until then</p>"
            if r.get("cancelled")
            else ""
        ),
        f"<p>{_e(r.get('description'))}</p>",
        f"<p>参与人数 participants: <b>{_e(r['participants'])}</b> · 活动组 treatment {_e(r['audience']['treatment'])}"
        f" · 对照组 control {_e(r['audience']['control'])} ({_e(r['audience']['source'])})</p>",
        "<h2>目标 Objectives</h2>",
        obj_chart,
        _table(
            ["目标 objective", "metric", "目标值 target", "实际 actual", "达成率 achievement", "source"],
            obj_rows,
            {2, 3, 4},
        ),
        "<h2>积分 Points</h2>",
        _table(
            ["发放 issued", "其中 by source", "兑换 redeemed", "抽奖消耗 on chances", "每分成本 fen/point"],
            [
                [
                    r["points"]["issued"],
                    ", ".join(f"{k} {v}" for k, v in r["points"]["by_source"].items()),
                    r["points"]["redeemed"],
                    r["points"]["spent_on_chances"],
                    r["points"]["cost_per_point_fen"],
                ]
            ],
            {0, 2, 3, 4},
        ),
        "<h2>预算 Budget and cost</h2>",
        budget_chart,
        _table(
            ["line", "预算 planned (yuan)", "实际 actual (yuan)", "burn", "points planned", "points actual"],
            [
                [
                    l["line"],
                    l["planned_yuan"],
                    l["actual_yuan"],
                    _pct(l["burn"]),
                    l["planned_points"] or "",
                    l["actual_points"] or "",
                ]
                for l in lines
            ]
            + [
                [
                    "合计 total",
                    r["budget"]["planned_yuan"],
                    r["budget"]["actual_yuan"],
                    _pct(r["budget"]["burn"]),
                    "",
                    "",
                ]
            ],
            {1, 2, 3, 4, 5},
        ),
        "<h2>提升 Lift against the control group</h2>",
        f"<p>{_e(lift['outcome'])}: treatment {_e(lift['treatment_mean'])} vs control {_e(lift['control_mean'])} "
        f"{_e(lift['unit'])}; difference <b>{_e(lift['difference'])}</b>, {_e(lift['confidence'])} interval "
        f"[{_e(lift['low'])}, {_e(lift['high'])}] — {'significant' if lift['significant'] else 'not significant'}.</p>",
        interval_chart(lift["difference"], lift["low"], lift["high"], "lift and 95% interval (0 = no effect)"),
        f"<p class=note>{_e(lift['note'])}</p>" if lift.get("note") else "",
        sales_chart,
        "<h2>投入产出 ROI</h2>",
        _table(
            ["增量销售 incremental sales", "毛利率 margin", "增量毛利 margin", "成本 cost", "ROI", "95% range"],
            [
                [
                    roi["incremental_sales_yuan"],
                    roi["margin_share"],
                    roi["incremental_margin_yuan"],
                    roi["cost_yuan"],
                    _pct(roi["roi"]),
                    f"{_pct(roi['low'])} … {_pct(roi['high'])}",
                ]
            ],
            {0, 1, 2, 3, 4},
        ),
        f"<p class=note>{_e(roi['note'])}</p>" if roi.get("note") else "",
    ]
    if lottery:
        parts += [
            "<h2>抽奖 Lottery</h2>",
            draw_chart,
            f"<p>承诺 commitment (SHA-256 of the seed), published {_e(lottery['committed_at'])}: "
            f"<code>{_e(lottery['commitment'])}</code><br>种子 seed: "
            f"<code>{_e(lottery['seed'] or 'revealed when the campaign closes')}</code></p>",
            "<p class=note>Anyone can re-verify every draw: <code>weixi campaign verify-draws</code> "
            "(docs/campaigns.md).</p>",
        ]
    if r.get("milestones"):
        parts += [
            "<h2>执行计划 Milestones</h2>",
            _table(
                ["milestone", "owner", "due", "done"],
                [
                    [m["name"], m["owner"], m["due"], f"{m['done_by']} {m['done_at']}" if m["done_by"] else "–"]
                    for m in r["milestones"]
                ],
            ),
        ]
    if r.get("risks"):
        parts += [
            "<h2>风险 Risks (likelihood × impact)</h2>",
            risk_matrix(r["risks"]),
            _table(
                ["id", "category", "risk", "L", "I", "score", "response", "owner"],
                [
                    [
                        k["id"],
                        k["category"],
                        k["description"],
                        k["likelihood"],
                        k["impact"],
                        k["score"],
                        k["response"],
                        k["owner"],
                    ]
                    for k in r["risks"]
                ],
                {3, 4, 5},
            ),
        ]
    if r.get("referrals"):
        parts += [
            "<h2>推荐 Referrals</h2>",
            _table(["status", "count"], [[k, v] for k, v in r["referrals"].items()], {1}),
        ]
    parts += [
        "<h2>审批记录 Lifecycle</h2>",
        _table(["action", "status", "by", "at"], [[s["action"], s["status"], s["by"], s["at"]] for s in r["steps"]]),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)
