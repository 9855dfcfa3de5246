"""``weixi load``: validate an intake file set-based in DuckDB, quarantine bad rows, write the good ones.

One load is:

1. read the file as text columns (:mod:`weixi.members.sources`) and map its headers to fields
   (``--map`` first, then the built-in aliases of :mod:`weixi.members.fields`);
2. parse and check every field in one DuckDB query over the Arrow table (no Python loop per row);
3. table checks: duplicate keys within the file, unknown members, cross-field rules (bill date inside the
   bill month, nothing in the future, …);
4. merge with the current archive rows of the same keys: columns the file does not have keep their
   current values; rows equal to the current ones are *unchanged* and not written;
5. write new and replaced rows as ``DIR/<table>/load-<seq>-<sha8>.parquet`` (temp file, rename), the bad rows
   as ``DIR/quarantine/<table>-<seq>-<sha8>.csv``, and commit by replacing ``DIR/loads.json`` atomically.

Loads into one directory are serialised by a file lock.  See docs/member-intake.md.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import duck, spreadsheet
from weixi.generator.identity import _MOBILE_RE
from weixi.generator.lunar import format_lunar, parse_lunar
from weixi.members import archive, search_index
from weixi.members.fields import QUARANTINE_COLUMNS, TABLES, Field, TableSpec, norm_header, resolve_header, targets
from weixi.members.pii import mask_value
from weixi.members.sources import Source, SourceError, read_source

TZ = ZoneInfo("Asia/Shanghai")
LOADABLE = tuple(TABLES)
PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53,
             54, 61, 62, 63, 64, 65, 71, 81, 82)  # fmt: skip
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ISSUES_SHOWN = 20
SEP = "\x1f"


def _err(code: str, target: str, value: str, reason: str) -> str:
    """SQL of one encoded error: ``code␟field␟value␟reason`` when ``reason`` is not NULL, else NULL."""
    return (f"CASE WHEN ({reason}) IS NOT NULL THEN {code} || chr(31) || {target} || chr(31) || "
            f"coalesce(CAST({value} AS VARCHAR), '') || chr(31) || ({reason}) END")


class IntakeError(Exception):
    """The file cannot be loaded at all: unreadable, unknown table, bad --map, missing required columns."""


def q(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


# ---------------------------------------------------------------------------------- header mapping
def parse_map(items: list[str] | None) -> dict[str, str]:
    """``["金额=amount", …]`` -> {"金额": "amount"}."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise IntakeError(f"--map {item!r}: use SOURCE=FIELD")
        src, dst = item.rsplit("=", 1)
        if not src.strip() or not dst.strip():
            raise IntakeError(f"--map {item!r}: use SOURCE=FIELD")
        out[src.strip()] = dst.strip()
    return out


