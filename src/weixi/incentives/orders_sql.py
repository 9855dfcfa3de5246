"""Apply an order plan (``kind: incentive``) to a month of CRM retention orders, set-based in DuckDB.

Tables made, all in the connection given:

* ``rejected``  (row, order_id, reject): rows that cannot be used (missing/malformed fields, copies of one
  order id that differ, unknown staff, another month); nothing else is affected by them;
* ``duplicates`` (row, order_id, first_row): identical extra copies of an order's row; the order counts once;
* ``excluded``  (staff_id, order_id, rule, reasons): valid orders the plan does not count, with every
  exclusion that applies (a list of maps: the catalogue ``code`` of the reason and its params);
* ``lines``     (staff_id, order_id, rule, measure, units, kpi_only, household, yuan, business, customer_id,
  expiring_target, got_units, role): one line per counted order, linking its units and yuan to the order and the
  rule (:mod:`weixi.incentives.lines` says it in a language);
* ``statement`` (staff_id, role, mobile_units, broadband_units, kpi_points, bonus_yuan, over_quota_mobile_units,
  over_quota_broadband_units: the units that may count into the over-quota bonus, i.e. not ``kpi_only``): per employee,
  including roster staff in service that month with nothing counted.

The SQL is generated from the resolved plan; no Python loop touches the orders (only the rejected rows become
coded problems, :func:`rejected`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from weixi.errors import Problem, Where
from weixi.incentives import inputs, lines
from weixi.incentives.inputs import boolean_sql, quote
from weixi.incentives.model import BUSINESSES, CARDS, NETWORKS, IncentivePlan, OrderRule
from weixi.incentives.months import Month
from weixi.incentives.records import Rejected
from weixi.names import display

DEC = "DECIMAL(18,2)"
RENT_PATTERN = r"-?\d+(\.\d{1,2})?"


def compute(
    con: duckdb.DuckDBPyConnection,
    plan: IncentivePlan,
    month: Month,
    orders: str | Path,
    targets: str | Path | None = None,
    roster: str | Path | None = None,
) -> None:
    has_roster = inputs.load_roster(con, roster)
    inputs.load_targets(con, targets, str(month))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_orders AS {inputs.scan(orders, 'orders', inputs.ORDER_COLUMNS, inputs.ORDER_REQUIRED)}"
    )
    _validate(con, plan, month, has_roster)
    _exclude(con, plan)
    _count(con, plan)
    _statement(con, month, has_roster)


def _validate(con, plan: IncentivePlan, month: Month, has_roster: bool) -> None:
    businesses = ", ".join(quote(b) for b in BUSINESSES)
    cards = ", ".join(quote(c) for c in CARDS)
    networks = ", ".join(quote(n) for n in NETWORKS)
    needed = []
    for rule in plan.orders:
        for field in dict.fromkeys(c.field for e in rule.exclusions for c in e.conditions):
            needed.append(
                f"WHEN business = {quote(rule.business)} AND {field} IS NULL THEN "
                f"['incentive_order_field_needed', {quote(field)}, {quote(rule.id)}, {quote(rule.business)}]"
            )
    staff_check = "WHEN role IS NULL THEN ['incentive_row_unknown_staff', 'staff_id', staff_id]" if has_roster else ""
    service = (
        """WHEN staff_hired IS NOT NULL AND day < staff_hired
                       THEN ['incentive_order_before_hire', 'staff_id', staff_id, CAST(staff_hired AS VARCHAR)]
                  WHEN staff_left IS NOT NULL AND day > staff_left
                       THEN ['incentive_order_after_leaving', 'staff_id', staff_id, CAST(staff_left AS VARCHAR)]"""
        if has_roster
        else ""
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE parsed AS
        SELECT o.*, r.role AS role, r.hired_on AS staff_hired, r.left_on AS staff_left,
               CAST(o.created AS DATE) AS day,
               CASE WHEN regexp_full_match(monthly_rent, '{RENT_PATTERN}') THEN CAST(monthly_rent AS {DEC}) END AS rent,
               {boolean_sql("active")} AS is_active,
               {boolean_sql("cancels_unexpired_subsidy")} AS redo,
               {boolean_sql("broadband_only")} AS bb_only,
               coalesce(d.copies, 1) AS copies, d.copy_rows, d.first_row, d.differ
        FROM (SELECT *, try_cast(created_at AS TIMESTAMPTZ) AS created FROM raw_orders) o LEFT JOIN roster r USING (staff_id)
        LEFT JOIN ({_copies_sql()}) d USING (order_id)""")
    # an identical copy of an earlier row of the same order counts once: reported, neither counted nor rejected
    con.execute("""CREATE OR REPLACE TEMP TABLE duplicates AS
        SELECT row, order_id, first_row FROM parsed WHERE copies > 1 AND differ = '' AND row > first_row""")
    # a rejected row's reason is a code of the error catalogue, its column and up to three values (see _PARAMS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE checked AS SELECT *, CASE
            WHEN order_id IS NULL THEN ['incentive_field_missing', 'order_id']
            WHEN copies > 1 AND differ <> '' THEN ['incentive_order_copies_differ', 'order_id', order_id, copy_rows, differ]
            WHEN staff_id IS NULL THEN ['incentive_order_staff_missing', 'staff_id']
            {staff_check}
            WHEN business IS NULL THEN ['incentive_field_missing', 'business']
            WHEN business NOT IN ({businesses}) THEN ['incentive_unknown_business', 'business', business]
            WHEN customer_id IS NULL THEN ['incentive_field_missing', 'customer_id']
            WHEN created_at IS NULL THEN ['incentive_field_missing', 'created_at']
            WHEN created IS NULL THEN ['incentive_order_bad_time', 'created_at', created_at]
            WHEN day < DATE {quote(str(month.first))} OR day > DATE {quote(str(month.last))}
                 THEN ['incentive_order_outside_month', 'created_at', CAST(day AS VARCHAR)]
            {service}
            WHEN card IS NOT NULL AND card NOT IN ({cards}) THEN ['incentive_order_bad_card', 'card', card]
            WHEN network IS NOT NULL AND upper(network) NOT IN ({networks})
                 THEN ['incentive_order_bad_network', 'network', network]
            WHEN monthly_rent IS NOT NULL AND rent IS NULL THEN ['incentive_order_bad_rent', 'monthly_rent', monthly_rent]
            WHEN rent < 0 THEN ['incentive_order_negative_rent', 'monthly_rent', monthly_rent]
            WHEN active IS NOT NULL AND is_active IS NULL THEN ['incentive_field_not_boolean', 'active', active]
            WHEN cancels_unexpired_subsidy IS NOT NULL AND redo IS NULL
                 THEN ['incentive_field_not_boolean', 'cancels_unexpired_subsidy', cancels_unexpired_subsidy]
            WHEN broadband_only IS NOT NULL AND bb_only IS NULL
                 THEN ['incentive_field_not_boolean', 'broadband_only', broadband_only]
            {" ".join(needed)}
            END AS reject FROM parsed WHERE NOT (copies > 1 AND differ = '' AND row > first_row)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE rejected AS
        SELECT row, coalesce(order_id, '') AS order_id, reject FROM checked WHERE reject IS NOT NULL ORDER BY row""")
    con.execute("""CREATE OR REPLACE TEMP TABLE valid AS
        SELECT row, order_id, staff_id, coalesce(role, 'unknown') AS role, business, customer_id, number, card,
               upper(network) AS network, rent AS monthly_rent, is_active AS active, redo AS cancels_unexpired_subsidy,
               bb_only AS broadband_only, created, day FROM checked WHERE reject IS NULL""")


# the columns two rows of one order are compared on (all but the row number)
_COMPARED = inputs.ORDER_COLUMNS[1:]


def _copies_sql() -> str:
    """Order ids on more than one row: the rows, the first one, and the columns whose values differ ('' when the
    copies are identical). Only the repeated ids are compared, so a file without repeats costs one grouping."""
    differ = ", ".join(f"CASE WHEN count(DISTINCT coalesce({c}, chr(0))) > 1 THEN {quote(c)} END" for c in _COMPARED)
    return f"""SELECT order_id, count(*) AS copies, string_agg(CAST(row AS VARCHAR), ', ' ORDER BY row) AS copy_rows,
                   min(row) AS first_row, array_to_string(list_filter([{differ}], x -> x IS NOT NULL), ', ') AS differ
            FROM raw_orders SEMI JOIN (SELECT order_id FROM raw_orders WHERE order_id IS NOT NULL
                                       GROUP BY order_id HAVING count(*) > 1) USING (order_id)
            GROUP BY order_id"""


def _condition(cond) -> str:
    field = cond.field
    if field == "monthly_rent":
        return f"monthly_rent IN ({', '.join(str(Decimal(v)) for v in cond.values)})"
    if field in ("active", "cancels_unexpired_subsidy", "broadband_only"):
        return f"{field} IN ({', '.join('true' if v else 'false' for v in cond.values)})"
    return f"{field} IN ({', '.join(quote(v) for v in cond.values)})"


def _reason(code: str, **params: str) -> str:
    """SQL: one exclusion reason, a map of its catalogue ``code`` and params (SQL expressions)."""
    items = ", ".join([f"'code': {quote(code)}"] + [f"{quote(k)}: {v}" for k, v in params.items()])
    return f"MAP {{{items}}}"


def _exclude(con, plan: IncentivePlan) -> None:
    parts = []
    for rule in plan.orders:
        on = f"business = {quote(rule.business)}"
        if rule.roles:
            allowed = ", ".join(quote(r) for r in rule.roles)
            why = _reason(
                "incentive_excluded.role",
                rule=quote(rule.id),
                rule_name=quote(rule.name or rule.id),
                roles=quote(",".join(rule.roles)),
                role="role",
            )
            parts.append(f"CASE WHEN {on} AND role NOT IN ({allowed}) THEN {why} END")
        for ex in rule.exclusions:
            test = " AND ".join(_condition(c) for c in ex.conditions)
            test = f"NOT ({test})" if ex.unless else test
            why = _reason("incentive_excluded.plan", exclusion=quote(ex.id), reason=quote(ex.reason))
            parts.append(f"CASE WHEN {on} AND {test} THEN {why} END")
    covered = ", ".join(quote(r.business) for r in plan.orders)
    why = _reason("incentive_excluded.no_rule", plan=quote(plan.id), business="business")
    parts.append(f"CASE WHEN business NOT IN ({covered}) THEN {why} END")
    rules = " ".join(f"WHEN {quote(r.business)} THEN {quote(r.id)}" for r in plan.orders)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE judged AS
        SELECT *, CASE business {rules} END AS rule,
               nullif(list_filter([{", ".join(parts)}], x -> x IS NOT NULL), []) AS why FROM valid""")
    # One household counts once a month for a business (每户): the first order by time, then order id.
    con.execute("""CREATE OR REPLACE TEMP TABLE ranked AS
        SELECT *, row_number() OVER w AS hh_rank, first_value(order_id) OVER w AS first_order
        FROM judged WHERE why IS NULL
        WINDOW w AS (PARTITION BY business, customer_id ORDER BY created, order_id)""")
    household = _reason(
        "incentive_excluded.household", customer="customer_id", business="business", first="first_order"
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE excluded AS
        SELECT staff_id, order_id, rule, why AS reasons, CAST(created AS VARCHAR) AS created FROM judged WHERE why IS NOT NULL
        UNION ALL
        SELECT staff_id, order_id, rule, [{household}], CAST(created AS VARCHAR) FROM ranked WHERE hh_rank > 1""")


def _unit_roles_sql(rule: OrderRule) -> str:
    """SQL: does this order's ``role`` get the rule's units (``units: {roles: [...]}``)?"""
    if rule.measure is None or rule.unit_roles is None:
        return "true"
    return f"role IN ({', '.join(quote(r) for r in rule.unit_roles)})"


def _units_sql(rule: OrderRule) -> str:
    if rule.measure is None:
        return "CAST(0 AS DECIMAL(18,2))"
    return (
        f"CAST(CASE WHEN NOT ({_unit_roles_sql(rule)}) THEN 0 WHEN e.customer_id IS NOT NULL"
        f" THEN {rule.expiring_units} ELSE {rule.non_expiring_units} END AS DECIMAL(18,2))"
    )


def _cash_sql(rule: OrderRule) -> str:
    """The yuan an order earns, as an SQL expression of ``role`` and ``household``."""
    if not rule.cash:
        return "CAST(0 AS DECIMAL(18,2))"
    yuan = []
    for schedule in rule.cash:
        tiers = " ".join(f"WHEN household <= {t.upto} THEN {t.yuan}" for t in schedule.tiers if t.upto is not None)
        last = schedule.tiers[-1].yuan if schedule.tiers and schedule.tiers[-1].upto is None else 0
        amount = f"CASE {tiers} ELSE {last} END" if tiers else f"{last}"
        who = "TRUE" if schedule.roles is None else f"role IN ({', '.join(quote(r) for r in schedule.roles)})"
        yuan.append(f"WHEN {who} THEN {amount}")
    return f"CAST(CASE {' '.join(yuan)} ELSE 0 END AS DECIMAL(18,2))"


def _count(con, plan: IncentivePlan) -> None:
    selects = []
    for rule in plan.orders:
        measure = quote(rule.measure) if rule.measure else "NULL"
        kpi = "true" if rule.kpi_only else "false"
        selects.append(f"""SELECT staff_id, role, order_id, customer_id, business, created, {quote(rule.id)} AS rule,
                {measure} AS measure, {_units_sql(rule)} AS units, {kpi} AS kpi_only,
                {_unit_roles_sql(rule)} AS got_units,
                e.customer_id IS NOT NULL AS expiring_target, household, {_cash_sql(rule)} AS yuan
            FROM (SELECT *, row_number() OVER (PARTITION BY staff_id ORDER BY created, order_id) AS household
                  FROM ranked WHERE hh_rank = 1 AND business = {quote(rule.business)}) c
            LEFT JOIN expiring e USING (customer_id)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE counted AS {' UNION ALL '.join(selects)}")
    con.execute(
        "CREATE OR REPLACE MACRO num(x) AS CASE WHEN x = trunc(x) THEN CAST(CAST(x AS BIGINT) AS VARCHAR)"
        " ELSE rtrim(CAST(x AS VARCHAR), '0') END"
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE lines AS
        SELECT staff_id, order_id, rule, measure, units, kpi_only, household, yuan, CAST(created AS VARCHAR) AS created,
               business, customer_id, expiring_target, got_units, role, {_text_sql(plan)} AS text
        FROM counted""")


def _text_sql(plan: IncentivePlan) -> str:
    """SQL: each counted order's English explanation (the sentence of its ``incentive_line.order*`` code)."""
    rule_names = " ".join(f"WHEN {quote(r.id)} THEN {quote(r.name or r.id)}" for r in plan.orders)
    unit_roles = " ".join(
        f"WHEN {quote(r.id)} THEN {quote(', '.join(display('staff_role', x) for x in r.unit_roles or ()))}"
        for r in plan.orders
    )
    exprs = {
        "order": "order_id",
        "business": "business",
        "customer": "customer_id",
        "target": "CASE WHEN expiring_target THEN 'expiring' ELSE 'non_expiring' END",
        "household": "household",
        "yuan": "CAST(yuan AS DECIMAL(18,2))",
        "plan": quote(plan.id),
        "rule": "rule",
        "rule_name": f"CASE rule {rule_names} END",
        "measure": "measure",
        "units": "num(units)",
        "unit_roles": f"CASE rule {unit_roles} END",
        "role": "role",
    }
    named = frozenset({"unit_roles"})
    say = {code: lines.sql_text(code, exprs, named) for code in lines.ORDER_CODES}
    return f"""CASE WHEN measure IS NULL THEN {say["incentive_line.order_no_units"]}
        WHEN NOT got_units THEN {say["incentive_line.order_role_no_units"]}
        WHEN kpi_only THEN {say["incentive_line.order_kpi_only"]} ELSE {say["incentive_line.order"]} END"""


def _statement(con, month: Month, has_roster: bool) -> None:
    roster_staff = (
        f"""SELECT staff_id, role FROM roster
        WHERE (hired_on IS NULL OR hired_on <= DATE {quote(str(month.last))})
          AND (left_on IS NULL OR left_on >= DATE {quote(str(month.first))})"""
        if has_roster
        else "SELECT NULL::VARCHAR AS staff_id, NULL::VARCHAR AS role WHERE false"
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE statement AS
        WITH staff AS (
            SELECT staff_id, role FROM ({roster_staff})
            UNION SELECT DISTINCT staff_id, role FROM valid),
        sums AS (
            SELECT staff_id,
                   sum(CASE WHEN measure = 'mobile' THEN units ELSE 0 END) AS mobile_units,
                   sum(CASE WHEN measure = 'broadband' THEN units ELSE 0 END) AS broadband_units,
                   sum(units) AS kpi_points, sum(yuan) AS bonus_yuan,
                   sum(CASE WHEN measure = 'mobile' AND NOT kpi_only THEN units ELSE 0 END) AS over_mobile,
                   sum(CASE WHEN measure = 'broadband' AND NOT kpi_only THEN units ELSE 0 END) AS over_broadband
            FROM lines GROUP BY staff_id)
        SELECT staff_id, role,
               CAST(coalesce(mobile_units, 0) AS DECIMAL(18,2)) AS mobile_units,
               CAST(coalesce(broadband_units, 0) AS DECIMAL(18,2)) AS broadband_units,
               CAST(coalesce(kpi_points, 0) AS DECIMAL(18,2)) AS kpi_points,
               CAST(coalesce(bonus_yuan, 0) AS DECIMAL(18,2)) AS bonus_yuan,
               CAST(coalesce(over_mobile, 0) AS DECIMAL(18,2)) AS over_quota_mobile_units,
               CAST(coalesce(over_broadband, 0) AS DECIMAL(18,2)) AS over_quota_broadband_units
        FROM staff LEFT JOIN sums USING (staff_id) ORDER BY staff_id""")


# the values after the code and column of a ``reject`` list, by code: the params of its sentence
_PARAMS = {
    "incentive_order_copies_differ": ("order", "rows", "fields"),
    "incentive_row_unknown_staff": ("staff",),
    "incentive_unknown_business": ("business",),
    "incentive_order_bad_time": ("value",),
    "incentive_order_outside_month": ("day",),
    "incentive_order_before_hire": ("staff", "day"),
    "incentive_order_after_leaving": ("staff", "day"),
    "incentive_order_bad_card": ("value",),
    "incentive_order_bad_network": ("value",),
    "incentive_order_bad_rent": ("value",),
    "incentive_order_negative_rent": ("value",),
    "incentive_field_not_boolean": ("value",),
    "incentive_order_field_needed": ("rule", "business"),
}


def rejected(con: duckdb.DuckDBPyConnection, orders: str | Path, month: Month) -> list[Rejected]:
    """The rejected order rows of the last :func:`compute` on ``con``, each with its coded reason (file, row, column)."""
    out = []
    for row, order_id, (code, field, *values) in con.execute(
        "SELECT row, order_id, reject FROM rejected ORDER BY row"
    ).fetchall():
        params = {"field": field, **dict(zip(_PARAMS.get(code, ()), values))}
        if code == "incentive_unknown_business":
            params["known"] = list(BUSINESSES)
        elif code == "incentive_order_outside_month":
            params["month"] = str(month)
        elif code == "incentive_order_copies_differ":
            params["fields"] = params["fields"].split(", ")
        out.append(Rejected(order_id, row, Problem(code, params, Where(file=str(orders), row=row, field=field))))
    return out


def duplicates(con: duckdb.DuckDBPyConnection, orders: str | Path) -> list[Rejected]:
    """The identical extra copies of an order row in the last :func:`compute` on ``con``: the order counted once
    (its first row), each extra copy reported with the row it repeats (as the ledger reports a repeated event id)."""
    return [
        Rejected(
            order_id,
            row,
            Problem(
                "incentive_order_duplicate_copy",
                {"field": "order_id", "order": order_id, "row": row, "first": first},
                Where(file=str(orders), row=row, field="order_id"),
            ),
        )
        for row, order_id, first in con.execute(
            "SELECT row, order_id, first_row FROM duplicates ORDER BY row"
        ).fetchall()
    ]
