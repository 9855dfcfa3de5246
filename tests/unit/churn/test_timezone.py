"""Churn features take the operator's timezone (the active plan's) for the dates of timestamps: an evening in UTC
is the next morning in Shanghai, so which month and which 30-day window an event falls in depends on the zone."""

from __future__ import annotations

from datetime import date

from sqlalchemy import create_engine

from weixi.churn import features
from weixi.churn.service import operator_zone
from weixi.settings import DEFAULT_TIMEZONE

EVENING_UTC = "SELECT CAST(TIMESTAMPTZ '2026-08-31 20:00:00+00' AS DATE)"


def test_the_connection_dates_timestamps_in_the_given_zone():
    assert features.connect().sql(EVENING_UTC).fetchone()[0] == date(2026, 9, 1)  # Asia/Shanghai by default
    assert features.connect("UTC").sql(EVENING_UTC).fetchone()[0] == date(2026, 8, 31)
    assert features.connect("America/New_York").sql(EVENING_UTC).fetchone()[0] == date(2026, 8, 31)


def test_sources_default_to_the_default_zone():
    assert features.Sources().timezone == DEFAULT_TIMEZONE


def test_without_a_database_or_a_plan_the_zone_is_the_default(tmp_path):
    assert operator_zone(None) == DEFAULT_TIMEZONE
    bare = create_engine(f"sqlite:///{tmp_path / 'points.db'}")  # a points database without plan tables
    assert operator_zone(bare) == DEFAULT_TIMEZONE
