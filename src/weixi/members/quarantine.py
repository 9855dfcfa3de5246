"""The quarantine of ``weixi load``: the bad rows of a file as they came, with what is wrong with each, written to
``DIR/quarantine/<table>-<seq>-<sha8>.csv``.

A reason is coded (:func:`weixi.members.intake_checks.reason`): the quarantine file has it in English (``reason``)
and as error-catalogue codes with their params (``code``, and ``params``: a JSON list, one object per code), so a
page can say it in its reader's language (:func:`weixi.messages.render`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from weixi.adapters import spreadsheet
from weixi.errors import Problem
from weixi.members.fields import QUARANTINE_COLUMNS, TableSpec
from weixi.members.intake_checks import SEP, decode_reason
from weixi.members.sources import Source
from weixi.messages import render

ISSUES_SHOWN = 20


def write(con, src: Source, spec: TableSpec, data: Path, all_err: list[str], seq: int, sha8: str
          ) -> tuple[dict[str, int], list[dict], str | None]:  # fmt: skip
    """The bad rows as they came, with what is wrong, in ``quarantine/<table>-<seq>-<sha8>.csv``; returns the
    issue counts per code, the first few issues, and the file's path (None when every row was good)."""
    bad = con.execute(
        f"SELECT _i, _row, [{', '.join(all_err)}] FROM _f WHERE _status = 'quarantined' ORDER BY _row"
    ).fetchall()
    issues: dict[str, int] = {}
    said = Reasons()
    shown: list[dict[str, Any]] = []
    qrows: list[tuple[int, str, str, list[dict], list[str]]] = []
    if bad:
        idx = pa.array([b[0] for b in bad], pa.int64())
        orig = src.table.take(idx).to_pydict()
        cols = [orig[f"c{i}"] for i in range(len(src.headers))]
        for j, (_, row, encoded) in enumerate(bad):
            iss = [dict(zip(("code", "field", "value", "reason"), e.split(SEP, 3))) for e in encoded if e is not None]
            for it in iss:
                issues[it["code"]] = issues.get(it["code"], 0) + 1
                if len(shown) < ISSUES_SHOWN:
                    shown.append({"row": row, "field": it["field"], "value": it["value"] or None, "code": it["code"],
                                  **said(it["reason"])})  # fmt: skip
            qrows.append((row, "; ".join(i["field"] for i in iss), "; ".join(i["value"] for i in iss),
                          [said(i["reason"]) for i in iss], [c[j] for c in cols]))  # fmt: skip
    for row, text, why in src.invalid:
        issues["malformed_row"] = issues.get("malformed_row", 0) + 1
        if len(shown) < ISSUES_SHOWN:
            shown.append({"row": row, "field": "", "value": text, "code": "malformed_row", **said(why)})
        qrows.append((row, "", text, [said(why)], [""] * len(src.headers)))
    if not qrows:
        return issues, shown, None
    qrows.sort(key=lambda r: r[0])
    rel_q = f"quarantine/{spec.name}-{seq:06d}-{sha8}.csv"
    qpath = data / rel_q
    qpath.parent.mkdir(parents=True, exist_ok=True)
    tmp = qpath.with_name(qpath.name + ".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = spreadsheet.csv_writer(fh)  # the rows as they came, but no cell can start a formula
        w.writerow([*QUARANTINE_COLUMNS, *src.headers])
        for row, fld, val, why, original in qrows:
            codes, params = "; ".join(r["reason_code"] for r in why), json.dumps([r["params"] for r in why])
            w.writerow([row, fld, val, "; ".join(r["reason"] for r in why), codes, params, *original])
    os.replace(tmp, qpath)
    return issues, shown, rel_q


class Reasons(dict):
    """Coded reasons (``code␞{json}``) as the quarantine says them: the English sentence from the error catalogue,
    its code and params (a page renders them in its own language). One rendering per distinct reason."""

    def __call__(self, encoded: str) -> dict[str, Any]:
        found = self.get(encoded)
        if found is None:
            code, params = decode_reason(encoded)
            found = self[encoded] = {"reason": render(Problem(code, params), "en"), "reason_code": code,
                                     "params": params}  # fmt: skip
        return found