def map_columns(spec: TableSpec, headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """target -> column index; and the ignored headers.  --map entries match a header exactly or normalised."""
    tmap = targets(spec)
    for src, dst in mapping.items():
        if dst not in tmap:
            raise IntakeError(f"--map {src}={dst}: {spec.name} has no field {dst!r}; fields: {', '.join(tmap)}")
    by_norm = {norm_header(k): v for k, v in mapping.items()}
    skip_q = all(any(norm_header(h) == c for h in headers) for c in QUARANTINE_COLUMNS)
    used: dict[str, int] = {}
    ignored: list[str] = []
    matched_maps: set[str] = set()
    for i, h in enumerate(headers):
        if h in mapping:
            target, _ = mapping[h], matched_maps.add(norm_header(h))
        elif norm_header(h) in by_norm:
            target, _ = by_norm[norm_header(h)], matched_maps.add(norm_header(h))
        elif skip_q and norm_header(h) in QUARANTINE_COLUMNS:
            continue
        else:
            target = resolve_header(spec, h)
        if target is None:
            ignored.append(h)
            continue
        field = tmap[target][0].name
        clash = next((t for t in used if tmap[t][0].name == field), None)
        if clash is not None:
            raise IntakeError(
                f"columns {headers[used[clash]]!r} and {h!r} both give {field}: drop one or map it elsewhere with --map"
            )
        used[target] = i
    missing_maps = [s for s in mapping if norm_header(s) not in matched_maps]
    if missing_maps:
        raise IntakeError(f"--map names columns the file does not have: {', '.join(missing_maps)}")
    fields_present = {tmap[t][0].name for t in used}
    for group in spec.required:
        if not fields_present & set(group):
            want = " or ".join(group)
            raise IntakeError(
                f"no column for {want} (headers: {', '.join(headers)}); name it with --map HEADER={group[0]}"
            )
    return used, ignored


# ------------------------------------------------------------------------------- field expressions
def _norm(col: str) -> str:
    """Blank -> NULL; surrounding spaces, tabs, quotes, apostrophes (Excel's text marker) and U+3000 removed.
    The trim only runs when the first or last character needs it (most cells do not)."""
    return (f"CASE WHEN {col} = '' THEN NULL WHEN ascii({col}) IN (32, 9, 10, 13, 34, 39, 12288) OR "
            f"ascii(reverse({col})) IN (32, 9, 10, 13, 34, 39, 12288) "
            f"THEN nullif(trim({col}, ' ' || chr(9) || chr(10) || chr(13) || chr(34) || chr(39) || chr(12288)), '') "
            f"ELSE {col} END")


def _field_sql(f: Field, unit: str, n: str, today: date) -> tuple[str, str, str]:
    """(value expression, error code expression, error reason expression) of one field from its text ``n``."""
    t = q(today.isoformat())
    if f.kind == "key":
        v = n
        reason = (f"CASE WHEN length({n}) > 64 THEN 'longer than 64 characters' "
                  f"WHEN regexp_matches({n}, '\\s') THEN 'contains spaces' END")  # fmt: skip
        return v, f"CASE WHEN {reason} IS NOT NULL THEN 'invalid_id' END", reason
    if f.kind == "text":
        reason = f"CASE WHEN length({n}) > 500 THEN 'longer than 500 characters' END"
        return n, f"CASE WHEN {reason} IS NOT NULL THEN 'too_long' END", reason
    if f.kind in ("phone", "contact"):
        p = f"regexp_replace({n}, '[\\s\\-()]', '', 'g')"
        p = f"CASE WHEN regexp_full_match({p}, '(\\+?86|0086)1[0-9]{{10}}') THEN right({p}, 11) ELSE {p} END"
        ok = f"regexp_full_match({p}, {q(_MOBILE_RE.pattern)})"
        what = "an 11-digit mainland mobile number"
        if f.kind == "contact":
            ok = f"({ok} OR regexp_full_match({p}, '0[0-9]{{9,11}}'))"
            what = "a mobile or landline number"
        return (f"CASE WHEN {ok} THEN {p} END", f"CASE WHEN {n} IS NOT NULL AND NOT {ok} THEN 'invalid_phone' END",
                f"CASE WHEN {n} IS NOT NULL AND NOT {ok} THEN 'not {what}' END")  # fmt: skip
    if f.kind == "idnum":
        u = f"upper(replace({n}, ' ', ''))"
        total = " + ".join(f"CAST(substr({u}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(ID_WEIGHTS))
        check = f"substr('10X98765432', (({total}) % 11) + 1, 1)"
        born = f"try_strptime(substr({u}, 7, 8), '%Y%m%d')"
        prov = f"substr({u}, 1, 2) IN ({', '.join(q(str(p)) for p in PROVINCES)})"
        reason = (
            f"CASE WHEN {n} IS NULL THEN NULL "
            f"WHEN regexp_full_match({u}, '[0-9]{{15}}') THEN '15-digit (first-generation) ID number: the 18-character number is required' "
            f"WHEN NOT regexp_full_match({u}, '[0-9]{{17}}[0-9X]') THEN 'not an 18-character ID number (17 digits and a check digit or X)' "
            f"WHEN NOT {prov} THEN 'unknown province code ' || substr({u}, 1, 2) "
            f"WHEN {born} IS NULL OR {born} < DATE '1900-01-01' OR {born} > DATE {t} THEN 'birth date ' || substr({u}, 7, 8) || ' in the ID number is not a real date' "
            f"WHEN {check} <> substr({u}, 18, 1) THEN 'check character is ' || substr({u}, 18, 1) || ', expected ' || {check} END"
        )  # fmt: skip
        return (f"CASE WHEN ({reason}) IS NULL THEN {u} END",
                f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_id_number' END", reason)  # fmt: skip
    if f.kind == "date":
        rx = ("^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))"
              "(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]*)?)?)?$")  # fmt: skip
        s = f"regexp_extract({n}, {q(rx)}, ['y', 'm', 'd', 'm2', 'd2'])"
        v = (f"try(make_date(TRY_CAST(({s}).y AS INTEGER), TRY_CAST(coalesce(nullif(({s}).m, ''), ({s}).m2) AS INTEGER),"
             f" TRY_CAST(coalesce(nullif(({s}).d, ''), ({s}).d2) AS INTEGER)))")  # fmt: skip
        reason = (f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN 'not a date (YYYY-MM-DD)' "
                  f"WHEN {v} < DATE '1900-01-01' THEN 'before 1900' END")  # fmt: skip
        return f"CASE WHEN {v} >= DATE '1900-01-01' THEN {v} END", f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_date' END", reason
    if f.kind == "month":
        s = f"regexp_extract({n}, '^([0-9]{{4}})[-/.年]?([0-9]{{1,2}})月?$', ['y', 'm'])"
        m = f"TRY_CAST(({s}).m AS INTEGER)"
        v = f"CASE WHEN {m} BETWEEN 1 AND 12 THEN ({s}).y || '-' || lpad(CAST({m} AS VARCHAR), 2, '0') END"
        reason = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'not a month (YYYY-MM)' END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_month' END", reason
    if f.kind == "ts":
        rx = ("^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?:\\.[0-9]*)?)?"
              " ?(Z|[+-][0-9]{2}:?[0-9]{2})?$")  # fmt: skip
        s = f"regexp_extract({n}, {q(rx)}, ['y', 'mo', 'd', 'h', 'mi', 's', 'z'])"
        local = (f"try(make_timestamp(TRY_CAST(({s}).y AS BIGINT), TRY_CAST(({s}).mo AS BIGINT), TRY_CAST(({s}).d AS BIGINT),"
                 f" coalesce(TRY_CAST(({s}).h AS BIGINT), 0), coalesce(TRY_CAST(({s}).mi AS BIGINT), 0),"
                 f" coalesce(TRY_CAST(({s}).s AS DOUBLE), 0)))")  # fmt: skip
        z = f"replace(({s}).z, ':', '')"
        off = (f"CASE WHEN {z} = 'Z' THEN 0 ELSE (CASE WHEN {z}[1] = '-' THEN -1 ELSE 1 END) * "
               f"(CAST({z}[2:3] AS INTEGER) * 60 + CAST({z}[4:5] AS INTEGER)) END")  # fmt: skip
        v = (f"CASE WHEN ({s}).z = '' THEN timezone('Asia/Shanghai', {local}) "
             f"ELSE timezone('UTC', {local} - to_minutes({off})) END")  # fmt: skip
        reason = f"CASE WHEN {n} IS NOT NULL AND ({local}) IS NULL THEN 'not a date-time (YYYY-MM-DD HH:MM:SS)' END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_datetime' END", reason
    if f.kind == "money":
        m = f"regexp_replace({n}, '[¥￥,，\\s元]', '', 'g')"
        if unit == "yuan":
            ok = f"regexp_full_match({m}, '[+-]?[0-9]+(\\.[0-9]+)?')"
            dec = f"length(split_part({m}, '.', 2))"
            v = f"CASE WHEN {ok} AND {dec} <= 2 AND length(split_part({m}, '.', 1)) <= 15 THEN CAST(CAST({m} AS DECIMAL(18, 2)) * 100 AS BIGINT) END"
            reason = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'not a decimal amount in yuan' "
                      f"WHEN {dec} > 2 THEN 'more than 2 decimal places' "
                      f"WHEN length(split_part({m}, '.', 1)) > 15 THEN 'amount too large' END")  # fmt: skip
        else:
            ok = f"regexp_full_match({m}, '[+-]?[0-9]+')"
            v = f"CASE WHEN {ok} THEN TRY_CAST({m} AS BIGINT) END"
            reason = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'not a whole number of fen' "
                      f"WHEN {v} IS NULL THEN 'amount too large' END")  # fmt: skip
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_amount' END", reason
    if f.kind == "int":
        m = f"regexp_replace(lower({n}), '\\s*(mbps|mb|m|兆|分钟|min|条|次|分)$', '')"
        ok = f"regexp_full_match({m}, '[+-]?[0-9]+(\\.0*)?')"
        v0 = f"TRY_CAST(split_part({m}, '.', 1) AS BIGINT)"
        rng = f"{v0} BETWEEN {f.lo} AND {f.hi}"
        v = f"CASE WHEN {ok} AND {rng} THEN {v0} END"
        reason = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'not a whole number' "
                  f"WHEN NOT ({rng}) OR {v0} IS NULL THEN 'must be between {f.lo} and {f.hi}' END")  # fmt: skip
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN CASE WHEN {ok} THEN 'out_of_range' ELSE 'invalid_number' END END", reason
    if f.kind == "bool":
        yes = ("1", "true", "t", "y", "yes", "是", "已缴", "已缴费", "已支付", "已解决", "已办结", "有", "已处理")
        no = ("0", "false", "f", "n", "no", "否", "未缴", "未缴费", "欠费", "未支付", "未解决", "未办结", "无", "未处理")
        lo = f"lower({n})"
        v = f"CASE WHEN {lo} IN ({', '.join(map(q, yes))}) THEN TRUE WHEN {lo} IN ({', '.join(map(q, no))}) THEN FALSE END"
        reason = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'not yes/no (是/否, true/false, 1/0)' END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_bool' END", reason
    if f.kind == "enum":
        assert f.codes
        key = f"lower(regexp_replace({n}, '\\s', '', 'g'))"
        cases = " ".join(f"WHEN {q(k)} THEN {q(c)}" for k, c in f.codes.items())
        v = f"CASE {key} {cases} END"
        allowed = ", ".join(sorted(set(f.codes.values())))
        reason = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN {q('unknown value; expected one of ' + allowed)} END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'unknown_code' END", reason
    if f.kind == "star":
        s = f"regexp_replace({n}, '(星级|星|级)$', '')"
        cn = " ".join(f"WHEN {q(c)} THEN {i}" for i, c in enumerate("零一二三四五六七"))
        v0 = f"CASE {s} {cn} WHEN '准' THEN 0 WHEN '无' THEN 0 ELSE TRY_CAST({s} AS INTEGER) END"
        v = f"CASE WHEN {v0} BETWEEN 0 AND 7 THEN {v0} END"
        reason = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'star level must be 0-7 (e.g. 5, 五星)' END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_star_level' END", reason
    if f.kind == "lunar":
        v = f"(SELECT canon FROM _lunar WHERE raw = {n})"
        reason = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'not a lunar date like 农历三月初五' END"
        return v, f"CASE WHEN ({reason}) IS NOT NULL THEN 'invalid_lunar_date' END", reason
    raise AssertionError(f.kind)


