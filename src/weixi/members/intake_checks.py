"""The checks of ``weixi load`` as SQL (DuckDB): each field's parse-and-check expression (:func:`field_sql`), the
table's cross-field rules (:func:`table_rules`), and the encoding of one error as ``code␟field␟value␟reason``
(:func:`error_sql`). A reason is coded (:func:`reason`): an error-catalogue code and its params as JSON,
``code␞{"param": value}``, so the quarantine file and a page can say it in any language (:func:`decode_reason`).
Pure: strings in, SQL out; :mod:`weixi.members.intake` runs them."""

from __future__ import annotations

import json
from datetime import date

from weixi.members.fields import MOBILE_RE, Field
from weixi.settings import DEFAULT_TIMEZONE

PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53,
             54, 61, 62, 63, 64, 65, 71, 81, 82)  # fmt: skip
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SEP = "\x1f"
PARAMS_SEP = "\x1e"


def reason(code: str, **params: str) -> str:
    """SQL of a coded reason: the catalogue ``code`` alone, or ``code␞{json of params}``; each param is a SQL
    expression (a column, a literal: ``q("paid_on")``)."""
    if not params:
        return q(code)
    args = ", ".join(f"{q(k)}, {v}" for k, v in params.items())
    return f"{q(code)} || chr(30) || json_object({args})"


def decode_reason(text: str) -> tuple[str, dict]:
    """``code␞{json}`` (or ``code``) -> (code, params)."""
    code, _, params = text.partition(PARAMS_SEP)
    return code, (json.loads(params) if params else {})


def sql_list(values) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def error_sql(code: str, target: str, value: str, reason: str) -> str:
    """SQL of one encoded error: ``code␟field␟value␟reason`` when ``reason`` is not NULL, else NULL."""
    return (
        f"CASE WHEN ({reason}) IS NOT NULL THEN {code} || chr(31) || {target} || chr(31) || "
        f"coalesce(CAST({value} AS VARCHAR), '') || chr(31) || ({reason}) END"
    )


