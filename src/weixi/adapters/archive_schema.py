"""Arrow schemas of the generated tables (the contract documented in docs/operator-data.md)."""

from __future__ import annotations

import pyarrow as pa

from weixi.settings import DEFAULT_TIMEZONE

SCHEMA_VERSION = 1
TZ = DEFAULT_TIMEZONE  # the archive's timestamps
TS = pa.timestamp("ms", tz=TZ)  # Parquet has no second unit; values are whole seconds

MEMBERS = pa.schema(
    [
        ("member_id", pa.string()),
        ("name", pa.string()),
        ("gender", pa.string()),
        ("birthday", pa.date32()),
        ("lunar_birthday", pa.string()),
        ("phone", pa.string()),
        ("second_contact", pa.string()),
        ("id_number", pa.string()),
        ("city", pa.string()),
        ("district", pa.string()),
        ("join_date", pa.date32()),
        ("plan_name", pa.string()),
        ("monthly_rent_fen", pa.int64()),
        ("payment_type", pa.string()),
        ("card_role", pa.string()),
        ("primary_member_id", pa.string()),
        ("network", pa.string()),
        ("broadband", pa.bool_()),
        ("broadband_mbps", pa.int32()),
        ("contract_start", pa.date32()),
        ("contract_end", pa.date32()),
        ("subsidy_end", pa.date32()),
        ("manager_id", pa.string()),
        ("wechat", pa.string()),
        ("qq", pa.string()),
        ("income_band", pa.string()),
        ("occupation", pa.string()),
        ("hobbies", pa.string()),
    ]
)

BILLS = pa.schema(
    [
        ("bill_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("billed_on", pa.date32()),
        ("service_type", pa.string()),
        ("amount_fen", pa.int64()),
        ("paid", pa.bool_()),
        ("paid_on", pa.date32()),
    ]
)

USAGE = pa.schema(
    [
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("voice_minutes", pa.int32()),
        ("data_mb", pa.int64()),
        ("sms_count", pa.int32()),
    ]
)

RECHARGES = pa.schema(
    [
        ("recharge_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("recharged_at", TS),
        ("amount_fen", pa.int64()),
        ("channel", pa.string()),
    ]
)

COMPLAINTS = pa.schema(
    [
        ("complaint_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("opened_at", TS),
        ("category", pa.string()),
        ("channel", pa.string()),
        ("resolved", pa.bool_()),
        ("resolved_at", TS),
        ("satisfaction", pa.int8()),
    ]
)

SURVEYS = pa.schema(
    [
        ("survey_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("surveyed_at", TS),
        ("channel", pa.string()),
        ("score", pa.int8()),
    ]
)

PORTOUT_INQUIRIES = pa.schema(
    [
        ("inquiry_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("inquired_at", TS),
        ("channel", pa.string()),
        ("eligible", pa.bool_()),
    ]
)

CHURN_LABELS = pa.schema(
    [
        ("member_id", pa.string()),
        ("churned", pa.bool_()),
        ("churn_month", pa.string()),
        ("churn_date", pa.date32()),
        ("churn_reason", pa.string()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "members": MEMBERS,
    "bills": BILLS,
    "usage": USAGE,
    "recharges": RECHARGES,
    "complaints": COMPLAINTS,
    "surveys": SURVEYS,
    "portout_inquiries": PORTOUT_INQUIRIES,
    "churn_labels": CHURN_LABELS,
}