# ------------------------------------------------------------------------------ table-level rules
def _rules(table: str, present: set[str], today: date) -> list[tuple[str, str, str, str]]:
    """Cross-field checks: (field, value expression, code, condition → reason expression) on parsed columns."""
    t = f"DATE {q(today.isoformat())}"
    now = f"timezone('Asia/Shanghai', CAST({q(today.isoformat())} AS DATE) + INTERVAL 1 DAY)"
    this_month = q(today.strftime("%Y-%m"))
    rules: list[tuple[str, str, str, str]] = []
    if "month" in present:
        rules.append(("month", "month", "future_date",
                      f"CASE WHEN p.month > {this_month} THEN 'month ' || p.month || ' is in the future' END"))  # fmt: skip

    def future(col: str, ts: bool = False) -> None:
        if col in present:
            cmp = f"p.n_{col} IS NOT NULL AND " + (f"p.{col} >= {now}" if ts else f"p.{col} > {t}")
            rules.append((col, f"CAST({col} AS VARCHAR)", "future_date",
                          f"CASE WHEN {cmp} THEN '{col} ' || CAST(p.{col} AS VARCHAR) || ' is in the future' END"))  # fmt: skip

    def in_month(col: str, ts: bool = False) -> None:
        if col in present and "month" in present:
            m = f"strftime(p.{col}, '%Y-%m')"
            rules.append((col, f"CAST({col} AS VARCHAR)", "outside_month",
                          f"CASE WHEN p.n_{col} IS NOT NULL AND {m} <> p.month THEN '{col} ' || CAST(p.{col} AS {'DATE' if not ts else 'VARCHAR'}) || "
                          f"' is outside the month ' || p.month END"))  # fmt: skip

    if table == "bills":
        for c in ("billed_on", "paid_on"):
            future(c)
        in_month("billed_on")
        if "amount_fen" in present:
            rules.append(("amount_fen", "CAST(amount_fen AS VARCHAR)", "negative_amount",
                          "CASE WHEN p.amount_fen < 0 THEN 'negative amount' END"))  # fmt: skip
        if "paid_on" in present and "billed_on" in present:
            rules.append(("paid_on", "CAST(paid_on AS VARCHAR)", "invalid_date",
                          "CASE WHEN p.paid_on < p.billed_on THEN 'paid_on is before billed_on' END"))  # fmt: skip
    if table == "recharges":
        future("recharged_at", True)
        in_month("recharged_at", True)
        if "amount_fen" in present:
            rules.append(("amount_fen", "CAST(amount_fen AS VARCHAR)", "negative_amount",
                          "CASE WHEN p.amount_fen <= 0 THEN 'amount must be positive' END"))  # fmt: skip
    if table == "complaints":
        future("opened_at", True)
        future("resolved_at", True)
        in_month("opened_at", True)
        if "resolved_at" in present:
            rules.append(("resolved_at", "CAST(resolved_at AS VARCHAR)", "invalid_datetime",
                          "CASE WHEN p.resolved_at < p.opened_at THEN 'resolved_at is before opened_at' END"))  # fmt: skip
    if table == "surveys":
        future("surveyed_at", True)
        in_month("surveyed_at", True)
    if table in ("members", "contracts"):
        for c in ("birthday", "join_date", "contract_start"):
            future(c)
        if "contract_start" in present and "contract_end" in present:
            rules.append(("contract_end", "CAST(contract_end AS VARCHAR)", "invalid_date",
                          "CASE WHEN p.contract_end < p.contract_start THEN 'contract_end is before contract_start' END"))  # fmt: skip
    return rules


