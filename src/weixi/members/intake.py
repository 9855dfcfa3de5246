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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import archive, duck, search_index
from weixi.errors import Invalid
from weixi.members import quarantine
from weixi.members.fields import (
    QUARANTINE_COLUMNS,
    QUARANTINE_MARK,
    TABLES,
    Field,
    TableSpec,
    norm_header,
    resolve_header,
    targets,
)
from weixi.members.intake_checks import error_sql, field_sql, norm_sql, q, sql_list, table_rules
from weixi.members.intake_checks import reason as coded
from weixi.members.lunar import format_lunar, parse_lunar
from weixi.members.pii import mask_value
from weixi.members.sources import Source, SourceError, read_source
from weixi.settings import DEFAULT_TIMEZONE

LOADABLE = tuple(TABLES)
ISSUES_SHOWN = quarantine.ISSUES_SHOWN


class IntakeError(Invalid):
    """The file cannot be loaded at all: unreadable, unknown table, bad --map, missing required columns."""


# ---------------------------------------------------------------------------------- header mapping
def parse_map(items: list[str] | None) -> dict[str, str]:
    """``["金额=amount", …]`` -> {"金额": "amount"}."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise IntakeError("intake_bad_map", item=item)
        src, dst = item.rsplit("=", 1)
        if not src.strip() or not dst.strip():
            raise IntakeError("intake_bad_map", item=item)
        out[src.strip()] = dst.strip()
    return out


def map_columns(spec: TableSpec, headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """target -> column index; and the ignored headers.  --map entries match a header exactly or normalised."""
    tmap = targets(spec)
    for src, dst in mapping.items():
        if dst not in tmap:
            raise IntakeError("intake_map_unknown_field", source=src, field=dst, table=spec.name, fields=list(tmap))
    by_norm = {norm_header(k): v for k, v in mapping.items()}
    skip_q = all(any(norm_header(h) == c for h in headers) for c in QUARANTINE_MARK)
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
            raise IntakeError("intake_columns_clash", first=headers[used[clash]], second=h, field=field)
        used[target] = i
    missing_maps = [s for s in mapping if norm_header(s) not in matched_maps]
    if missing_maps:
        raise IntakeError("intake_map_missing_columns", columns=missing_maps)
    fields_present = {tmap[t][0].name for t in used}
    for group in spec.required:
        if not fields_present & set(group):
            if len(group) == 1:
                raise IntakeError("intake_no_column", field=group[0], headers=headers)
            raise IntakeError("intake_no_column_any", fields=list(group), headers=headers, field=group[0])
    return used, ignored


# ------------------------------------------------------------------------------------------ load
def today_in_china(zone: str = DEFAULT_TIMEZONE) -> date:
    """Today in ``zone`` (the plan's timezone; Asia/Shanghai by default)."""
    return datetime.now(ZoneInfo(zone)).date()


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
    timezone: str | None = None,
) -> dict[str, Any]:
    """Load one CSV or Parquet file into ``table`` of the archive at ``data``; returns the summary dict.

    Raises :class:`IntakeError` when the file cannot be loaded at all.  ``today`` (default: today in
    Asia/Shanghai) bounds "in the future".  ``force`` loads a file again even though the same content
    with the same columns was loaded before (unchanged rows are still not rewritten). ``timezone``: the active
    plan's (default Asia/Shanghai): a date-time in the file without an offset is in it, and so are the months
    of date-times and "today".
    """
    if table not in TABLES:
        raise IntakeError("archive_unknown_table", table=table, tables=list(LOADABLE))
    spec = TABLES[table]
    data = archive.data_dir(data)
    mapping = parse_map(mapping) if isinstance(mapping, list) else dict(mapping or {})
    zone = timezone or DEFAULT_TIMEZONE
    today = today or today_in_china(zone)
    try:
        src = read_source(path, encoding)
    except SourceError as exc:
        raise IntakeError(exc.code, exc.where, **exc.params) from None
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
        summary = _run(src, spec, Path(data), used, ignored, today, seq, zone)
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