def q(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


# ------------------------------------------------------------------------------- field expressions
def norm_sql(col: str) -> str:
    """Blank -> NULL; surrounding spaces, tabs, quotes, apostrophes (Excel's text marker) and U+3000 removed.
    The trim only runs when the first or last character needs it (most cells do not)."""
    return (
        f"CASE WHEN {col} = '' THEN NULL WHEN ascii({col}) IN (32, 9, 10, 13, 34, 39, 12288) OR "
        f"ascii(reverse({col})) IN (32, 9, 10, 13, 34, 39, 12288) "
        f"THEN nullif(trim({col}, ' ' || chr(9) || chr(10) || chr(13) || chr(34) || chr(39) || chr(12288)), '') "
        f"ELSE {col} END"
    )


def field_sql(f: Field, unit: str, n: str, today: date, zone: str = DEFAULT_TIMEZONE) -> tuple[str, str, str]:
    """(value expression, error code expression, error reason expression) of one field from its text ``n``; a
    date-time without an offset is in ``zone`` (the plan's timezone)."""
    t = q(today.isoformat())
    if f.kind == "key":
        v = n
        why = (f"CASE WHEN length({n}) > 64 THEN {reason('intake_too_long', limit='64')} "
               f"WHEN regexp_matches({n}, '\\s') THEN 'intake_contains_spaces' END")  # fmt: skip
        return v, f"CASE WHEN {why} IS NOT NULL THEN 'invalid_id' END", why
    if f.kind == "text":
        why = f"CASE WHEN length({n}) > 500 THEN {reason('intake_too_long', limit='500')} END"
        return n, f"CASE WHEN {why} IS NOT NULL THEN 'too_long' END", why
    if f.kind in ("phone", "contact"):
        p = f"regexp_replace({n}, '[\\s\\-()]', '', 'g')"
        p = f"CASE WHEN regexp_full_match({p}, '(\\+?86|0086)1[0-9]{{10}}') THEN right({p}, 11) ELSE {p} END"
        ok = f"regexp_full_match({p}, {q(MOBILE_RE.pattern)})"
        what = "intake_not_mobile"
        if f.kind == "contact":
            ok = f"({ok} OR regexp_full_match({p}, '0[0-9]{{9,11}}'))"
            what = "intake_not_phone"
        return (f"CASE WHEN {ok} THEN {p} END", f"CASE WHEN {n} IS NOT NULL AND NOT {ok} THEN 'invalid_phone' END",
                f"CASE WHEN {n} IS NOT NULL AND NOT {ok} THEN '{what}' END")  # fmt: skip
    if f.kind == "idnum":
        u = f"upper(replace({n}, ' ', ''))"
        total = " + ".join(f"CAST(substr({u}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(ID_WEIGHTS))
        check = f"substr('10X98765432', (({total}) % 11) + 1, 1)"
        born = f"try_strptime(substr({u}, 7, 8), '%Y%m%d')"
        prov = f"substr({u}, 1, 2) IN ({', '.join(q(str(p)) for p in PROVINCES)})"
        why = (
            f"CASE WHEN {n} IS NULL THEN NULL "
            f"WHEN regexp_full_match({u}, '[0-9]{{15}}') THEN 'intake_id_15_digit' "
            f"WHEN NOT regexp_full_match({u}, '[0-9]{{17}}[0-9X]') THEN 'intake_id_not_18' "
            f"WHEN NOT {prov} THEN {reason('intake_id_province', province=f'substr({u}, 1, 2)')} "
            f"WHEN {born} IS NULL OR {born} < DATE '1900-01-01' OR {born} > DATE {t} THEN {reason('intake_id_birth_date', born=f'substr({u}, 7, 8)')} "
            f"WHEN {check} <> substr({u}, 18, 1) THEN {reason('intake_id_check', found=f'substr({u}, 18, 1)', expected=check)} END"
        )  # fmt: skip
        return (f"CASE WHEN ({why}) IS NULL THEN {u} END",
                f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_id_number' END", why)  # fmt: skip
    if f.kind == "date":
        rx = ("^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))"
              "(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]*)?)?)?$")  # fmt: skip
        s = f"regexp_extract({n}, {q(rx)}, ['y', 'm', 'd', 'm2', 'd2'])"
        v = (f"try(make_date(TRY_CAST(({s}).y AS INTEGER), TRY_CAST(coalesce(nullif(({s}).m, ''), ({s}).m2) AS INTEGER),"
             f" TRY_CAST(coalesce(nullif(({s}).d, ''), ({s}).d2) AS INTEGER)))")  # fmt: skip
        why = (f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN 'intake_not_date' "
               f"WHEN {v} < DATE '1900-01-01' THEN 'intake_before_1900' END")  # fmt: skip
        return (
            f"CASE WHEN {v} >= DATE '1900-01-01' THEN {v} END",
            f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_date' END",
            why,
        )
    if f.kind == "month":
        s = f"regexp_extract({n}, '^([0-9]{{4}})[-/.年]?([0-9]{{1,2}})月?$', ['y', 'm'])"
        m = f"TRY_CAST(({s}).m AS INTEGER)"
        v = f"CASE WHEN {m} BETWEEN 1 AND 12 THEN ({s}).y || '-' || lpad(CAST({m} AS VARCHAR), 2, '0') END"
        why = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'intake_not_month' END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_month' END", why
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
        v = (f"CASE WHEN ({s}).z = '' THEN timezone({q(zone)}, {local}) "
             f"ELSE timezone('UTC', {local} - to_minutes({off})) END")  # fmt: skip
        why = f"CASE WHEN {n} IS NOT NULL AND ({local}) IS NULL THEN 'intake_not_datetime' END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_datetime' END", why
    if f.kind == "money":
        m = f"regexp_replace({n}, '[¥￥,，\\s元]', '', 'g')"
        if unit == "yuan":
            ok = f"regexp_full_match({m}, '[+-]?[0-9]+(\\.[0-9]+)?')"
            dec = f"length(split_part({m}, '.', 2))"
            v = f"CASE WHEN {ok} AND {dec} <= 2 AND length(split_part({m}, '.', 1)) <= 15 THEN CAST(CAST({m} AS DECIMAL(18, 2)) * 100 AS BIGINT) END"
            why = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'intake_not_yuan' "
                   f"WHEN {dec} > 2 THEN 'intake_too_many_decimals' "
                   f"WHEN length(split_part({m}, '.', 1)) > 15 THEN 'intake_amount_too_large' END")  # fmt: skip
        else:
            ok = f"regexp_full_match({m}, '[+-]?[0-9]+')"
            v = f"CASE WHEN {ok} THEN TRY_CAST({m} AS BIGINT) END"
            why = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'intake_not_fen' "
                   f"WHEN {v} IS NULL THEN 'intake_amount_too_large' END")  # fmt: skip
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_amount' END", why
    if f.kind == "int":
        m = f"regexp_replace(lower({n}), '\\s*(mbps|mb|m|兆|分钟|min|条|次|分)$', '')"
        ok = f"regexp_full_match({m}, '[+-]?[0-9]+(\\.0*)?')"
        v0 = f"TRY_CAST(split_part({m}, '.', 1) AS BIGINT)"
        rng = f"{v0} BETWEEN {f.lo} AND {f.hi}"
        v = f"CASE WHEN {ok} AND {rng} THEN {v0} END"
        why = (f"CASE WHEN {n} IS NULL THEN NULL WHEN NOT {ok} THEN 'intake_not_whole_number' "
               f"WHEN NOT ({rng}) OR {v0} IS NULL THEN {reason('intake_out_of_range', lo=str(f.lo), hi=str(f.hi))} END")  # fmt: skip
        return (
            v,
            f"CASE WHEN ({why}) IS NOT NULL THEN CASE WHEN {ok} THEN 'out_of_range' ELSE 'invalid_number' END END",
            why,
        )
    if f.kind == "bool":
        yes = ("1", "true", "t", "y", "yes", "是", "已缴", "已缴费", "已支付", "已解决", "已办结", "有", "已处理")
        no = (
            "0",
            "false",
            "f",
            "n",
            "no",
            "否",
            "未缴",
            "未缴费",
            "欠费",
            "未支付",
            "未解决",
            "未办结",
            "无",
            "未处理",
        )
        lo = f"lower({n})"
        v = f"CASE WHEN {lo} IN ({', '.join(map(q, yes))}) THEN TRUE WHEN {lo} IN ({', '.join(map(q, no))}) THEN FALSE END"
        why = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'intake_not_yes_no' END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_bool' END", why
    if f.kind == "enum":
        assert f.codes
        key = f"lower(regexp_replace({n}, '\\s', '', 'g'))"
        cases = " ".join(f"WHEN {q(k)} THEN {q(c)}" for k, c in f.codes.items())
        v = f"CASE {key} {cases} END"
        allowed = sql_list(sorted(set(f.codes.values())))
        why = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN {reason('intake_unknown_value', allowed=allowed)} END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'unknown_code' END", why
    if f.kind == "star":
        s = f"regexp_replace({n}, '(星级|星|级)$', '')"
        cn = " ".join(f"WHEN {q(c)} THEN {i}" for i, c in enumerate("零一二三四五六七"))
        v0 = f"CASE {s} {cn} WHEN '准' THEN 0 WHEN '无' THEN 0 ELSE TRY_CAST({s} AS INTEGER) END"
        v = f"CASE WHEN {v0} BETWEEN 0 AND 7 THEN {v0} END"
        why = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'intake_not_star_level' END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_star_level' END", why
    if f.kind == "lunar":
        v = f"(SELECT canon FROM _lunar WHERE raw = {n})"
        why = f"CASE WHEN {n} IS NOT NULL AND ({v}) IS NULL THEN 'intake_not_lunar_date' END"
        return v, f"CASE WHEN ({why}) IS NOT NULL THEN 'invalid_lunar_date' END", why
    raise AssertionError(f.kind)


# ------------------------------------------------------------------------------ table-level rules
def table_rules(
    table: str, present: set[str], today: date, zone: str = DEFAULT_TIMEZONE
) -> list[tuple[str, str, str, str]]:
    """Cross-field checks: (field, value expression, code, condition → reason expression) on parsed columns;
    "today" ends at midnight in ``zone``."""
    t = f"DATE {q(today.isoformat())}"
    now = f"timezone({q(zone)}, CAST({q(today.isoformat())} AS DATE) + INTERVAL 1 DAY)"
    this_month = q(today.strftime("%Y-%m"))
    rules: list[tuple[str, str, str, str]] = []

    def before(col: str, other: str) -> str:
        return reason("intake_before_other", field=q(col), other=q(other))

    if "month" in present:
        rules.append(("month", "month", "future_date",
                      f"CASE WHEN p.month > {this_month} THEN {reason('intake_month_in_future', month='p.month')} END"))  # fmt: skip

    def future(col: str, ts: bool = False) -> None:
        if col in present:
            cmp = f"p.n_{col} IS NOT NULL AND " + (f"p.{col} >= {now}" if ts else f"p.{col} > {t}")
            rules.append((col, f"CAST({col} AS VARCHAR)", "future_date",
                          f"CASE WHEN {cmp} THEN {reason('intake_in_future', field=q(col), value=f'CAST(p.{col} AS VARCHAR)')} END"))  # fmt: skip

    def in_month(col: str, ts: bool = False) -> None:
        if col in present and "month" in present:
            m = f"strftime(p.{col}, '%Y-%m')"
            value = f"CAST(CAST(p.{col} AS {'DATE' if not ts else 'VARCHAR'}) AS VARCHAR)"
            rules.append((col, f"CAST({col} AS VARCHAR)", "outside_month",
                          f"CASE WHEN p.n_{col} IS NOT NULL AND {m} <> p.month THEN "
                          f"{reason('intake_outside_month', field=q(col), value=value, month='p.month')} END"))  # fmt: skip

    if table == "bills":
        for c in ("billed_on", "paid_on"):
            future(c)
        in_month("billed_on")
        if "amount_fen" in present:
            rules.append(("amount_fen", "CAST(amount_fen AS VARCHAR)", "negative_amount",
                          "CASE WHEN p.amount_fen < 0 THEN 'intake_negative_amount' END"))  # fmt: skip
        if "paid_on" in present and "billed_on" in present:
            rules.append(("paid_on", "CAST(paid_on AS VARCHAR)", "invalid_date",
                          f"CASE WHEN p.paid_on < p.billed_on THEN {before('paid_on', 'billed_on')} END"))  # fmt: skip
    if table == "recharges":
        future("recharged_at", True)
        in_month("recharged_at", True)
        if "amount_fen" in present:
            rules.append(("amount_fen", "CAST(amount_fen AS VARCHAR)", "negative_amount",
                          "CASE WHEN p.amount_fen <= 0 THEN 'intake_amount_not_positive' END"))  # fmt: skip
    if table == "complaints":
        future("opened_at", True)
        future("resolved_at", True)
        in_month("opened_at", True)
        if "resolved_at" in present:
            rules.append(("resolved_at", "CAST(resolved_at AS VARCHAR)", "invalid_datetime",
                          f"CASE WHEN p.resolved_at < p.opened_at THEN {before('resolved_at', 'opened_at')} END"))  # fmt: skip
    if table == "surveys":
        future("surveyed_at", True)
        in_month("surveyed_at", True)
    if table in ("members", "contracts"):
        for c in ("birthday", "join_date", "contract_start"):
            future(c)
        if "contract_start" in present and "contract_end" in present:
            rules.append(("contract_end", "CAST(contract_end AS VARCHAR)", "invalid_date",
                          f"CASE WHEN p.contract_end < p.contract_start THEN {before('contract_end', 'contract_start')} END"))  # fmt: skip
    return rules