# ------------------------------------------------------------------------------------------ load
def today_in_china() -> date:
    return datetime.now(TZ).date()


def _fingerprint(src: Source, table: str, used: dict[str, int]) -> str:
    cols = ",".join(f"{src.headers[i]}={t}" for t, i in sorted(used.items(), key=lambda kv: kv[1]))
    return f"{table}:{src.sha256}:{cols}"


def load_file(
    path: str | os.PathLike,
    table: str,
    data: str | os.PathLike | None = None,
    mapping: dict[str, str] | list[str] | None = None,
    encoding: str = "auto",
    today: date | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Load one CSV or Parquet file into ``table`` of the archive at ``data``; returns the summary dict.

    Raises :class:`IntakeError` when the file cannot be loaded at all.  ``today`` (default: today in
    Asia/Shanghai) bounds "in the future".  ``force`` loads a file again even though the same content
    with the same columns was loaded before (unchanged rows are still not rewritten).
    """
    if table not in TABLES:
        raise IntakeError(f"unknown table {table!r}; tables: {', '.join(LOADABLE)}")
    spec = TABLES[table]
    data = archive.data_dir(data)
    mapping = parse_map(mapping) if isinstance(mapping, list) else dict(mapping or {})
    today = today or today_in_china()
    try:
        src = read_source(path, encoding)
    except SourceError as exc:
        raise IntakeError(str(exc)) from None
    used, ignored = map_columns(spec, src.headers, mapping)
    fp = _fingerprint(src, table, used)
    with archive.locked(data):
        journal = archive.read_journal(data)
        if not force:
            prev = next((e for e in journal["loads"] if e.get("fingerprint") == fp), None)
            if prev is not None:
                return {**_summary_of(prev), "status": "already_loaded", "loaded": 0, "replaced": 0,
                        "unchanged": prev["rows"] - prev["quarantined"], "quarantined": 0, "issues": {}, "examples": [],
                        "message": f"already loaded as load {prev['seq']}: nothing changed (use --force to load it again)"}  # fmt: skip
        seq = int(journal.get("next_seq", 1))
        summary = _run(src, spec, Path(data), used, ignored, today, seq)
        summary["fingerprint"] = fp
        journal["next_seq"] = seq + 1
        journal["loads"].append(summary)
        archive.write_journal(data, journal)
        _cleanup_orphans(Path(data), journal)
        if table == "members":
            search_index.build(data)  # the console's member search reads it
    return {**_summary_of(summary), "status": "loaded"}


def _summary_of(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "fingerprint"}


def _cleanup_orphans(data: Path, journal: dict) -> None:
    """Remove load files of interrupted loads (written but never committed to the journal)."""
    committed = {e["file"] for e in journal["loads"] if e.get("file")}
    for table in archive.SCHEMAS:
        d = data / table
        if d.is_dir():
            for p in d.glob("load-*.parquet*"):
                if f"{table}/{p.name}" not in committed:
                    p.unlink(missing_ok=True)


def _run(src: Source, spec: TableSpec, data: Path, used: dict[str, int], ignored: list[str], today: date,
         seq: int) -> dict[str, Any]:  # fmt: skip
    tmap = targets(spec)
    store = spec.store
    schema = archive.SCHEMAS[store]
    key = spec.key
    con = duck.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET preserve_insertion_order = false")
    raw = src.table.append_column("_row", pa.array(src.rows, pa.int64()))
    raw = raw.append_column("_i", pa.array(np.arange(raw.num_rows, dtype=np.int64)))
    con.register("_raw", raw)

    # layer 1: normalised text of each mapped field
    fields: dict[str, tuple[Field, str, str]] = {}  # field name -> (field, unit, target)
    for target, i in used.items():
        f, unit = tmap[target]
        fields[f.name] = (f, unit, target)
    n_cols = ", ".join(f"{_norm('c' + str(used[t]))} AS n_{name}" for name, (_, _, t) in fields.items())
    con.execute(f"CREATE TEMP TABLE _n AS SELECT _i, _row, {n_cols} FROM _raw")
    if any(f.kind == "lunar" for f, _, _ in fields.values()):
        name = next(n for n, (f, _, _) in fields.items() if f.kind == "lunar")
        distinct = [r[0] for r in con.execute(f"SELECT DISTINCT n_{name} FROM _n WHERE n_{name} IS NOT NULL").fetchall()]
        canon = []
        for s in distinct:
            try:
                canon.append(format_lunar(*parse_lunar(s)))
            except ValueError:
                canon.append(None)
        con.register("_lunar", pa.table({"raw": pa.array(distinct, pa.string()), "canon": pa.array(canon, pa.string())}))

    # layer 2: parsed values and field errors (an error is 'code␟field␟value␟reason', NULL when none)
    sel, errs = [], []
    for name, (f, unit, target) in fields.items():
        v, code, reason = _field_sql(f, unit, f"n_{name}", today)
        sel.append(f"{v} AS {name}")
        if f.name in key or (f.name == "member_id" and spec.member_ref):
            reason = f"CASE WHEN n_{name} IS NULL THEN 'missing' ELSE {reason} END"
            code = f"CASE WHEN n_{name} IS NULL THEN 'missing' ELSE {code} END"
        errs.append(_err(code, q(target), f"n_{name}", reason))
    for group in spec.required:  # a required value that is blank in a required column
        if len(group) == 1 and group[0] not in key and group[0] != "member_id":
            name = group[0]
            errs.append(_err("'missing'", q(fields[name][2]), "NULL", f"CASE WHEN n_{name} IS NULL THEN 'missing' END"))
        elif len(group) > 1 and spec.name != "contracts":
            have = [g for g in group if g in fields]
            cond = " AND ".join(f"n_{g} IS NULL" for g in have)
            reason = f"CASE WHEN {cond} THEN {q('missing: needs ' + ' or '.join(have))} END"
            errs.append(_err("'missing'", q(fields[have[0]][2]), "NULL", reason))
    n_field_errs = len(errs)
    err_cols = ", ".join(f"{e} AS _e{j}" for j, e in enumerate(errs))
    con.execute(f"CREATE TEMP TABLE _p AS SELECT _n.*, {', '.join(sel)}, {err_cols} FROM _n")
    present = set(fields)

    # derived columns
    derived: list[str] = []
    if spec.name == "bills":
        if "month" in present and "billed_on" not in present:
            derived.append("billed_on = last_day(CAST(month || '-01' AS DATE))")
        if "billed_on" in present and "month" not in present:
            derived.append("month = strftime(billed_on, '%Y-%m')")
        elif "billed_on" in present:
            derived.append("month = coalesce(month, strftime(billed_on, '%Y-%m'))")
            derived.append("billed_on = coalesce(billed_on, last_day(CAST(month || '-01' AS DATE)))")
        if "paid" not in present and "paid_on" in present:
            derived.append("paid = paid_on IS NOT NULL")
    for tcol in ("recharged_at", "opened_at", "surveyed_at"):
        if tcol in present and tcol in spec.names:
            derived.append(f"month = coalesce(month, strftime({tcol}, '%Y-%m'))" if "month" in present
                           else f"month = strftime({tcol}, '%Y-%m')")  # fmt: skip
    if spec.name == "complaints" and "resolved" not in present and "resolved_at" in present:
        derived.append("resolved = resolved_at IS NOT NULL")
    if store == "members" and "id_number" in present:
        derived.append("_id_birthday = try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE")
        derived.append("_id_gender = CASE WHEN id_number IS NULL THEN NULL "
                       "WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END")  # fmt: skip
    types = {"month": "VARCHAR", "billed_on": "DATE", "paid": "BOOLEAN", "resolved": "BOOLEAN",
             "_id_birthday": "DATE", "_id_gender": "VARCHAR"}  # fmt: skip
    file_cols = set(fields)
    for d in derived:
        col, expr = d.split(" = ", 1)
        if col not in present:
            con.execute(f"ALTER TABLE _p ADD COLUMN {col} {types[col]}")
            if not col.startswith("_"):
                present.add(col)
        con.execute(f"UPDATE _p SET {col} = {expr}")

    # cross-field rules
    cross = [_err(q(code), q(fields[fld][2] if fld in fields else fld), f"p.n_{fld}" if fld in fields else val, cond)
             for fld, val, code, cond in _rules(spec.name, file_cols, today)]  # fmt: skip

    # duplicate keys within the file: find duplicated keys first, then compare only their rows
    kcols = ", ".join(key)
    kjoin = " AND ".join(f"d.{k} = p.{k}" for k in key)
    knotnull = " AND ".join(f"{k} IS NOT NULL" for k in key)
    value_cols = [c for c in spec.names if c in present] + [c for c in ("month", "billed_on", "paid", "resolved")
                                                            if c in present and c not in spec.names]  # fmt: skip
    con.execute(
        f"CREATE TEMP TABLE _d AS SELECT {kcols}, count(*) AS n, count(DISTINCT _h) AS nd, min(_row) AS first_row, "
        f"list(_row ORDER BY _row) AS rows FROM (SELECT {kcols}, _row, hash(struct_pack({', '.join(value_cols)})) AS _h "
        f"FROM _p WHERE ({kcols}) IN (SELECT ({kcols}) FROM _p WHERE {knotnull} GROUP BY ALL HAVING count(*) > 1)) "
        f"GROUP BY ALL"
    )
    dup_value = f"concat_ws('/', {', '.join('p.' + k for k in key)})"
    dup_reason = (
        f"CASE WHEN d.n IS NULL THEN NULL WHEN d.nd > 1 THEN '{'/'.join(key)} appears ' || d.n || "
        f"' times in the file with different values (rows ' || array_to_string(d.rows, ', ') || ')' "
        f"WHEN p._row <> d.first_row THEN 'exact duplicate of row ' || d.first_row END"
    )
    cross.append(_err("'duplicate_key'", q(fields[key[0]][2]), dup_value, dup_reason))

    # unknown members
    member_join = ""
    if spec.member_ref:
        con.execute(f"CREATE TEMP TABLE _m AS SELECT DISTINCT member_id FROM ({archive.scan_sql(data, 'members')}) "
                    f"WHERE member_id IN (SELECT member_id FROM _p)")  # fmt: skip
        member_join = "LEFT JOIN _m ON _m.member_id = p.member_id"
        reason = ("CASE WHEN p.member_id IS NOT NULL AND _m.member_id IS NULL "
                  "THEN 'unknown member (not in the archive''s members)' END")  # fmt: skip
        cross.append(_err("'unknown_member'", q(fields["member_id"][2]), "p.member_id", reason))

    # current rows of the same keys
    months = None
    if store in archive.MONTHLY and "month" in present:
        months = [r[0] for r in con.execute("SELECT DISTINCT month FROM _p WHERE month IS NOT NULL").fetchall()]
    cur_sql = archive.scan_sql(data, store, months) if months is None or months else archive._empty_sql(store)
    semi = " AND ".join(f"_p.{k} = c.{k}" for k in key)
    con.execute(f"CREATE TEMP TABLE _c AS SELECT * FROM ({cur_sql}) c WHERE EXISTS (SELECT 1 FROM _p WHERE {semi})")

    # merged rows: columns the file has come from the file, the others stay as they are
    cjoin = " AND ".join(f"c.{k} = p.{k}" for k in key)
    names = [f.name for f in schema]
    merged = []
    for fld in schema:
        c = fld.name
        typ = archive._duck_type(fld.type)
        if c in ("birthday", "gender") and store == "members" and "id_number" in present:
            expr = f"coalesce(p.{c}, c.{c}, p._id_{c})" if c in present else f"coalesce(c.{c}, p._id_{c})"
        elif c in present:
            expr = f"p.{c}"
        else:
            default = spec.defaults.get(c, "NULL")
            expr = f"CASE WHEN c.{key[0]} IS NOT NULL THEN c.{c} ELSE {default} END"
        merged.append(f"CAST({expr} AS {typ}) AS {c}")
    field_bad = " OR ".join(f"p._e{j} IS NOT NULL" for j in range(n_field_errs)) or "FALSE"
    if spec.name == "members":
        for c in ("name", "phone"):
            val = f"p.{c}" if c in present else "NULL"
            reason = f"CASE WHEN c.member_id IS NULL AND {val} IS NULL AND NOT ({field_bad}) THEN 'a new member needs a {c}' END"
            cross.append(_err("'missing'", q(c), "NULL", reason))
    x_cols = ", ".join(f"{e} AS _x{j}" for j, e in enumerate(cross))
    all_err = [f"_e{j}" for j in range(n_field_errs)] + [f"_x{j}" for j in range(len(cross))]
    same = " AND ".join(f"{c} IS NOT DISTINCT FROM _c_{c}" for c in names)
    cur_cols = ", ".join(f"c.{c} AS _c_{c}" for c in names)
    con.execute(
        f"CREATE TEMP TABLE _f AS SELECT * EXCLUDE ({', '.join('_c_' + c for c in names)}), "
        f"CASE WHEN coalesce({', '.join(all_err)}) IS NOT NULL THEN 'quarantined' WHEN NOT _exists THEN 'new' "
        f"WHEN {same} THEN 'unchanged' ELSE 'replaced' END AS _status FROM ("
        f"SELECT p._i, p._row, {', '.join(merged)}, c.{key[0]} IS NOT NULL AS _exists, "
        f"{', '.join(f'p._e{j}' for j in range(n_field_errs))}, {x_cols}, {cur_cols} "
        f"FROM _p p LEFT JOIN _d d ON {kjoin} {member_join} LEFT JOIN _c c ON {cjoin})"
    )
    counts = dict(con.execute("SELECT _status, count(*) FROM _f GROUP BY 1").fetchall())

    # write new and replaced rows, sorted by key
    sha8 = src.sha256[:8]
    rel_file = None
    n_write = counts.get("new", 0) + counts.get("replaced", 0)
    if n_write:
        out = con.execute(
            f"SELECT {', '.join(names)} FROM _f WHERE _status IN ('new', 'replaced') ORDER BY {kcols}"
        ).to_arrow_table()
        out = out.cast(schema)
        rel_file = f"{store}/load-{seq:06d}-{sha8}.parquet"
        final = data / rel_file
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + ".tmp")
        pq.write_table(out, tmp, compression="zstd", row_group_size=64 * 1024)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)

    # quarantine
    bad = con.execute(
        f"SELECT _i, _row, [{', '.join(all_err)}] FROM _f WHERE _status = 'quarantined' ORDER BY _row"
    ).fetchall()
    issues: dict[str, int] = {}
    shown: list[dict[str, Any]] = []
    qrows: list[tuple[int, str, str, str, list[str]]] = []
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
                                  "reason": it["reason"]})  # fmt: skip
            qrows.append((row, "; ".join(i["field"] for i in iss), "; ".join(i["value"] for i in iss),
                          "; ".join(i["reason"] for i in iss), [c[j] for c in cols]))  # fmt: skip
    for row, text, reason in src.invalid:
        issues["malformed_row"] = issues.get("malformed_row", 0) + 1
        if len(shown) < ISSUES_SHOWN:
            shown.append({"row": row, "field": "", "value": text, "code": "malformed_row", "reason": reason})
        qrows.append((row, "", text, reason, [""] * len(src.headers)))
    rel_q = None
    if qrows:
        qrows.sort(key=lambda r: r[0])
        rel_q = f"quarantine/{spec.name}-{seq:06d}-{sha8}.csv"
        qpath = data / rel_q
        qpath.parent.mkdir(parents=True, exist_ok=True)
        tmp = qpath.with_name(qpath.name + ".tmp")
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            w = spreadsheet.csv_writer(fh)  # the rows as they came, but no cell can start a formula
            w.writerow([*QUARANTINE_COLUMNS, *src.headers])
            for row, fld, val, reason, original in qrows:
                w.writerow([row, fld, val, reason, *original])
        os.replace(tmp, qpath)
    con.close()
    return {
        "seq": seq,
        "table": spec.name,
        "store": store,
        "source": str(src.path),
        "format": src.format,
        "encoding": src.encoding,
        "sha256": src.sha256,
        "loaded_at": datetime.now(TZ).isoformat(timespec="seconds"),
        "rows": src.data_rows,
        "loaded": counts.get("new", 0),
        "replaced": counts.get("replaced", 0),
        "unchanged": counts.get("unchanged", 0),
        "quarantined": counts.get("quarantined", 0) + len(src.invalid),
        "issues": dict(sorted(issues.items())),
        "columns": {src.headers[i]: t for t, i in sorted(used.items(), key=lambda kv: kv[1])},
        "ignored_columns": ignored,
        "row_numbers": src.row_numbers,
        "file": rel_file,
        "quarantine_file": rel_q,
        "examples": [{**e, "value": mask_value(_field_of(spec, e["field"]), e["value"])} for e in shown],
    }


def _field_of(spec: TableSpec, target: str) -> str:
    t = targets(spec).get(target)
    return t[0].name if t else target
