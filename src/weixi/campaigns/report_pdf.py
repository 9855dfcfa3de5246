"""The campaign report as PDF bytes, with reportlab (BSD licence).

Chinese text uses reportlab's built-in ``STSong-Light`` CID font: the PDF names the font and every reader that
supports Chinese (Adobe Reader with its Asian font pack, pdf.js, Preview, poppler) draws it, so no font file is
shipped or embedded. Charts are reportlab drawings (vector) of the same figures as the HTML report.
"""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
H1 = ParagraphStyle("h1", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
H2 = ParagraphStyle("h2", fontName=FONT, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)


def _p(text, style=BODY) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)), style)


def _table(head: list[str], rows: list[list]) -> Table:
    data = [[_p(h) for h in head]] + [[_p(c) for c in r] for r in rows]
    t = Table(data, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2fa")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def _bars(title: str, labels: list[str], series: list[list[float]]) -> Drawing:
    """A horizontal bar chart; the values are drawn, so float is fine here (they are also in the tables)."""
    height = 40 + 22 * len(labels)
    d = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 110, 10, 160 * mm - 110, height - 35
    chart.data = series
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2f6fdf")
    if len(series) > 1:
        chart.bars[1].fillColor = colors.HexColor("#c9d6f2")
    d.add(chart)
    d.add(String(0, height - 12, title, fontName=FONT, fontSize=10))
    return d


def _pct(value) -> str:
    return "–" if value is None else f"{(Decimal(str(value)) * 100).quantize(Decimal('0.1'))}%"


def render(r: dict) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"{r['name']} — campaign report",
        author="Weixi",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    story = [
        _p(f"{r['name']} ({r['campaign_id']})", H1),
        _p(
            f"{r['from']} – {r['to']} · status {r['status']} · owner {r.get('owner') or ''} · participants "
            f"{r['participants']} · treatment {r['audience']['treatment']} / control {r['audience']['control']}"
        ),
        *(
            [_p(f"已取消 cancelled {r['cancelled']['at']} · {r['cancelled']['by']}: {r['cancelled']['reason']}")]
            if r.get("cancelled")
            else []
        ),
        _p("目标 Objectives", H2),
    ]
    objs = r["objectives"]
    story.append(
        _table(
            ["objective", "metric", "target", "actual", "achievement", "source"],
            [
                [
                    o["name"],
                    o["metric"],
                    o["target"],
                    o["actual"] or "–",
                    _pct(o["achievement"]),
                    "ledger" if o["source"] == "ledger" else f"recorded by {o['recorded_by']}",
                ]
                for o in objs
            ],
        )
    )
    if objs:
        story.append(
            _bars(
                "achievement (%)",
                [o["name"] for o in objs],
                [[float(Decimal(o["achievement"] or 0) * 100) for o in objs]],
            )
        )
    pts = r["points"]
    story += [
        _p("积分 Points", H2),
        _table(
            ["issued", "by source", "redeemed", "on chances", "fen per point"],
            [
                [
                    pts["issued"],
                    ", ".join(f"{k} {v}" for k, v in pts["by_source"].items()),
                    pts["redeemed"],
                    pts["spent_on_chances"],
                    pts["cost_per_point_fen"],
                ]
            ],
        ),
        _p("预算 Budget and cost (yuan)", H2),
    ]
    lines = r["budget"]["lines"]
    story.append(
        _table(
            ["line", "planned", "actual", "burn"],
            [[l["line"], l["planned_yuan"], l["actual_yuan"], _pct(l["burn"])] for l in lines]
            + [["total", r["budget"]["planned_yuan"], r["budget"]["actual_yuan"], _pct(r["budget"]["burn"])]],
        )
    )
    if lines:
        story.append(
            _bars(
                "actual (dark) and planned (light), yuan",
                [l["line"] for l in lines],
                [[float(Decimal(l["actual_yuan"])) for l in lines], [float(Decimal(l["planned_yuan"])) for l in lines]],
            )
        )
    lift, roi = r["lift"], r["roi"]
    story += [
        _p("提升 Lift against the control group", H2),
        _p(
            f"{lift['outcome']}: treatment {lift['treatment_mean']} vs control {lift['control_mean']} "
            f"({lift['unit']}); difference {lift['difference']}, 95% interval [{lift['low']}, {lift['high']}], "
            f"{'significant' if lift['significant'] else 'not significant'}. {lift.get('note') or ''}"
        ),
        _p("投入产出 ROI", H2),
        _p(
            f"incremental sales {roi['incremental_sales_yuan']} yuan x margin {roi['margin_share']} = "
            f"{roi['incremental_margin_yuan']} yuan against cost {roi['cost_yuan']} yuan: ROI {_pct(roi['roi'])} "
            f"(95% range {_pct(roi['low'])} … {_pct(roi['high'])}). {roi.get('note') or ''}"
        ),
    ]
    lottery = r.get("lottery")
    if lottery:
        story += [
            _p("抽奖 Lottery", H2),
            _p(
                f"commitment SHA-256(seed) = {lottery['commitment']} published {lottery['committed_at']}; "
                f"seed {lottery['seed'] or 'revealed at close'}. Verify: weixi campaign verify-draws."
            ),
            _table(
                ["day", "draws", "prizes"],
                [[d, v["draws"], v["prizes"]] for d, v in sorted((lottery.get("days") or {}).items())],
            ),
        ]
    if r.get("risks"):
        story += [
            _p("风险 Risks", H2),
            _table(
                ["id", "category", "risk", "L x I", "level", "response"],
                [
                    [
                        k["id"],
                        k["category"],
                        k["description"],
                        f"{k['likelihood']} x {k['impact']} = {k['score']}",
                        k["level"],
                        k["response"],
                    ]
                    for k in r["risks"]
                ],
            ),
        ]
    story += [
        Spacer(1, 6),
        _p("审批记录 Lifecycle", H2),
        _table(["action", "status", "by", "at"], [[s["action"], s["status"], s["by"], s["at"]] for s in r["steps"]]),
    ]
    doc.build(story)
    return buf.getvalue()