@dataclass
class _Load:
    """What the stages of one load share: the file, its table, the DuckDB connection and what earlier stages
    found (the mapped fields, the columns present, the error columns)."""

    src: Source
    spec: TableSpec
    data: Path
    today: date
    con: Any
    zone: str = DEFAULT_TIMEZONE
    fields: dict[str, tuple[Field, str, str]] = field(default_factory=dict)  # field name -> (field, unit, target)
    present: set[str] = field(default_factory=set)
    file_cols: set[str] = field(default_factory=set)
    n_field_errs: int = 0
    cross: list[str] = field(default_factory=list)  # SQL of the table-level errors
    joins: str = ""  # the joins the table-level errors read (duplicate keys, unknown members)

    @property
    def key(self) -> tuple[str, ...]:
        return self.spec.key


def _run(src: Source, spec: TableSpec, data: Path, used: dict[str, int], ignored: list[str], today: date,
         seq: int, zone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:  # fmt: skip
    """One load, stage by stage (the module docstring's steps 2-5); returns its journal entry."""
    con = duck.connect()
    con.execute(f"SET TimeZone = {q(zone)}")
    con.execute("SET preserve_insertion_order = false")
    raw = src.table.append_column("_row", pa.array(src.rows, pa.int64()))
    raw = raw.append_column("_i", pa.array(np.arange(raw.num_rows, dtype=np.int64)))
    con.register("_raw", raw)
    load = _Load(src, spec, data, today, con, zone)
    _normalise(load, used)
    _parse(load)
    _derive(load)
    _table_checks(load)
    _current_rows(load)
    counts, all_err = _merge(load)
    sha8 = src.sha256[:8]
    rel_file = _write_rows(load, seq, sha8) if counts.get("new", 0) + counts.get("replaced", 0) else None
    issues, shown, rel_q = quarantine.write(con, src, spec, data, all_err, seq, sha8)
    con.close()
    return {
        "seq": seq,
        "table": spec.name,
        "store": spec.store,
        "source": str(src.path),
        "format": src.format,
        "encoding": src.encoding,
        "sha256": src.sha256,
        "loaded_at": datetime.now(ZoneInfo(zone)).isoformat(timespec="seconds"),
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


def _normalise(load: _Load, used: dict[str, int]) -> None:
    """Layer 1: the normalised text of each mapped field (``_n``); lunar dates get their canonical text."""
    con, fields, tmap = load.con, load.fields, targets(load.spec)
    for target in used:
        f, unit = tmap[target]
        fields[f.name] = (f, unit, target)
    n_cols = ", ".join(f"{norm_sql('c' + str(used[t]))} AS n_{name}" for name, (_, _, t) in fields.items())
    con.execute(f"CREATE TEMP TABLE _n AS SELECT _i, _row, {n_cols} FROM _raw")
    if any(f.kind == "lunar" for f, _, _ in fields.values()):
        name = next(n for n, (f, _, _) in fields.items() if f.kind == "lunar")
        distinct = [
            r[0] for r in con.execute(f"SELECT DISTINCT n_{name} FROM _n WHERE n_{name} IS NOT NULL").fetchall()
        ]
        canon = []
        for s in distinct:
            try:
                canon.append(format_lunar(*parse_lunar(s)))
            except ValueError:
                canon.append(None)
        con.register(
            "_lunar", pa.table({"raw": pa.array(distinct, pa.string()), "canon": pa.array(canon, pa.string())})
        )


def _parse(load: _Load) -> None:
    """Layer 2: parsed values and field errors (``_p``; an error is 'code␟field␟value␟reason', NULL when none)."""
    spec, fields, key = load.spec, load.fields, load.key
    sel, errs = [], []
    for name, (f, unit, target) in fields.items():
        v, code, reason = field_sql(f, unit, f"n_{name}", load.today, load.zone)
        sel.append(f"{v} AS {name}")
        if f.name in key or (f.name == "member_id" and spec.member_ref):
            reason = f"CASE WHEN n_{name} IS NULL THEN 'intake_value_missing' ELSE {reason} END"
            code = f"CASE WHEN n_{name} IS NULL THEN 'missing' ELSE {code} END"
        errs.append(error_sql(code, q(target), f"n_{name}", reason))
    for group in spec.required:  # a required value that is blank in a required column
        if len(group) == 1 and group[0] not in key and group[0] != "member_id":
            name = group[0]
            errs.append(
                error_sql(
                    "'missing'",
                    q(fields[name][2]),
                    "NULL",
                    f"CASE WHEN n_{name} IS NULL THEN 'intake_value_missing' END",
                )
            )
        elif len(group) > 1 and spec.name != "contracts":
            have = [g for g in group if g in fields]
            cond = " AND ".join(f"n_{g} IS NULL" for g in have)
            reason = f"CASE WHEN {cond} THEN {coded('intake_value_missing_any', fields=sql_list(have))} END"
            errs.append(error_sql("'missing'", q(fields[have[0]][2]), "NULL", reason))
    load.n_field_errs = len(errs)
    err_cols = ", ".join(f"{e} AS _e{j}" for j, e in enumerate(errs))
    load.con.execute(f"CREATE TEMP TABLE _p AS SELECT _n.*, {', '.join(sel)}, {err_cols} FROM _n")
    load.present = set(fields)
    load.file_cols = set(fields)


def _derive(load: _Load) -> None:
    """Derived columns: a bill's month from its date and back, paid/resolved from their dates, birthday and
    gender from the ID number."""
    spec, present = load.spec, load.present
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
    if spec.store == "members" and "id_number" in present:
        derived.append("_id_birthday = try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE")
        derived.append("_id_gender = CASE WHEN id_number IS NULL THEN NULL "
                       "WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END")  # fmt: skip
    types = {"month": "VARCHAR", "billed_on": "DATE", "paid": "BOOLEAN", "resolved": "BOOLEAN",
             "_id_birthday": "DATE", "_id_gender": "VARCHAR"}  # fmt: skip
    for d in derived:
        col, expr = d.split(" = ", 1)
        if col not in present:
            load.con.execute(f"ALTER TABLE _p ADD COLUMN {col} {types[col]}")
            if not col.startswith("_"):
                present.add(col)
        load.con.execute(f"UPDATE _p SET {col} = {expr}")


def _table_checks(load: _Load) -> None:
    """Cross-field rules, duplicate keys within the file, unknown members (``load.cross``, ``load.joins``)."""
    con, spec, fields, key, present = load.con, load.spec, load.fields, load.key, load.present
    load.cross = [
        error_sql(q(code), q(fields[fld][2] if fld in fields else fld), f"p.n_{fld}" if fld in fields else val, cond)
        for fld, val, code, cond in table_rules(spec.name, load.file_cols, load.today, load.zone)]  # fmt: skip

    # duplicate keys within the file: find duplicated keys first, then compare only their rows
    kcols = ", ".join(key)
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
        f"CASE WHEN d.n IS NULL THEN NULL WHEN d.nd > 1 THEN "
        f"{coded('intake_duplicate_differs', key=q('/'.join(key)), count='d.n', rows='d.rows')} "
        f"WHEN p._row <> d.first_row THEN {coded('intake_exact_duplicate', row='d.first_row')} END"
    )
    load.cross.append(error_sql("'duplicate_key'", q(fields[key[0]][2]), dup_value, dup_reason))
    load.joins = "LEFT JOIN _d d ON " + " AND ".join(f"d.{k} = p.{k}" for k in key)

    # unknown members
    if spec.member_ref:
        con.execute(f"CREATE TEMP TABLE _m AS SELECT DISTINCT member_id FROM ({archive.scan_sql(load.data, 'members')}) "
                    f"WHERE member_id IN (SELECT member_id FROM _p)")  # fmt: skip
        load.joins += " LEFT JOIN _m ON _m.member_id = p.member_id"
        reason = ("CASE WHEN p.member_id IS NOT NULL AND _m.member_id IS NULL "
                  "THEN 'intake_unknown_member' END")  # fmt: skip
        load.cross.append(error_sql("'unknown_member'", q(fields["member_id"][2]), "p.member_id", reason))


def _current_rows(load: _Load) -> None:
    """The archive's current rows of the file's keys (``_c``; a monthly table reads only the file's months)."""
    store, key = load.spec.store, load.key
    months = None
    if store in archive.MONTHLY and "month" in load.present:
        months = [r[0] for r in load.con.execute("SELECT DISTINCT month FROM _p WHERE month IS NOT NULL").fetchall()]
    cur_sql = archive.scan_sql(load.data, store, months) if months is None or months else archive.empty_sql(store)
    semi = " AND ".join(f"_p.{k} = c.{k}" for k in key)
    load.con.execute(
        f"CREATE TEMP TABLE _c AS SELECT * FROM ({cur_sql}) c WHERE EXISTS (SELECT 1 FROM _p WHERE {semi})"
    )


def _merge(load: _Load) -> tuple[dict[str, int], list[str]]:
    """Merged rows (``_f``): columns the file has come from the file, the others stay as they are; each row
    ``quarantined``, ``new``, ``unchanged`` or ``replaced``. Returns the counts per status and the error columns."""
    spec, store, key, present, cross = load.spec, load.spec.store, load.key, load.present, load.cross
    schema = archive.SCHEMAS[store]
    cjoin = " AND ".join(f"c.{k} = p.{k}" for k in key)
    names = [f.name for f in schema]
    merged = []
    for fld in schema:
        c = fld.name
        typ = archive.duck_type(fld.type)
        if c in ("birthday", "gender") and store == "members" and "id_number" in present:
            expr = f"coalesce(p.{c}, c.{c}, p._id_{c})" if c in present else f"coalesce(c.{c}, p._id_{c})"
        elif c in present:
            expr = f"p.{c}"
        else:
            default = spec.defaults.get(c, "NULL")
            expr = f"CASE WHEN c.{key[0]} IS NOT NULL THEN c.{c} ELSE {default} END"
        merged.append(f"CAST({expr} AS {typ}) AS {c}")
    n_field_errs = load.n_field_errs
    field_bad = " OR ".join(f"p._e{j} IS NOT NULL" for j in range(n_field_errs)) or "FALSE"
    if spec.name == "members":
        for c in ("name", "phone"):
            val = f"p.{c}" if c in present else "NULL"
            reason = (
                f"CASE WHEN c.member_id IS NULL AND {val} IS NULL AND NOT ({field_bad}) "
                f"THEN {coded('intake_new_member_needs', field=q(c))} END"
            )
            cross.append(error_sql("'missing'", q(c), "NULL", reason))
    x_cols = ", ".join(f"{e} AS _x{j}" for j, e in enumerate(cross))
    all_err = [f"_e{j}" for j in range(n_field_errs)] + [f"_x{j}" for j in range(len(cross))]
    same = " AND ".join(f"{c} IS NOT DISTINCT FROM _c_{c}" for c in names)
    cur_cols = ", ".join(f"c.{c} AS _c_{c}" for c in names)
    load.con.execute(
        f"CREATE TEMP TABLE _f AS SELECT * EXCLUDE ({', '.join('_c_' + c for c in names)}), "
        f"CASE WHEN coalesce({', '.join(all_err)}) IS NOT NULL THEN 'quarantined' WHEN NOT _exists THEN 'new' "
        f"WHEN {same} THEN 'unchanged' ELSE 'replaced' END AS _status FROM ("
        f"SELECT p._i, p._row, {', '.join(merged)}, c.{key[0]} IS NOT NULL AS _exists, "
        f"{', '.join(f'p._e{j}' for j in range(n_field_errs))}, {x_cols}, {cur_cols} "
        f"FROM _p p {load.joins} LEFT JOIN _c c ON {cjoin})"
    )
    return dict(load.con.execute("SELECT _status, count(*) FROM _f GROUP BY 1").fetchall()), all_err


def _write_rows(load: _Load, seq: int, sha8: str) -> str:
    """Write the new and replaced rows, sorted by key, as ``<store>/load-<seq>-<sha8>.parquet`` (temp file, fsync,
    rename); returns its path under the data directory."""
    store = load.spec.store
    schema = archive.SCHEMAS[store]
    names = [f.name for f in schema]
    out = load.con.execute(
        f"SELECT {', '.join(names)} FROM _f WHERE _status IN ('new', 'replaced') ORDER BY {', '.join(load.key)}"
    ).to_arrow_table()
    out = out.cast(schema)
    rel_file = f"{store}/load-{seq:06d}-{sha8}.parquet"
    final = load.data / rel_file
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    pq.write_table(out, tmp, compression="zstd", row_group_size=64 * 1024)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return rel_file


def _field_of(spec: TableSpec, target: str) -> str:
    t = targets(spec).get(target)
    return t[0].name if t else target
