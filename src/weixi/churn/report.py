"""The training report: one standalone HTML file with inline SVG charts (no scripts, no network).

Charts: calibration (mean predicted vs observed churn rate per bin, with the diagonal), feature importance
(drop in cross-validated ROC-AUC when a feature is shuffled), lift and cumulative capture by decile.
"""

from __future__ import annotations

import html
from pathlib import Path

W, H, PAD = 520, 320, 48


def _svg(body: str, title: str, width: int = W, height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" style="font:12px sans-serif">{body}</svg>'
    )


def _axes(xlabel: str, ylabel: str, ymax: float, yfmt=lambda v: f"{v:.2f}") -> str:
    x0, y0, x1, y1 = PAD, H - PAD, W - 16, 16
    parts = [
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>',
        f'<text x="{(x0 + x1) / 2}" y="{H - 10}" text-anchor="middle">{html.escape(xlabel)}</text>',
        f'<text x="12" y="{(y0 + y1) / 2}" transform="rotate(-90 12 {(y0 + y1) / 2})" '
        f'text-anchor="middle">{html.escape(ylabel)}</text>',
    ]
    for i in range(5):
        v = ymax * i / 4
        y = y0 - (y0 - y1) * i / 4
        parts.append(
            f'<line x1="{x0 - 4}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{yfmt(v)}</text>'
        )
    return "".join(parts)


def calibration_svg(bins: list[dict]) -> str:
    top = max([b["predicted"] for b in bins] + [b["observed"] for b in bins] + [0.01])
    top = min(1.0, top * 1.1)
    x0, y0, span_x, span_y = PAD, H - PAD, W - 16 - PAD, H - PAD - 16

    def px(v):
        return x0 + span_x * v / top

    def py(v):
        return y0 - span_y * v / top

    pts = " ".join(f"{px(b['predicted']):.1f},{py(b['observed']):.1f}" for b in bins)
    dots = "".join(
        f'<circle cx="{px(b["predicted"]):.1f}" cy="{py(b["observed"]):.1f}" r="4" fill="#c0392b">'
        f"<title>predicted {b['predicted']:.3f}, observed {b['observed']:.3f}, {b['rows']} rows</title></circle>"
        for b in bins
    )
    xt = "".join(
        f'<text x="{px(top * i / 4):.1f}" y="{y0 + 16}" text-anchor="middle">{top * i / 4:.2f}</text>' for i in range(5)
    )
    body = (
        _axes("mean predicted probability", "observed churn rate", top)
        + xt
        + f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(top):.1f}" y2="{py(top):.1f}" stroke="#999" stroke-dasharray="4"/>'
        f'<polyline points="{pts}" fill="none" stroke="#c0392b" stroke-width="2"/>{dots}'
    )
    return _svg(body, "calibration plot")


def importance_svg(rows: list[dict], limit: int = 15) -> str:
    rows = rows[:limit]
    height = 30 + 22 * max(len(rows), 1)
    top = max([r["importance"] for r in rows] + [1e-6])
    label_w, bar_w = 190, W - 190 - 60
    parts = []
    for i, r in enumerate(rows):
        y = 20 + 22 * i
        w = max(0.0, bar_w * r["importance"] / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{html.escape(r["feature"])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="16" fill="#2e86c1">'
            f"<title>{r['importance']:.4f} ± {r['std']:.4f}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{r["importance"]:.4f}</text>'
        )
    return _svg("".join(parts), "feature importance", W, height)


def lift_svg(deciles: list[dict]) -> str:
    top = max([d["lift"] for d in deciles] + [1.0]) * 1.1
    x0, y0, span_x, span_y = PAD, H - PAD, W - 16 - PAD, H - PAD - 16
    bw = span_x / max(len(deciles), 1)
    parts = [_axes("risk decile (1 = highest risk)", "lift over the base rate", top, lambda v: f"{v:.1f}")]
    for i, d in enumerate(deciles):
        h = span_y * d["lift"] / top
        x = x0 + i * bw
        parts.append(
            f'<rect x="{x + 3:.1f}" y="{y0 - h:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" fill="#27ae60">'
            f"<title>decile {d['decile']}: rate {d['rate']:.3f}, lift {d['lift']:.2f}, "
            f"capture {d['capture']:.2f}</title></rect>"
            f'<text x="{x + bw / 2:.1f}" y="{y0 + 16}" text-anchor="middle">{d["decile"]}</text>'
        )
    cap = " ".join(f"{x0 + (i + 0.5) * bw:.1f},{y0 - span_y * d['capture']:.1f}" for i, d in enumerate(deciles))
    parts.append(
        f'<polyline points="{cap}" fill="none" stroke="#8e44ad" stroke-width="2"/>'
        f'<text x="{W - 20}" y="28" text-anchor="end" fill="#8e44ad">cumulative capture (0–100%)</text>'
    )
    base = y0 - span_y * 1.0 / top
    parts.append(f'<line x1="{x0}" y1="{base:.1f}" x2="{W - 16}" y2="{base:.1f}" stroke="#999" stroke-dasharray="4"/>')
    return _svg("".join(parts), "lift by decile")


def render(meta: dict) -> str:
    m = meta["metrics"]
    src = meta.get("source", {})
    cands = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{c['auc']:.4f}</td><td>{', '.join(f'{a:.3f}' for a in c['fold_auc'])}"
        f"</td></tr>"
        for n, c in meta.get("candidates", {}).items()
    )
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in (
            ("model version", meta.get("version")),
            ("model", m.get("model")),
            ("calibration", m.get("calibration")),
            ("trained on", src.get("description", "")),
            ("rows", m.get("rows")),
            ("churned rows", m.get("positives")),
            ("folds", m.get("folds")),
            ("ROC-AUC", f"{m['auc']:.4f}"),
            ("PR-AUC", f"{m['pr_auc']:.4f}"),
            ("lift in the top decile", f"{m['lift_top_decile']:.2f}"),
            ("capture in the top decile", f"{m['capture_top_decile']:.1%}"),
            ("Brier score", f"{m['brier']:.4f}"),
            ("base churn rate", f"{m['base_rate']:.2%}"),
            ("trained at", meta.get("trained_at")),
        )
    )
    ignored = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in meta.get("ignored", {}).items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Churn model v{meta.get("version")}</title>
<style>body{{font:14px sans-serif;margin:24px;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}} .charts{{display:flex;flex-wrap:wrap;gap:24px}}
figure{{margin:0}} figcaption{{font-weight:bold;margin-bottom:4px}}</style></head><body>
<h1>Churn model v{meta.get("version")} — 流失预警模型</h1>
<p>All figures are cross-validated ({m.get("folds")} folds): every row is scored by a model that did not see it,
and calibrated by a map fitted on the other folds.</p>
<table>{rows}</table>
<h2>Candidates (mean ROC-AUC over the folds)</h2>
<table><tr><th>model</th><th>mean ROC-AUC</th><th>per fold</th></tr>{cands}</table>
<div class="charts">
<figure><figcaption>Calibration</figcaption>{calibration_svg(meta["calibration"])}</figure>
<figure><figcaption>Lift and capture by risk decile</figcaption>{lift_svg(meta["lift"])}</figure>
<figure><figcaption>Feature importance (drop in ROC-AUC when shuffled)</figcaption>{importance_svg(meta["importance"])}</figure>
</div>
{f"<h2>Columns not used</h2><ul>{ignored}</ul>" if ignored else ""}
</body></html>
"""


def write(directory: Path, meta: dict) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"churn-model-v{meta.get('version', 0):04d}.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(meta), encoding="utf-8")
    tmp.replace(path)
    return path
