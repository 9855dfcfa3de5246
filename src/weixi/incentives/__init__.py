"""Staff incentives and KPI statements (考核激励): plans, rules and explanations, without I/O.

Order plans (retention units and cash per household) are computed set-based over DuckDB in
:mod:`weixi.incentives.orders_sql`; scorecards, discipline deductions, referral rewards, key-account
maintenance scoring and commission splits are small pure functions over per-staff inputs.
"""
